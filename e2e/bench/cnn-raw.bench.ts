// cnn-raw: a ResNet-18-sized CNN through the gateway (gRPC raw_input_contents, one image per request)
// against onnxruntime-node in-process with the gateway's threads: what serving costs over the math.
import { runAlone, type Benchmark } from './lib/context.ts';
import { round, sideBySide, type SystemUnderTest } from './lib/measure.ts';
import { cnnModel } from './lib/models.ts';
import { grpcInferBytes, MODEL_INFER_PATH } from './lib/oip.ts';
import { peerGrpcDriver, peersFor } from './lib/peers.ts';
import { BENCH_BATCHING, describeBatching, GATEWAY_GRPC } from './lib/platform.ts';
import type { OrtDriverArgs } from './baselines/ort.driver.ts';

export const cnnRaw: Benchmark = {
  id: 'cnn-raw',
  title: 'ResNet-18-sized CNN: gateway gRPC raw vs onnxruntime-node in-process',
  async run(ctx) {
    const model = cnnModel();
    const version = await ctx.platform.register(model);
    // Unloaded first so the deploy below is a cold load (a previous run leaves it loaded).
    if (await ctx.platform.isReady(model.name, version)) await ctx.platform.unload(model.name, version);
    const loadMs = await ctx.platform.deploy(model.name, version);
    const request = grpcInferBytes(model);
    // Twice the workers in flight keeps every worker busy while answers travel; the in-process
    // baseline gets the same, queueing on its sessions as the gateway queues on its workers.
    const inFlight = ctx.gatewayWorkers * 2;
    const ortArgs: OrtDriverArgs = { file: model.file, inputName: model.input.name, shape: model.input.shape, sessions: ctx.gatewayWorkers };
    const systems: SystemUnderTest[] = [
      {
        system: 'gateway gRPC raw',
        role: 'subject',
        concurrency: inFlight,
        metric: 'images/s',
        driver: { kind: 'grpc', address: GATEWAY_GRPC, path: MODEL_INFER_PATH, requests: [request], metadata: ctx.platform.authMetadata, timeoutMs: 60_000 },
      },
      {
        system: 'onnxruntime-node in-process',
        role: 'baseline',
        concurrency: inFlight,
        metric: 'images/s',
        driver: { kind: 'module', module: new URL('./baselines/ort.driver.ts', import.meta.url).href, exportName: 'ortDriver', args: ortArgs },
      },
      ...peersFor(ctx.peers, 'cnn-raw', 'grpc').map(
        (peer): SystemUnderTest => ({ system: peer.name, role: 'peer', concurrency: inFlight, metric: 'images/s', driver: peerGrpcDriver(peer, model.name, request, 60_000) }),
      ),
    ];
    const rows = await sideBySide(systems, ctx.opts);
    const [gw, ort] = rows;
    const ratio = gw !== undefined && ort !== undefined ? gw.median / ort.median : Number.NaN;
    return {
      id: 'cnn-raw',
      title: 'ResNet-18-sized CNN, 3x224x224 FP32 (batch 1, raw contents)',
      setup:
        `Model \`${model.name}\` v${version}: ResNet-18's graph (Conv with BatchNorm folded into weight and bias, Relu, MaxPool, residual Add, ` +
        `GlobalAveragePool, Gemm → 1000), ${model.params.toLocaleString('en-US')} parameters, random seeded weights, ${round(model.bytes.length / 1048576)} MiB; ` +
        `deployed with batching (${describeBatching(BENCH_BATCHING)}); cold load (SetDeployment → ModelReady) took ${round(loadMs)} ms. ` +
        `Each request is the same ${request.length}-byte ModelInfer (one image as \`raw_input_contents\`), closed loop, ${inFlight} in flight. ` +
        `Baseline: onnxruntime-node 1.30.0 in the load worker with ${ctx.gatewayWorkers} sessions (the gateway's worker count), each ` +
        'intraOp 1 / interOp 1 / sequential as in the gateway, the input tensor prebuilt.',
      rows,
      targets: [
        {
          what: 'images/s vs onnxruntime-node in-process',
          goal: '>= 90%',
          actual: `${round(ratio * 100)}% (${gw?.median} vs ${ort?.median} images/s)`,
          met: ratio >= 0.9,
        },
      ],
      notes:
        `Both sides run the same ${ctx.gatewayWorkers} single-threaded onnxruntime sessions; the gap is what serving adds per image: ` +
        `receiving ${round(request.length / 1024)} KiB through HTTP/2 flow control into one buffer, decoding it, the hop to a worker thread and back, ` +
        'concatenating the batch (a copy per image), and the response, on the same two cores the model needs for itself (in-process the ' +
        'two sessions keep both cores busy; in the gateway the main thread takes its share of them). The inference log does not copy ' +
        'images beyond its byte budget (`AIO_INFERENCE_LOG_MAX_BYTES_PER_SECOND`, 4 MiB/s, about 7 images/s here). In-process p50 is the ' +
        'pure compute time of one image with the sessions busy.',
    };
  },
};

if (import.meta.main) await runAlone(cnnRaw);
