import { once } from 'node:events';
import type { Writable } from 'node:stream';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { fromServiceError, GrpcError, Status, statusName } from './grpc.error.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './grpc.server.js';
import { asBuffer, methodPath } from './service.definition.js';
import { metadataSetter } from './trace.metadata.js';

export interface GrpcClientOptions {
  /** Default insecure (plaintext); pass credentials.createSsl(...) for TLS/mTLS. */
  credentials?: ChannelCredentials;
  /**
   * Deadline for unary and client-streaming calls that set none, in ms. Default 30 s. Server- and
   * bidi-streaming calls have no default deadline (they are often long-lived); set one per call.
   */
  timeoutMs?: number;
  /** Supplies the bearer token for each call (sent as `authorization: Bearer <token>`); none when it returns undefined. */
  token?: () => string | undefined | Promise<string | undefined>;
  /** Largest message received or sent, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Extra grpc-js channel options; they override the defaults set here. */
  channelOptions?: ChannelOptions;
}

export interface CallOptions {
  /** Deadline for this call in ms from now. */
  timeoutMs?: number;
  /** Cancels the call; the call then rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Extra request metadata. */
  metadata?: Readonly<Record<string, string>>;
}

export type UnaryCall<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: CallOptions,
) => Promise<MessageShape<O>>;
export type ServerStreamingCall<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: CallOptions,
) => AsyncIterable<MessageShape<O>>;
export type ClientStreamingCall<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageInitShape<I>>,
  options?: CallOptions,
) => Promise<MessageShape<O>>;
export type BidiStreamingCall<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageInitShape<I>>,
  options?: CallOptions,
) => AsyncIterable<MessageShape<O>>;

