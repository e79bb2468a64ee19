import type { IHeaders } from 'kafkajs';

export const dlqHeader = {
  errorMessage: 'aio_error_message',
  errorType: 'aio_error_type',
  originalTopic: 'aio_original_topic',
  originalPartition: 'aio_original_partition',
  originalOffset: 'aio_original_offset',
  failedAt: 'aio_failed_at',
  attempts: 'aio_attempts',
  consumerGroup: 'aio_consumer_group',
} as const;

/** Keeps one DLQ record small whatever a handler threw (some errors carry whole payloads). */
export const maxErrorMessageLength = 2048;

export interface DlqFailure {
  error: unknown;
  topic: string;
  partition: number;
  offset: string;
  failedAt: Date;
  attempts: number;
  groupId: string;
}

export function errorType(error: unknown): string {
  if (error instanceof Error) return error.name;
  return error === null ? 'null' : typeof error;
}

export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > maxErrorMessageLength ? `${text.slice(0, maxErrorMessageLength - 1)}…` : text;
}

/**
 * The original headers untouched (CloudEvents attributes and traceparent included, so the record
 * can be replayed as is) plus why and where it failed. Earlier aio_* values are replaced: a record
 * replayed from the DLQ that fails again reports its latest failure.
 */
export function buildDlqHeaders(original: IHeaders | undefined, failure: DlqFailure): IHeaders {
  const headers: IHeaders = { ...original };
  headers[dlqHeader.errorMessage] = errorMessage(failure.error);
  headers[dlqHeader.errorType] = errorType(failure.error);
  headers[dlqHeader.originalTopic] = failure.topic;
  headers[dlqHeader.originalPartition] = String(failure.partition);
  headers[dlqHeader.originalOffset] = failure.offset;
  headers[dlqHeader.failedAt] = failure.failedAt.toISOString();
  headers[dlqHeader.attempts] = String(failure.attempts);
  headers[dlqHeader.consumerGroup] = failure.groupId;
  return headers;
}
