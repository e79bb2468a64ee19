// Brings the five services up through the same script users run (`deploy/local/mesh.mjs`), unless
// they are already running, and stops only what it started. The infrastructure is the caller's.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const MESH = path.join(ROOT, 'deploy', 'local', 'mesh.mjs');
const run = promisify(execFile);

export const SERVICES = {
  registry: { http: 8101, grpc: 50051 },
  ingestion: { http: 8102, grpc: 50052 },
  trainer: { http: 8103, grpc: 50053 },
  monitor: { http: 8104, grpc: 50054 },
  'inference-gateway': { http: 8000, grpc: 8001 },
} as const;
export type ServiceName = keyof typeof SERVICES;

async function ready(service: ServiceName): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${SERVICES[service].http}/readyz`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Starts the mesh if any service is not ready; resolves to a stop function (a no-op if it was running). */
export async function ensureMesh(): Promise<() => Promise<void>> {
  const states = await Promise.all((Object.keys(SERVICES) as ServiceName[]).map(ready));
  if (states.every(Boolean)) return () => Promise.resolve();
  await run(process.execPath, [MESH, 'up', '--services', '--no-build'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return async () => {
    await run(process.execPath, [MESH, 'down', '--services'], { cwd: ROOT });
  };
}

/** The local HS256 secret the mesh's services verify tokens with. */
export function localSecret(): string {
  return readFileSync(path.join(ROOT, '.infra', 'auth-secret'), 'utf8').trim();
}
