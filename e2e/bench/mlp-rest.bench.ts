// mlp-rest: the gateway's REST (OIP v2 JSON) infer on the MLP against a bare node:http server that
// answers the same body bytes with the gateway's own JSON response.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startChildServer } from './lib/child.ts';
import { runAlone, type Benchmark } from './lib/context.ts';
import { sideBySide, type SystemUnderTest } from './lib/measure.ts';
import { mlpModel } from './lib/models.ts';
import { restInferBody, restInferPath, restRawCall } from './lib/oip.ts';
import { peerRestDriver, peersFor } from './lib/peers.ts';
import { BENCH_BATCHING, describeBatching, GATEWAY_HTTP } from './lib/platform.ts';
import { IN_FLIGHT, ratioTargets, servingNotes } from './mlp-grpc.bench.ts';

export const mlpRest: Benchmark = {
  id: 'mlp-rest',
  title: 'MLP over REST: gateway vs bare node:http server',
  async run(ctx) {
    const model = mlpModel();
    const version = await ctx.platform.register(model);
    await ctx.platform.deploy(model.name, version);
    const body = restInferBody(model);
    const urlPath = restInferPath(model.name);
    const response = await restRawCall(GATEWAY_HTTP, urlPath, body, ctx.platform.authMetadata);
    const responseFile = path.join(ctx.workDir, 'mlp-rest.response.json');
    writeFileSync(responseFile, response);
    const bare = await startChildServer(new URL('./baselines/http.server.ts', import.meta.url), [responseFile]);
    try {
      const systems: SystemUnderTest[] = [];
      for (const inFlight of IN_FLIGHT) {
        systems.push({
          system: `gateway REST (${inFlight} in flight)`,
          role: 'subject',
          concurrency: inFlight,
          driver: { kind: 'rest', origin: GATEWAY_HTTP, requests: [{ path: urlPath, body }], headers: ctx.platform.authMetadata },
        });
        systems.push({
          system: `bare node:http (${inFlight} in flight)`,
          role: 'baseline',
          concurrency: inFlight,
          driver: { kind: 'rest', origin: `http://127.0.0.1:${bare.port}`, requests: [{ path: urlPath, body }], headers: ctx.platform.authMetadata },
        });
        for (const peer of peersFor(ctx.peers, 'mlp-rest', 'rest')) {
          systems.push({ system: `${peer.name} (${inFlight} in flight)`, role: 'peer', concurrency: inFlight, driver: peerRestDriver(peer, model.name, body) });
        }
      }
      const rows = await sideBySide(systems, ctx.opts);
      return {
        id: 'mlp-rest',
        title: 'MLP 64-256-256-10 over REST JSON (batch 1)',
        setup:
          `Model \`${model.name}\` v${version} deployed as in mlp-grpc (batching ${describeBatching(BENCH_BATCHING)}). Every request is the same ` +
          `${body.length}-byte OIP v2 JSON body (one row of 64 FP32 as flat \`data\`) POSTed to \`${urlPath}\` by node:http over keep-alive ` +
          'sockets (one per request in flight), closed loop at 64 and 128 in flight. The bare node:http server (its own process) reads the whole ' +
          `body and answers with the gateway's own ${response.length}-byte JSON response, parsing nothing.`,
        rows,
        targets: ratioTargets(rows, IN_FLIGHT, 'gateway REST', 'bare node:http', 0.8),
        notes: [servingNotes(rows, 'gateway REST', 'rest'), ...peersFor(ctx.peers, 'mlp-rest', 'rest').map((p) => p.notes)].filter(Boolean).join('\n\n'),
      };
    } finally {
      await bare.stop();
    }
  },
};

if (import.meta.main) await runAlone(mlpRest);
