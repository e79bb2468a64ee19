import type { DescMessage, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { Metadata } from '@grpc/grpc-js';
import type { Principal } from '@aio/auth';
import type { GrpcError } from './grpc.error.js';

/** What a handler knows about the call besides the request. */
export interface CallContext {
  /** Fully-qualified service name, e.g. "aio.registry.v1.RegistryService". */
  readonly service: string;
  /** Proto method name, e.g. "CreateModel". */
  readonly method: string;
  /** The verified caller; undefined for public methods and when auth is disabled. */
  readonly principal: Principal | undefined;
  /** Incoming request metadata (headers). */
  readonly metadata: Metadata;
  /** When the client stops waiting; undefined when it set no deadline. */
  readonly deadline: Date | undefined;
  /**
   * Aborted when the call ends early: client cancel, deadline, or forced server shutdown. The reason
   * is a GrpcError (CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE). Pass it to anything that waits.
   */
  readonly signal: AbortSignal;
  /**
   * The same cancellation as `signal` without making one (the signal is built when first read, which
   * costs a small call measurably): the listener runs once with the reason, at once if the call has
   * ended already. Returns the function that removes the listener.
   */
  onCancel(listener: (reason: GrpcError) => void): () => void;
  /** Remote address, e.g. "ipv4:127.0.0.1:53122". */
  readonly peer: string;
}

/** Answer one request with one response. */
export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>>;

/** Answer one request with a stream; end the stream by returning. */
export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

/** Read a stream of requests (it ends when the client half-closes), answer once. */
export type ClientStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>>;

/** Read and write streams concurrently. */
export type BidiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  ctx: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

/** The handler type for one method descriptor, chosen by its methodKind. */
export type MethodImpl<M> = M extends { methodKind: 'unary'; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? UnaryImpl<I, O>
  : M extends { methodKind: 'server_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? ServerStreamingImpl<I, O>
    : M extends { methodKind: 'client_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? ClientStreamingImpl<I, O>
      : M extends { methodKind: 'bidi_streaming'; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? BidiStreamingImpl<I, O>
        : never;

/** An implementation of every method of a generated service, keyed by local (camelCase) name. */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S['method']]: MethodImpl<S['method'][K]>;
};
