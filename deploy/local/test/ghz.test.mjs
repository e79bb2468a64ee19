// The ghz tool's pin (deploy/local/ghz): what e2e/bench's gRPC benchmarks build and run. No Go needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ghz } from '../ghz/tool.mjs';

test('ghz: the pinned version comes from go.mod, the binary lives under .infra/ghz/bin', () => {
  assert.equal(ghz.version, '0.121.0');
  assert.equal(ghz.binPath('/repo'), '/repo/.infra/ghz/bin/ghz');
});

test('ghz: go.mod keeps ghz as a tool and replaces nothing (`go install ...@version` builds the same)', () => {
  const mod = readFileSync(new URL('../ghz/go.mod', import.meta.url), 'utf8');
  assert.match(mod, /^tool github\.com\/bojand\/ghz\/cmd\/ghz$/m);
  assert.doesNotMatch(mod, /^\s*replace\b/m);
  assert.match(readFileSync(new URL('../ghz/go.sum', import.meta.url), 'utf8'), /^github\.com\/bojand\/ghz v0\.121\.0 h1:/m);
});
