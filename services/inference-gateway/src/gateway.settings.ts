/** What ServerMetadata reports; the version follows package.json and main.ts. */
export const SERVER_NAME = 'aiochestrator';
export const SERVER_VERSION = '0.1.0';

/** Settings the gateway's providers need from config and telemetry, provided as one value. */
export class GatewaySettings {
  constructor(
    readonly bindHost: string,
    readonly metricsPort: number,
    readonly renderMetrics: () => Promise<string>,
    readonly metricsContentType: string,
  ) {}
}

/** Serving settings from config: the worker pool, limits, the inference log and where versions are resolved. */
export class ServingSettings {
  constructor(
    readonly workers: number,
    readonly queueLimit: number,
    readonly batch: { maxBatchSize: number; maxQueueDelayMicros: number },
    readonly memoryBudgetBytes: number,
    readonly maxInputBytes: number,
    readonly timeoutMs: number,
    readonly trafficSeed: number | undefined,
    readonly log: { sampleRate: number; maxPerSecond: number; maxBytesPerSecond: number; queueLimit: number; batchSize: number; lingerMs: number },
    readonly registryAddress: string,
    readonly registryToken: string | undefined,
    readonly auth: { secret: string | undefined; issuer: string; audience: string },
    readonly artifactDir: string,
  ) {}
}
