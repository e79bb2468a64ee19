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
