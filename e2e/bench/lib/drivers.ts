// The calls the load worker makes, one per DriverSpec kind (but ghz, its own process: lib/ghz.ts). Each
// resolves on a good answer and rejects with a LoadError whose kind names what went wrong (a gRPC status,
// an HTTP status, a timeout).
import http from 'node:http';
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { DriverSpec } from './load.ts';

export type Call = (i: number) => Promise<void>;

export interface Driver {
  call: Call;
  close(): void | Promise<void>;
}

export class LoadError extends Error {
  readonly kind: string;

  constructor(kind: string, message = kind) {
    super(message);
    this.kind = kind;
  }
}

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const pass = (b: Buffer): Buffer => b;

function grpcStatusName(code: number): string {
  // grpc-js' Status is a numeric enum, so it maps codes back to names.
  return (GrpcStatus as unknown as Record<number, string | undefined>)[code] ?? `grpc_${code}`;
}

async function grpcDriver(spec: Extract<DriverSpec, { kind: 'grpc' }>): Promise<Driver> {
  // One channel (one HTTP/2 connection), as a tritonclient or perf_analyzer process uses.
  const client = new Client(spec.address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(new Error(`cannot connect to ${spec.address}: ${err.message}`)) : resolve())),
  );
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(spec.metadata)) metadata.set(k, v);
  const requests = spec.requests.map((r) => Buffer.from(r));
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const call: Call = (i) =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        spec.path,
        pass,
        pass,
        requests[i % requests.length] as Buffer,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, value?: Buffer) => {
          if (err) reject(new LoadError(grpcStatusName(err.code), err.details));
          else if (value === undefined || value.length === 0) reject(new LoadError('empty_response'));
          else resolve();
        },
      );
    });
  return { call, close: () => client.close() };
}

function restDriver(spec: Extract<DriverSpec, { kind: 'rest' }>): Driver {
  const url = new URL(spec.origin);
  // Keep-alive sockets, as many as requests in flight: no connection set-up inside the measurement.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const requests = spec.requests.map((r) => ({ path: r.path, body: Buffer.from(r.body) }));
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const call: Call = (i) =>
    new Promise((resolve, reject) => {
      const r = requests[i % requests.length] as { path: string; body: Buffer };
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: r.path,
          headers: { ...spec.headers, 'content-type': 'application/json', 'content-length': r.body.length },
          timeout: timeoutMs,
        },
        (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new LoadError(`http_${res.statusCode}`));
            else if (bytes === 0) reject(new LoadError('empty_response'));
            else resolve();
          });
          res.on('error', (err) => reject(new LoadError(err.name, err.message)));
        },
      );
      req.on('timeout', () => req.destroy(new LoadError('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof LoadError ? err : new LoadError(err.code ?? err.name, err.message)));
      req.end(r.body);
    });
  return { call, close: () => agent.destroy() };
}

type DriverFactory = (args: unknown) => Promise<Call | Driver> | Call | Driver;

async function moduleDriver(spec: Extract<DriverSpec, { kind: 'module' }>): Promise<Driver> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const factory = mod[spec.exportName];
  if (typeof factory !== 'function') throw new Error(`${spec.module} does not export a function ${spec.exportName}`);
  const made = await (factory as DriverFactory)(spec.args);
  return typeof made === 'function' ? { call: made, close: () => undefined } : made;
}

export async function createDriver(spec: DriverSpec): Promise<Driver> {
  switch (spec.kind) {
    case 'grpc':
      return grpcDriver(spec);
    case 'rest':
      return restDriver(spec);
    case 'module':
      return moduleDriver(spec);
    case 'ghz':
    case 'h2load':
      throw new Error(`the ${spec.kind} driver runs ${spec.kind} processes (lib/${spec.kind}.ts), not calls in the load worker`);
  }
}

/** The error kind counted for a failed call. */
export function errorKind(err: unknown): string {
  if (err instanceof LoadError) return err.kind;
  if (err !== null && typeof err === 'object') {
    const o = err as { kind?: unknown; code?: unknown; name?: unknown };
    if (typeof o.kind === 'string') return o.kind;
    if (typeof o.code === 'string') return o.code;
    if (typeof o.name === 'string') return o.name;
  }
  return 'unknown';
}
