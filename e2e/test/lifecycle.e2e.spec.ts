// The model lifecycle loop on the running mesh, with no human in it after the policy is set:
// records in (Kafka from a plain producer, gRPC streaming; invalid ones to the DLQ) -> dataset version ->
// training -> version 1 registered and promoted by the policy -> served over gRPC and REST ->
// shifted traffic -> the monitor raises drift -> the trainer retrains on a new dataset version ->
// version 2 passes the gate and is promoted -> the gateway swaps to it under steady load with zero failed
// requests -> the flow's spans in OpenSearch share trace ids across ingestion, trainer, registry, gateway.
import { randomBytes, randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createGrpcClient, type GrpcClient } from '@aio/grpc';
import { eventually } from '@aio/host/testing';
import { FieldType, IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { PromotionAction, RunState, RunTrigger, TrainerService } from '@aio/proto/aio/trainer/v1/trainer';
import { GRPCInferenceService, type ModelInferResponse } from '@aio/proto/inference/grpc_service';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecret, SERVICES } from './mesh.fixture.js';

const SEARCH_URL = (process.env.SEARCH_URL ?? 'http://127.0.0.1:9200').replace(/\/+$/, '');
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const run = randomUUID().slice(0, 8);
const dataset = `loop-${run}`;
const model = `loop-model-${run}`;

let token: string;
let ingestion: GrpcClient<typeof IngestionService>;
let registry: GrpcClient<typeof RegistryService>;
let trainer: GrpcClient<typeof TrainerService>;
let gateway: GrpcClient<typeof GRPCInferenceService>;
const kafka = new Kafka({ brokers: BROKERS, clientId: `e2e-${run}`, logLevel: logLevel.NOTHING });

/** Seeded normal samples, so every run trains the same models. */
function gaussian(seed: number): () => number {
  let s = seed;
  const uniform = (): number => ((s = (s * 48271) % 2147483647) / 2147483647);
  return () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** Two blobs; `spread` controls how much they overlap (large spread: a harder problem, lower accuracy). */
function records(n: number, from: number, centre: number, spread: number, seed: number): Record<string, unknown>[] {
  const g = gaussian(seed);
  return Array.from({ length: n }, (_, i) => {
    const b = i % 2 === 1;
    return { id: `r${from + i}`, x1: (b ? centre : -centre) + spread * g(), x2: (b ? -centre : centre) + spread * g(), label: b ? 'b' : 'a' };
  });
}

function traceparent(): { traceId: string; metadata: Record<string, string> } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, metadata: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } };
}