/** The client function for one method descriptor, chosen by its methodKind. */
export type ClientMethod<M> = M extends { methodKind: 'unary'; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? UnaryCall<I, O>
  : M extends { methodKind: 'server_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? ServerStreamingCall<I, O>
    : M extends { methodKind: 'client_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? ClientStreamingCall<I, O>
      : M extends { methodKind: 'bidi_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? BidiStreamingCall<I, O>
        : never;

/**
 * Typed methods (local camelCase names) of a generated service, plus close(). Calls reject / throw
 * GrpcError with the status code the server sent.
 */
export type GrpcClient<S extends DescService> = {
  readonly [K in keyof S['method']]: ClientMethod<S['method'][K]>;
} & {
  /** Closes the channel; calls in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void;
};

export const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;

export function createGrpcClient<S extends DescService>(service: S, address: string, options: GrpcClientOptions = {}): GrpcClient<S> {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const client = new Client(address, options.credentials ?? grpcCredentials.createInsecure(), {
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    // Notice a dead connection within ~1.5 min even when idle between calls; servers here allow it.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    ...options.channelOptions,
  });
  const caller = new Caller(client, options);
  const methods: Record<string, unknown> = {};
  for (const method of service.methods) {
    methods[method.localName] = caller.method(method);
  }
  methods.close = () => client.close();
  return methods as GrpcClient<S>;
}

interface Prepared {
  metadata: Metadata;
  callOptions: GrpcCallOptions;
  span: Span;
}

class Caller {
  private readonly tracer = trace.getTracer('@aio/grpc');

  constructor(
    private readonly client: Client,
    private readonly options: GrpcClientOptions,
  ) {}

  method(method: DescMethod): unknown {
    const path = methodPath(method);
    const serialize = (message: MessageShape<DescMessage>): Buffer => asBuffer(toBinary(method.input, message));
    const deserialize = (bytes: Buffer): MessageShape<DescMessage> => fromBinary(method.output, bytes);
    const toRequest = (init: MessageInitShape<DescMessage>): MessageShape<DescMessage> => create(method.input, init);
    const defaultTimeout = this.options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;

    switch (method.methodKind) {
      case 'unary':
        return async (request: MessageInitShape<DescMessage>, callOptions?: CallOptions) => {
          const message = toRequest(request);
          const prepared = await this.prepare(method, callOptions, defaultTimeout);
          return this.settle(prepared, callOptions?.signal, (done) =>
            this.client.makeUnaryRequest(path, serialize, deserialize, message, prepared.metadata, prepared.callOptions, done),
          );
        };
      case 'client_streaming':
        return async (requests: AsyncIterable<MessageInitShape<DescMessage>>, callOptions?: CallOptions) => {
          const prepared = await this.prepare(method, callOptions, defaultTimeout);
          const finished = new AbortController();
          let sourceError: Error | undefined;
          return this.settle(
            prepared,
            callOptions?.signal,
            (done) => {
              const call = this.client.makeClientStreamRequest(path, serialize, deserialize, prepared.metadata, prepared.callOptions, done);
              pump(requests, call, toRequest, finished.signal).catch((error: unknown) => {
                sourceError = asError(error);
                call.cancel();
              });
              return call;
            },
            () => sourceError,
            () => finished.abort(),
          );
        };
      case 'server_streaming':
        return (request: MessageInitShape<DescMessage>, callOptions?: CallOptions) => {
          const message = toRequest(request);
          return this.stream(method, callOptions, (prepared) =>
            this.client.makeServerStreamRequest(path, serialize, deserialize, message, prepared.metadata, prepared.callOptions),
          );
        };
      case 'bidi_streaming':
        return (requests: AsyncIterable<MessageInitShape<DescMessage>>, callOptions?: CallOptions) => {
          const finished = new AbortController();
          let sourceError: Error | undefined;
          return this.stream(
            method,
            callOptions,
            (prepared) => {
              const call = this.client.makeBidiStreamRequest(path, serialize, deserialize, prepared.metadata, prepared.callOptions);
              pump(requests, call, toRequest, finished.signal).catch((error: unknown) => {
                sourceError = asError(error);
                call.cancel();
              });
              return call;
            },
            () => sourceError,
            () => finished.abort(),
          );
        };
    }
  }

  /** Token, trace context and deadline for one call, plus its CLIENT span. */
  private async prepare(method: DescMethod, callOptions: CallOptions | undefined, defaultTimeout: number | undefined): Promise<Prepared> {
    const service = method.parent.typeName;
    const span = this.tracer.startSpan(`${service}/${method.name}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method.name },
    });
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(callOptions?.metadata ?? {})) metadata.set(key, value);
    try {
      const token = await this.options.token?.();
      if (token) metadata.set('authorization', `Bearer ${token}`);
    } catch (error) {
      finish(span, Status.UNAUTHENTICATED);
      throw new GrpcError(Status.UNAUTHENTICATED, `the token provider failed: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    propagation.inject(trace.setSpan(context.active(), span), metadata, metadataSetter);
    const timeout = callOptions?.timeoutMs ?? defaultTimeout;
    const grpcOptions: GrpcCallOptions = timeout === undefined ? {} : { deadline: Date.now() + timeout };
    return { metadata, callOptions: grpcOptions, span };
  }

  /** Runs a call that answers once; maps its outcome to a value or a GrpcError. */
  private settle<T>(
    prepared: Prepared,
    signal: AbortSignal | undefined,
    start: (done: (error: ServiceError | null, value?: T) => void) => { cancel(): void },
    localError: () => Error | undefined = () => undefined,
    onEnd: () => void = () => undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => call.cancel();
      const done = (error: ServiceError | null, value?: T): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        onEnd();
        if (error) {
          const mapped = fromServiceError(error);
          finish(prepared.span, mapped.code);
          reject(localError() ?? mapped);
          return;
        }
        finish(prepared.span, Status.OK);
        resolve(value as T);
      };
      const call = start(done);
      if (signal?.aborted) call.cancel();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs a call that answers with a stream; cancels it when the consumer stops early. */
  private async *stream(
    method: DescMethod,
    callOptions: CallOptions | undefined,
    start: (prepared: Prepared) => ClientReadableStream<MessageShape<DescMessage>>,
    localError: () => Error | undefined = () => undefined,
    onEnd: () => void = () => undefined,
  ): AsyncGenerator<MessageShape<DescMessage>> {
    const prepared = await this.prepare(method, callOptions, undefined);
    const call = start(prepared);
    const signal = callOptions?.signal;
    const onAbort = (): void => call.cancel();
    if (signal?.aborted) call.cancel();
    else signal?.addEventListener('abort', onAbort, { once: true });
    let code: Status = Status.CANCELLED;
    try {
      for await (const message of call) yield message as MessageShape<DescMessage>;
      code = Status.OK;
    } catch (error) {
      const mapped = fromServiceError(error);
      code = mapped.code;
      throw localError() ?? mapped;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      onEnd();
      // The consumer left early (break/return): tell the server instead of leaving the stream open.
      if (code === Status.CANCELLED) call.cancel();
      finish(prepared.span, code);
    }
  }
}

/** Writes requests with backpressure, then half-closes; stops once the call has finished. */
async function pump(
  requests: AsyncIterable<MessageInitShape<DescMessage>>,
  call: Writable,
  toRequest: (init: MessageInitShape<DescMessage>) => MessageShape<DescMessage>,
  finished: AbortSignal,
): Promise<void> {
  for await (const request of requests) {
    if (finished.aborted) return;
    if (!call.write(toRequest(request))) {
      try {
        await once(call, 'drain', { signal: finished });
      } catch {
        return;
      }
    }
  }
  call.end();
}

function finish(span: Span, code: Status): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (code !== Status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: statusName(code) });
  span.end();
}

/** The caller's own request-stream failure, surfaced as is (it is not a gRPC status). */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
