import { randomUUID } from 'node:crypto';
import { createKafka, decodeCloudEventHeaders, normalizeHeaders, topics } from '@aio/events';
import { protoRegistry } from '@aio/proto';
import { fromBinary, toJson } from '@bufbuild/protobuf';
import type { CliContext } from './cli.context.js';

/** Short names for the platform's topics; anything else is taken as a topic name. */
export function topicOf(name: string, prefix: string): string {
  const t = topics(prefix);
  const short: Record<string, string> = {
    registry: t.registryEvents,
    data: t.dataEvents,
    training: t.trainingEvents,
    monitor: t.monitorEvents,
    inference: t.inferenceLog,
    feedback: t.feedback,
  };
  return short[name] ?? name;
}

/**
 * Prints each record of a topic as one JSON line: CloudEvents attributes and the protobuf payload
 * decoded by its ce_type (raw JSON records, e.g. on aio.ingest.*, are printed as they are). Reads in
 * a throwaway consumer group that never commits, so it disturbs no service.
 */
export async function tailTopic(ctx: CliContext, name: string, opts: { fromBeginning: boolean; limit: number | undefined }): Promise<void> {
  const topic = topicOf(name, ctx.endpoints.topicPrefix);
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (msg: string) => ctx.output.err(`kafka: ${msg}`) };
  const kafka = createKafka({ brokers: ctx.endpoints.kafkaBrokers, clientId: 'aio-cli', logger: quiet });
  const consumer = kafka.consumer({ groupId: `aio-cli-tail-${randomUUID()}` });
  let printed = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const onSignal = (): void => finish();
  process.once('SIGINT', onSignal);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning });
    ctx.output.err(`tail: ${topic} (Ctrl-C to stop)`);
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        if (opts.limit !== undefined && printed >= opts.limit) return Promise.resolve();
        const headers = normalizeHeaders(message.headers);
        let line: unknown;
        try {
          const ce = decodeCloudEventHeaders(headers);
          const schema = protoRegistry.getMessage(ce.type);
          const payload = schema && message.value ? toJson(schema, fromBinary(schema, message.value)) : message.value?.toString('base64');
          line = { id: ce.id, type: ce.type, source: ce.source, time: ce.time?.toISOString(), key: message.key?.toString(), partition, offset: message.offset, payload };
        } catch {
          line = { key: message.key?.toString(), partition, offset: message.offset, value: message.value?.toString('utf8'), headers };
        }
        ctx.output.out(JSON.stringify(line));
        printed += 1;
        if (opts.limit !== undefined && printed >= opts.limit) finish();
        return Promise.resolve();
      },
    });
    await finished;
  } finally {
    process.off('SIGINT', onSignal);
    await consumer.disconnect();
  }
}