async function servicesInTrace(traceId: string): Promise<Set<unknown>> {
  const res = await fetch(`${SEARCH_URL}/traces-aio-*/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ size: 200, query: { term: { 'trace.id': traceId } } }),
  });
  const body = (await res.json()) as { hits?: { hits: { _source: { service?: { name?: string } } }[] } };
  return new Set((body.hits?.hits ?? []).map((h) => h._source.service?.name));
}

async function waitForTrace(traceId: string, services: string[]): Promise<void> {
  await eventually(`spans of ${services.join(', ')} in trace ${traceId}`, async () => {
    const seen = await servicesInTrace(traceId);
    return services.every((s) => seen.has(s)) ? true : undefined;
  }, 90_000, 1000);
}

async function ingestByGrpc(rows: Record<string, unknown>[]): Promise<void> {
  async function* batches() {
    for (let i = 0; i < rows.length; i += 100) yield await Promise.resolve({ records: rows.slice(i, i + 100).map((fields) => ({ dataset, fields: fields as Record<string, string | number> })) });
  }
  await ingestion.ingestRecords(batches());
}

async function acceptedCount(): Promise<{ accepted: number; rejected: number }> {
  const { dataset: d } = await ingestion.getDataset({ name: dataset });
  return { accepted: Number(d?.intake?.accepted ?? 0n), rejected: Number(d?.intake?.rejected ?? 0n) };
}

async function finishedRun(id: string) {
  return eventually(`run ${id} to finish`, async () => {
    const { run: r } = await trainer.getRun({ id });
    return r && [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED].includes(r.state) ? r : undefined;
  }, 120_000, 500);
}

async function champion(): Promise<number | undefined> {
  const { model: m } = await registry.getModel({ name: model });
  return m?.aliases['champion'];
}

function infer(rows: number[][], metadata?: Record<string, string>): Promise<ModelInferResponse> {
  return gateway.modelInfer(
    { modelName: model, inputs: [{ name: 'input', datatype: 'FP32', shape: [BigInt(rows.length), 2n], contents: { fp32Contents: rows.flat() } }] },
    metadata ? { metadata } : {},
  );
}

beforeAll(async () => {
  token = await mintToken({ secret: localSecret(), subject: 'e2e-loop', roles: ['admin'], issuer: 'aio-local', audience: 'aio' });
  const options = { token: () => token, timeoutMs: 60_000 };
  ingestion = createGrpcClient(IngestionService, `127.0.0.1:${SERVICES.ingestion.grpc}`, options);
  registry = createGrpcClient(RegistryService, `127.0.0.1:${SERVICES.registry.grpc}`, options);
  trainer = createGrpcClient(TrainerService, `127.0.0.1:${SERVICES.trainer.grpc}`, options);
  gateway = createGrpcClient(GRPCInferenceService, `127.0.0.1:${SERVICES['inference-gateway'].grpc}`, options);
});

afterAll(() => {
  for (const c of [ingestion, registry, trainer, gateway]) c?.close();
});

describe('the model lifecycle loop', () => {
  it('ingests, trains, promotes, serves, detects drift, retrains and swaps with zero failed requests', { timeout: 600_000 }, async () => {
    // 1. A dataset; records through a plain Kafka producer and through gRPC, some invalid.
    await ingestion.createDataset({
      name: dataset,
      schema: {
        fields: [
          { name: 'id', type: FieldType.STRING, required: true },
          { name: 'x1', type: FieldType.FLOAT, required: true },
          { name: 'x2', type: FieldType.FLOAT, required: true },
          { name: 'label', type: FieldType.CATEGORY, allowedValues: ['a', 'b'], required: true },
        ],
        keyField: 'id',
        labelField: 'label',
      },
    });
    const noisy = records(400, 0, 1, 1.3, 11);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: `aio.ingest.${dataset}`,
      messages: [
        ...noisy.slice(0, 200).map((r) => ({ key: String(r['id']), value: JSON.stringify(r) })),
        { value: JSON.stringify({ id: 'bad-1', x1: 'not a number', x2: 1, label: 'a' }) },
        { value: JSON.stringify({ id: 'bad-2', x1: 1, x2: 1, label: 'zebra' }) },
        { value: 'this is not json' },
      ],
    });
    await producer.disconnect();
    await ingestByGrpc([...noisy.slice(200), { id: 'bad-3', x1: 1, label: 'b' }]);
    const counts = await eventually('400 accepted and 4 rejected records', async () => {
      const c = await acceptedCount();
      return c.accepted >= 400 && c.rejected >= 4 ? c : undefined;
    }, 60_000, 500);
    expect(counts).toEqual({ accepted: 400, rejected: 4 });

    // 2. The policy, then the first version: trained, registered with metrics and lineage, promoted.
    await trainer.setRetrainPolicy({
      policy: { model, dataset, trainer: 'builtin:logistic-regression', onDrift: true, gate: { metric: 'accuracy', higherIsBetter: true }, action: PromotionAction.PROMOTE },
    });
    const v1Trace = traceparent();
    const { version: dv1 } = await ingestion.createDatasetVersion({ dataset }, { metadata: v1Trace.metadata });
    expect(Number(dv1?.recordCount)).toBe(400);
    const { run: first } = await eventually('the trainer to know the first dataset version', async () =>
      (await trainer.submitRun({ model, dataset, datasetVersion: dv1?.version ?? 0, trainer: 'builtin:logistic-regression' }).catch(() => undefined)) ?? undefined,
    );
    const r1 = await finishedRun(first?.id ?? '');
    expect(r1.error).toBe('');
    expect(r1.modelVersion).toBe(1);
    expect(r1.gateResult?.passed).toBe(true);
    const { version: mv1 } = await registry.getModelVersion({ model, selector: { case: 'version', value: 1 } });
    expect(mv1?.lineage).toMatchObject({ dataset, datasetVersion: dv1?.version, trainingRunId: first?.id });
    expect(mv1?.metrics['accuracy']).toBeGreaterThan(0.6);
    expect(await champion()).toBe(1);

    // 3. Served over gRPC and REST, with the same predictions.
    const deployTrace = traceparent();
    await registry.setDeployment({ deployment: { model, target: { case: 'alias', value: 'champion' } } }, { metadata: deployTrace.metadata });
    const probeRows = [
      [-2, 2],
      [2, -2],
    ];
    const viaGrpc = await eventually('the gateway to serve version 1', async () => {
      const res = await infer(probeRows).catch(() => undefined);
      return res?.modelVersion === '1' ? res : undefined;
    }, 120_000, 500);
    const labels = (res: ModelInferResponse): number[] => (res.outputs.find((o) => o.name === 'label')?.contents?.int64Contents ?? []).map(Number);
    expect(labels(viaGrpc)).toEqual([0, 1]);
    const rest = await fetch(`http://127.0.0.1:${SERVICES['inference-gateway'].http}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP32', data: probeRows.flat() }] }),
    });
    expect(rest.status).toBe(200);
    const restBody = (await rest.json()) as { outputs: { name: string; data: number[] }[] };
    expect(restBody.outputs.find((o) => o.name === 'label')?.data.map(Number)).toEqual(labels(viaGrpc));

    // 4. Cleaner data keeps arriving; live traffic shifts. A steady load runs through the swap.
    await ingestByGrpc(records(400, 1000, 3, 0.5, 23));
    let failures = 0;
    let served = 0;
    let swapped = false;
    const load = (async () => {
      const deadline = Date.now() + 420_000;
      while (!swapped && Date.now() < deadline) {
        try {
          const res = await infer(probeRows);
          served += 1;
          if (res.modelVersion === '2') swapped = true;
        } catch {
          failures += 1;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const g = gaussian(99);
    for (let i = 0; i < 40; i++) {
      await infer(Array.from({ length: 10 }, () => [6 + g(), 6 + g()]));
    }

    // 5. Drift -> retrain on a new dataset version -> gate -> promotion -> the gateway swaps.
    const r2 = await eventually('a drift-triggered run to succeed', async () => {
      const { runs } = await trainer.listRuns({ model });
      const drift = runs.find((r) => r.trigger === RunTrigger.DRIFT);
      return drift && [RunState.SUCCEEDED, RunState.FAILED].includes(drift.state) ? drift : undefined;
    }, 300_000, 1000);
    expect(r2.error).toBe('');
    expect(r2.datasetVersion).toBeGreaterThan(dv1?.version ?? 0);
    expect(r2.gateResult?.passed).toBe(true);
    await eventually('version 2 to be champion', async () => ((await champion()) === 2 ? true : undefined), 60_000, 500);
    await load;
    expect(swapped).toBe(true);
    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(0);

    // 6. One trace per hop of the flow, across the services.
    await waitForTrace(v1Trace.traceId, ['ingestion', 'trainer']);
    await waitForTrace(deployTrace.traceId, ['registry', 'inference-gateway']);
    const trainerToRegistry = await eventually('a trace shared by the trainer and the registry', async () => {
      const res = await fetch(`${SEARCH_URL}/traces-aio-trainer/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ size: 50, query: { bool: { filter: [{ term: { 'span.kind': 'client' } }] } }, sort: [{ '@timestamp': 'desc' }] }),
      });
      const body = (await res.json()) as { hits?: { hits: { _source: { trace: { id: string } } }[] } };
      for (const hit of body.hits?.hits ?? []) {
        if ((await servicesInTrace(hit._source.trace.id)).has('registry')) return hit._source.trace.id;
      }
      return undefined;
    }, 90_000, 1000);
    expect(trainerToRegistry).toMatch(/^[0-9a-f]{32}$/);
  });
});
