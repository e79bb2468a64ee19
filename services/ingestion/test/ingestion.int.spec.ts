import { randomBytes } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createKafka, EventHandlers, subscribe, type EventEnvelope, type EventSubscriber } from '@aio/events';
import { createGrpcClient, GrpcError, Status, type GrpcClient } from '@aio/grpc';
import type { RunningService } from '@aio/host';
import { DatasetCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { FieldType, IngestionService, type CreateDatasetRequest, type CreateDatasetRequestSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { startTelemetry, type Telemetry } from '@aio/telemetry';
import type { MessageInitShape } from '@bufbuild/protobuf';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startIngestion } from '../src/ingestion.app.js';

const run = randomBytes(4).toString('hex');
const secret = `ingestion-int-test-secret-${randomBytes(16).toString('hex')}`;
const config = loadConfig({
  ...process.env,
  GRPC_PORT: '0',
  HTTP_PORT: '0',
  AIO_AUTH_SECRET: secret,
  AIO_TOPIC_PREFIX: `it-ingestion-${run}`,
  AIO_DATABASE: `aio_ingestion_it_${run}`,
  AIO_TELEMETRY_EXPORT: 'none',
  LOG_LEVEL: 'warn',
});
const topic = `it-ingestion-${run}.events.data`;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const iris: MessageInitShape<typeof CreateDatasetRequestSchema> = {
  name: 'iris',
  description: 'Fisher 1936',
  schema: {
    keyField: 'id',
    labelField: 'species',
    fields: [
      { name: 'id', type: FieldType.STRING, required: true },
      { name: 'sepal_length', type: FieldType.FLOAT, required: true, min: 0, max: 10 },
      { name: 'species', type: FieldType.CATEGORY, allowedValues: ['setosa', 'versicolor', 'virginica'] },
    ],
  },
};

const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `it-ingestion-${run}`, logger: quiet });
let telemetry: Telemetry;
let running: RunningService;
let client: GrpcClient<typeof IngestionService>;
let token: string;
let base: string;
let events: EventSubscriber;
const received: EventEnvelope<typeof DatasetCreatedSchema>[] = [];
const waiters: (() => void)[] = [];

function nextEvent(count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (received.length >= count) resolve();
      else waiters.push(check);
    };
    check();
  });
}

