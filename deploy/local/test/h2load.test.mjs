// The h2load tool (deploy/local/h2load): what e2e/bench's mlp-grpc runs as its third generator. No download here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { h2load, PACKAGES } from '../h2load/tool.mjs';

test('h2load: a wrapper under .infra/h2load/bin runs the binary unpacked from Debian packages', () => {
  assert.equal(h2load.binPath('/repo'), '/repo/.infra/h2load/bin/h2load');
  assert.deepEqual(PACKAGES, ['nghttp2-client', 'libev4', 'libjemalloc2']);
});
