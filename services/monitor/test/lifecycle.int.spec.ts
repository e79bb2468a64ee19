// The model lifecycle loop as the monitor sees it, on the real local Kafka and FerretDB: a version's
// reference profile arrives with ModelVersionCreated, inference records from the same distribution
// raise nothing, shifted ones raise DriftDetected naming the drifted feature, feedback joins into
// accuracy, failures raise AlertRaised, and a restarted monitor still answers the last known health.
import { randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createKafka, createPublisher, EventHandlers, subscribe, type EventPublisher, type EventSubscriber } from '@aio/events';
import { createGrpcClient, type GrpcClient } from '@aio/grpc';
import { Platform, type RunningService } from '@aio/host';
import { eventually as waitFor } from '@aio/host/testing';
import { InferenceRecordSchema, LoggedTensorSchema, type LoggedTensor } from '@aio/proto/aio/gateway/v1/inference_log';
import { AlertRaisedSchema, DriftDetectedSchema, type AlertRaised, type DriftDetected } from '@aio/proto/aio/monitor/v1/events';
import { FeedbackSchema } from '@aio/proto/aio/monitor/v1/feedback';
import { MonitorService, type ModelHealth } from '@aio/proto/aio/monitor/v1/monitor';
import { FeatureProfileSchema, ReferenceProfileSchema, type FeatureProfile } from '@aio/proto/aio/profile/v1/profile';
import { ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { startTelemetry } from '@aio/telemetry';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs, ValueSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type MonitorConfig } from '../src/config.js';
import { HealthRepository } from '../src/health/health.repository.js';
import { startMonitor } from '../src/monitor.app.js';

const secret = `monitor-lifecycle-${randomUUID()}`;
const run = randomUUID().slice(0, 8);
const prefix = `t-monlc-${run}`;
const database = `aio_monitor_lc_${run}`;
const source = 'aio/lifecycle-test';
const model = 'churn';

let config: MonitorConfig;
let running: RunningService | undefined;
let publisher: EventPublisher;
let watcher: EventSubscriber;
let admin: ReturnType<ReturnType<typeof createKafka>['admin']>;
let client: GrpcClient<typeof MonitorService>;
let token: string;
const drifts: DriftDetected[] = [];
const alerts: AlertRaised[] = [];

const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => waitFor(what, probe, timeoutMs);

/** Deterministic normal draws (mulberry32 + Box-Muller), so every run sees the same numbers. */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function numericProfile(name: string, values: number[]): FeatureProfile {
  const sorted = [...values].sort((x, y) => x - y);
  const lo = sorted[0] ?? 0;
  const hi = sorted[sorted.length - 1] ?? 1;
  const edges = Array.from({ length: 11 }, (_, i) => lo + ((hi - lo) * i) / 10);
  const counts = new Array<bigint>(10).fill(0n);
  for (const v of values) {
    const bin = Math.min(9, Math.floor(((v - lo) / (hi - lo)) * 10));
    counts[bin] = (counts[bin] ?? 0n) + 1n;
  }
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const stddev = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return create(FeatureProfileSchema, {
    name,
    count: BigInt(values.length),
    distribution: { case: 'numeric', value: { edges, counts, min: lo, max: hi, mean, stddev, sample: sorted } },
  });
}

const classOf = (x1: number): number => (x1 > 0 ? 1 : 0);

function fp32(name: string, shape: number[], values: number[]): LoggedTensor {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return create(LoggedTensorSchema, { name, datatype: 'FP32', shape: shape.map(BigInt), raw });
}

function int64(name: string, values: number[]): LoggedTensor {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return create(LoggedTensorSchema, { name, datatype: 'INT64', shape: [BigInt(values.length)], raw });
}

/** Requests of one row [x1, x2] each; the model answers class(x1); `failed` of them fail. */
async function serve(version: number, rows: [number, number][], opts: { latency?: (i: number) => number; failed?: number } = {}): Promise<string[]> {
  const ids = rows.map(() => randomUUID());
  const topic = running?.app.get(Platform).topics.inferenceLog ?? '';
  await publisher.publishBatch(
    rows.map(([x1, x2], i) => {
      const failed = i < (opts.failed ?? 0);
      return {
        topic,
        schema: InferenceRecordSchema,
        message: create(InferenceRecordSchema, {
          requestId: ids[i],
          model,
          version,
          inputs: [fp32('input', [1, 2], [x1, x2])],
          outputs: failed ? [] : [int64('label', [classOf(x1)])],
          latencyMs: opts.latency?.(i) ?? 10,
          status: failed ? 'UNAVAILABLE' : 'OK',
          error: failed ? 'model not loaded' : '',
          timestamp: timestampFromMs(Date.now()),
        }),
        options: { key: model, source: 'aio/inference-gateway-test' },
      };
    }),
  );
  return ids;
}

async function start(): Promise<RunningService> {
  const telemetry = await startTelemetry({ serviceName: 'monitor', serviceVersion: 'test', export: 'none', logLevel: 'warn' });
  running = await startMonitor(config, telemetry, { handleSignals: false });
  client?.close();
  client = createGrpcClient(MonitorService, `127.0.0.1:${running.grpcPort}`, { token: () => token, timeoutMs: 5_000 });
  return running;
}

