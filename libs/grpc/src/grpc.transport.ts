// The server side of gRPC's wire protocol (PROTOCOL-HTTP2.md of grpc/grpc) on our own HTTP/2 connection
// (h2/connection.ts): one stream per call, length-prefixed messages, the status in trailers. grpc.server.ts
// puts routes, auth, tracing and codecs on top. It replaces grpc-js' Server, whose per-call machinery
// (interceptor chains, a Metadata object, promise-based message decoding, listeners per call) cost more
// main-thread time per small call than the gateway's own work, and node:http2 under it, whose header
// strings and stream wrappers set the length of the GC pauses (see docs/benchmarks.md); clients stay on grpc-js.
import net from 'node:net';
import tls from 'node:tls';
import { gunzipSync, inflateSync } from 'node:zlib';
import { Metadata } from '@grpc/grpc-js';
import { GrpcError, Status } from './grpc.error.js';
import { H2Connection, H2Error, type H2Headers, type H2Stream, type StreamHandler } from './h2/connection.js';
import { encodeHeaders } from './h2/hpack.js';

/** TLS for the server (node:tls options); omit for plaintext. */
export interface ServerTls {
  key: string | Buffer;
  cert: string | Buffer;
  /** CAs that client certificates must chain to; with requireClientCert, mutual TLS. */
  ca?: string | Buffer;
  requireClientCert?: boolean;
}

export interface TransportOptions {
  maxMessageBytes: number;
  /** Ping every connection this often (0 = never); one not answering within keepaliveTimeoutMs is closed. */
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  /** Streams one connection may have open at once; more are refused (REFUSED_STREAM, which clients retry). */
  maxConcurrentStreams?: number;
  tls?: ServerTls;
}

// Headers gRPC uses for itself: not metadata a handler sees (as grpc-js removes them).
const TRANSPORT_HEADERS = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type', 'user-agent'];
const ACCEPT_ENCODING = 'identity,gzip,deflate';
const RESPONSE_PAIRS: readonly string[] = [':status', '200', 'content-type', 'application/grpc+proto', 'grpc-accept-encoding', ACCEPT_ENCODING];
// The header blocks of every answer, encoded once (the encoder is stateless).
const RESPONSE_HEADERS = encodeHeaders(RESPONSE_PAIRS);
const OK_TRAILERS = encodeHeaders(['grpc-status', String(Status.OK)]);
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const DEFAULT_MAX_CONCURRENT_STREAMS = 1000;

/** Told once when a call ends before its answer was sent: the client cancelled, left, or its deadline passed. */
export interface CancelListener {
  cancelled(code: Status.CANCELLED | Status.DEADLINE_EXCEEDED): void;
}

export interface TransportRoute {
  /** Client or bidi streaming: the handler starts at once and reads `call.messages()`. */
  readonly requestStream: boolean;
  /** Called with the request message when the route has no request stream, else with undefined. */
  handle(call: WireCall, request: Buffer | undefined): void;
}

/**
 * One call on the wire. The request arrives through the route (unary and server streaming) or
 * `messages()`; the answer leaves through `reply` (one message and OK), `write` + `end` (a stream) or
 * `fail` (a status). Whatever comes after the call ended (answered, failed, cancelled) is ignored.
 */
export class WireCall implements StreamHandler {
  /** When the client stops waiting (epoch ms); undefined without a grpc-timeout. */
  readonly deadline: number | undefined;
  readonly headers: H2Headers;
  /** Set by whoever runs the call; told once if the call ends early. */
  listener: CancelListener | undefined = undefined;
  private ended = false;
  private headersSent = false;
  private timer: NodeJS.Timeout | undefined;
  private decoder: MessageDecoder;
  private unaryRequest: Buffer | undefined;
  private route: TransportRoute | undefined;
  private extra: Metadata | undefined;
  // Request data of a streaming route, not yet read by messages(); and whoever waits for more of it.
  private chunks: Buffer[] = [];
  private wake: (() => void) | undefined;
  private remoteDone = false;
  private gone = false;
  /** Request data that is no longer wanted (the call failed or its reader left) is only credited back. */
  private discarding = false;
  private writableWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;

  /** `timeoutMs`: the client's grpc-timeout (timeoutOf), undefined for none. */
  constructor(
    readonly stream: H2Stream,
    private readonly maxMessageBytes: number,
    timeoutMs: number | undefined,
  ) {
    this.headers = stream.headers;
    this.decoder = new MessageDecoder(maxMessageBytes, single(this.headers['grpc-encoding']));
    if (timeoutMs === undefined) {
      this.deadline = undefined;
      return;
    }
    this.deadline = Date.now() + timeoutMs;
    // Beyond a timer's range (about 24.8 days) the deadline is only reported, never enforced.
    if (timeoutMs <= MAX_TIMER_MS) this.timer = setTimeout(() => this.expire(), Math.ceil(timeoutMs));
  }

