#!/usr/bin/env node
// h2spec, the HTTP/2 conformance tester, for libs/grpc's integration test (test/h2spec.int.spec.ts).
//   node deploy/local/h2spec/tool.mjs      builds it if needed (progress on stderr), prints its path
// Also a library: `import { h2spec } from './h2spec/tool.mjs'`: h2spec.version (go.mod's pin), h2spec.binPath(root),
// h2spec.build() (the binary's path, built first when missing or out of date).
//
// Built like FerretDB (../go.mjs): go.mod / go.sum here pin h2spec and its dependencies, the Go module
// proxy is the only source, the binary is .infra/h2spec/bin/h2spec and is rebuilt only when go.mod or
// go.sum change. Not an infra.mjs component: it is a command a test runs, not a server, and only that
// test needs it, so `infra up` (and `npm start`) never build it.
import { goTool } from '../go.mjs';

export const h2spec = goTool(import.meta.url, {
  name: 'h2spec',
  module: 'github.com/summerwind/h2spec',
  pkg: 'github.com/summerwind/h2spec/cmd/h2spec',
  versionVar: 'main.VERSION',
  download: '~20 MB of modules, ~15 s on 2 cores',
});
