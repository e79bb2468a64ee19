import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore } from '@aio/artifacts';
import { mintToken } from '@aio/auth';
import { createKafka, EventHandlers, subscribe, type EventEnvelope, type EventSubscriber } from '@aio/events';
import { createGrpcClient, GrpcError, Status, type GrpcClient } from '@aio/grpc';
import type { Platform, RunningService } from '@aio/host';
import { WriteLocks } from '@aio/mongo';
import { DatasetCreatedSchema, DatasetVersionCreatedSchema, RecordBatchCommittedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { FieldType, IngestionService, RecordSchema, type CreateDatasetRequest, type CreateDatasetRequestSchema, type IngestRecordsRequestSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { startTelemetry, type Telemetry } from '@aio/telemetry';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { Partitioners, type IHeaders } from 'kafkajs';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DatasetsRepository, type BatchTotals } from '../src/datasets.repository.js';
import { startIngestion } from '../src/ingestion.app.js';

const run = randomBytes(4).toString('hex');
const secret = `ingestion-int-test-secret-${randomBytes(16).toString('hex')}`;
const artifactDir = await mkdtemp(join(tmpdir(), 'ingestion-int-'));
const config = loadConfig({
  ...process.env,
  AIO_ARTIFACT_DIR: artifactDir,
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
const batches: EventEnvelope<typeof RecordBatchCommittedSchema>[] = [];
const versionEvents: EventEnvelope<typeof DatasetVersionCreatedSchema>[] = [];
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
    })
      .on(RecordBatchCommittedSchema, (event) => {
        batches.push(event);
        return Promise.resolve();
      })
      .on(DatasetVersionCreatedSchema, (event) => {
        versionEvents.push(event);
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
  await rm(artifactDir, { recursive: true, force: true });
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
    await expect(client.createDatasetVersion({ dataset: 'nope' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
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

/** Waits for a condition the service reaches asynchronously (Kafka intake), failing with what was last seen. */
async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms; last seen ${JSON.stringify(last, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await probe();
  }
  return last;
}

interface DlqMessage {
  key: string | undefined;
  value: string;
  headers: Record<string, string>;
}

/** Reads a dataset's DLQ topic from the beginning until `count` messages arrived. */
async function readDlq(dataset: string, count: number): Promise<DlqMessage[]> {
  const consumer = kafka.consumer({ groupId: `it-ingestion-${run}-dlq-${dataset}-${randomBytes(3).toString('hex')}`, maxWaitTimeInMs: 500 });
  const out: DlqMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [`${config.AIO_TOPIC_PREFIX}.ingest.${dataset}.dlq`], fromBeginning: true });
    const all = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
          out.push({ key: message.key?.toString(), value: message.value?.toString() ?? '', headers });
          if (out.length >= count) resolve();
          return Promise.resolve();
        },
      });
    });
    await Promise.race([all, new Promise((_r, reject) => setTimeout(() => reject(new Error(`DLQ of ${dataset}: ${out.length} of ${count} messages after 30 s`)), 30_000).unref())]);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

const flowers: MessageInitShape<typeof CreateDatasetRequestSchema> = {
  name: 'flowers',
  schema: {
    keyField: 'id',
    labelField: 'species',
    fields: [
      { name: 'id', type: FieldType.STRING, required: true },
      { name: 'petal', type: FieldType.FLOAT, required: true, min: 0, max: 10 },
      { name: 'species', type: FieldType.CATEGORY, allowedValues: ['setosa', 'virginica'] },
    ],
  },
};

async function counters(name: string): Promise<{ accepted: bigint; rejected: bigint; duplicates: bigint }> {
  const { dataset } = await client.getDataset({ name });
  return { accepted: dataset?.intake?.accepted ?? 0n, rejected: dataset?.intake?.rejected ?? 0n, duplicates: dataset?.intake?.duplicates ?? 0n };
}

async function storedRecords(dataset: string): Promise<Map<string, Record<string, unknown>>> {
  const conn = await mongoose.createConnection(config.MONGODB_URI, { dbName: config.AIO_DATABASE }).asPromise();
  try {
    const docs = await conn.collection<{ _id: string; key: string; values: Record<string, unknown> }>('records').find({ ds: dataset }).toArray();
    return new Map(docs.map((d) => [d.key, d.values]));
  } finally {
    await conn.close();
  }
}

