import { createServer, type Server } from 'node:http';
import { Platform } from '@aio/host';
import type { Logger } from '@aio/telemetry';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { GatewaySettings } from './gateway.settings.js';

/**
 * Prometheus text on its own port (Triton's 8002), so scrapers configured for Triton work unchanged.
 * The HTTP port serves the same text at /metrics too (every service does).
 */
@Injectable()
export class MetricsServer implements OnModuleInit, OnApplicationShutdown {
  private server: Server | undefined;
  private readonly logger: Logger;

  constructor(
    @Inject(GatewaySettings) private readonly settings: GatewaySettings,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('metrics');
  }

  /** The bound port (the configured one, or the one picked for port 0). */
  get port(): number {
    const address = this.server?.address();
    if (address === null || address === undefined || typeof address === 'string') throw new Error('the metrics server is not listening');
    return address.port;
  }

  async onModuleInit(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'only GET /metrics is served on this port' }));
        return;
      }
      this.settings.renderMetrics().then(
        (text) => res.writeHead(200, { 'content-type': this.settings.metricsContentType }).end(text),
        (err: unknown) => {
          this.logger.error('rendering metrics failed', {}, err);
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'rendering metrics failed' }));
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`metrics server cannot listen on ${this.settings.bindHost}:${this.settings.metricsPort}: ${err.message} (set METRICS_PORT)`)),
      );
      server.listen(this.settings.metricsPort, this.settings.bindHost, () => resolve());
    });
    this.server = server;
    this.logger.info('metrics listening', { 'http.port': this.port });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
