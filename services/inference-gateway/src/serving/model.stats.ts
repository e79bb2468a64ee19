import { ModelStatisticsSchema, type ModelStatistics } from '@aio/proto/inference/grpc_service';
import { create } from '@bufbuild/protobuf';

interface Duration {
  count: bigint;
  ns: bigint;
}

const zero = (): Duration => ({ count: 0n, ns: 0n });

/**
 * Triton's per-version inference statistics: counts and cumulative durations of successful and failed
 * requests, of time spent queued and computing; inference_count counts requests, execution_count the
 * session runs (a batch is one), and batch_stats the runs per batch size.
 */
export class VersionStats {
  private readonly success = zero();
  private readonly fail = zero();
  private readonly queue = zero();
  private readonly computeInput = zero();
  private readonly computeInfer = zero();
  private readonly computeOutput = zero();
  private lastInferenceMs = 0n;
  private executions = 0n;
  private readonly batches = new Map<number, Duration>();

  /**
   * One answered request. `execution` is set on one request per session run (the first of a batch),
   * so a batch counts once in execution_count and batch_stats.
   */
  recordSuccess(d: { totalNs: number; queueNs: number; inputNs: number; computeNs: number; outputNs: number; batchSize?: number; execution?: boolean }): void {
    if (d.execution ?? true) {
      this.executions += 1n;
      const size = d.batchSize ?? 1;
      let b = this.batches.get(size);
      if (b === undefined) {
        b = zero();
        this.batches.set(size, b);
      }
      add(b, d.computeNs);
    }
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
      executionCount: this.executions,
      inferenceStats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        computeInput: { ...this.computeInput },
        computeInfer: { ...this.computeInfer },
        computeOutput: { ...this.computeOutput },
      },
      batchStats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batchSize, d]) => ({ batchSize: BigInt(batchSize), computeInfer: { ...d }, computeInput: { count: d.count, ns: 0n }, computeOutput: { count: d.count, ns: 0n } })),
    });
  }
}

function add(d: Duration, ns: number): void {
  d.count += 1n;
  d.ns += BigInt(Math.max(0, Math.round(ns)));
}
