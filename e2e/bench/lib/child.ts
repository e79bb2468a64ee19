// A baseline server in its own process (as the gateway is): spawned with this Node, ready when it
// prints "port <n>", stopped by pid when the benchmark ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startChildServer(script: URL, args: readonly string[]): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, [script.pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const m = /^port (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script.pathname} exited with code ${code} before listening`)));
    child.once('error', reject);
  });
  return {
    port,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