beforeAll(async () => {
  telemetry = await startTelemetry({ serviceName: 'ingestion', serviceVersion: 'test', export: 'none', logLevel: 'warn', logToStdout: false });
  running = await startIngestion(config, telemetry, { handleSignals: false });
  token = await mintToken({ secret, subject: 'alice', roles: ['ml-engineer'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE });
  client = createGrpcClient(IngestionService, `127.0.0.1:${running.grpcPort}`, { token: () => token });
  base = `http://127.0.0.1:${running.httpPort}`;
  // The service created the topic at start; read it from the beginning with a group of our own.
  events = await subscribe(kafka, {
    groupId: `it-ingestion-${run}`,
    topics: [topic],
    fromBeginning: true,
    logger: quiet,
    handlers: new EventHandlers().on(DatasetCreatedSchema, (event) => {
      received.push(event);
      waiters.splice(0).forEach((w) => w());
      return Promise.resolve();
    }),
  });
});

afterAll(async () => {
  await events?.stop();
  await running?.stop();
  const conn = await mongoose.createConnection(config.MONGODB_URI, { dbName: config.AIO_DATABASE }).asPromise();
  await conn.dropDatabase();
  await conn.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([`it-ingestion-${run}`]);
  // The platform created every shared topic (and DLQ) of this run's prefix at start.
  const ours = (await admin.listTopics()).filter((name) => name.startsWith(`${config.AIO_TOPIC_PREFIX}.`));
  await admin.deleteTopics({ topics: ours });
  await admin.disconnect();
});

describe('ingestion service', () => {
  it('creates a dataset over gRPC and announces it on the data topic with CloudEvents headers', async () => {
    const res = await client.createDataset(iris);
    expect(res.dataset).toMatchObject({ name: 'iris', createdBy: 'alice', latestVersion: 0 });
    expect(res.dataset?.schema?.fields.map((f) => f.name)).toEqual(['id', 'sepal_length', 'species']);

    await nextEvent(1);
    const event = received[0];
    expect(event?.type).toBe('aio.ingestion.v1.DatasetCreated');
    expect(event?.key).toBe('iris');
    expect(event?.source).toBe('aio/ingestion');
    expect(event?.message.dataset?.schema?.labelField).toBe('species');
    expect(event?.headers).toMatchObject({ ce_specversion: '1.0', ce_type: 'aio.ingestion.v1.DatasetCreated', 'content-type': 'application/protobuf' });
    expect(event?.headers['ce_id']).toMatch(/^[0-9a-f-]{36}$/);

    const got = await client.getDataset({ name: 'iris' });
    expect(got.dataset?.createTime).toEqual(res.dataset?.createTime);
  });

  it('refuses a duplicate name and an invalid schema with the field named', async () => {
    await expect(client.createDataset(iris)).rejects.toMatchObject({ code: Status.ALREADY_EXISTS });
    const bad: CreateDatasetRequest['schema'] = undefined;
    await expect(client.createDataset({ name: 'x', schema: bad })).rejects.toThrow(/schema: is required/);
    const err = await client
      .createDataset({ name: 'bad', schema: { fields: [{ name: 'a', type: FieldType.FLOAT, min: 2, max: 1 }] } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect(err).toMatchObject({ code: Status.INVALID_ARGUMENT, message: 'schema.fields[0].min: must be <= max (2 > 1)' });
    await expect(client.getDataset({ name: 'nope' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(client.createDatasetVersion({ dataset: 'iris' })).rejects.toMatchObject({ code: Status.UNIMPLEMENTED });
  });

  it('serves REST: create, get, paged list, and errors as { error }', async () => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    for (const name of ['a-1', 'b-2', 'c-3']) {
      const res = await fetch(`${base}/v1/datasets`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name, schema: { fields: [{ name: 'x', type: 'FIELD_TYPE_INT' }] } }),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ dataset: { name, created_by: 'alice' } });
    }
    const one = await fetch(`${base}/v1/datasets/iris`, { headers });
    expect(await one.json()).toMatchObject({ dataset: { name: 'iris', schema: { key_field: 'id' } } });

    const page1 = (await (await fetch(`${base}/v1/datasets?page_size=2`, { headers })).json()) as { datasets: { name: string }[]; next_page_token: string };
    expect(page1.datasets.map((d) => d.name)).toEqual(['a-1', 'b-2']);
    const page2 = (await (await fetch(`${base}/v1/datasets?page_size=2&page_token=${page1.next_page_token}`, { headers })).json()) as {
      datasets: { name: string }[];
      next_page_token?: string;
    };
    expect(page2.datasets.map((d) => d.name)).toEqual(['c-3', 'iris']);
    expect(page2.next_page_token).toBeUndefined();

    const badJson = await fetch(`${base}/v1/datasets`, { method: 'POST', headers, body: '{"name": ' });
    expect(badJson.status).toBe(400);
    const badJsonBody = (await badJson.json()) as { error: string };
    expect(badJsonBody.error).toBe("Body is not valid JSON but content-type is set to 'application/json'");
    const unknownField = await fetch(`${base}/v1/datasets`, { method: 'POST', headers, body: JSON.stringify({ nam: 'x' }) });
    expect(unknownField.status).toBe(400);
    expect(((await unknownField.json()) as { error: string }).error).toMatch(/^body: .*"nam" is unknown/);
    const dup = await fetch(`${base}/v1/datasets`, { method: 'POST', headers, body: JSON.stringify(iris) });
    expect(dup.status).toBe(409);
    expect((await fetch(`${base}/v1/datasets/nope`, { headers })).status).toBe(404);
    expect((await fetch(`${base}/v1/datasets`)).status).toBe(401);

    await nextEvent(4);
    expect(received.map((e) => e.key).sort()).toEqual(['a-1', 'b-2', 'c-3', 'iris']);
  });
});
