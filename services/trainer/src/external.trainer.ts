// Runs an external trainer: a command (no shell) that reads the dataset version's NDJSON export and
// writes model.onnx + metrics.json into AIO_OUTPUT_DIR. The process gets its own process group, so a
// timeout or a cancel kills it and everything it started.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TrainingError } from './engine/training.error.js';

/** Lines of the command's output kept for the error message of a failed run. */
export const OUTPUT_TAIL_LINES = 200;
const OUTPUT_TAIL_CHARS = 16_000;

export interface ExternalCommand {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Each line the command writes (stdout or stderr), for the service log. */
  readonly onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface ExternalOutputs {
  readonly onnx: Uint8Array;
  readonly metrics: Record<string, number>;
}

function tailOf(lines: readonly string[]): string {
  const text = lines.join('\n');
  return text.length > OUTPUT_TAIL_CHARS ? `...${text.slice(-OUTPUT_TAIL_CHARS)}` : text;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs the command to its end. Rejects when it cannot start, exits non-zero or by a signal (with the
 * tail of its stderr), runs past `timeoutMs`, or when `signal` aborts (with the signal's reason).
 */
export function runExternalCommand(cmd: ExternalCommand): Promise<void> {
  const [program, ...args] = cmd.argv;
  if (program === undefined) return Promise.reject(new Error('external trainer command is empty'));
  return new Promise((resolve, reject) => {
    if (cmd.signal.aborted) {
      reject(cmd.signal.reason instanceof Error ? cmd.signal.reason : new Error('training cancelled'));
      return;
    }
    const child = spawn(program, args, { cwd: cmd.cwd, env: { ...cmd.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false });
    const stderr: string[] = [];
    const both: string[] = [];
    const keep = (buf: string[], line: string): void => {
      buf.push(line);
      if (buf.length > OUTPUT_TAIL_LINES) buf.shift();
    };
    const streams: Promise<void>[] = [];
    for (const [name, stream] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        keep(both, line);
        if (name === 'stderr') keep(stderr, line);
        cmd.onLine?.(name, line);
      });
      streams.push(new Promise((done) => lines.once('close', () => done())));
    }
    let failure: Error | undefined;
    const stop = (err: Error): void => {
      failure ??= err;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop(new TrainingError(`external trainer timed out after ${cmd.timeoutMs / 1000}s and was killed`)), cmd.timeoutMs);
    const onAbort = (): void => stop(cmd.signal.reason instanceof Error ? cmd.signal.reason : new Error('training cancelled'));
    cmd.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (err: Error | undefined): void => {
      clearTimeout(timer);
      cmd.signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    child.once('error', (err) => {
      // Could not start (ENOENT, EACCES): no 'close' follows for the streams' sake in every Node version.
      finish(new TrainingError(`external trainer ${JSON.stringify(program)} could not start: ${err.message}`));
    });
    child.once('exit', (code, sig) => {
      // Whatever the command left behind in its group goes with it.
      killGroup(child.pid);
      void Promise.all(streams).then(() => {
        if (failure) return finish(failure);
        if (code === 0) return finish(undefined);
        const tail = tailOf(stderr.length > 0 ? stderr : both);
        const how = code === null ? `was killed by ${sig ?? 'a signal'}` : `exited with code ${code}`;
        finish(new TrainingError(`external trainer ${how}${tail === '' ? ' (no output)' : `; last output:\n${tail}`}`));
      });
    });
  });
}

/** Reads what the command wrote: model.onnx (non-empty) and metrics.json (an object of finite numbers). */
export async function readExternalOutputs(dir: string): Promise<ExternalOutputs> {
  const onnxPath = path.join(dir, 'model.onnx');
  const metricsPath = path.join(dir, 'metrics.json');
  const onnx = await readFile(onnxPath).catch(() => undefined);
  if (onnx === undefined) throw new TrainingError('external trainer finished without writing model.onnx into AIO_OUTPUT_DIR');
  if (onnx.length === 0) throw new TrainingError('external trainer wrote an empty model.onnx');
  const text = await readFile(metricsPath, 'utf8').catch(() => undefined);
  if (text === undefined) throw new TrainingError('external trainer finished without writing metrics.json into AIO_OUTPUT_DIR');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TrainingError(`external trainer wrote a metrics.json that is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TrainingError('external trainer wrote a metrics.json that is not a JSON object of numbers');
  const metrics: Record<string, number> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TrainingError(`external trainer wrote a metrics.json whose "${name}" is ${JSON.stringify(v)}, not a finite number`);
    metrics[name] = v;
  }
  return { onnx: new Uint8Array(onnx.buffer, onnx.byteOffset, onnx.byteLength), metrics };
}
