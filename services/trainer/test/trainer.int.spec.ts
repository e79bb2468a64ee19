import { randomBytes, randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createKafka, createPublisher, type EventPublisher, type PublishedEvent } from '@aio/events';
import { createGrpcClient, Status, type GrpcClient } from '@aio/grpc';
import type { RunningService } from '@aio/host';
import { DatasetCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { FieldType } from '@aio/proto/aio/ingestion/v1/ingestion';
import { TrainerService } from '@aio/proto/aio/trainer/v1/trainer';
import { startTelemetry, type Telemetry } from '@aio/telemetry';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DatasetsConsumer } from '../src/datasets.consumer.js';
import { DatasetsRepository } from '../src/datasets.repository.js';
import { consumerGroup } from '@aio/host';
import { startTrainer } from '../src/trainer.app.js';

const run = randomBytes(4).toString('hex');
const secret = `trainer-int-test-secret-${randomBytes(16).toString('hex')}`;
const config = loadConfig({
  ...process.env,
  GRPC_PORT: '0',
  HTTP_PORT: '0',
  AIO_AUTH_SECRET: secret,
  AIO_TOPIC_PREFIX: `it-trainer-${run}`,
  AIO_DATABASE: `aio_trainer_it_${run}`,
  AIO_TELEMETRY_EXPORT: 'none',
  LOG_LEVEL: 'warn',
});
const topic = `it-trainer-${run}.events.data`;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `it-trainer-${run}`, logger: quiet });
let telemetry: Telemetry;
let running: RunningService;
let client: GrpcClient<typeof TrainerService>;
let publisher: EventPublisher;
let token: string;
let base: string;

/** Publishes a DatasetCreated and resolves once the trainer's group has committed past it (its effect is durable). */
async function deliver(name: string, id: string): Promise<PublishedEvent> {
  const consumer = running.app.get(DatasetsConsumer).subscriber?.consumer;
  if (consumer === undefined) throw new Error('the trainer has not subscribed');
  let published: PublishedEvent | undefined;
  const seen: { partition: number; offset: bigint }[] = [];
  const committed = new Promise<void>((resolve) => {
    const check = (): void => {
      const hit = published !== undefined && seen.some((c) => c.partition === published?.partition && c.offset > BigInt(published.offset ?? '0'));
      if (hit) {
        off();
        resolve();
      }
    };
    const off = consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const t of payload.topics) if (t.topic === topic) for (const p of t.partitions) seen.push({ partition: Number(p.partition), offset: BigInt(p.offset) });
      check();
    });
    void (async () => {
      published = await publisher.publish(
        topic,
        DatasetCreatedSchema,
        { dataset: { name, schema: { fields: [{ name: 'x', type: FieldType.FLOAT }], labelField: 'x' }, createdBy: 'alice' } },
        { key: name, id, source: 'aio/ingestion' },
      );
      check();
    })();
  });
  await committed;
  if (published === undefined) throw new Error('not published');
  return published;
}

beforeAll(async () => {
  telemetry = await startTelemetry({ serviceName: 'trainer', serviceVersion: 'test', export: 'none', logLevel: 'warn', logToStdout: false });
  running = await startTrainer(config, telemetry, { handleSignals: false });
  token = await mintToken({ secret, subject: 'alice', roles: ['ml-engineer'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE });
  client = createGrpcClient(TrainerService, `127.0.0.1:${running.grpcPort}`, { token: () => token });
  base = `http://127.0.0.1:${running.httpPort}`;
  publisher = createPublisher(kafka, { logger: quiet });
});

afterAll(async () => {
  await publisher?.disconnect();
  await running?.stop();
  const conn = await mongoose.createConnection(config.MONGODB_URI, { dbName: config.AIO_DATABASE }).asPromise();
  await conn.dropDatabase();
  await conn.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([consumerGroup(config.AIO_TOPIC_PREFIX, 'trainer')]);
  // The platform created every shared topic (and DLQ) of this run's prefix at start.
  const ours = (await admin.listTopics()).filter((name) => name.startsWith(`${config.AIO_TOPIC_PREFIX}.`));
  await admin.deleteTopics({ topics: ours });
  await admin.disconnect();
});

describe('trainer service', () => {
  it('records datasets from DatasetCreated events once, however often they are delivered', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const empty = await fetch(`${base}/v1/datasets`, { headers });
    // protobuf JSON leaves out empty repeated fields.
    expect(await empty.json()).toEqual({});

    const id = randomUUID();
    await deliver('iris', id);
    const list = (await (await fetch(`${base}/v1/datasets`, { headers })).json()) as { datasets: { name: string; created_by: string }[] };
    expect(list.datasets).toMatchObject([{ name: 'iris', created_by: 'alice' }]);
    const first = await running.app.get(DatasetsRepository).find('iris');
    expect(first?.eventId).toBe(id);

    // A redelivery (same event id, as after a crash before the commit) is skipped by the durable dedup store.
    await deliver('iris', id);
    const again = await running.app.get(DatasetsRepository).find('iris');
    expect(again?.receivedAt).toEqual(first?.receivedAt);
    // A second event for the same dataset (e.g. a republished outbox entry) rewrites the same document.
    await deliver('iris', randomUUID());
    await deliver('wine', randomUUID());
    const after = (await (await fetch(`${base}/v1/datasets`, { headers })).json()) as { datasets: { name: string }[] };
    expect(after.datasets.map((d) => d.name)).toEqual(['iris', 'wine']);
    expect(await running.app.get(DatasetsRepository).datasets.countDocuments({})).toBe(2);
  });

  it('validates SubmitRun against the known datasets and their versions; no run is created by a refused submit', async () => {
    await expect(client.submitRun({ model: 'churn', dataset: 'unknown-ds', trainer: 'builtin:logistic-regression' })).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringContaining('dataset "unknown-ds" is not known to the trainer') as unknown,
    });
    await expect(client.submitRun({ model: 'churn', dataset: 'iris', trainer: '' })).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message: expect.stringMatching(/^trainer: is required/) as unknown,
    });
    await expect(client.submitRun({ model: 'Churn!', dataset: 'iris', trainer: 'builtin:logistic-regression' })).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message: expect.stringMatching(/^model: /) as unknown,
    });
    await expect(client.submitRun({ model: 'churn', dataset: 'iris', trainer: 'builtin:logistic-regression' })).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringContaining('dataset "iris" has no version yet') as unknown,
    });

    expect((await client.listRuns({})).runs).toEqual([]);
    await expect(client.getRun({ id: 'r-1' })).rejects.toMatchObject({ code: Status.NOT_FOUND, message: 'run "r-1" not found' });
    await expect(client.cancelRun({ id: 'r-1' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(client.getRun({ id: '' })).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, message: 'id: is required' });

    const headers = { authorization: `Bearer ${token}` };
    const runs = await fetch(`${base}/v1/runs?state=RUN_STATE_QUEUED`, { headers });
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual({});
    const missing = await fetch(`${base}/v1/runs/r-1`, { headers });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'run "r-1" not found' });
    const badQuery = await fetch(`${base}/v1/runs?page_size=lots`, { headers });
    expect(badQuery.status).toBe(400);
    expect(((await badQuery.json()) as { error: string }).error).toMatch(/^query: .*page_size/);
    expect((await fetch(`${base}/v1/runs`)).status).toBe(401);
  });
});
