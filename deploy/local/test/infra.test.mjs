// infra.mjs logic against tiny fake components (a Node TCP server per component): no Kafka, no Java,
// runs in a few seconds. Each test uses its own temporary root (<tmp>/.infra/...) and free ports.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  componentPaths,
  down,
  externalEndpoint,
  formatStatus,
  loadComponents,
  portFree,
  status,
  up,
} from '../infra.mjs';

// A fresh <tmp>/.infra per test, so a failing test cannot leave pid files that another one sees.
const roots = [];
function freshRoot() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'aio-infra-test-'));
  roots.push(root);
  return root;
}
// Whatever a failed test left running is stopped (down() without names finds every pid file).
after(async () => {
  for (const root of roots) {
    await down([], { root, stream: sink(), graceMs: 1000 }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
});

/** A writable that collects progress output, so tests stay quiet and can assert on it. */
function sink() {
  const chunks = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  stream.text = () => chunks.join('');
  return stream;
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function connects(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A component whose server is `node -e <script>` listening on `port`. */
function fake(name, port, overrides = {}) {
  const script = overrides.script ?? `require('node:net').createServer((s) => s.end()).listen(${port}, '127.0.0.1')`;
  return {
    name,
    ports: [port],
    endpointEnv: `FAKE_${name.toUpperCase().replace(/-/g, '_')}_URL`,
    defaultEndpoint: `127.0.0.1:${port}`,
    readyTimeoutMs: 5_000,
    async prepare(ctx) {
      mkdirSync(ctx.dataDir, { recursive: true });
    },
    spawnSpec(ctx) {
      return { command: process.execPath, args: ['-e', script], cwd: ctx.dir, env: ctx.env };
    },
    probe: () => connects(port),
    ...overrides,
  };
}

describe('externalEndpoint', () => {
  const comp = { endpointEnv: 'KAFKA_BROKERS', defaultEndpoint: '127.0.0.1:9092' };
  test('unset or blank: local', () => {
    assert.equal(externalEndpoint(comp, {}), undefined);
    assert.equal(externalEndpoint(comp, { KAFKA_BROKERS: '  ' }), undefined);
  });
  test('the default endpoint: still local', () => {
    assert.equal(externalEndpoint(comp, { KAFKA_BROKERS: '127.0.0.1:9092' }), undefined);
  });
  test('anything else: external', () => {
    assert.equal(externalEndpoint(comp, { KAFKA_BROKERS: 'kafka-0:9092,kafka-1:9092' }), 'kafka-0:9092,kafka-1:9092');
  });
});

describe('up', () => {
  test('skips a component whose endpoint env points elsewhere, without preparing or spawning', async () => {
    const root = freshRoot();
    const comp = fake('ext', await freePort(), {
      prepare: () => assert.fail('prepare must not run'),
      spawnSpec: () => assert.fail('spawnSpec must not run'),
    });
    const out = sink();
    const rows = [];
    const started = await up([], {
      root,
      components: [comp],
      env: { FAKE_EXT_URL: 'other-host:1234' },
      stream: out,
      onResult: (r) => rows.push(r),
    });
    assert.deepEqual(started, []);
    assert.equal(rows[0].state, 'external');
    assert.match(out.text(), /\[ext\] external: FAKE_EXT_URL=other-host:1234/);
  });

  test('fails naming the busy port and the process that holds it', async () => {
    const root = freshRoot();
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const comp = fake('busy', port, { spawnSpec: () => assert.fail('must not spawn') });
      assert.equal(await portFree(port), false);
      await assert.rejects(up([], { root, components: [comp], env: {}, stream: sink() }), (err) => {
        assert.match(err.message, new RegExp(`^busy: cannot start: 127\\.0\\.0\\.1:${port} is in use by pid ${process.pid}\\b`));
        assert.match(err.message, /FAKE_BUSY_URL/);
        return true;
      });
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    assert.equal(await portFree(port), true);
  });

  test('reports a process that dies during start with the end of its log', async () => {
    const root = freshRoot();
    const comp = fake('crash', await freePort(), {
      script: `console.log('fatal: config is broken'); process.exit(3)`,
    });
    await assert.rejects(up([], { root, components: [comp], env: {}, stream: sink() }), (err) => {
      assert.match(err.message, /^crash: exited during start \(exit code 3\)/);
      assert.match(err.message, /fatal: config is broken/);
      assert.deepEqual(err.started, []);
      return true;
    });
    const [row] = await status([], { root, components: [comp], env: {} });
    assert.equal(row.state, 'stopped', 'the pid file of a failed start is removed');
  });

  test('times out when the process runs but never answers', async () => {
    const root = freshRoot();
    const port = await freePort();
    const comp = fake('mute', port, { readyTimeoutMs: 800, script: 'setInterval(() => {}, 1000)' });
    await assert.rejects(up([], { root, components: [comp], env: {}, stream: sink() }), /mute: pid \d+ did not become ready within 1 s/);
    const [row] = await status([], { root, components: [comp], env: {} });
    assert.equal(row.state, 'running');
    assert.equal(row.ready, false);
    await down(['mute'], { root, components: [comp], stream: sink() });
  });
});

describe('lifecycle', () => {
  test('up, up again (idempotent), status, down, down again', async () => {
    const root = freshRoot();
    const port = await freePort();
    const comp = fake('svc', port);
    const opts = { root, components: [comp], env: {}, stream: sink() };

    assert.deepEqual(await up([], opts), ['svc']);
    assert.equal(await connects(port), true);
    const [running] = await status([], opts);
    assert.equal(running.state, 'running');
    assert.equal(running.ready, true);
    assert.ok(alive(running.pid));
    assert.deepEqual(running.ports, [port]);
    assert.equal(running.log, componentPaths('svc', root).logFile);

    const again = sink();
    assert.deepEqual(await up([], { ...opts, stream: again }), [], 'nothing new started');
    assert.match(again.text(), new RegExp(`already running \\(pid ${running.pid}\\)`));

    const rows = await down([], opts);
    assert.deepEqual(rows, [{ name: 'svc', state: 'stopped' }]);
    assert.equal(alive(running.pid), false);
    assert.equal(await portFree(port), true);
    assert.equal((await status([], opts))[0].state, 'stopped');

    const idle = sink();
    await down(['svc'], { ...opts, stream: idle });
    assert.match(idle.text(), /\[svc\] not running/);
  });

  test('down escalates to SIGKILL when SIGTERM is ignored', async () => {
    const root = freshRoot();
    const port = await freePort();
    const comp = fake('stubborn', port, {
      script: `process.on('SIGTERM', () => {}); require('node:net').createServer().listen(${port}, '127.0.0.1')`,
    });
    const opts = { root, components: [comp], env: {}, stream: sink() };
    await up([], opts);
    const [{ pid }] = await status([], opts);
    const rows = await down([], { ...opts, graceMs: 500 });
    assert.deepEqual(rows, [{ name: 'stubborn', state: 'killed' }]);
    assert.equal(alive(pid), false);
  });
});

describe('status', () => {
  test('rows: stopped, external, dead', async () => {
    const root = freshRoot();
    const a = fake('a', await freePort());
    const b = fake('b', await freePort());
    const c = fake('c', await freePort());
    // A pid file whose process has exited: "dead".
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const pidFile = componentPaths('c', root).pidFile;
    mkdirSync(path.dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, `${gone.stdout.trim()} 1\n`);

    const rows = await status([], { root, components: [a, b, c], env: { FAKE_B_URL: 'elsewhere:1' } });
    assert.deepEqual(
      rows.map((r) => [r.name, r.state, r.endpoint]),
      [
        ['a', 'stopped', a.defaultEndpoint],
        ['b', 'external', 'elsewhere:1'],
        ['c', 'dead', c.defaultEndpoint],
      ],
    );
    assert.equal(rows[1].ready, false, 'an external endpoint is probed too');
    const table = formatStatus(rows, root);
    assert.match(table.split('\n')[0], /^COMPONENT\s+STATE\s+READY\s+PID\s+PORTS\s+ENDPOINT\s+LOG$/);
    assert.match(table, /\nc\s+dead\s+-\s+\d+\s+\d+/);

    // down clears the stale pid file without touching anything.
    await down(['c'], { root, components: [c], stream: sink() });
    assert.equal((await status([], { root, components: [c], env: {} }))[0].state, 'stopped');
  });
});

describe('loadComponents', () => {
  test('rejects unknown names', async () => {
    await assert.rejects(loadComponents(['zookeeper']), /unknown component "zookeeper"/);
  });
  test('loads the kafka component in contract shape', async () => {
    const [{ comp }] = await loadComponents(['kafka']);
    assert.equal(comp.name, 'kafka');
    assert.deepEqual(comp.ports, [9092, 9093]);
    assert.equal(comp.endpointEnv, 'KAFKA_BROKERS');
  });
});
