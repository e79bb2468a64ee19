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
import type { Metadata } from '@grpc/grpc-js';
import { context, defaultTextMapGetter, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { bearerFrom, type AuthorizationHeader, type Principal } from '@aio/auth';
import { permission as permissionOption } from '@aio/proto/aio/auth/v1/options';
import type { CallContext, ServiceImpl } from './call.context.js';
import { GrpcError, Status, statusName } from './grpc.error.js';
import { GrpcTransport, type CancelListener, type ServerTls, type TransportRoute, type WireCall } from './grpc.transport.js';
import { Health, HealthStatuses } from './health.service.js';
import { methodPath } from './service.definition.js';

/** Verifies a bearer token; `TokenVerifier` from @aio/auth fits. Throw an error named "AuthError" to reject. */
export interface TokenVerifierLike {
  verify(token: string): Promise<Principal>;
  /** A recently verified token's principal without a promise (undefined = call verify). Optional. */
  cached?(token: string): Principal | undefined;
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
  /** Default plaintext; key and certificate for TLS, plus a CA and requireClientCert for mutual TLS. */
  tls?: ServerTls;
  /**
   * Ping every connection this often so dead peers (pulled cable, killed pod) are noticed; one that
   * does not answer within 20 s is closed. Default 60 s; 0 turns it off.
   */
  keepaliveMs?: number;
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
  /** "package.Service/Method": the span name and what a refusal names, built once per method. */
  readonly fullName: string;
  readonly permission: string | undefined;
  readonly isPublic: boolean;
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  return new AioGrpcServer(options);
}

class AioGrpcServer implements GrpcServer {
  private readonly transport: GrpcTransport;
  private readonly health = new HealthStatuses();
  /**
   * Calls in progress, for a forced shutdown. An array with swap-remove, not a Set, for the reason
   * h2/stream.table.ts gives: a Set churned by every call chains its retired hash tables, and with them
   * finished calls, into the old generation.
   */
  private readonly calls: ServerCall[] = [];
  private readonly tracer = trace.getTracer('@aio/grpc');
  private readonly onInternalError: NonNullable<GrpcServerOptions['onInternalError']>;
  private started = false;

  constructor(private readonly options: GrpcServerOptions) {
    this.transport = new GrpcTransport({
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      keepaliveMs: options.keepaliveMs ?? 60_000,
      keepaliveTimeoutMs: 20_000,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
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
    return this.calls.length;
  }

  add<S extends DescService>(service: S, implementation: ServiceImpl<S>, options: ServiceOptions = {}): this {
    if (this.started) throw new Error(`add(${service.typeName}) after start(): register every service first`);
    const routes: [string, TransportRoute][] = [];
    const impls = implementation as Record<string, unknown>;
    for (const method of service.methods) {
      const impl = impls[method.localName];
      if (typeof impl !== 'function') {
        throw new Error(`${service.typeName}: no implementation for ${method.name} (expected a function at "${method.localName}")`);
      }
      const route = this.route(method, options);
      routes.push([methodPath(method), this.handler(route, impl.bind(implementation) as (...args: never[]) => unknown)]);
    }
    for (const [path, route] of routes) this.transport.route(path, route);
    this.health.set(service.typeName, true);
    return this;
  }

  setServing(service: string, serving: boolean): void {
    this.health.set(service, serving);
  }

  async start(host: string, port: number): Promise<number> {
    try {
      const bound = await this.transport.listen(host, port);
      this.started = true;
      return bound;
    } catch (error) {
      const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
      throw new Error(`gRPC server could not bind ${address}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async shutdown(graceMs = 10_000): Promise<void> {
    this.health.close();
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        const reason = new GrpcError(Status.UNAVAILABLE, 'the server is shutting down');
        for (const call of [...this.calls]) call.cancel(reason);
        this.transport.destroy();
        resolve();
      }, graceMs);
    });
    await Promise.race([this.transport.drain(), forced]);
    clearTimeout(timer);
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
    return { method, fullName: `${method.parent.typeName}/${method.name}`, permission, isPublic };
  }

  /**
   * The transport route of a method: its request is one decoded message or a stream of them, its answer
   * one encoded message (reply) or a stream written with backpressure (end); any failure is the status.
   */
  private handler(route: Route, impl: (...args: never[]) => unknown): TransportRoute {
    const { method } = route;
    const requestStream = method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming';
    const responseStream = method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming';
    const fn = impl as unknown as (request: unknown, ctx: CallContext) => unknown;
    return {
      requestStream,
      handle: (call, request) => {
        const run = (ctx: CallContext): Promise<Uint8Array | undefined> => {
          const input = requestStream ? readAll(call, method.input, ctx.signal) : decode(method.input, request as Buffer);
          if (responseStream) return writeAll(call, fn(input, ctx) as AsyncIterable<MessageInitShape<DescMessage>>, method.output, ctx.signal).then(() => undefined);
          return (fn(input, ctx) as Promise<MessageInitShape<DescMessage>>).then((out) => encode(method.output, out));
        };
        this.serve(call, route, run).then(
          (bytes) => (bytes === undefined ? call.end() : call.reply(bytes)),
          (error: GrpcError) => call.fail(error),
        );
      },
    };
  }

  /**
   * Runs one call: SERVER span with the caller's trace as parent, cancellation, authentication and
   * authorization, then the body. Always settles; a rejection is a GrpcError fit to send. Written
   * without async/await: a small call's cost here is per-call objects (promises, closures, an
   * AbortController), so a cached token is checked synchronously and the signal is made on demand.
   */
  private serve<T>(call: WireCall, route: Route, body: (ctx: CallContext) => Promise<T>): Promise<T> {
    const service = route.method.parent.typeName;
    const methodName = route.method.name;
    const parent = propagation.extract(ROOT_CONTEXT, call.headers, defaultTextMapGetter);
    const span = this.tracer.startSpan(route.fullName, { kind: SpanKind.SERVER }, parent);
    // Only on spans that are kept: attributes given at start are copied and checked for every span, sampled or not.
    if (span.isRecording()) span.setAttributes({ 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': methodName });
    const live = new ServerCall(service, methodName, call);
    call.listener = live;
    live.slot = this.calls.push(live) - 1;
    const done = (): void => {
      const last = this.calls.pop() as ServerCall;
      if (last !== live) {
        this.calls[live.slot] = last;
        last.slot = live.slot;
      }
    };
    let pending: Promise<T>;
    try {
      pending = context.with(trace.setSpan(parent, span), () => {
        const start = (principal: Principal | undefined): Promise<T> => {
          if (principal) span.setAttribute('enduser.id', principal.subject);
          live.principal = principal;
          return body(live);
        };
        const principal = this.principalFor(route, call.headers.authorization);
        return principal instanceof Promise ? principal.then(start) : start(principal);
      });
    } catch (thrown) {
      // Whatever a handler threw synchronously takes the same path as a rejection (toGrpcError below).
      pending = Promise.reject(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
    return pending.then(
      (result) => {
        done();
        const code = live.reason === undefined ? Status.OK : live.reason.code;
        finishSpan(span, code, SERVER_FAULTS.has(code) ? statusName(code) : undefined);
        return result;
      },
      (thrown: unknown) => {
        done();
        const error = this.toGrpcError(thrown, live.reason, span, service, methodName);
        finishSpan(span, error.code, SERVER_FAULTS.has(error.code) ? error.message : undefined);
        throw error;
      },
    );
  }

  /** The caller allowed to make this call; undefined for public methods and without auth (authorizeBearer). */
  private principalFor(route: Route, header: AuthorizationHeader): Principal | undefined | Promise<Principal> {
    const auth = this.options.auth;
    if (auth === 'disabled' || route.isPublic) return undefined;
    return authorizeBearer(auth, header, route.permission ?? '', route.fullName);
  }

  private toGrpcError(thrown: unknown, cancelled: GrpcError | undefined, span: Span, service: string, method: string): GrpcError {
    if (thrown instanceof GrpcError) return thrown;
    // A handler that gave up because its call was cancelled is not a server fault.
    if (cancelled !== undefined) return cancelled;
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

function encode<O extends DescMessage>(schema: O, init: MessageInitShape<O>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** Decodes a request stream; ends early (by resetting the stream) when the call is aborted. */
async function* readAll<I extends DescMessage>(call: WireCall, schema: I, signal: AbortSignal): AsyncGenerator<MessageShape<I>> {
  const onAbort = (): void => {
    call.cancel();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const message of call.messages()) {
      yield decode(schema, message);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw signal.reason;
}

/** Encodes and writes a response stream with backpressure; stops when the call is aborted. */
async function writeAll<O extends DescMessage>(
  call: WireCall,
  source: AsyncIterable<MessageInitShape<O>>,
  schema: O,
  signal: AbortSignal,
): Promise<void> {
  for await (const item of source) {
    if (signal.aborted) break;
    if (!call.write(encode(schema, item))) {
      try {
        await call.drained(signal);
      } catch {
        break;
      }
    }
  }
  if (signal.aborted) throw signal.reason;
}

/**
 * The principal a bearer `authorization` header authenticates, checked against `permission` (what it
 * guards is named as `target` in the refusal) — for gRPC calls and REST routes alike. Synchronous when
 * the verifier remembers the token, a promise when it must check the signature. Throws (or rejects
 * with) a GrpcError: UNAUTHENTICATED, UNAVAILABLE (identity provider unreachable), PERMISSION_DENIED.
 */
export function authorizeBearer(auth: ServerAuth, header: AuthorizationHeader, permission: string, target: string): Principal | Promise<Principal> {
  const permit = (principal: Principal): Principal => {
    if (!auth.authorize(principal, permission)) {
      throw new GrpcError(
        Status.PERMISSION_DENIED,
        `"${principal.subject}" (roles: ${principal.roles.join(', ') || 'none'}) lacks permission "${permission}" for ${target}`,
      );
    }
    return principal;
  };
  let token: string;
  try {
    token = bearerFrom(header);
  } catch (error) {
    throw authFailure(error);
  }
  const known = auth.verifier.cached?.(token);
  if (known !== undefined) return permit(known);
  return auth.verifier.verify(token).then(permit, (error: unknown) => {
    throw authFailure(error);
  });
}

/** An AuthError as the status a caller sees; anything else unchanged. */
function authFailure(error: unknown): unknown {
  if (!isAuthError(error)) return error;
  const code = error.reason === 'identity provider unreachable' ? Status.UNAVAILABLE : Status.UNAUTHENTICATED;
  return new GrpcError(code, error.message, { cause: error });
}

/**
 * One running call as its handler sees it (the CallContext) and as the server tracks it. Cancellation
 * is kept as a reason; an AbortSignal is only made when a handler reads `signal`.
 */
class ServerCall implements CallContext, CancelListener {
  principal: Principal | undefined = undefined;
  reason: GrpcError | undefined = undefined;
  /** Where the server's list of calls in progress holds this one. */
  slot = -1;
  readonly deadline: Date | undefined;
  private controller: AbortController | undefined;
  private listeners: ((reason: GrpcError) => void)[] | undefined;

  constructor(
    readonly service: string,
    readonly method: string,
    private readonly call: WireCall,
  ) {
    this.deadline = call.deadline === undefined ? undefined : new Date(call.deadline);
  }

  get metadata(): Metadata {
    return this.call.metadata;
  }

  get peer(): string {
    return this.call.peer;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  onCancel(listener: (reason: GrpcError) => void): () => void {
    if (this.reason !== undefined) {
      listener(this.reason);
      return () => undefined;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const at = this.listeners?.indexOf(listener) ?? -1;
      if (at >= 0) this.listeners?.splice(at, 1);
    };
  }

  /** The transport saw the call end early. */
  cancelled(code: Status.CANCELLED | Status.DEADLINE_EXCEEDED): void {
    this.cancel(
      code === Status.DEADLINE_EXCEEDED
        ? new GrpcError(Status.DEADLINE_EXCEEDED, 'the call outlived its deadline')
        : new GrpcError(Status.CANCELLED, 'the client cancelled the call'),
    );
  }

  /** Ends the call early (first reason wins): aborts the signal if one was made, tells the listeners. */
  cancel(reason: GrpcError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const l of listeners ?? []) l(reason);
  }
}

function finishSpan(span: Span, code: Status, errorMessage: string | undefined): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (errorMessage !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage });
  span.end();
}

function isAuthError(error: unknown): error is Error & { reason: string } {
  return error instanceof Error && error.name === 'AuthError' && typeof (error as { reason?: unknown }).reason === 'string';
}
