import { ModelStatisticsSchema, type ModelStatistics } from '@aio/proto/inference/grpc_service';
import { create } from '@bufbuild/protobuf';

interface Duration {
  count: bigint;
  ns: bigint;
}

const zero = (): Duration => ({ count: 0n, ns: 0n });

/**
 * Triton's per-version inference statistics: counts and cumulative durations of successful and failed
 * requests, of time spent queued and computing. The gateway runs one request per execution (no
 * batching yet), so inference_count = execution_count = successes.
 */
export class VersionStats {
  private readonly success = zero();
  private readonly fail = zero();
  private readonly queue = zero();
  private readonly computeInput = zero();
  private readonly computeInfer = zero();
  private readonly computeOutput = zero();
  private lastInferenceMs = 0n;

  recordSuccess(d: { totalNs: number; queueNs: number; inputNs: number; computeNs: number; outputNs: number }): void {
    add(this.success, d.totalNs);
    add(this.queue, d.queueNs);
    add(this.computeInput, d.inputNs);
    add(this.computeInfer, d.computeNs);
    add(this.computeOutput, d.outputNs);
    this.lastInferenceMs = BigInt(Date.now());
  }

  recordFailure(totalNs: number): void {
    add(this.fail, totalNs);
    this.lastInferenceMs = BigInt(Date.now());
  }

  toProto(name: string, version: string): ModelStatistics {
    return create(ModelStatisticsSchema, {
      name,
      version,
      lastInference: this.lastInferenceMs,
      inferenceCount: this.success.count,
      executionCount: this.success.count,
      inferenceStats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        computeInput: { ...this.computeInput },
        computeInfer: { ...this.computeInfer },
        computeOutput: { ...this.computeOutput },
      },
    });
  }
}

function add(d: Duration, ns: number): void {
  d.count += 1n;
  d.ns += BigInt(Math.max(0, Math.round(ns)));
}