  /** Request metadata (headers without the transport's own), made when first read. */
  get metadata(): Metadata {
    if (this.extra === undefined) {
      this.extra = Metadata.fromHttp2Headers(this.headers);
      for (const h of TRANSPORT_HEADERS) this.extra.remove(h);
    }
    return this.extra;
  }

  /** The client's address, e.g. "ipv4:127.0.0.1:53122". */
  get peer(): string {
    return this.stream.peer;
  }

  /**
   * The request stream's messages, with backpressure (the client's window refills as they are read);
   * ends when the client half-closes. Leaving early (the handler stops reading, or a message is refused)
   * discards the rest of the request instead of resetting the stream, so the call's status still reaches
   * the client. A client that cancels ends it with CANCELLED.
   */
  async *messages(): AsyncGenerator<Buffer> {
    const out: Buffer[] = [];
    const take = (message: Buffer): void => {
      out.push(message);
    };
    try {
      for (;;) {
        while (this.chunks.length === 0 && !this.remoteDone && !this.gone) {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
        const chunk = this.chunks.shift();
        if (chunk === undefined) break;
        this.decoder.push(chunk, take);
        this.stream.consumed(chunk.length);
        while (out.length > 0) yield out.shift() as Buffer;
      }
      if (!this.remoteDone) throw new GrpcError(Status.CANCELLED, 'the client cancelled the call');
      this.decoder.finish();
    } finally {
      this.discard();
    }
  }

  /** Answers with one message and OK. */
  reply(message: Uint8Array): void {
    if (this.ended) return;
    const framed = this.frame(message);
    if (framed === undefined) return;
    this.ended = true;
    this.clearTimer();
    const stream = this.stream;
    stream.respond(RESPONSE_HEADERS, false);
    stream.write(framed);
    stream.end(OK_TRAILERS);
  }

  /** Sends one message of a response stream; false when the caller should wait for `drained()`. */
  write(message: Uint8Array): boolean {
    if (this.ended) return true;
    const framed = this.frame(message);
    if (framed === undefined) return true;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(RESPONSE_HEADERS, false);
    }
    return this.stream.write(framed);
  }

  /** Resolves when the stream can take more (rejects if it closes first or the signal fires). */
  drained(signal: AbortSignal): Promise<void> {
    if (this.stream.closed) return Promise.reject(new GrpcError(Status.CANCELLED, 'the stream closed'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.writableWaiter = undefined;
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.writableWaiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
    });
  }

  /** Ends a response stream with OK. */
  end(): void {
    this.finish(Status.OK, '', undefined);
  }

  /** Ends the call with an error status (and the error's metadata, e.g. grpc-retry-pushback-ms). */
  fail(error: GrpcError): void {
    this.finish(error.code, error.message, error.metadata);
  }

  /** Resets the stream (RST_STREAM CANCEL): for a call whose handler was aborted mid-request. */
  cancel(): void {
    this.stream.reset(H2Error.CANCEL);
  }

  /** @internal Starts a call: reads the request of a unary route, or hands the stream to a streaming one. */
  start(route: TransportRoute): void {
    this.route = route;
    this.stream.handler = this;
    if (route.requestStream) route.handle(this, undefined);
  }

  /** @internal Request bytes from the connection. */
  data(chunk: Buffer): void {
    if (this.discarding) {
      this.stream.consumed(chunk.length);
      return;
    }
    if (this.route?.requestStream === true) {
      this.chunks.push(chunk);
      this.wakeReader();
      return;
    }
    this.stream.consumed(chunk.length);
    try {
      this.decoder.push(chunk, (message) => {
        if (this.unaryRequest !== undefined) throw new GrpcError(Status.UNIMPLEMENTED, 'a unary method takes exactly one request message, got more');
        this.unaryRequest = message;
      });
    } catch (error) {
      this.fail(error as GrpcError);
      // Nothing more is read from a failed call; what the client still sends is discarded.
      this.discarding = true;
    }
  }

