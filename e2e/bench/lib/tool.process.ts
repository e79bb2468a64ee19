// What the external load generators (lib/ghz.ts, lib/h2load.ts) share: a scratch directory for their input
// files and per-run outputs, and their processes: each run's output collected, a failed run's last lines in
// its error, and every process still running stopped at close().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export class ToolProcesses {
  private readonly children = new Set<ChildProcess>();
  private files = 0;

  /** The tool's name, in the scratch directory's name and in errors. */
  readonly name: string;
  readonly bin: string;
  /** Scratch directory (removed by close()). */
  readonly dir: string;

  private constructor(name: string, bin: string, dir: string) {
    this.name = name;
    this.bin = bin;
    this.dir = dir;
  }

  static async create(name: string, bin: string): Promise<ToolProcesses> {
    return new ToolProcesses(name, bin, await mkdtemp(path.join(os.tmpdir(), `aio-${name}-`)));
  }

  /** A path in the scratch directory no other run uses: `<stem>-<n>.<ext>`. */
  file(stem: string, ext: string): string {
    return path.join(this.dir, `${stem}-${this.files++}.${ext}`);
  }

  /** Runs the tool with `args`; resolves to what it printed (stdout, then stderr) once it exits 0, else rejects naming `what`. */
  run(args: readonly string[], what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.add(child);
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      child.on('error', (e) => reject(new Error(`${this.name}: could not run ${this.bin}: ${e.message}`)));
      child.on('close', (code, signal) => {
        this.children.delete(child);
        if (code === 0) resolve(out + err);
        else reject(new Error(`${what} failed (${signal ?? `exit ${code}`}): ${(out + err).trim().split('\n').slice(-6).join(' | ')}`));
      });
    });
  }

  async close(): Promise<void> {
    for (const child of this.children) child.kill('SIGINT');
    await rm(this.dir, { recursive: true, force: true });
  }
}
