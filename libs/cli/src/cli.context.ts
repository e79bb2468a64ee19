import { userInfo } from 'node:os';
import { findLocalAuthSecret, mintToken } from '@aio/auth';
import { createGrpcClient, type GrpcClient } from '@aio/grpc';
import type { DescService } from '@bufbuild/protobuf';
import { CliError } from './cli.errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Where each service answers; every address can be overridden (AIO_<SERVICE>_ADDR) for remote platforms. */
export interface Endpoints {
  registry: string;
  ingestion: string;
  trainer: string;
  monitor: string;
  gateway: string;
  /** The gateway's REST (OIP) host:port. */
  gatewayHttp: string;
  kafkaBrokers: string[];
  topicPrefix: string;
}

export function endpointsFrom(env: Env): Endpoints {
  return {
    registry: env['AIO_REGISTRY_ADDR'] ?? '127.0.0.1:50051',
    ingestion: env['AIO_INGESTION_ADDR'] ?? '127.0.0.1:50052',
    trainer: env['AIO_TRAINER_ADDR'] ?? '127.0.0.1:50053',
    monitor: env['AIO_MONITOR_ADDR'] ?? '127.0.0.1:50054',
    gateway: env['AIO_GATEWAY_ADDR'] ?? '127.0.0.1:8001',
    gatewayHttp: env['AIO_GATEWAY_HTTP_ADDR'] ?? '127.0.0.1:8000',
    kafkaBrokers: (env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter(Boolean),
    topicPrefix: env['AIO_TOPIC_PREFIX'] ?? 'aio',
  };
}

/** Where a command writes: results to stdout, progress and errors to stderr. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export type ServiceName = 'registry' | 'ingestion' | 'trainer' | 'monitor' | 'gateway';

/** What every command gets: endpoints, output, a token, and typed clients closed at the end. */
export class CliContext {
  readonly endpoints: Endpoints;
  private tokenPromise: Promise<string> | undefined;
  private readonly clients: { close(): void }[] = [];

  constructor(
    readonly env: Env,
    readonly cwd: string,
    readonly output: Output,
    readonly json: boolean,
  ) {
    this.endpoints = endpointsFrom(env);
  }

  /**
   * AIO_TOKEN when set; otherwise, on a machine running the local default, an admin token minted with
   * the local secret (.infra/auth-secret) for the current OS user.
   */
  token(): Promise<string> {
    this.tokenPromise ??= this.resolveToken();
    return this.tokenPromise;
  }

  private async resolveToken(): Promise<string> {
    const fromEnv = this.env['AIO_TOKEN']?.trim();
    if (fromEnv) return fromEnv;
    const secret = this.env['AIO_AUTH_SECRET']?.trim() || findLocalAuthSecret(this.cwd)?.secret;
    if (!secret) {
      throw new CliError('no credentials: set AIO_TOKEN (a JWT from your identity provider), or run inside the repository after `npm run up`');
    }
    return mintToken({
      secret,
      subject: this.env['USER'] ?? userInfo().username,
      roles: ['admin'],
      issuer: this.env['AIO_AUTH_ISSUER'] ?? 'aio-local',
      audience: this.env['AIO_AUTH_AUDIENCE'] ?? 'aio',
      ttlSeconds: 600,
    });
  }

  client<S extends DescService>(service: S, name: ServiceName): GrpcClient<S> {
    const client = createGrpcClient(service, this.endpoints[name], { token: () => this.token(), timeoutMs: 30_000 });
    this.clients.push(client);
    return client;
  }

  /** A result: pretty JSON with --json, else the given human rendering. */
  print(json: unknown, human: () => string): void {
    this.output.out(this.json ? JSON.stringify(json, null, 2) : human());
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

/** Columns padded to their widest cell; an empty list says so. */
export function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)';
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows].map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}