const health = async (version: number): Promise<ModelHealth | undefined> => (await client.getModelHealth({ model, version })).health;

beforeAll(async () => {
  config = loadConfig({
    ...process.env,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    AIO_AUTH_SECRET: secret,
    AIO_TOPIC_PREFIX: prefix,
    AIO_DATABASE: database,
    AIO_TELEMETRY_EXPORT: 'none',
    MONITOR_EVALUATE_SECONDS: '1',
    MONITOR_MIN_SAMPLES: '200',
    MONITOR_MIN_REQUESTS: '20',
    // 1000 per window slice: the bursts below are kept whole, so percentiles are exact.
    MONITOR_MAX_SAMPLES: '60000',
  });
  token = await mintToken({ secret, subject: 'tester', roles: ['viewer'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE });
  await start();
  const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `monitor-lc-${run}` });
  publisher = createPublisher(kafka);
  await publisher.connect();
  admin = kafka.admin();
  await admin.connect();
  const topics = running?.app.get(Platform).topics;
  watcher = await subscribe(kafka, {
    groupId: `monitor-lc-watcher-${run}`,
    topics: [topics?.monitorEvents ?? ''],
    fromBeginning: true,
    handlers: new EventHandlers()
      .on(DriftDetectedSchema, (e) => Promise.resolve(void drifts.push(e.message)))
      .on(AlertRaisedSchema, (e) => Promise.resolve(void alerts.push(e.message))),
  });
}, 120_000);

afterAll(async () => {
  client?.close();
  await watcher?.stop();
  await publisher?.disconnect();
  await running?.app.get(Platform).mongo.dropDatabase();
  await running?.stop();
  const ours = (await admin?.listTopics())?.filter((t) => t.startsWith(`${prefix}.`)) ?? [];
  if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  await admin?.disconnect();
});

