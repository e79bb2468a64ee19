#!/usr/bin/env node
// Smoke test of a running OpenSearch (or Elasticsearch) for what the platform's telemetry needs:
// cluster health, a composable data-stream index template, bulk `create` into a data stream, search,
// GET _data_stream. No dependencies (global fetch). Cleans up what it created.
//   node deploy/local/opensearch/smoke.mjs            (SEARCH_URL overrides http://127.0.0.1:9200)
import { endpointRequest } from './component.mjs';

const endpoint = process.env.SEARCH_URL || 'http://127.0.0.1:9200';
const suffix = `smoke${process.pid}`;
const template = `aio-smoke-${suffix}`;
const stream = `logs-aio-${suffix}`;

async function call(method, path, body, { ndjson = false, allow = [] } = {}) {
  const { url, headers } = endpointRequest(endpoint, path);
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' }) },
    body: body === undefined ? undefined : ndjson ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = await res.json();
  if (!res.ok && !allow.includes(res.status)) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
  console.log(`ok - ${msg}`);
}

const t0 = performance.now();
try {
  const health = await call('GET', '_cluster/health?wait_for_status=yellow&timeout=10s');
  check(['green', 'yellow'].includes(health.status), `cluster health ${health.status}`);

  await call('PUT', `_index_template/${template}`, {
    index_patterns: [`logs-aio-${suffix}*`],
    data_stream: {},
    priority: 500,
    template: {
      settings: { number_of_replicas: 0 },
      mappings: {
        properties: {
          '@timestamp': { type: 'date' },
          message: { type: 'text' },
          data_stream: { properties: { type: { type: 'keyword' }, dataset: { type: 'keyword' }, namespace: { type: 'keyword' } } },
        },
      },
    },
  });
  check(true, `composable index template ${template} with data_stream {}`);

  const docs = Array.from({ length: 20 }, (_, i) => ({
    '@timestamp': new Date(Date.now() - i * 1000).toISOString(),
    message: `smoke message ${i}`,
    data_stream: { type: 'logs', dataset: 'aio.smoke', namespace: 'default' },
  }));
  const bulkBody = docs.flatMap((d) => [JSON.stringify({ create: {} }), JSON.stringify(d)]).join('\n') + '\n';
  const bulk = await call('POST', `${stream}/_bulk?refresh=true`, bulkBody, { ndjson: true });
  check(!bulk.errors && bulk.items.length === docs.length, `bulk create of ${docs.length} docs into ${stream}`);
  check(bulk.items[0].create._index.startsWith(`.ds-${stream}-`), `backing index ${bulk.items[0].create._index}`);

  const rejected = await call('POST', `${stream}/_bulk`, `${JSON.stringify({ index: {} })}\n${JSON.stringify(docs[0])}\n`, { ndjson: true });
  check(rejected.errors && rejected.items[0].index.status === 400, 'bulk `index` action is rejected by the data stream');

  const search = await call('POST', `${stream}/_search`, {
    size: 1,
    query: { match: { message: 'smoke' } },
    aggs: { ds: { terms: { field: 'data_stream.dataset' } } },
  });
  check(search.hits.total.value === docs.length, `search finds ${search.hits.total.value} docs`);
  check(search.aggregations.ds.buckets[0]?.key === 'aio.smoke', 'terms aggregation on data_stream.dataset (keyword)');

  const ds = await call('GET', `_data_stream/${stream}`);
  check(ds.data_streams?.[0]?.name === stream, `GET _data_stream lists ${stream} (${ds.data_streams?.[0]?.status})`);
  console.log(`smoke passed in ${(performance.now() - t0).toFixed(0)} ms against ${new URL(endpoint).host}`);
} catch (err) {
  console.error(`smoke FAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  await call('DELETE', `_data_stream/${stream}`, undefined, { allow: [404] }).catch(() => {});
  await call('DELETE', `_index_template/${template}`, undefined, { allow: [404] }).catch(() => {});
}
