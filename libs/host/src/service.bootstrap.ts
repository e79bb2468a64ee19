import 'reflect-metadata';
import { Global, Module, type DynamicModule, type INestApplicationContext, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import type { ServerAuth } from '@aio/grpc';
import { RestAuthGuard } from './rest-auth.guard.js';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { addFastRoutes, type FastRoute } from './fast-route.js';
import { HealthController } from './health.controller.js';
import { HttpErrorFilter } from './http-error.filter.js';
import { HttpTraceInterceptor } from './http-trace.interceptor.js';
import { MetricsSource } from './metrics-source.js';
import { Readiness } from './readiness.service.js';

/** The part of a gRPC server the host drives (libs/grpc's server has this shape). */
export interface GrpcHost {
  start(host: string, port: number): Promise<number>;
  shutdown(graceMs: number): Promise<void>;
}

export interface HostLogger {
  info(msg: string, attrs?: Record<string, unknown>): void;
  warn(msg: string, attrs?: Record<string, unknown>): void;
  error(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
}

export interface RunServiceOptions {
  name: string;
  /** The service's own module; Readiness is injectable in it. */
  module: Type<unknown> | DynamicModule;
  bindHost: string;
  httpPort: number;
  grpcPort?: number;
  /** Builds the gRPC server from the service's providers once Nest has created them. */
  grpc?: (app: INestApplicationContext) => GrpcHost;
  metrics: () => Promise<string>;
  nestLogger: LoggerService;
  logger: HostLogger;
  /** How long in-flight calls may take to finish on shutdown. */
  shutdownGraceMs?: number;
  /** Runs last on shutdown (flush telemetry). */
  onShutdown?: () => Promise<void>;
  /** Largest accepted REST body (bytes). */
  bodyLimit?: number;
  /** Token verification for REST routes marked with @Permission (the same verifier as gRPC). */
  auth?: ServerAuth;
  /** REST hot paths served by Fastify outside Nest's pipeline (fast-route.ts), built once providers exist. */
  fastRoutes?: (app: INestApplicationContext) => FastRoute[];
  /** Install SIGTERM/SIGINT handlers (off in tests that own the process). */
  handleSignals?: boolean;
}

export interface RunningService {
  app: NestFastifyApplication;
  httpPort: number;
  grpcPort: number | undefined;
  /** Graceful stop: not-ready, drain gRPC, close Nest (consumers commit, relays stop), then onShutdown. */
  stop(): Promise<void>;
}

@Global()
@Module({})
class HostModule {}

function hostModule(metrics: () => Promise<string>): DynamicModule {
  return {
    module: HostModule,
    global: true,
    controllers: [HealthController],
    providers: [Readiness, { provide: MetricsSource, useValue: new MetricsSource(metrics) }],
    exports: [Readiness],
  };
}

@Module({})
class RootModule {}

/** Starts one service: HTTP (Fastify) with health routes, gRPC, and the shutdown sequence. */
export async function runService(opts: RunServiceOptions): Promise<RunningService> {
  const app = await NestFactory.create<NestFastifyApplication>(
    { module: RootModule, imports: [hostModule(opts.metrics), opts.module] },
    new FastifyAdapter({ bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 }),
    { logger: opts.nestLogger, abortOnError: false },
  );
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalInterceptors(new HttpTraceInterceptor());
  if (opts.auth) app.useGlobalGuards(new RestAuthGuard(opts.auth, app.get(Reflector)));
  if (opts.fastRoutes) addFastRoutes(app.getHttpAdapter().getInstance(), opts.fastRoutes(app), opts.auth);
  await app.listen({ host: opts.bindHost, port: opts.httpPort });
  const httpAddress = app.getHttpServer().address();
  const httpPort = typeof httpAddress === 'object' && httpAddress ? httpAddress.port : opts.httpPort;

  const grpc = opts.grpc?.(app);
  const grpcPort = grpc && opts.grpcPort !== undefined ? await grpc.start(opts.bindHost, opts.grpcPort) : undefined;
  opts.logger.info(`${opts.name} listening`, { 'http.port': httpPort, 'grpc.port': grpcPort });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const started = Date.now();
      app.get(Readiness).markShuttingDown();
      opts.logger.info(`${opts.name} shutting down`);
      try {
        await grpc?.shutdown(opts.shutdownGraceMs ?? 10_000);
        await app.close();
      } catch (err) {
        opts.logger.error(`${opts.name} shutdown step failed`, {}, err);
      }
      opts.logger.info(`${opts.name} stopped`, { 'duration.ms': Date.now() - started });
      await opts.onShutdown?.();
    })();
    return stopping;
  };

  if (opts.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`${opts.name}: second ${signal}, exiting now\n`);
        process.exit(1);
      }
      void stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { app, httpPort, grpcPort, stop };
}
