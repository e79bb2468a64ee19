import { mintToken } from '@aio/auth';
import { createGrpcClient } from '@aio/grpc';
import { GRPCInferenceService, ModelInferRequestSchema } from '@aio/proto/inference/grpc_service';
import { create } from '@bufbuild/protobuf';
const secret = 'prof-secret-0123456789-0123456789-0123456789';
const token = await mintToken({ secret, subject: 'p', roles: ['admin'], issuer: 'aio-local', audience: 'aio' });
const client = createGrpcClient(GRPCInferenceService, '127.0.0.1:18001', { token: () => token, timeoutMs: 30_000 });
while (!(await client.modelReady({ name: 'mlp' }).catch(() => ({ ready: false }))).ready) await new Promise((r) => setTimeout(r, 200));
const raw = process.env.RAW === '1';
const x = new Float32Array(64).fill(0.5);
const req = create(ModelInferRequestSchema, raw
  ? { modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 64n] }], rawInputContents: [new Uint8Array(x.buffer)] }
  : { modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 64n], contents: { fp32Contents: Array.from(x) } }] });
const conc = Number(process.env.C ?? 64), secs = Number(process.env.S ?? 8);
async function phase(ms) {
  const lat = []; let errors = 0; const end = Date.now() + ms;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (Date.now() < end) { const t = performance.now(); try { await client.modelInfer(req); lat.push(performance.now() - t); } catch { errors++; } }
  }));
  lat.sort((a, b) => a - b);
  return { rps: Math.round(lat.length / (ms / 1000)), p50: lat[Math.floor(lat.length * 0.5)]?.toFixed(2), p99: lat[Math.floor(lat.length * 0.99)]?.toFixed(2), errors };
}
await phase(2000);
console.log(JSON.stringify(await phase(secs * 1000)));
client.close();