describe('record intake', () => {
  it('consumes JSON and protobuf records from aio.ingest.<dataset>: exact counts, dedup by key, reasons in DLQ headers', async () => {
    await client.createDataset(flowers);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const json = (value: unknown, headers?: IHeaders) => ({ key: 'k', value: typeof value === 'string' ? value : JSON.stringify(value), headers });
    await producer.send({
      topic: `${config.AIO_TOPIC_PREFIX}.ingest.flowers`,
      messages: [
        json({ id: 'f1', petal: 1.5, species: 'setosa' }),
        json({ id: 'f2', petal: 2 }),
        json({ id: 'f1', petal: 1.7, species: 'virginica' }), // same key: replaces f1
        json({ id: 'f3', petal: 11 }, { source: 'sensor-7' }), // max
        json('{"id": "f4", "petal": '), // not JSON
        json({ id: 'f5', petal: 3, species: 'rose' }), // allowed_values
        json({ id: 'f6', petal: 4, colour: 'red' }), // unknown_field
        json({ petal: 4 }), // required key field
      ],
    });
    const record = create(RecordSchema, { dataset: 'flowers', fields: { id: 'f7', petal: 9.5 } });
    await producer.send({
      topic: `${config.AIO_TOPIC_PREFIX}.ingest.flowers`,
      messages: [{ key: 'f7', value: Buffer.from(toBinary(RecordSchema, record)), headers: { 'content-type': 'application/protobuf' } }],
    });
    await producer.disconnect();

    const seen = await until('kafka intake counts', () => counters('flowers'), (c) => c.accepted + c.rejected >= 9n);
    expect(seen).toEqual({ accepted: 4n, rejected: 5n, duplicates: 1n });
    const stored = await storedRecords('flowers');
    expect([...stored.keys()].sort()).toEqual(['f1', 'f2', 'f7']);
    expect(stored.get('f1')).toEqual({ id: 'f1', petal: 1.7, species: 'virginica' });

    const dlq = await readDlq('flowers', 5);
    const byRule = new Map(dlq.map((m) => [m.headers['aio_reject_rule'], m]));
    expect([...byRule.keys()].sort()).toEqual(['allowed_values', 'format', 'max', 'required', 'unknown_field']);
    expect(byRule.get('max')?.headers).toMatchObject({
      aio_reject_field: 'petal',
      aio_reject_reason: 'petal: must be <= 10 (got 11)',
      aio_intake: 'kafka',
      aio_original_topic: `${config.AIO_TOPIC_PREFIX}.ingest.flowers`,
      source: 'sensor-7',
    });
    expect(JSON.parse(byRule.get('max')?.value ?? '{}')).toEqual({ id: 'f3', petal: 11 });
    expect(byRule.get('format')?.headers['aio_reject_reason']).toMatch(/^not valid JSON/);
    expect(byRule.get('allowed_values')?.headers['aio_reject_field']).toBe('species');
    expect(byRule.get('unknown_field')?.headers['aio_reject_field']).toBe('colour');
    expect(byRule.get('required')?.headers['aio_reject_field']).toBe('id');

    await until('RecordBatchCommitted events', () => Promise.resolve(batches.filter((b) => b.key === 'flowers')), (b) => b.reduce((n, e) => n + e.message.recordCount, 0) >= 4);
    const total = batches.filter((b) => b.key === 'flowers').reduce((n, e) => n + e.message.recordCount, 0);
    expect(total).toBe(4);
  });

  it('takes records over gRPC client streaming: counts, per-record rejections in the response and in the DLQ', async () => {
    await client.createDataset({ ...flowers, name: 'streamed' });
    async function* requests(): AsyncGenerator<MessageInitShape<typeof IngestRecordsRequestSchema>> {
      for (let chunk = 0; chunk < 3; chunk++) {
        yield {
          records: Array.from({ length: 500 }, (_, i) => ({ dataset: 'streamed', fields: { id: `s${(chunk * 500 + i) % 1200}`, petal: (i % 10) + 0.5 } })),
        };
        await Promise.resolve();
      }
      yield { records: [{ dataset: 'streamed', fields: { id: 'bad', petal: -1 } }, { dataset: 'streamed', fields: { id: 'bad2', petal: 'x' } }] };
    }
    const res = await client.ingestRecords(requests());
    expect(res).toMatchObject({ accepted: 1500n, rejected: 2n, duplicates: 300n });
    expect(res.rejections.map((r) => ({ index: r.index, key: r.key, field: r.field, rule: r.rule }))).toEqual([
      { index: 1500n, key: 'bad', field: 'petal', rule: 'min' },
      { index: 1501n, key: 'bad2', field: 'petal', rule: 'type' },
    ]);
    expect(await counters('streamed')).toEqual({ accepted: 1500n, rejected: 2n, duplicates: 300n });
    expect((await storedRecords('streamed')).size).toBe(1200);
    const dlq = await readDlq('streamed', 2);
    expect(dlq.map((m) => m.headers['aio_reject_rule']).sort()).toEqual(['min', 'type']);
    expect(dlq.every((m) => m.headers['aio_intake'] === 'grpc')).toBe(true);

    await expect(client.ingestRecords((async function* () { yield { records: [{ dataset: 'missing', fields: {} }] }; await Promise.resolve(); })())).rejects.toMatchObject({
      code: Status.NOT_FOUND,
      message: 'records[0].dataset: dataset "missing" does not exist; the 0 records before it were processed',
    });
  });

  it('takes NDJSON over REST: per-line rejections, 400 naming a malformed line', async () => {
    await client.createDataset({ ...flowers, name: 'posted' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' };
    const body = ['{"id":"p1","petal":1}', '', '{"id":"p2","petal":20}', '{"id":"p1","petal":2,"species":"setosa"}'].join('\n');
    const res = await fetch(`${base}/v1/datasets/posted/records`, { method: 'POST', headers, body });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: '2',
      rejected: '1',
      duplicates: '1',
      rejections: [{ index: '2', key: 'p2', field: 'petal', reason: 'petal: must be <= 10 (got 20)', rule: 'max' }],
    });
    expect((await storedRecords('posted')).get('p1')).toEqual({ id: 'p1', petal: 2, species: 'setosa' });

    const bad = await fetch(`${base}/v1/datasets/posted/records`, { method: 'POST', headers, body: '{"id":"p3","petal":3}\n{"id": oops}\n{"id":"p4","petal":4}\n' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /^line 2: not valid JSON: .*; the records before it were processed \(accepted 1, rejected 0\): resend from that line$/,
    );
    expect([...(await storedRecords('posted')).keys()].sort()).toEqual(['p1', 'p3']);
    const wrongType = await fetch(`${base}/v1/datasets/posted/records`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
    expect(wrongType.status).toBe(400);
    expect((await fetch(`${base}/v1/datasets/nope/records`, { method: 'POST', headers, body: '{}' })).status).toBe(404);
  });

  it('freezes a version into an NDJSON export that later writes do not change', async () => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/v1/datasets/posted/versions`, { method: 'POST', headers, body: JSON.stringify({ description: 'first' }) });
    expect(created.status).toBe(201);
    const v1 = ((await created.json()) as { version: { version: number; record_count: string; artifact_sha256: string; watermark: string } }).version;
    expect(v1).toMatchObject({ version: 1, record_count: '2' });
    const store = createArtifactStore({ dir: artifactDir });
    const v1Path = await store.pathOf(v1.artifact_sha256);
    const exported = (await readFile(v1Path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(exported.sort((a, b) => String(a['id']).localeCompare(String(b['id'])))).toEqual([
      { id: 'p1', petal: 2, species: 'setosa' },
      { id: 'p3', petal: 3 },
    ]);

    // Later writes replace p1 and add p9: version 1 stays as it was, version 2 sees them.
    const ndjson = { ...headers, 'content-type': 'application/x-ndjson' };
    await fetch(`${base}/v1/datasets/posted/records`, { method: 'POST', headers: ndjson, body: '{"id":"p1","petal":7}\n{"id":"p9","petal":9}\n' });
    const v2 = (await client.createDatasetVersion({ dataset: 'posted', description: 'second' })).version;
    expect(v2).toMatchObject({ version: 2, recordCount: 3n });
    expect(v2?.watermark).toBeGreaterThan(BigInt(v1.watermark));
    expect(v2?.artifactSha256).not.toBe(v1.artifact_sha256);
    const again = (await readFile(v1Path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(again.find((r) => r['id'] === 'p1')).toEqual({ id: 'p1', petal: 2, species: 'setosa' });

    const list = (await (await fetch(`${base}/v1/datasets/posted/versions`, { headers })).json()) as { versions: { version: number; description: string }[] };
    expect(list.versions.map((v) => [v.version, v.description])).toEqual([[2, 'second'], [1, 'first']]);
    const page = await client.listDatasetVersions({ dataset: 'posted', pageSize: 1 });
    expect(page.versions.map((v) => v.version)).toEqual([2]);
    const rest = await client.listDatasetVersions({ dataset: 'posted', pageSize: 1, pageToken: page.nextPageToken });
    expect(rest.versions.map((v) => v.version)).toEqual([1]);
    expect((await client.getDataset({ name: 'posted' })).dataset?.latestVersion).toBe(2);
    await until('DatasetVersionCreated events', () => Promise.resolve(versionEvents.filter((e) => e.key === 'posted').length), (n) => n >= 2);
    expect(versionEvents.find((e) => e.message.version?.version === 1)?.message.version?.artifactSha256).toBe(v1.artifact_sha256);
  });

  it('updates a schema compatibly and refuses an incompatible change with FAILED_PRECONDITION naming the field', async () => {
    const current = (await client.getDataset({ name: 'posted' })).dataset?.schema;
    const fields = current?.fields ?? [];
    const keys = { keyField: current?.keyField, labelField: current?.labelField };
    const added = await client.updateDataset({ name: 'posted', schema: { ...keys, fields: [...fields, { name: 'height', type: FieldType.INT }] } });
    expect(added.dataset?.schemaVersion).toBe(2);
    await expect(client.updateDataset({ name: 'posted', schema: { ...keys, fields: fields.filter((f) => f.name !== 'petal') } })).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringContaining('"petal" cannot be removed') as unknown,
    });
    // The new field is accepted from the next batch on.
    const res = await fetch(`${base}/v1/datasets/posted/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      body: '{"id":"p10","petal":1,"height":3}\n',
    });
    expect(await res.json()).toMatchObject({ accepted: '1' });
  });
});

