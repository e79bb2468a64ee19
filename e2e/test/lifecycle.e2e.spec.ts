// The model lifecycle loop on the running mesh, with no human in it after the policy is set — the same
// scenario `aio demo` (and `npm start`) shows people, asserted here: records in (Kafka from a plain
// producer, gRPC streaming; invalid ones to the DLQ) -> dataset version -> training -> version 1
// promoted by the policy -> served over gRPC and REST -> shifted traffic -> drift -> retraining on a new
// dataset version -> version 2 passes the gate and is promoted -> the gateway swaps under steady load with
// zero failed requests -> spans in OpenSearch under shared trace ids across the services.
import { CliContext, runLifecycleScenario } from '@aio/cli';
import { RunState, RunTrigger } from '@aio/proto/aio/trainer/v1/trainer';
import { describe, expect, it } from 'vitest';
import { ROOT } from './mesh.fixture.js';

const SEARCH_URL = (process.env.SEARCH_URL ?? 'http://127.0.0.1:9200').replace(/\/+$/, '');

describe('the model lifecycle loop', () => {
  it('ingests, trains, promotes, serves, detects drift, retrains and swaps with zero failed requests', { timeout: 600_000 }, async () => {
    const steps: string[] = [];
    const ctx = new CliContext(process.env, ROOT, { out: () => undefined, err: () => undefined }, false);
    try {
      const r = await runLifecycleScenario(ctx, { step: (line) => steps.push(line), searchUrl: SEARCH_URL });

      expect(r.intake).toEqual({ accepted: 400, rejected: 4 });
      expect(r.firstRun).toMatchObject({ state: RunState.SUCCEEDED, modelVersion: 1, error: '' });
      expect(r.firstRun.gateResult?.passed).toBe(true);
      expect(r.firstRun.metrics['accuracy']).toBeGreaterThan(0.6);
      expect(r.grpcLabels).toEqual([0, 1]);
      expect(r.restLabels).toEqual(r.grpcLabels);
      expect(r.maxBatchSize).toBe(16); // the deployment's batching reached the gateway

      expect(r.retrainRun).toMatchObject({ state: RunState.SUCCEEDED, trigger: RunTrigger.DRIFT, modelVersion: 2, error: '' });
      expect(r.retrainRun.datasetVersion).toBeGreaterThan(r.firstRun.datasetVersion);
      expect(r.retrainRun.gateResult?.passed).toBe(true);
      expect(r.retrainRun.metrics['accuracy']).toBeGreaterThan(r.firstRun.metrics['accuracy'] ?? 1);

      expect(r.load.swapped).toBe(true);
      expect(r.load.failures).toBe(0);
      expect(r.load.served).toBeGreaterThan(0);

      for (const id of Object.values(r.traces)) expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(steps.length).toBeGreaterThan(5);
    } finally {
      ctx.close();
    }
  });
});
