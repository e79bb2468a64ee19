// The platform end to end on the real local infrastructure: a gRPC call into the registry causes a
// Kafka event (through the registry's outbox) that the monitor consumes; the spans of both services
// carry one trace id in OpenSearch, and every service has shipped log documents there.
import { randomBytes, randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createGrpcClient, type GrpcClient } from '@aio/grpc';
import { FieldType, IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { MonitorService } from '@aio/proto/aio/monitor/v1/monitor';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually as waitFor } from '@aio/host/testing';

// Telemetry reaches OpenSearch in batches: give each wait a minute.
const eventually = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => waitFor(what, probe, 60_000, 500);
import { localSecret, SERVICES, type ServiceName } from './mesh.fixture.js';

const SEARCH_URL = (process.env.SEARCH_URL ?? 'http://127.0.0.1:9200').replace(/\/+$/, '');

interface Hit {
  _source: Record<string, unknown>;
}

async function search(index: string, query: object): Promise<Hit[]> {
  const res = await fetch(`${SEARCH_URL}/${index}/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ size: 100, query }),
  });
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`search ${index}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { hits: { hits: Hit[] } };
  return body.hits.hits;
}

let token: string;
let registry: GrpcClient<typeof RegistryService>;
let monitor: GrpcClient<typeof MonitorService>;
let ingestion: GrpcClient<typeof IngestionService>;
let gateway: GrpcClient<typeof GRPCInferenceService>;

/** A W3C traceparent for a new trace, as an instrumented caller would send; its id must come back from the services. */
function newTrace(): { traceId: string; metadata: Record<string, string> } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, metadata: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } };
}

const serviceOf = (hit: Hit): unknown => (hit._source['service'] as { name?: string } | undefined)?.name;

/** Waits until spans of every named service carry the trace id. */
async function spansOf(traceId: string, services: string[]): Promise<Hit[]> {
  return eventually(`spans of ${services.join(' and ')} in trace ${traceId}`, async () => {
    const hits = await search('traces-aio-*', { term: { 'trace.id': traceId } });
    const seen = new Set(hits.map(serviceOf));
    return services.every((s) => seen.has(s)) ? hits : undefined;
  });
}

beforeAll(async () => {
  token = await mintToken({ secret: localSecret(), subject: 'e2e', roles: ['admin'], issuer: 'aio-local', audience: 'aio' });
  const options = { token: () => token };
  registry = createGrpcClient(RegistryService, `127.0.0.1:${SERVICES.registry.grpc}`, options);
  monitor = createGrpcClient(MonitorService, `127.0.0.1:${SERVICES.monitor.grpc}`, options);
  ingestion = createGrpcClient(IngestionService, `127.0.0.1:${SERVICES.ingestion.grpc}`, options);
  gateway = createGrpcClient(GRPCInferenceService, `127.0.0.1:${SERVICES['inference-gateway'].grpc}`, options);
});

afterAll(() => {
  for (const client of [registry, monitor, ingestion, gateway]) client?.close();
});

describe('the five services on the real local infrastructure', () => {
  it('a registry gRPC call reaches the monitor through Kafka within one trace, visible in OpenSearch', async () => {
    const model = `e2e-${randomUUID().slice(0, 8)}`;
    const { traceId, metadata } = newTrace();

    const { model: created } = await registry.createModel({ name: model, description: 'end-to-end' }, { metadata });
    expect(created?.name).toBe(model);

    // NOT_FOUND until the monitor has consumed the ModelCreated event.
    const health = await eventually(`the monitor to watch ${model}`, async () => (await monitor.getModelHealth({ model })).health);
    expect(health.model).toBe(model);

    const spans = await spansOf(traceId, ['registry', 'monitor']);
    expect(spans.some((h) => serviceOf(h) === 'registry' && (h._source['span'] as { kind?: string }).kind === 'server')).toBe(true);
    expect(spans.some((h) => serviceOf(h) === 'monitor' && (h._source['span'] as { kind?: string }).kind === 'consumer')).toBe(true);

    const logged = await eventually('the registry log line of the call, with the trace id', async () => {
      const hits = await search('logs-aio-registry', { term: { 'trace.id': traceId } });
      return hits.length > 0 ? hits : undefined;
    });
    expect(logged.length).toBeGreaterThan(0);
  });

  it('an ingestion gRPC call reaches the trainer through Kafka within one trace', async () => {
    const dataset = `e2e-${randomUUID().slice(0, 8)}`;
    const { traceId, metadata } = newTrace();
    await ingestion.createDataset(
      {
        name: dataset,
        schema: {
          fields: [
            { name: 'sepal_length', type: FieldType.FLOAT, required: true, min: 0, max: 10 },
            { name: 'species', type: FieldType.CATEGORY, allowedValues: ['setosa', 'versicolor'] },
          ],
          labelField: 'species',
        },
      },
      { metadata },
    );
    await eventually(`the trainer to know dataset ${dataset}`, async () => {
      const res = await fetch(`http://127.0.0.1:${SERVICES.trainer.http}/v1/datasets?page_size=1000`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { datasets?: { name: string }[] };
      return body.datasets?.some((d) => d.name === dataset) ? true : undefined;
    });
    await spansOf(traceId, ['ingestion', 'trainer']);
  });

  it('the gateway speaks the Open Inference Protocol and names what is wrong with a request', async () => {
    expect((await gateway.serverLive({})).live).toBe(true);
    expect((await gateway.serverReady({})).ready).toBe(true);
    expect((await gateway.serverMetadata({})).name).toBe('aiochestrator');
    await expect(gateway.modelInfer({ modelName: '' })).rejects.toThrow(/model_name/);
    const rest = await fetch(`http://127.0.0.1:${SERVICES['inference-gateway'].http}/v2/health/ready`);
    expect(rest.status).toBe(200);
  });

  it('every service shipped log documents to its logs-aio-<service> data stream', async () => {
    for (const service of Object.keys(SERVICES) as ServiceName[]) {
      const hits = await eventually(`log documents of ${service}`, async () => {
        const found = await search(`logs-aio-${service}`, { match_all: {} });
        return found.length > 0 ? found : undefined;
      });
      expect(hits.length, service).toBeGreaterThan(0);
    }
  });
});
