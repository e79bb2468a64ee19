#!/usr/bin/env node
// ghz, the gRPC load generator (Go, grpc-go), for the serving benchmarks (e2e/bench/lib/ghz.ts).
//   node deploy/local/ghz/tool.mjs      builds it if needed (progress on stderr), prints its path
// Also a library: `import { ghz } from './ghz/tool.mjs'`: ghz.version (go.mod's pin), ghz.binPath(root),
// ghz.build() (the binary's path, built first when missing or out of date).
//
// Built like h2spec (../go.mjs goTool): go.mod / go.sum here pin ghz and its dependencies, the Go module
// proxy is the only source, the binary is .infra/ghz/bin/ghz and is rebuilt only when go.mod or go.sum
// change. Not an infra.mjs component: it is a command a benchmark runs, not a server, so `infra up` (and
// `npm start`) never build it; the gRPC benchmarks do, on first use.
//
// Run it with --disable-template-functions --disable-template-data: otherwise every call renders the
// metadata (a bearer token) through text/template, which halves its rate (15-17k instead of 28-30k req/s
// at 64 in flight against the gateway on 2 cores; v0.93.0, the version `@latest` resolves to, does not).
import { goTool } from '../go.mjs';

export const ghz = goTool(import.meta.url, {
  name: 'ghz',
  module: 'github.com/bojand/ghz',
  pkg: 'github.com/bojand/ghz/cmd/ghz',
  versionVar: 'main.version',
  download: '~250 MB of modules, ~40 s on 2 cores',
});
