// Triton's perf_analyzer driving the AIO inference gateway (a running mesh: `npm run up` / `npm run bench`),
// with the bench's own token (lib/platform.ts). The model must be deployed (run a benchmark first, e.g.
// `node e2e/bench/run.ts --only mlp-grpc`, which registers and deploys bench-mlp).
//   node e2e/bench/peers/perf_gateway.ts [--model bench-mlp] [--protocol http|grpc] [--concurrency 64] [--seconds 5] [--version V]
//   env PA_URL=host:port (another address, e.g. a proxy), PA_EXTRA="--input-data zero" (more perf_analyzer flags)
// Known (see README, "perf_analyzer and the gateway"): over gRPC perf_analyzer 2.51 does not send -H on
// ModelMetadata, so the authenticated gateway answers UNAUTHENTICATED; over HTTP (the default) it works.
import { parseArgs } from 'node:util';
import { GATEWAY_GRPC, GATEWAY_HTTP, Platform } from '../lib/platform.ts';
import { runPerfAnalyzer } from './peers.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'bench-mlp' },
    protocol: { type: 'string', default: 'http' },
    concurrency: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    shape: { type: 'string', default: 'x:1,64' },
    version: { type: 'string', default: '' },
  },
});
const protocol = values.protocol === 'grpc' ? 'grpc' : 'http';
const [input, dims] = values.shape.split(':') as [string, string];
const platform = await Platform.connect();
const r = await runPerfAnalyzer({
  url: process.env.PA_URL ?? (protocol === 'grpc' ? GATEWAY_GRPC : GATEWAY_HTTP),
  protocol,
  model: values.model,
  modelVersion: values.version,
  shape: { [input]: dims.split(',').map(Number) },
  concurrency: Number(values.concurrency),
  seconds: Number(values.seconds),
  headers: platform.authMetadata,
  extraArgs: process.env.PA_EXTRA ? process.env.PA_EXTRA.split(' ') : [],
});
console.log(r.raw.split('\n').filter((l) => !/authorization/i.test(l)).join('\n'));
console.log(JSON.stringify({ protocol, model: values.model, throughput: r.throughput, p50Ms: r.p50Ms, p90Ms: r.p90Ms, p99Ms: r.p99Ms, exitCode: r.exitCode, errors: [...new Set(r.errors)].slice(0, 5) }));
