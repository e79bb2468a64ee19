import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import {
  create,
  fromBinary,
  getOption,
  hasOption,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  Server,
  ServerCredentials,
  type ChannelOptions,
  type Deadline,
  type Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { bearerFrom, type Principal } from '@aio/auth';
import { permission as permissionOption } from '@aio/proto/aio/auth/v1/options';
import type {
  BidiStreamingImpl,
  CallContext,
  ClientStreamingImpl,
  ServerStreamingImpl,
  ServiceImpl,
  UnaryImpl,
} from './call.context.js';
import { GrpcError, Status, statusName } from './grpc.error.js';
import { Health, HealthStatuses } from './health.service.js';
import { asBuffer, rawServiceDefinition } from './service.definition.js';
import { metadataGetter } from './trace.metadata.js';

/** Verifies a bearer token; `TokenVerifier` from @aio/auth fits. Throw an error named "AuthError" to reject. */
export interface TokenVerifierLike {
  verify(token: string): Promise<Principal>;
}

export interface ServerAuth {
  verifier: TokenVerifierLike;
  /** Whether the principal holds the permission; `isAllowed` from @aio/auth fits. */
  authorize: (principal: Principal, permission: string) => boolean;
}

export interface GrpcServerOptions {
  /** Required so that running without authentication is always a visible decision ('disabled'). */
  auth: ServerAuth | 'disabled';
  /** Largest message received or sent, in bytes. Default 64 MiB (inference payloads). */
  maxMessageBytes?: number;
  /** Default insecure (plaintext); pass ServerCredentials.createSsl(...) for TLS/mTLS. */
  credentials?: ServerCredentials;
  /** Extra grpc-js channel options; they override the defaults set here. */
  channelOptions?: ChannelOptions;
  /**
   * Called with every error a handler threw that was not a GrpcError (the caller only sees
   * INTERNAL). Default: console.error with the method and stack. The error is also recorded on the
   * call's span either way.
   */
  onInternalError?: (error: unknown, call: { service: string; method: string; traceId: string }) => void;
}

export interface ServiceOptions {
  /** Permission for methods without an (aio.auth.v1.permission) option, e.g. "inference:infer". */
  defaultPermission?: string;
  /** Per-method permissions (proto method name -> permission); beats the option and the default. */
  permissions?: Readonly<Record<string, string>>;
  /** Proto method names callable without a token, or 'all'. */
  publicMethods?: readonly string[] | 'all';
}

export interface GrpcServer {
  /** Registers an implementation of a generated service. Call before start(). */
  add<S extends DescService>(service: S, implementation: ServiceImpl<S>, options?: ServiceOptions): this;
  /** Health status of a service ("" = the whole server) as grpc.health.v1 reports it. */
  setServing(service: string, serving: boolean): void;
  /** Binds and starts serving; resolves with the bound port (pass 0 for any free port). */
  start(host: string, port: number): Promise<number>;
  /**
   * Stops accepting calls, lets in-flight calls finish for up to graceMs (default 10 s), then
   * aborts the rest (their ctx.signal fires with UNAVAILABLE) and closes every connection.
   */
  shutdown(graceMs?: number): Promise<void>;
  /** Calls currently running. */
  readonly inFlight: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

// Codes that mean the server failed (OpenTelemetry semantic conventions for gRPC server spans).
const SERVER_FAULTS: ReadonlySet<Status> = new Set([
  Status.UNKNOWN,
  Status.DEADLINE_EXCEEDED,
  Status.UNIMPLEMENTED,
  Status.INTERNAL,
  Status.UNAVAILABLE,
  Status.DATA_LOSS,
]);

interface Route {
  readonly method: DescMethod;
  readonly permission: string | undefined;
  readonly isPublic: boolean;
}

// What serve() needs from any of grpc-js' four call objects.
interface AnyCall {
  readonly metadata: Metadata;
  getPeer(): string;
  getDeadline(): Deadline;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  return new AioGrpcServer(options);
}

class AioGrpcServer implements GrpcServer {
  private readonly server: Server;
  private readonly health = new HealthStatuses();
  private readonly calls = new Set<AbortController>();
  private readonly tracer = trace.getTracer('@aio/grpc');
  private readonly onInternalError: NonNullable<GrpcServerOptions['onInternalError']>;
  private started = false;

  constructor(private readonly options: GrpcServerOptions) {
    const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.server = new Server({
      'grpc.max_receive_message_length': maxBytes,
      'grpc.max_send_message_length': maxBytes,
      // Ping idle clients so dead peers (pulled cable, killed pod) are noticed in about a minute.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // grpc-js tracks every call for channelz unless told not to; nothing here serves channelz.
      'grpc.enable_channelz': 0,
      ...options.channelOptions,
    });
    this.onInternalError =
      options.onInternalError ??
      ((error, call) => {
        console.error(`[@aio/grpc] ${call.service}/${call.method} failed (trace ${call.traceId}):`, error);
      });
    this.health.set('', true);
    this.add(Health, this.health.implementation(), { publicMethods: 'all' });
  }

  get inFlight(): number {
    return this.calls.size;
  }

  add<S extends DescService>(service: S, implementation: ServiceImpl<S>, options: ServiceOptions = {}): this {
    if (this.started) throw new Error(`add(${service.typeName}) after start(): register every service first`);
    const handlers: UntypedServiceImplementation = {};
    const impls = implementation as Record<string, unknown>;
    for (const method of service.methods) {
      const impl = impls[method.localName];
      if (typeof impl !== 'function') {
        throw new Error(`${service.typeName}: no implementation for ${method.name} (expected a function at "${method.localName}")`);
      }
      const route = this.route(method, options);
      handlers[method.name] = this.handler(route, impl.bind(implementation) as (...args: never[]) => unknown);
    }
    this.server.addService(rawServiceDefinition(service), handlers);
    this.health.set(service.typeName, true);
    return this;
  }

  setServing(service: string, serving: boolean): void {
    this.health.set(service, serving);
  }

  start(host: string, port: number): Promise<number> {
    const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, this.options.credentials ?? ServerCredentials.createInsecure(), (error, bound) => {
        if (error) {
          reject(new Error(`gRPC server could not bind ${address}: ${error.message}`, { cause: error }));
          return;
        }
        this.started = true;
        resolve(bound);
      });
    });
  }

  async shutdown(graceMs = 10_000): Promise<void> {
    this.health.close();
    await new Promise<void>((resolve) => {
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const reason = new GrpcError(Status.UNAVAILABLE, 'the server is shutting down');
        for (const call of this.calls) call.abort(reason);
        this.server.forceShutdown();
        settle();
      }, graceMs);
      this.server.tryShutdown(settle);
    });
  }

  private route(method: DescMethod, options: ServiceOptions): Route {
    const isPublic = options.publicMethods === 'all' || (options.publicMethods ?? []).includes(method.name);
    const permission =
      options.permissions?.[method.name] ??
      (hasOption(method, permissionOption) ? getOption(method, permissionOption) : undefined) ??
      options.defaultPermission;
    if (this.options.auth !== 'disabled' && !isPublic && !permission) {
      throw new Error(
        `${method.parent.typeName}/${method.name} declares no (aio.auth.v1.permission) option: ` +
          'pass { defaultPermission } or { permissions } when adding the service, or list it in publicMethods',
      );
    }
    return { method, permission, isPublic };
  }

  private handler(route: Route, impl: (...args: never[]) => unknown): UntypedHandleCall {
    const { method } = route;
    switch (method.methodKind) {
      case 'unary': {
        const fn = impl as unknown as UnaryImpl<DescMessage, DescMessage>;
        return ((call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          this.serve(call, route, async (ctx) => encode(method.output, await fn(decode(method.input, call.request), ctx))).then(
            (bytes) => callback(null, bytes),
            (error: GrpcError) => callback(error.toStatus()),
          );
        }) as UntypedHandleCall;
      }
      case 'server_streaming': {
        const fn = impl as unknown as ServerStreamingImpl<DescMessage, DescMessage>;
        return ((call: ServerWritableStream<Buffer, Buffer>) => {
          this.serve(call, route, (ctx) => writeAll(call, fn(decode(method.input, call.request), ctx), method.output, ctx.signal)).then(
            () => call.end(),
            (error: GrpcError) => call.emit('error', error),
          );
        }) as UntypedHandleCall;
      }
      case 'client_streaming': {
        const fn = impl as unknown as ClientStreamingImpl<DescMessage, DescMessage>;
        return ((call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          this.serve(call, route, async (ctx) => encode(method.output, await fn(readAll(call, method.input, ctx.signal), ctx))).then(
            (bytes) => callback(null, bytes),
            (error: GrpcError) => callback(error.toStatus()),
          );
        }) as UntypedHandleCall;
      }
      case 'bidi_streaming': {
        const fn = impl as unknown as BidiStreamingImpl<DescMessage, DescMessage>;
        return ((call: ServerDuplexStream<Buffer, Buffer>) => {
          this.serve(call, route, (ctx) => writeAll(call, fn(readAll(call, method.input, ctx.signal), ctx), method.output, ctx.signal)).then(
            () => call.end(),
            (error: GrpcError) => call.emit('error', error),
          );
        }) as UntypedHandleCall;
      }
    }
  }

  /**
   * Runs one call: SERVER span with the caller's trace as parent, cancellation, authentication and
   * authorization, then the body. Always settles; a rejection is a GrpcError fit to send.
   */
  private async serve<T>(call: AnyCall, route: Route, body: (ctx: CallContext) => Promise<T>): Promise<T> {
    const service = route.method.parent.typeName;
    const methodName = route.method.name;
    const parent = propagation.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
    const span = this.tracer.startSpan(
      `${service}/${methodName}`,
      { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': methodName } },
      parent,
    );
    const controller = new AbortController();
    this.calls.add(controller);
    const deadline = toDeadline(call.getDeadline());
    const onCancelled = (): void => {
      const expired = deadline !== undefined && Date.now() >= deadline.getTime();
      controller.abort(
        expired
          ? new GrpcError(Status.DEADLINE_EXCEEDED, 'the call outlived its deadline')
          : new GrpcError(Status.CANCELLED, 'the client cancelled the call'),
      );
    };
    call.once('cancelled', onCancelled);
    try {
      const result = await context.with(trace.setSpan(parent, span), async () => {
        const principal = await this.authenticate(route, call.metadata);
        if (principal) span.setAttribute('enduser.id', principal.subject);
        const ctx: CallContext = {
          service,
          method: methodName,
          principal,
          metadata: call.metadata,
          deadline,
          signal: controller.signal,
          // Built on demand: few handlers read it, and grpc-js formats the address string per call.
          get peer() {
            return call.getPeer();
          },
        };
        return body(ctx);
      });
      const code = controller.signal.aborted ? abortCode(controller.signal) : Status.OK;
      finishSpan(span, code, SERVER_FAULTS.has(code) ? statusName(code) : undefined);
      return result;
    } catch (thrown) {
      const error = this.toGrpcError(thrown, controller.signal, span, service, methodName);
      finishSpan(span, error.code, SERVER_FAULTS.has(error.code) ? error.message : undefined);
      throw error;
    } finally {
      call.removeListener('cancelled', onCancelled);
      this.calls.delete(controller);
    }
  }

  private async authenticate(route: Route, metadata: Metadata): Promise<Principal | undefined> {
    const auth = this.options.auth;
    if (auth === 'disabled' || route.isPublic) return undefined;
    const permission = route.permission ?? '';
    let principal: Principal;
    try {
      principal = await auth.verifier.verify(bearerFrom(metadata.get('authorization')));
    } catch (error) {
      if (isAuthError(error)) {
        const code = error.reason === 'identity provider unreachable' ? Status.UNAVAILABLE : Status.UNAUTHENTICATED;
        throw new GrpcError(code, error.message, { cause: error });
      }
      throw error;
    }
    if (!auth.authorize(principal, permission)) {
      throw new GrpcError(
        Status.PERMISSION_DENIED,
        `"${principal.subject}" (roles: ${principal.roles.join(', ') || 'none'}) lacks permission "${permission}" ` +
          `for ${route.method.parent.typeName}/${route.method.name}`,
      );
    }
    return principal;
  }

  private toGrpcError(thrown: unknown, signal: AbortSignal, span: Span, service: string, method: string): GrpcError {
    if (thrown instanceof GrpcError) return thrown;
    // A handler that gave up because its call was cancelled is not a server fault.
    if (signal.aborted && signal.reason instanceof GrpcError) return signal.reason;
    span.recordException(thrown instanceof Error ? thrown : new Error(String(thrown)));
    const traceId = span.spanContext().traceId;
    try {
      this.onInternalError(thrown, { service, method, traceId });
    } catch {
      // A failing error hook must not turn one failed call into a crashed process.
    }
    return new GrpcError(Status.INTERNAL, `internal error (trace ${traceId}); the server log has the details`, { cause: thrown });
  }
}

