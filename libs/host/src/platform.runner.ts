import { createGrpcServer, type GrpcServer } from '@aio/grpc';
import type { Telemetry } from '@aio/telemetry';
import { Module, type INestApplicationContext, type Provider, type Type } from '@nestjs/common';
import { PlatformModule } from './platform.module.js';
import { authFrom, type PlatformConfig } from './platform.wiring.js';
import type { FastRoute } from './fast-route.js';
import { runService, type RunningService } from './service.bootstrap.js';

/** What every service's config has on top of the platform's variables. */
export interface ServiceConfig extends PlatformConfig {
  readonly GRPC_PORT: number;
  readonly HTTP_PORT: number;
  readonly AIO_DATABASE: string;
}

export interface PlatformServiceOptions {
  name: string;
  config: ServiceConfig;
  telemetry: Telemetry;
  controllers: Type<unknown>[];
  providers: Provider[];
  /** Adds the service's gRPC implementations once Nest has built its providers. */
  grpc: (server: GrpcServer, app: INestApplicationContext) => void;
  /** REST hot paths outside Nest's pipeline, with the same auth, spans and errors (fast-route.ts). */
  fastRoutes?: (app: INestApplicationContext) => FastRoute[];
  /** Off in tests that own the process. */
  handleSignals?: boolean;
}

/**
 * One service on the platform: its Nest module (with `Platform` injectable), REST and gRPC behind the
 * same token verification, health/readiness/metrics, telemetry flushed last on shutdown.
 */
export async function startPlatformService(opts: PlatformServiceOptions): Promise<RunningService> {
  const { name, config, telemetry } = opts;
  class ServiceModule {}
  Module({
    imports: [PlatformModule.forRoot({ service: name, config, telemetry, database: config.AIO_DATABASE })],
    controllers: opts.controllers,
    providers: opts.providers,
  })(ServiceModule);
  const auth = authFrom(config);
  const logger = telemetry.getLogger(name);
  return runService({
    name,
    module: ServiceModule,
    bindHost: config.AIO_BIND_HOST,
    httpPort: config.HTTP_PORT,
    grpcPort: config.GRPC_PORT,
    auth,
    grpc: (app) => {
      const server = createGrpcServer({
        auth,
        onInternalError: (err, call) => logger.error(`${call.service}/${call.method} failed`, { 'trace.id': call.traceId }, err),
      });
      opts.grpc(server, app);
      return server;
    },
    metrics: () => telemetry.metricsText(),
    nestLogger: telemetry.nestLogger,
    logger,
    onShutdown: () => telemetry.shutdown(),
    fastRoutes: opts.fastRoutes,
    handleSignals: opts.handleSignals,
  });
}