describe('dataset counters', () => {
  it('keep every batch event\'s totals exact when another replica counts or a version resets them in between', async () => {
    await client.createDataset({ ...flowers, name: 'counted' });
    const ours = running.app.get(DatasetsRepository);
    // A second replica: its own connection, its own (per-process) locks and last-seen totals.
    const conn = await mongoose.createConnection(config.MONGODB_URI, { dbName: config.AIO_DATABASE }).asPromise();
    try {
      const theirs = new DatasetsRepository({ mongo: conn, locks: new WriteLocks(true), nudgeOutbox: () => undefined } as unknown as Platform);
      const commit = async (repo: DatasetsRepository, accepted: number, partition: number, offset: number): Promise<BatchTotals> => {
        const seen: BatchTotals[] = [];
        const totals = await repo.commitBatch('counted', { accepted, rejected: 1, duplicates: 0 }, { partition, offset }, (t) => {
          seen.push(t);
          return undefined;
        });
        // What the event would carry is what was written.
        expect(seen.at(-1)).toEqual(totals);
        return totals;
      };
      // Both have seen the dataset before anything was counted.
      expect(await ours.allocate('counted', 2)).toMatchObject({ first: 1, last: 2, data: { schema: expect.objectContaining({ keyField: 'id' }) as unknown } });
      expect(await theirs.allocate('counted', 3)).toMatchObject({ first: 3, last: 5 });

      const ourReads = vi.spyOn(ours, 'intake');
      const theirReads = vi.spyOn(theirs, 'intake');
      // What a replica last saw still holds: one write, no read.
      expect(await commit(ours, 3, 0, 10)).toEqual({ accepted: 3, sinceVersion: 3 });
      expect(ourReads).not.toHaveBeenCalled();
      // It no longer holds: the write does not apply, the totals are read again.
      expect(await commit(theirs, 2, 1, 20)).toEqual({ accepted: 5, sinceVersion: 5 });
      expect(theirReads).toHaveBeenCalledTimes(1);
      expect(await commit(ours, 1, 0, 11)).toEqual({ accepted: 6, sinceVersion: 6 });
      expect(await theirs.sealWatermark('counted')).toBe(5);
      expect(await commit(ours, 4, 2, 30)).toEqual({ accepted: 10, sinceVersion: 4 });
      expect(await commit(theirs, 0, 1, 21)).toEqual({ accepted: 10, sinceVersion: 4 });
      ourReads.mockClear();
      expect(await commit(ours, 1, 0, 12)).toEqual({ accepted: 11, sinceVersion: 5 });
      expect(ourReads).not.toHaveBeenCalled();
      expect(await ours.intake('counted')).toEqual({ seq: 5, accepted: 11, rejected: 6, duplicates: 0, sinceVersion: 5, kafka: { p0: 12, p1: 21, p2: 30 } });
    } finally {
      await conn.close();
    }
  });
});
