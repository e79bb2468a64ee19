import { Metadata, status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js';

export { Status };

/** Name of a status code, e.g. "INVALID_ARGUMENT", for messages and logs. */
export function statusName(code: Status): string {
  return Status[code] ?? `CODE_${String(code)}`;
}

/**
 * A gRPC status as an Error. Handlers throw it to answer with that status; clients reject with it.
 * `message` is the status details a caller sees, so write it for the caller.
 */
export class GrpcError extends Error {
  override readonly name = 'GrpcError';

  constructor(
    readonly code: Status,
    message: string,
    options?: { cause?: unknown; metadata?: Metadata },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.metadata = options?.metadata ?? new Metadata();
  }

  /** Trailing metadata sent with (server) or received with (client) the status. */
  readonly metadata: Metadata;

  toStatus(): Partial<StatusObject> {
    return { code: this.code, details: this.message, metadata: this.metadata };
  }

  override toString(): string {
    return `${statusName(this.code)}: ${this.message}`;
  }
}

/** INVALID_ARGUMENT naming the field and the rule it breaks, e.g. invalidArgument('page_size', 'must be <= 1000'). */
export function invalidArgument(field: string, rule: string): GrpcError {
  return new GrpcError(Status.INVALID_ARGUMENT, `${field}: ${rule}`);
}

/** NOT_FOUND for one entity, e.g. notFound('model', 'iris'). */
export function notFound(kind: string, name: string): GrpcError {
  return new GrpcError(Status.NOT_FOUND, `${kind} "${name}" not found`);
}

/** ALREADY_EXISTS for one entity. */
export function alreadyExists(kind: string, name: string): GrpcError {
  return new GrpcError(Status.ALREADY_EXISTS, `${kind} "${name}" already exists`);
}

/** FAILED_PRECONDITION: the request is valid but the system is not in a state to run it. */
export function failedPrecondition(message: string): GrpcError {
  return new GrpcError(Status.FAILED_PRECONDITION, message);
}

/** A grpc-js client error (or anything thrown on the client path) as a GrpcError. */
export function fromServiceError(error: unknown): GrpcError {
  if (error instanceof GrpcError) return error;
  if (isServiceError(error)) {
    return new GrpcError(error.code, error.details || statusName(error.code), { cause: error, metadata: error.metadata });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GrpcError(Status.UNKNOWN, message, { cause: error });
}

function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    typeof (error as Partial<ServiceError>).details === 'string'
  );
}
