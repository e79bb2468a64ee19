import 'reflect-metadata';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { Global, Module, type DynamicModule, type INestApplicationContext, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import type { ServerAuth } from '@aio/grpc';
import { RestAuthGuard } from './rest-auth.guard.js';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyServerOptions } from 'fastify';
import { FastRouter, type FastRoute } from './fast-route.js';
import { installHttp1Front } from './http1.front.js';
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
  /** REST hot paths served from node:http ahead of Fastify and Nest (fast-route.ts), built once providers exist. */
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
  const bodyLimit = opts.bodyLimit ?? 16 * 1024 * 1024;
  // The HTTP server is made here so the fast routes see requests before Fastify does; the router is set
  // once Nest has built the providers its routes need (before listen).
  let router: FastRouter | undefined;
  const adapter = new FastifyAdapter({
    bodyLimit,
    serverFactory: (fastify: (req: IncomingMessage, res: ServerResponse) => void, options: FastifyServerOptions) => {
      const server = http.createServer((req, res) => {
        if (router === undefined || !router.serve(req, res)) fastify(req, res);
      });
      // Fast-route requests are read off the socket (http1.front.ts); other connections go to node:http.
      installHttp1Front(server, () => router);
      // What Fastify sets on a server it makes itself.
      if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
      if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
      if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
      return server;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>({ module: RootModule, imports: [hostModule(opts.metrics), opts.module] }, adapter, {
    logger: opts.nestLogger,
    abortOnError: false,
  });
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalInterceptors(new HttpTraceInterceptor());
  if (opts.auth) app.useGlobalGuards(new RestAuthGuard(opts.auth, app.get(Reflector)));
  if (opts.fastRoutes) router = new FastRouter(opts.fastRoutes(app), opts.auth, bodyLimit);
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
