// The external-command contract, with tiny Node scripts standing in for a real trainer (no Python).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingError } from './engine/training.error.js';
import { readExternalOutputs, runExternalCommand, type ExternalCommand } from './external.trainer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aio-external-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh output dir and a command running `body` as an ES module (`fs` and `out` = AIO_OUTPUT_DIR in scope). */
function script(body: string, extra: Partial<ExternalCommand> = {}): { out: string; cmd: ExternalCommand } {
  n += 1;
  const out = path.join(dir, `out-${n}`);
  const file = path.join(dir, `script-${n}.mjs`);
  writeFileSync(file, `import fs from 'node:fs';\nconst out = process.env.AIO_OUTPUT_DIR;\n${body}\n`);
  mkdirSync(out);
  return {
    out,
    cmd: { argv: [process.execPath, file], cwd: dir, env: { AIO_OUTPUT_DIR: out }, timeoutMs: 30_000, signal: new AbortController().signal, ...extra },
  };
}

const WRITE_MODEL = `fs.writeFileSync(out + '/model.onnx', Buffer.from([8, 7]));`;

describe('external trainer command', () => {
  it('reads model.onnx and metrics.json when the command succeeds, logging its output', async () => {
    const lines: string[] = [];
    const { out, cmd } = script(`console.log('hello'); console.error('warn'); ${WRITE_MODEL} fs.writeFileSync(out + '/metrics.json', '{"accuracy":0.9}');`);
    await runExternalCommand({ ...cmd, onLine: (stream, line) => lines.push(`${stream}:${line}`) });
    expect(lines.sort()).toEqual(['stderr:warn', 'stdout:hello']);
    const outputs = await readExternalOutputs(out);
    expect(Array.from(outputs.onnx)).toEqual([8, 7]);
    expect(outputs.metrics).toEqual({ accuracy: 0.9 });
  });

  it('fails on a non-zero exit with the tail of stderr', async () => {
    const { cmd } = script(`for (let i = 0; i < 500; i++) console.error('line ' + i); process.exitCode = 3;`);
    const err = await runExternalCommand(cmd).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingError);
    expect((err as Error).message).toMatch(/exited with code 3; last output:\n/);
    expect((err as Error).message, (err as Error).message.slice(0, 300)).toContain('line 499');
    expect((err as Error).message).not.toContain('line 299\n');
  });

  it('fails naming a missing model.onnx or metrics.json, or a bad metrics.json', async () => {
    const noModel = script(`fs.writeFileSync(out + '/metrics.json', '{}');`);
    await runExternalCommand(noModel.cmd);
    await expect(readExternalOutputs(noModel.out)).rejects.toThrow(/without writing model.onnx/);

    const noMetrics = script(WRITE_MODEL);
    await runExternalCommand(noMetrics.cmd);
    await expect(readExternalOutputs(noMetrics.out)).rejects.toThrow(/without writing metrics.json/);

    const notJson = script(`${WRITE_MODEL} fs.writeFileSync(out + '/metrics.json', 'accuracy=1');`);
    await runExternalCommand(notJson.cmd);
    await expect(readExternalOutputs(notJson.out)).rejects.toThrow(/metrics.json that is not JSON/);

    const notNumbers = script(`${WRITE_MODEL} fs.writeFileSync(out + '/metrics.json', '{"accuracy":"high"}');`);
    await runExternalCommand(notNumbers.cmd);
    await expect(readExternalOutputs(notNumbers.out)).rejects.toThrow(/"accuracy" is "high", not a finite number/);

    const array = script(`${WRITE_MODEL} fs.writeFileSync(out + '/metrics.json', '[1]');`);
    await runExternalCommand(array.cmd);
    await expect(readExternalOutputs(array.out)).rejects.toThrow(/not a JSON object of numbers/);
  });

  it('kills the command (and what it started) on timeout and on cancel', async () => {
    const slow = `import { spawn } from 'node:child_process'; const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' }); fs.writeFileSync(out + '/child.pid', String(c.pid)); setTimeout(() => {}, 60000);`;
    const started = Date.now();
    const timed = script(slow, { timeoutMs: 500 });
    await expect(runExternalCommand(timed.cmd)).rejects.toThrow(/timed out after 0.5s and was killed/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const grandchild = Number(readFileSync(path.join(timed.out, 'child.pid'), 'utf8'));
    // Gone, or a zombie waiting for a reaper (PID 1 in a container may not reap).
    const dead = (): boolean => {
      try {
        process.kill(grandchild, 0);
      } catch {
        return true;
      }
      return / Z /.test(readFileSync(`/proc/${grandchild}/stat`, 'utf8').replace(/^.*\)/, ')'));
    };
    const deadline = Date.now() + 5000;
    while (!dead() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(dead()).toBe(true);

    const abort = new AbortController();
    const running = runExternalCommand(script(slow, { signal: abort.signal }).cmd);
    setTimeout(() => abort.abort(new Error('cancelled by request')), 200);
    await expect(running).rejects.toThrow('cancelled by request');
  });

  it('fails when the program cannot start', async () => {
    const { cmd } = script('');
    await expect(runExternalCommand({ ...cmd, argv: [path.join(dir, 'no-such-program')] })).rejects.toThrow(/could not start: .*ENOENT/);
  });
});
