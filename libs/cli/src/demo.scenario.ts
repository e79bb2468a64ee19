// The model lifecycle loop as one scenario, run by `aio demo` (and `npm start`) for people and by the
// e2e test for assertions: records in (a plain Kafka producer and gRPC streaming, some invalid) ->
// dataset version -> training -> version 1 promoted by a retrain policy -> served over gRPC and REST ->
// shifted traffic -> drift -> retraining on a new dataset version -> version 2 passes the gate and is
// promoted -> the gateway swaps to it under a steady load -> the traces that tie the services together.
import { randomBytes, randomUUID } from 'node:crypto';
import { FieldType, IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { PromotionAction, RunState, RunTrigger, TrainerService, type TrainingRun } from '@aio/proto/aio/trainer/v1/trainer';
import { GRPCInferenceService, type ModelInferResponse } from '@aio/proto/inference/grpc_service';
import { Kafka, logLevel } from 'kafkajs';
import type { CliContext } from './cli.context.js';
import { CliError } from './cli.errors.js';

export interface ScenarioResult {
  dataset: string;
  model: string;
  intake: { accepted: number; rejected: number };
  firstRun: TrainingRun;
  retrainRun: TrainingRun;
  /** Labels predicted for the probe rows over gRPC and over REST. */
  grpcLabels: number[];
  restLabels: number[];
  /** The gateway's max batch size for the served version (the deployment asks for dynamic batching). */
  maxBatchSize: number;
  /** The steady load that ran through the swap. */
  load: { served: number; failures: number; swapped: boolean };
  /** Trace ids whose spans span the services named. */
  traces: { ingestionToTrainer: string; registryToGateway: string; trainerToRegistry: string };
}

export interface ScenarioOptions {
  /** Progress, one readable line per step. */
  step: (line: string) => void;
  searchUrl: string;
  /** Upper bound of each wait, ms. */
  timeoutMs?: number;
}

const PROBE_ROWS = [
  [-2, 2],
  [2, -2],
];

/** Seeded normal samples, so every run trains the same models. */
function gaussian(seed: number): () => number {
  let s = seed;
  const uniform = (): number => (s = (s * 48271) % 2147483647) / 2147483647;
  return () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** Two blobs of labelled points; a large `spread` makes them overlap (a harder problem). */
function blobs(n: number, from: number, centre: number, spread: number, seed: number): Record<string, string | number>[] {
  const g = gaussian(seed);
  return Array.from({ length: n }, (_, i) => {
    const b = i % 2 === 1;
    return { id: `r${from + i}`, x1: (b ? centre : -centre) + spread * g(), x2: (b ? -centre : centre) + spread * g(), label: b ? 'b' : 'a' };
  });
}

function newTrace(): { traceId: string; metadata: Record<string, string> } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, metadata: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new CliError(`gave up after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

const labelsOf = (res: ModelInferResponse): number[] => (res.outputs.find((o) => o.name === 'label')?.contents?.int64Contents ?? []).map(Number);

export async function runLifecycleScenario(ctx: CliContext, opts: ScenarioOptions): Promise<ScenarioResult> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const id = randomUUID().slice(0, 8);
  const dataset = `demo-${id}`;
  const model = `demo-model-${id}`;
  const ingestion = ctx.client(IngestionService, 'ingestion');
  const registry = ctx.client(RegistryService, 'registry');
  const trainer = ctx.client(TrainerService, 'trainer');
  const gateway = ctx.client(GRPCInferenceService, 'gateway');
  const step = opts.step;

  const ingest = async (rows: Record<string, string | number>[]): Promise<void> => {
    async function* batches() {
      for (let i = 0; i < rows.length; i += 100) yield await Promise.resolve({ records: rows.slice(i, i + 100).map((fields) => ({ dataset, fields })) });
    }
    await ingestion.ingestRecords(batches());
  };
  const intake = async () => {
    const { dataset: d } = await ingestion.getDataset({ name: dataset });
    return { accepted: Number(d?.intake?.accepted ?? 0n), rejected: Number(d?.intake?.rejected ?? 0n) };
  };
  const finished = (runId: string) =>
    waitFor(`run ${runId} to finish`, async () => {
      const { run } = await trainer.getRun({ id: runId });
      return run && [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED].includes(run.state) ? run : undefined;
    }, timeoutMs);
  const champion = async () => (await registry.getModel({ name: model })).model?.aliases['champion'];
  const infer = (rows: number[][]) =>
    gateway.modelInfer({ modelName: model, inputs: [{ name: 'input', datatype: 'FP32', shape: [BigInt(rows.length), 2n], contents: { fp32Contents: rows.flat() } }] });
  const servicesIn = async (traceId: string): Promise<Set<unknown>> => {
    const res = await fetch(`${opts.searchUrl}/traces-aio-*/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 200, query: { term: { 'trace.id': traceId } } }),
    });
    const body = (await res.json()) as { hits?: { hits: { _source: { service?: { name?: string } } }[] } };
    return new Set((body.hits?.hits ?? []).map((h) => h._source.service?.name));
  };
  const traceOf = async (traceId: string, services: string[]): Promise<string> =>
    waitFor(`spans of ${services.join(' and ')} under trace ${traceId}`, async () => {
      const seen = await servicesIn(traceId);
      return services.every((s) => seen.has(s)) ? traceId : undefined;
    }, timeoutMs, 1000);

  step(`1. dataset ${dataset}: id (key), x1, x2 (floats), label (a|b)`);
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
  const noisy = blobs(400, 0, 1, 1.3, 11);
  const kafka = new Kafka({ brokers: ctx.endpoints.kafkaBrokers, clientId: `aio-demo-${id}`, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: `${ctx.endpoints.topicPrefix}.ingest.${dataset}`,
      messages: [
        ...noisy.slice(0, 200).map((r) => ({ key: String(r['id']), value: JSON.stringify(r) })),
        { value: JSON.stringify({ id: 'bad-1', x1: 'not a number', x2: 1, label: 'a' }) },
        { value: JSON.stringify({ id: 'bad-2', x1: 1, x2: 1, label: 'zebra' }) },
        { value: 'this is not json' },
      ],
    });
  } finally {
    await producer.disconnect();
  }
  step('   203 JSON records sent by a plain Kafka producer (3 invalid), 201 streamed over gRPC (1 invalid)');
  await ingest([...noisy.slice(200), { id: 'bad-3', x1: 1, label: 'b' }]);
  const counts = await waitFor('the records to be written', async () => {
    const c = await intake();
    return c.accepted >= 400 && c.rejected >= 4 ? c : undefined;
  }, timeoutMs);
  step(`   intake: ${counts.accepted} accepted, ${counts.rejected} rejected (in ${ctx.endpoints.topicPrefix}.ingest.${dataset}.dlq with the reason)`);

  step(`2. retrain policy for ${model}: logistic regression, on drift, gate on accuracy, promote to champion`);
  await trainer.setRetrainPolicy({
    policy: { model, dataset, trainer: 'builtin:logistic-regression', onDrift: true, gate: { metric: 'accuracy', higherIsBetter: true }, action: PromotionAction.PROMOTE },
  });
  const versionTrace = newTrace();
  const { version: dv1 } = await ingestion.createDatasetVersion({ dataset }, { metadata: versionTrace.metadata });
  step(`   dataset version ${dataset}@${dv1?.version} (${dv1?.recordCount} records) exported to the artifact store`);
  const { run: submitted } = await waitFor('the trainer to learn the dataset version', async () =>
    trainer.submitRun({ model, dataset, datasetVersion: dv1?.version ?? 0, trainer: 'builtin:logistic-regression' }),
  timeoutMs);
  const firstRun = await finished(submitted?.id ?? '');
  if (firstRun.state !== RunState.SUCCEEDED) throw new CliError(`the first training run failed: ${firstRun.error}`);
  step(`   run ${firstRun.id}: v${firstRun.modelVersion}, accuracy ${firstRun.metrics['accuracy']?.toFixed(3)}; gate: ${firstRun.gateResult?.reason ?? '-'}`);

  const deployTrace = newTrace();
  // Dynamic batching: up to 16 rows per run, waiting at most 1 ms for companions.
  const batching = { maxBatchSize: 16, maxQueueDelayMicros: 1000 };
  await registry.setDeployment({ deployment: { model, target: { case: 'alias', value: 'champion' }, batching } }, { metadata: deployTrace.metadata });
  const served1 = await waitFor('the gateway to serve version 1', async () => {
    const res = await infer(PROBE_ROWS);
    return res.modelVersion === '1' ? res : undefined;
  }, timeoutMs);
  const rest = await fetch(`http://${ctx.endpoints.gatewayHttp}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await ctx.token()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP32', data: PROBE_ROWS.flat() }] }),
  });
  if (rest.status !== 200) throw new CliError(`REST inference answered ${rest.status}: ${await rest.text()}`);
  const restBody = (await rest.json()) as { outputs: { name: string; data: unknown[] }[] };
  const restLabels = (restBody.outputs.find((o) => o.name === 'label')?.data ?? []).map(Number);
  const maxBatchSize = (await gateway.modelConfig({ name: model })).config?.maxBatchSize ?? 0;
  step(`3. ${model} v1 serves: gRPC labels ${JSON.stringify(labelsOf(served1))}, REST labels ${JSON.stringify(restLabels)}; dynamic batching up to ${maxBatchSize} rows`);

  step('4. cleaner data arrives; live traffic shifts (x1, x2 around 6); a steady load keeps calling the model');
  await ingest(blobs(400, 1000, 3, 0.5, 23));
  const load = { served: 0, failures: 0, swapped: false };
  const loadDone = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!load.swapped && Date.now() < deadline) {
      try {
        const res = await infer(PROBE_ROWS);
        load.served += 1;
        if (res.modelVersion === '2') load.swapped = true;
      } catch {
        load.failures += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const g = gaussian(99);
  for (let i = 0; i < 40; i++) await infer(Array.from({ length: 10 }, () => [6 + g(), 6 + g()]));

  const retrainRun = await waitFor('the monitor to raise drift and the trainer to retrain', async () => {
    const { runs } = await trainer.listRuns({ model });
    const run = runs.find((r) => r.trigger === RunTrigger.DRIFT);
    return run && [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED].includes(run.state) ? run : undefined;
  }, timeoutMs, 1000);
  if (retrainRun.state !== RunState.SUCCEEDED) throw new CliError(`the retraining run failed: ${retrainRun.error}`);
  step(`5. drift -> retrained on ${dataset}@${retrainRun.datasetVersion}: v${retrainRun.modelVersion}, accuracy ${retrainRun.metrics['accuracy']?.toFixed(3)}`);
  step(`   gate: ${retrainRun.gateResult?.reason ?? '-'}`);
  await waitFor('version 2 to become champion', async () => ((await champion()) === 2 ? true : undefined), timeoutMs);
  await loadDone;
  step(`   the gateway swapped to v2 under load: ${load.served} requests served, ${load.failures} failed`);

  const trainerToRegistry = await waitFor('a trace shared by the trainer and the registry', async () => {
    const res = await fetch(`${opts.searchUrl}/traces-aio-trainer/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 50, query: { term: { 'span.kind': 'client' } }, sort: [{ '@timestamp': 'desc' }] }),
    });
    const body = (await res.json()) as { hits?: { hits: { _source: { trace: { id: string } } }[] } };
    for (const hit of body.hits?.hits ?? []) if ((await servicesIn(hit._source.trace.id)).has('registry')) return hit._source.trace.id;
    return undefined;
  }, timeoutMs, 1000);
  const traces = {
    ingestionToTrainer: await traceOf(versionTrace.traceId, ['ingestion', 'trainer']),
    registryToGateway: await traceOf(deployTrace.traceId, ['registry', 'inference-gateway']),
    trainerToRegistry,
  };
  step(`6. traces in ${opts.searchUrl}: ingestion->trainer ${traces.ingestionToTrainer}, registry->gateway ${traces.registryToGateway}, trainer->registry ${traces.trainerToRegistry}`);
  return { dataset, model, intake: counts, firstRun, retrainRun, grpcLabels: labelsOf(served1), restLabels, maxBatchSize, load, traces };
}
