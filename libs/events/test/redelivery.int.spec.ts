import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromJson } from '@bufbuild/protobuf';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher } from '../src/index.js';
import { brokers, connectKafka, createTopics, testLogger, unique, type TestKafka } from './kafka.harness.js';

type WorkerMessage = { joined: true } | { handled: string } | { skipped: string } | { hanging: string };

const workerPath = fileURLToPath(new URL('./redelivery.worker.mjs', import.meta.url));
let env: TestKafka;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  env = await connectKafka('redelivery');
  dir = mkdtempSync(join(tmpdir(), 'aio-events-'));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await env.close();
  rmSync(dir, { recursive: true, force: true });
});

function startWorker(env: Record<string, string>): { child: ChildProcess; messages: WorkerMessage[]; exited: Promise<void> } {
  const child = fork(workerPath, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const messages: WorkerMessage[] = [];
  child.on('message', (msg) => messages.push(msg as WorkerMessage));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, messages, exited };
}

/** Resolves on the first IPC message for which `done` holds; rejects if the worker dies first. */
function until(child: ChildProcess, done: (msg: WorkerMessage) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: unknown): void => {
      if (!done(msg as WorkerMessage)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null, sig: string | null): void => {
      child.off('message', onMessage);
      reject(new Error(`worker exited early (code ${code}, signal ${sig})`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

describe('redelivery after a crash', () => {
  it('hands a killed consumer\'s unfinished batch to the next one, with every event handled exactly once', async () => {
    const topic = unique('it.redelivery');
    const group = unique('g');
    const ledger = join(dir, `${group}.ledger`);
    const total = 30;
    await createTopics(env.admin, [topic], 1);

    const publisher = createPublisher(env.kafka, { logger: testLogger });
    // One produce request, so the first worker fetches all of it as one batch.
    const published = await publisher.publishBatch(
      Array.from({ length: total }, (_, i) => ({
        topic,
        schema: StructSchema,
        message: fromJson(StructSchema, { seq: i }),
        options: { key: 'iris', source: 'aio/test' },
      })),
    );
    await publisher.disconnect();
    const ids = published.map((p) => p.id);

    const common = { BROKERS: brokers.join(','), TOPIC: topic, GROUP: group, LEDGER: ledger };
    const first = startWorker({ ...common, HANG_AFTER: '10' });
    await until(first.child, (m) => 'hanging' in m);
    first.child.kill('SIGKILL');
    await first.exited;
    const handledByFirst = first.messages.flatMap((m) => ('handled' in m ? [m.handled] : []));
    expect(handledByFirst).toEqual(ids.slice(0, 10));

    const second = startWorker(common);
    let handledBySecond = 0;
    await until(second.child, (m) => 'handled' in m && ++handledBySecond === total - 10);
    second.child.send('stop');
    await second.exited;
    expect(second.child.exitCode).toBe(0);

    // Redelivered: records the first worker handled but had not committed. The ledger held them back.
    const skipped = second.messages.flatMap((m) => ('skipped' in m ? [m.skipped] : []));
    expect(skipped.length).toBeGreaterThan(0);
    for (const id of skipped) expect(handledByFirst).toContain(id);

    const lines = readFileSync(ledger, 'utf8').split('\n').slice(0, -1);
    expect(lines).toHaveLength(total);
    expect(new Set(lines)).toEqual(new Set(ids));

    const [offsets] = await env.admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(offsets?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: String(total) })]);
  });
});