function decode<I extends DescMessage>(schema: I, bytes: Buffer): MessageShape<I> {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new GrpcError(Status.INVALID_ARGUMENT, `request is not a valid ${schema.typeName}: ${reason}`, { cause: error });
  }
}

function encode<O extends DescMessage>(schema: O, init: MessageInitShape<O>): Buffer {
  return asBuffer(toBinary(schema, create(schema, init)));
}

/** Decodes a request stream; ends early (by destroying the stream) when the call is aborted. */
async function* readAll<I extends DescMessage>(stream: Readable, schema: I, signal: AbortSignal): AsyncGenerator<MessageShape<I>> {
  const onAbort = (): void => {
    stream.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      yield decode(schema, chunk as Buffer);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw signal.reason;
}

/** Encodes and writes a response stream with backpressure; stops when the call is aborted. */
async function writeAll<O extends DescMessage>(
  stream: Writable,
  source: AsyncIterable<MessageInitShape<O>>,
  schema: O,
  signal: AbortSignal,
): Promise<void> {
  for await (const item of source) {
    if (signal.aborted) break;
    if (!stream.write(encode(schema, item))) {
      try {
        await once(stream, 'drain', { signal });
      } catch {
        break;
      }
    }
  }
  if (signal.aborted) throw signal.reason;
}

function toDeadline(deadline: Date | number): Date | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

function abortCode(signal: AbortSignal): Status {
  return signal.reason instanceof GrpcError ? signal.reason.code : Status.CANCELLED;
}

function finishSpan(span: Span, code: Status, errorMessage: string | undefined): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (errorMessage !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage });
  span.end();
}

function isAuthError(error: unknown): error is Error & { reason: string } {
  return error instanceof Error && error.name === 'AuthError' && typeof (error as { reason?: unknown }).reason === 'string';
}
