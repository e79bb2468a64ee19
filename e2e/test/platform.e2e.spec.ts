// The platform end to end on the real local infrastructure: a gRPC call into the registry causes a
// Kafka event (through the registry's outbox) that the monitor consumes; the spans of both services
// carry one trace id in OpenSearch, and every service has shipped log documents there.
import { randomBytes, randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createGrpcClient, type GrpcClient } from '@aio/grpc';
import { MonitorService } from '@aio/proto/aio/monitor/v1/monitor';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMesh, eventually, localSecret, SERVICES, type ServiceName } from './mesh.fixture.js';

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

let stopMesh: () => Promise<void> = () => Promise.resolve();
let registry: GrpcClient<typeof RegistryService>;
let monitor: GrpcClient<typeof MonitorService>;

beforeAll(async () => {
  stopMesh = await ensureMesh();
  const token = await mintToken({ secret: localSecret(), subject: 'e2e', roles: ['admin'], issuer: 'aio-local', audience: 'aio' });
  registry = createGrpcClient(RegistryService, `127.0.0.1:${SERVICES.registry.grpc}`, { token: () => token });
  monitor = createGrpcClient(MonitorService, `127.0.0.1:${SERVICES.monitor.grpc}`, { token: () => token });
});

afterAll(async () => {
  registry?.close();
  monitor?.close();
  await stopMesh();
});

describe('the five services on the real local infrastructure', () => {
  it('a registry gRPC call reaches the monitor through Kafka within one trace, visible in OpenSearch', async () => {
    const model = `e2e-${randomUUID().slice(0, 8)}`;
    // The caller starts the trace, as an instrumented client would: its id must come back from both services.
    const traceId = randomBytes(16).toString('hex');
    const metadata = { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };

    const { model: created } = await registry.createModel({ name: model, description: 'end-to-end' }, { metadata });
    expect(created?.name).toBe(model);

    const watched = await eventually(`the monitor to watch ${model}`, async () => {
      const { models } = await monitor.listWatchedModels({ pageSize: 1000 });
      return models.find((m) => m.model === model);
    });
    expect(watched.model).toBe(model);

    const spans = await eventually('registry and monitor spans of the trace in OpenSearch', async () => {
      const hits = await search('traces-aio-*', { term: { 'trace.id': traceId } });
      const services = new Set(hits.map((h) => h._source['service.name'] ?? (h._source['service'] as { name?: string } | undefined)?.name));
      return services.has('registry') && services.has('monitor') ? hits : undefined;
    });
    const byService = (name: string) => spans.filter((h) => (h._source['service.name'] ?? (h._source['service'] as { name?: string })?.name) === name);
    expect(byService('registry').length).toBeGreaterThan(0);
    expect(byService('monitor').length).toBeGreaterThan(0);

    const logged = await eventually('the registry log line of the call, with the trace id', async () => {
      const hits = await search('logs-aio-registry', { term: { 'trace.id': traceId } });
      return hits.length > 0 ? hits : undefined;
    });
    expect(logged.length).toBeGreaterThan(0);
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