describe('monitor lifecycle', () => {
  const reference = normals(1);
  const referenceRows = Array.from({ length: 2000 }, () => [reference(), 5 + 2 * reference()] as [number, number]);

  it('learns the reference profile of a version from ModelVersionCreated', async () => {
    const profile = create(ReferenceProfileSchema, {
      features: [
        numericProfile('x1', referenceRows.map((r) => r[0])),
        numericProfile('x2', referenceRows.map((r) => r[1])),
        create(FeatureProfileSchema, {
          name: 'prediction',
          count: 2000n,
          distribution: {
            case: 'categorical',
            value: { counts: { '0': BigInt(referenceRows.filter((r) => classOf(r[0]) === 0).length), '1': BigInt(referenceRows.filter((r) => classOf(r[0]) === 1).length) } },
          },
        }),
      ],
    });
    const topic = running?.app.get(Platform).topics.registryEvents ?? '';
    await publisher.publish(topic, ModelCreatedSchema, create(ModelCreatedSchema, { model: { name: model } }), { key: model, source });
    await publisher.publish(topic, ModelVersionCreatedSchema, create(ModelVersionCreatedSchema, { version: { model, version: 1, referenceProfile: profile } }), { key: model, source });
    // Version 2 has no profile: it is only served, for the alert rules.
    await publisher.publish(topic, ModelVersionCreatedSchema, create(ModelVersionCreatedSchema, { version: { model, version: 2 } }), { key: model, source });
    const h = await eventually('version 2 to be watched', async () => {
      try {
        return await health(2);
      } catch {
        return undefined;
      }
    });
    expect(h.requestCount).toBe(0n);
    expect(h.fromSnapshot).toBe(false);
  });

  it('reports latency, throughput and per-feature drift scores, and raises nothing for traffic like the reference', async () => {
    const live = normals(2);
    await serve(1, Array.from({ length: 300 }, () => [live(), 5 + 2 * live()]), { latency: (i) => (i % 100) + 1 });
    const repo = running?.app.get(HealthRepository);
    // An evaluation (the rules' pass) has seen all 300 once its snapshot counts them.
    await eventually('an evaluation over the 300 requests', async () => ((await repo?.snapshot(model, 1))?.requestCount === 300n ? true : undefined));
    expect(await repo?.firingsOf(model, 1)).toEqual([]);

    const h = await eventually('health over 300 requests', async () => ((await health(1))?.requestCount === 300n ? health(1) : undefined));
    expect(h.errorRate).toBe(0);
    expect(h.throughputRps).toBeGreaterThan(0);
    // Latencies 1..100 three times: nearest-rank percentiles.
    expect(h.latency).toMatchObject({ p50Ms: 50, p90Ms: 90, p95Ms: 95, p99Ms: 99 });
    const scores = h.drift.map((d) => `${d.feature}/${d.method}`).sort();
    expect(scores).toEqual(['prediction/psi', 'x1/ks', 'x1/psi', 'x2/ks', 'x2/psi']);
    for (const d of h.drift) {
      expect(d.drifted, `${d.feature}/${d.method} score ${d.score} p ${d.pValue}`).toBe(false);
      expect(d.sampleCount).toBe(300n);
      expect(d.version).toBe(1);
    }
  });

  it('joins feedback labels by request id into accuracy', async () => {
    const live = normals(4);
    const rows = Array.from({ length: 50 }, () => [live(), 5 + 2 * live()] as [number, number]);
    const ids = await serve(1, rows);
    const topic = running?.app.get(Platform).topics.feedback ?? '';
    // 40 labels agree with the prediction, 10 do not: accuracy 0.8.
    await publisher.publishBatch(
      ids.map((requestId, i) => {
        const predicted = classOf(rows[i]?.[0] ?? 0);
        const label = i < 40 ? predicted : 1 - predicted;
        return {
          topic,
          schema: FeedbackSchema,
          message: create(FeedbackSchema, { requestId, model, label: create(ValueSchema, { kind: { case: 'numberValue', value: label } }), source: 'test' }),
          options: { key: model, source },
        };
      }),
    );
    const h = await eventually('50 labels joined', async () => ((await health(1))?.labeledCount === 50n ? health(1) : undefined));
    expect(h.quality['accuracy']).toBeCloseTo(0.8, 12);
  });

  it('raises DriftDetected naming the shifted feature once its window drifts, once per cooldown', async () => {
    const live = normals(3);
    await serve(1, Array.from({ length: 400 }, () => [live() + 3, 5 + 2 * live()]));
    const drift = await eventually('DriftDetected for churn v1', () => Promise.resolve(drifts.find((d) => d.model === model && d.version === 1)));
    const named = drift.features.map((f) => `${f.feature}/${f.method}`);
    expect(named).toEqual(expect.arrayContaining(['x1/psi', 'x1/ks']));
    expect(named.some((n) => n.startsWith('x2/'))).toBe(false);
    const x1 = drift.features.find((f) => f.feature === 'x1' && f.method === 'psi');
    expect(x1?.score).toBeGreaterThan(config.MONITOR_PSI_THRESHOLD);
    expect(drift.features.find((f) => f.feature === 'x1' && f.method === 'ks')?.pValue).toBeLessThan(config.MONITOR_KS_PVALUE);
    expect(drift.sampleCount).toBeGreaterThanOrEqual(200n);
    expect(drift.windowStart).toBeDefined();

    // Later evaluations still see the drift but the cooldown holds: one firing, one event.
    const repo = running?.app.get(HealthRepository);
    const [firing] = (await repo?.firingsOf(model, 1)) ?? [];
    expect(firing).toMatchObject({ rule: 'drift', firings: 1 });
    const firedAt = firing?.lastFiredAt.getTime() ?? 0;
    await eventually('two evaluations after the firing', async () => {
      const doc = await repo?.snapshots.findById(`${model}:1`).lean().exec();
      return doc && doc.savedAt.getTime() > firedAt + 1000 ? true : undefined;
    });
    expect((await repo?.firingsOf(model, 1))?.map((f) => f.firings)).toEqual([1]);
  });

  it('raises AlertRaised when the error rate crosses its threshold', async () => {
    await serve(2, Array.from({ length: 30 }, (_, i) => [i / 30, 5]), { failed: 10 });
    const alert = await eventually('AlertRaised error-rate for churn v2', () => Promise.resolve(alerts.find((a) => a.model === model && a.version === 2)));
    expect(alert).toMatchObject({ rule: 'error-rate', threshold: config.MONITOR_ERROR_RATE_THRESHOLD });
    expect(alert.value).toBeCloseTo(1 / 3, 12);
    expect(alert.message).toMatch(/33\.3% of 30 requests failed/);
    expect(drifts.filter((d) => d.version === 2)).toEqual([]);
  });

  it('serves the same health over REST and drift gauges on /metrics', async () => {
    const base = `http://127.0.0.1:${running?.httpPort}`;
    const res = await fetch(`${base}/v1/models/${model}/health?version=1`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { health: { request_count: string; quality: Record<string, number>; drift: { feature: string; method: string; drifted?: boolean }[] } };
    expect(body.health.request_count).toBe('750');
    expect(body.health.quality['accuracy']).toBeCloseTo(0.8, 12);
    expect(body.health.drift.find((d) => d.feature === 'x1' && d.method === 'psi')?.drifted).toBe(true);

    const all = await health(0);
    expect(all?.requestCount).toBe(780n);
    expect(new Set(all?.drift.map((d) => d.version))).toEqual(new Set([1]));

    const metrics = await eventually('drift gauges on /metrics', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return /aio_monitor_drift_psi\{[^}]*feature="x1"/.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/aio_monitor_latency_p99_ms\{[^}]*model="churn"/);
    expect(metrics).toMatch(/aio_monitor_quality\{[^}]*metric="accuracy"/);
  });

  it('answers the last known health after a restart, before new traffic arrives', async () => {
    await running?.stop();
    running = undefined;
    await start();
    const h = await health(1);
    expect(h?.fromSnapshot).toBe(true);
    expect(h?.requestCount).toBe(750n);
    expect(h?.drift.some((d) => d.feature === 'x1' && d.drifted)).toBe(true);
  });
});
