import { ModelStatisticsSchema, type ModelStatistics } from '@aio/proto/inference/grpc_service';
import { create } from '@bufbuild/protobuf';

// Plain numbers on the hot path (BigInt arithmetic allocates): counts are exact to 2^53, and cumulative
// nanoseconds lose at most a few ns per addition once the sum passes 2^53 ns (104 days of request time).
interface Duration {
  count: number;
  ns: number;
}

const zero = (): Duration => ({ count: 0, ns: 0 });

const toProtoDuration = (d: Duration): { count: bigint; ns: bigint } => ({ count: BigInt(d.count), ns: BigInt(d.ns) });

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
  private lastInferenceMs = 0;
  private executions = 0;
  private readonly batches = new Map<number, Duration>();

  /**
   * One answered request. `execution` is set on one request per session run (the first of a batch),
   * so a batch counts once in execution_count and batch_stats.
   */
  recordSuccess(d: { totalNs: number; queueNs: number; inputNs: number; computeNs: number; outputNs: number; batchSize?: number; execution?: boolean }): void {
    if (d.execution ?? true) {
      this.executions += 1;
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
    this.lastInferenceMs = Date.now();
  }

  recordFailure(totalNs: number): void {
    add(this.fail, totalNs);
    this.lastInferenceMs = Date.now();
  }

  toProto(name: string, version: string): ModelStatistics {
    return create(ModelStatisticsSchema, {
      name,
      version,
      lastInference: BigInt(this.lastInferenceMs),
      inferenceCount: BigInt(this.success.count),
      executionCount: BigInt(this.executions),
      inferenceStats: {
        success: toProtoDuration(this.success),
        fail: toProtoDuration(this.fail),
        queue: toProtoDuration(this.queue),
        computeInput: toProtoDuration(this.computeInput),
        computeInfer: toProtoDuration(this.computeInfer),
        computeOutput: toProtoDuration(this.computeOutput),
      },
      batchStats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batchSize, d]) => ({ batchSize: BigInt(batchSize), computeInfer: toProtoDuration(d), computeInput: { count: BigInt(d.count), ns: 0n }, computeOutput: { count: BigInt(d.count), ns: 0n } })),
    });
  }
}

function add(d: Duration, ns: number): void {
  d.count += 1;
  d.ns += Math.max(0, Math.round(ns));
}