  /** @internal The client half-closed: a unary request is complete. */
  halfClosed(): void {
    const route = this.route;
    if (route === undefined || route.requestStream) {
      this.remoteDone = true;
      this.wakeReader();
      return;
    }
    if (this.ended || this.discarding) return;
    try {
      this.decoder.finish();
      if (this.unaryRequest === undefined) throw new GrpcError(Status.UNIMPLEMENTED, 'a unary method takes exactly one request message, got none');
    } catch (error) {
      this.fail(error as GrpcError);
      return;
    }
    route.handle(this, this.unaryRequest);
  }

  /** @internal The stream closed: if no status went out, the client cancelled or went away. */
  closed(): void {
    this.clearTimer();
    this.gone = true;
    this.chunks.length = 0;
    this.wakeReader();
    const waiter = this.writableWaiter;
    this.writableWaiter = undefined;
    waiter?.reject(new GrpcError(Status.CANCELLED, 'the stream closed'));
    if (this.ended) return;
    this.ended = true;
    this.listener?.cancelled(Status.CANCELLED);
  }

  /** @internal The stream takes more response data. */
  writable(): void {
    const waiter = this.writableWaiter;
    this.writableWaiter = undefined;
    waiter?.resolve();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The rest of the request is not read: what is queued and what still comes is credited back. */
  private discard(): void {
    this.discarding = true;
    let queued = 0;
    for (const chunk of this.chunks) queued += chunk.length;
    this.chunks.length = 0;
    if (queued > 0) this.stream.consumed(queued);
  }

  private expire(): void {
    this.timer = undefined;
    if (this.ended) return;
    this.finish(Status.DEADLINE_EXCEEDED, 'deadline exceeded', undefined);
    this.listener?.cancelled(Status.DEADLINE_EXCEEDED);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The message with its 5-byte prefix; undefined (and the call failed) when it is too large to send. */
  private frame(message: Uint8Array): Buffer | undefined {
    if (message.byteLength > this.maxMessageBytes) {
      this.fail(new GrpcError(Status.RESOURCE_EXHAUSTED, `response of ${message.byteLength} bytes exceeds the server's limit of ${this.maxMessageBytes}`));
      return undefined;
    }
    const framed = Buffer.allocUnsafe(5 + message.byteLength);
    framed[0] = 0;
    framed.writeUInt32BE(message.byteLength, 1);
    framed.set(message, 5);
    return framed;
  }

  private finish(code: Status, message: string, metadata: Metadata | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimer();
    const status = ['grpc-status', String(code)];
    if (message !== '') status.push('grpc-message', encodeURI(message));
    if (metadata !== undefined) {
      for (const [name, value] of Object.entries(metadata.toHttp2Headers())) {
        for (const v of Array.isArray(value) ? value : [value]) status.push(name, String(v));
      }
    }
    if (this.headersSent) {
      this.stream.end(encodeHeaders(status));
      return;
    }
    // Trailers-only: status in the one header block.
    this.stream.respond(encodeHeaders([...RESPONSE_PAIRS, ...status]), true);
  }
}

/** A grpc-timeout header in ms (undefined when absent), or the error a malformed one is answered with. */
function timeoutOf(header: string | undefined): number | undefined | GrpcError {
  if (header === undefined) return undefined;
  const m = TIMEOUT.exec(header);
  if (m === null) return new GrpcError(Status.INTERNAL, `invalid grpc-timeout header "${header}"`);
  return Number(m[1]) * (TIMEOUT_UNIT_MS[m[2] as string] as number);
}

/** A header gRPC sends once (node gives an array only for repeated ones). */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Splits the request bytes into messages (5-byte prefix: compressed flag, big-endian length). A message
 * that arrives in one chunk is handed over as a view of it; a larger one is copied into its own buffer
 * as its pieces come. Throws a GrpcError for a message above the limit or an unsupported compression.
 * Exported for its unit test.
 */
export class MessageDecoder {
  // Only for a prefix split across chunks (rare): made then.
  private header: Buffer | undefined;
  private headerFill = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private compressed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly encoding: string | undefined,
  ) {}

  push(chunk: Buffer, emit: (message: Buffer) => void): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.body === undefined) {
        let length: number;
        if (this.headerFill === 0 && chunk.length - at >= 5) {
          this.compressed = chunk[at] === 1;
          length = chunk.readUInt32BE(at + 1);
          at += 5;
        } else {
          const header = (this.header ??= Buffer.alloc(5));
          const n = Math.min(5 - this.headerFill, chunk.length - at);
          chunk.copy(header, this.headerFill, at, at + n);
          this.headerFill += n;
          at += n;
          if (this.headerFill < 5) return;
          this.headerFill = 0;
          this.compressed = header[0] === 1;
          length = header.readUInt32BE(1);
        }
        if (length > this.maxBytes) {
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, `request message of ${length} bytes exceeds the server's limit of ${this.maxBytes}`);
        }
        if (chunk.length - at >= length) {
          emit(this.open(chunk.subarray(at, at + length)));
          at += length;
          continue;
        }
        this.body = Buffer.allocUnsafe(length);
        this.bodyFill = 0;
      }
      const n = Math.min(this.body.length - this.bodyFill, chunk.length - at);
      chunk.copy(this.body, this.bodyFill, at, at + n);
      this.bodyFill += n;
      at += n;
      if (this.bodyFill === this.body.length) {
        const body = this.body;
        this.body = undefined;
        emit(this.open(body));
      }
    }
  }

  /** The request ended: a message cut short is an error. */
  finish(): void {
    if (this.body !== undefined || this.headerFill > 0) throw new GrpcError(Status.INTERNAL, 'the request ended inside a message');
  }

  private open(message: Buffer): Buffer {
    if (!this.compressed) return message;
    const options = { maxOutputLength: this.maxBytes };
    try {
      if (this.encoding === 'gzip') return gunzipSync(message, options);
      if (this.encoding === 'deflate') return inflateSync(message, options);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new GrpcError(tooLarge ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL, `could not decompress the ${this.encoding} request message: ${reason}`);
    }
    throw new GrpcError(
      Status.UNIMPLEMENTED,
      `a compressed message with grpc-encoding "${this.encoding ?? 'identity'}": this server decompresses ${ACCEPT_ENCODING.replace('identity,', '')}`,
    );
  }
}

