// Provisions the Python venv an integration test runs an external trainer with: created once under
// <repo>/.infra/python/<name> from a pinned requirements file and reused while the file's sha256
// matches the venv's stamp. Creation (pip install) can take a minute; its progress is printed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const STAMP = '.requirements.sha256';

function run(argv: readonly string[], deadline: number): Promise<void> {
  const [program, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(program as string, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(1, deadline - Date.now()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} could not start: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(' ')} ${code === null ? `was killed (${signal ?? 'signal'}; timed out?)` : `exited with code ${code}`}`));
    });
  });
}

/** The venv's python for `requirements` (a pip requirements file), created or reused. */
export async function pythonVenv(name: string, requirements: string, opts: { timeoutMs?: number; python?: string } = {}): Promise<string> {
  const dir = path.join(REPO, '.infra', 'python', name);
  const python = path.join(dir, 'bin', 'python');
  const hash = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const stampFile = path.join(dir, STAMP);
  if (existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash) return python;

  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const building = `${dir}.building-${process.pid}`;
  const log = (msg: string): void => console.log(`[python venv ${name}] ${msg}`);
  log(`creating ${dir} from ${path.relative(REPO, requirements)} (sha256 ${hash.slice(0, 12)}); pip install may take a minute`);
  await rm(building, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  try {
    await run([opts.python ?? 'python3', '-m', 'venv', building], deadline);
    log('venv created; installing requirements');
    await run([path.join(building, 'bin', 'python'), '-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', requirements], deadline);
    await writeFile(path.join(building, STAMP), `${hash}\n`);
    await rm(dir, { recursive: true, force: true });
    // bin/python and site-packages resolve relative to the venv, so the finished venv can be moved into place.
    await rename(building, dir);
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    throw err;
  }
  log('ready');
  return python;
}
