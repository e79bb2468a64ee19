// Starts the peer servers of peers/peers.ts (MLServer, Ray Serve; set up by peers/setup.sh) on the mlp
// model for `--with-peers`, as PeerSystems of lib/peers.ts. A peer whose venv is missing is skipped with
// a line saying so. They stay up (mostly idle, but Ray keeps background processes) for the whole run.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startMlserver, startRayServe, venvDir, type PeerProcess } from '../peers/peers.ts';
import { mlpModel } from './models.ts';
import { log } from './options.ts';
import type { Peers, PeerSystem } from './peers.ts';

function describe(p: PeerProcess): string {
  return `${p.system}: ${Object.entries(p.settings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}; log ${p.logFile}`;
}

export async function startPeerServers(): Promise<Peers> {
  const model = mlpModel();
  const started: PeerProcess[] = [];
  const systems: PeerSystem[] = [];
  const options = { model: model.file, name: model.name };
  const starters: [string, () => Promise<PeerProcess>][] = [
    ['mlserver', () => startMlserver(options)],
    ['ray', () => startRayServe(options)],
  ];
  for (const [venv, start] of starters) {
    if (!existsSync(path.join(venvDir(), venv, 'bin', 'python'))) {
      log(`  peer ${venv}: no venv at ${path.join(venvDir(), venv)} (run e2e/bench/peers/setup.sh); skipped`);
      continue;
    }
    try {
      const p = await start();
      started.push(p);
      log(`  peer started: ${describe(p)}`);
      systems.push({
        name: p.system,
        benchmarks: ['mlp-grpc', 'mlp-rest'],
        rest: { origin: p.restUrl },
        ...(p.grpcAddress !== undefined ? { grpc: { address: p.grpcAddress } } : {}),
        notes: `Peer ${describe(p)}.`,
      });
    } catch (err) {
      log(`  peer ${venv} did not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { systems, stop: async () => void (await Promise.all(started.map((p) => p.stop()))) };
}