/**
 * The listening side: a net (or TLS, ALPN h2) server whose connections' streams become WireCalls on
 * their routes. Connections are tracked so shutdown can send GOAWAY to each and close them when drained.
 */
export class GrpcTransport {
  private readonly server: net.Server;
  private readonly routes = new Map<string, TransportRoute>();
  private readonly connections = new Set<H2Connection>();
  private closing = false;

  constructor(private readonly options: TransportOptions) {
    const tlsOptions = options.tls;
    if (tlsOptions === undefined) {
      this.server = net.createServer((socket) => this.accept(socket));
    } else {
      this.server = tls.createServer(
        {
          key: tlsOptions.key,
          cert: tlsOptions.cert,
          ...(tlsOptions.ca === undefined ? {} : { ca: tlsOptions.ca }),
          requestCert: tlsOptions.requireClientCert ?? false,
          rejectUnauthorized: tlsOptions.requireClientCert ?? false,
          ALPNProtocols: ['h2'],
        },
        (socket) => {
          // gRPC clients always negotiate h2; anything else (HTTP/1.1, no ALPN) is not for this server.
          if (socket.alpnProtocol !== 'h2') socket.destroy();
          else this.accept(socket);
        },
      );
    }
  }

  route(path: string, route: TransportRoute): void {
    this.routes.set(path, route);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /** Stops accepting connections and sends GOAWAY on every one; resolves when they have all closed. */
  async drain(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.shutdown();
    await closed;
  }

  /** Closes every connection at once (their calls see a cancel). */
  destroy(): void {
    this.closing = true;
    for (const connection of this.connections) connection.destroy();
  }

  private accept(socket: net.Socket): void {
    const connection = new H2Connection(socket, {
      maxConcurrentStreams: this.options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
      keepaliveMs: this.options.keepaliveMs,
      keepaliveTimeoutMs: this.options.keepaliveTimeoutMs,
      onStream: (stream) => this.dispatch(stream),
    });
    if (this.closing) {
      connection.shutdown();
      return;
    }
    this.connections.add(connection);
    connection.onClose = () => this.connections.delete(connection);
  }

  private dispatch(stream: H2Stream): void {
    const headers = stream.headers;
    const contentType = single(headers['content-type']);
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.respond(encodeHeaders([':status', '415', 'content-type', 'text/plain']), false);
      stream.write(Buffer.from(`a gRPC server: content-type must be application/grpc, got ${contentType ?? 'none'}\n`));
      stream.end(undefined);
      return;
    }
    const path = single(headers[':path']) ?? '';
    const timeout = timeoutOf(single(headers['grpc-timeout']));
    const call = new WireCall(stream, this.options.maxMessageBytes, timeout instanceof GrpcError ? undefined : timeout);
    const route = this.routes.get(path);
    if (timeout instanceof GrpcError || route === undefined) {
      call.fail(timeout instanceof GrpcError ? timeout : new GrpcError(Status.UNIMPLEMENTED, `no method ${path} on this server`));
      return;
    }
    call.start(route);
  }
}
