// The services as local processes (deploy/local/mesh.mjs): the environment each one is started with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SERVICES, serviceComponent } from '../mesh.mjs';

const gateway = SERVICES.find((s) => s.name === 'inference-gateway');
// The env below names its auth secret, so localAuthSecret() never touches .infra/.
const base = { AIO_AUTH_SECRET: 'test-secret', PATH: '/bin' };
const manifest = readFileSync(new URL('../../../k8s/inference-gateway.yaml', import.meta.url), 'utf8');

test("mesh: the gateway starts with glibc's fixed mmap threshold, which the caller's environment overrides", () => {
  assert.equal(serviceComponent(gateway, base).spawnSpec().env.MALLOC_MMAP_THRESHOLD_, '131072');
  assert.equal(serviceComponent(gateway, { ...base, MALLOC_MMAP_THRESHOLD_: '65536' }).spawnSpec().env.MALLOC_MMAP_THRESHOLD_, '65536');
  const registry = SERVICES.find((s) => s.name === 'registry');
  assert.equal(serviceComponent(registry, base).spawnSpec().env.MALLOC_MMAP_THRESHOLD_, undefined);
  assert.equal(serviceComponent(registry, base).spawnSpec().env.PATH, '/bin');
});

test('mesh: k8s/inference-gateway.yaml and the gateway\'s `npm start` set the same environment defaults as the local gateway', () => {
  const start = JSON.parse(readFileSync(new URL('../../../services/inference-gateway/package.json', import.meta.url), 'utf8')).scripts.start;
  for (const [name, value] of Object.entries(gateway.env)) {
    assert.match(manifest, new RegExp(`\\{ name: ${name}, value: "${value}" \\}`), `${name}=${value} in k8s/inference-gateway.yaml`);
    assert.ok(start.includes(`${name}=\${${name}:-${value}}`), start);
  }
  assert.match(serviceComponent(gateway, base).spawnSpec().args.at(-1), /inference-gateway[/\\]dist[/\\]main\.js$/);
});
