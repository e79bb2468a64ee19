// The server side of gRPC's wire protocol on node:http2 (PROTOCOL-HTTP2.md of grpc/grpc): one HTTP/2
// stream per call, length-prefixed messages, the status in trailers. grpc.server.ts puts routes, auth,
// tracing and codecs on top. It replaces grpc-js' Server, whose per-call machinery (interceptor chains,
// a Metadata object, promise-based message decoding, listeners per call) cost more main-thread time per
// small call than the gateway's own work (see docs/benchmarks.md); clients stay on grpc-js.
import { once } from 'node:events';
import http2, {
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import { Metadata } from '@grpc/grpc-js';
import { GrpcError, Status } from './grpc.error.js';

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
  tls?: ServerTls;
}

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

// Headers gRPC uses for itself: not metadata a handler sees (as grpc-js removes them).
const TRANSPORT_HEADERS = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type', 'user-agent'];
const ACCEPT_ENCODING = 'identity,gzip,deflate';
// The headers of every answer with messages, shared: node takes a header array as it is (an object it
// copies), and without a date header (gRPC has no use for it) it leaves the array unchanged.
const RESPONSE_HEADERS: readonly string[] = [':status', '200', 'content-type', 'application/grpc+proto', 'grpc-accept-encoding', ACCEPT_ENCODING];
const RESPONSE_OPTIONS = { waitForTrailers: true, sendDate: false } as const;
const OK_TRAILERS: Readonly<OutgoingHttpHeaders> = { 'grpc-status': String(Status.OK) };
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
// Each stream carries its call, so the stream's listeners are shared functions, not closures per call
// (and `on`, not `once`: each of these events comes once per stream, and once() wraps the listener).
const CALL = Symbol('aio.grpc.call');
type CallStream = ServerHttp2Stream & { [CALL]?: WireCall };

/**
 * One call on the wire. The request arrives through the route (unary and server streaming) or
 * `messages()`; the answer leaves through `reply` (one message and OK), `write` + `end` (a stream) or
 * `fail` (a status). Whatever comes after the call ended (answered, failed, cancelled) is ignored.
 */
export class WireCall {
  /** When the client stops waiting (epoch ms); undefined without a grpc-timeout. */
  readonly deadline: number | undefined;
  /** Set by whoever runs the call; told once if the call ends early. */
  listener: CancelListener | undefined = undefined;
  private ended = false;
  private headersSent = false;
  private trailers: Readonly<OutgoingHttpHeaders> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private decoder: MessageDecoder;
  private unaryRequest: Buffer | undefined;
  private unaryRoute: TransportRoute | undefined;
  private extra: Metadata | undefined;

  /** `timeoutMs`: the client's grpc-timeout (timeoutOf), undefined for none. */
  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    private readonly maxMessageBytes: number,
    timeoutMs: number | undefined,
  ) {
    this.decoder = new MessageDecoder(maxMessageBytes, single(headers['grpc-encoding']));
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
    const socket = this.stream.session?.socket;
    const address = socket?.remoteAddress;
    if (address === undefined) return 'unknown';
    return address.includes(':') ? `ipv6:[${address}]:${socket?.remotePort}` : `ipv4:${address}:${socket?.remotePort}`;
  }

  /**
   * The request stream's messages, with backpressure; ends when the client half-closes. Leaving early (the
   * handler stops reading, or a message is refused) discards the rest of the request instead of resetting
   * the stream, so the call's status still reaches the client.
   */
  async *messages(): AsyncGenerator<Buffer> {
    const out: Buffer[] = [];
    const take = (message: Buffer): void => {
      out.push(message);
    };
    try {
      for await (const chunk of this.stream.iterator({ destroyOnReturn: false })) {
        this.decoder.push(chunk as Buffer, take);
        while (out.length > 0) yield out.shift() as Buffer;
      }
      this.decoder.finish();
    } finally {
      if (!this.stream.readableEnded) this.stream.resume();
    }
  }

  /** Answers with one message and OK. */
  reply(message: Uint8Array): void {
    if (this.ended) return;
    const framed = this.frame(message);
    if (framed === undefined) return;
    this.ended = true;
    this.clearTimer();
    this.trailers = OK_TRAILERS;
    if (!this.respond()) return;
    this.stream.end(framed);
  }

  /** Sends one message of a response stream; false when the caller should wait for `drained()`. */
  write(message: Uint8Array): boolean {
    if (this.ended) return true;
    const framed = this.frame(message);
    if (framed === undefined) return true;
    if (!this.headersSent && !this.respond()) return true;
    return this.stream.write(framed);
  }

  /** Resolves when the stream can take more (rejects if it closes first or the signal fires). */
  async drained(signal: AbortSignal): Promise<void> {
    await once(this.stream, 'drain', { signal });
  }

  /** Ends a response stream with OK. */
  end(): void {
    this.finish(Status.OK, '', undefined);
  }

  /** Ends the call with an error status (and the error's metadata, e.g. grpc-retry-pushback-ms). */
  fail(error: GrpcError): void {
    this.finish(error.code, error.message, error.metadata);
  }

  /** @internal Starts a call: reads the request of a unary route, or hands the stream to a streaming one. */
  start(route: TransportRoute): void {
    const stream = this.stream as CallStream;
    stream[CALL] = this;
    stream.on('close', onClose);
    if (route.requestStream) {
      route.handle(this, undefined);
      return;
    }
    this.unaryRoute = route;
    stream.on('data', onData);
    stream.on('end', onEnd);
  }

  /** @internal */
  data(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (message) => {
        if (this.unaryRequest !== undefined) throw new GrpcError(Status.UNIMPLEMENTED, 'a unary method takes exactly one request message, got more');
        this.unaryRequest = message;
      });
    } catch (error) {
      this.fail(error as GrpcError);
      // Nothing more is read from a failed call; what the client still sends is discarded.
      this.stream.removeListener('data', onData);
      this.stream.resume();
    }
  }

  /** @internal The client half-closed: a unary request is complete. */
  halfClosed(): void {
    if (this.ended) return;
    const route = this.unaryRoute as TransportRoute;
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
    if (this.ended) return;
    this.ended = true;
    this.listener?.cancelled(Status.CANCELLED);
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

  /** Sends the response headers (trailers follow the data); false when the stream is gone. */
  private respond(): boolean {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return false;
    this.headersSent = true;
    stream.respond(RESPONSE_HEADERS, RESPONSE_OPTIONS);
    stream.on('wantTrailers', onWantTrailers);
    return true;
  }

  private finish(code: Status, message: string, metadata: Metadata | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimer();
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const status: OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (message !== '') status['grpc-message'] = encodeURI(message);
    if (metadata !== undefined) Object.assign(status, metadata.toHttp2Headers());
    if (this.headersSent) {
      this.trailers = status;
      stream.end();
      return;
    }
    // Trailers-only: status in the one header block.
    stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': ACCEPT_ENCODING, ...status }, { endStream: true });
  }

  /** @internal */
  sendTrailers(): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    stream.sendTrailers(this.trailers ?? OK_TRAILERS);
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

function onData(this: CallStream, chunk: Buffer): void {
  this[CALL]?.data(chunk);
}
function onEnd(this: CallStream): void {
  this[CALL]?.halfClosed();
}
function onClose(this: CallStream): void {
  const call = this[CALL];
  // node:http2 keeps a closed stream reachable until the next mark-compact (its native wrappers, which
  // point back at the stream, are weak handles that young-generation collections keep), so the call and
  // all it holds (request bytes, headers, the handler's objects) is let go of here rather than promoted
  // with the stream: a tenth less promoted per call, which is what sets how often the long pauses come.
  this[CALL] = undefined;
  call?.closed();
}
function onWantTrailers(this: CallStream): void {
  this[CALL]?.sendTrailers();
}
function ignore(): void {
  // Stream and session errors end up as 'close' (a cancelled call); nothing else to do here.
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
 * The listening side: an HTTP/2 server whose streams become WireCalls on their routes. Connections are
 * pinged (keepalive) and tracked so shutdown can send GOAWAY to each and close them when drained.
 */
export class GrpcTransport {
  private readonly server: Http2Server | Http2SecureServer;
  private readonly routes = new Map<string, TransportRoute>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private closing = false;

  constructor(private readonly options: TransportOptions) {
    // Node's default per-connection memory cap (10 MB) destroys a session that buffers one large
    // inference answer; writes respect backpressure instead (as grpc-js does, the cap is lifted).
    const common = { maxSessionMemory: Number.MAX_SAFE_INTEGER, maxSendHeaderBlockLength: 1024 * 1024 };
    const tls = options.tls;
    this.server =
      tls === undefined
        ? http2.createServer(common)
        : http2.createSecureServer({
            ...common,
            key: tls.key,
            cert: tls.cert,
            ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            requestCert: tls.requireClientCert ?? false,
            rejectUnauthorized: tls.requireClientCert ?? false,
          });
    this.server.on('session', (session: ServerHttp2Session) => this.track(session));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.dispatch(stream, headers));
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
    for (const session of this.sessions) session.close();
    await closed;
  }

  /** Closes every connection at once (their calls see a cancel). */
  destroy(): void {
    this.closing = true;
    for (const session of this.sessions) session.destroy();
  }

  private track(session: ServerHttp2Session): void {
    if (this.closing) {
      session.close();
      return;
    }
    this.sessions.add(session);
    session.on('error', ignore);
    const keepalive = this.options.keepaliveMs > 0 ? setInterval(() => this.ping(session), this.options.keepaliveMs).unref() : undefined;
    session.once('close', () => {
      clearInterval(keepalive);
      this.sessions.delete(session);
    });
  }

  private ping(session: ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    const timeout = setTimeout(() => session.destroy(), this.options.keepaliveTimeoutMs).unref();
    const sent = session.ping((error) => {
      clearTimeout(timeout);
      if (error !== null) session.destroy();
    });
    if (!sent) clearTimeout(timeout);
  }

  private dispatch(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', ignore);
    const contentType = headers['content-type'];
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415, 'content-type': 'text/plain' }, { endStream: false });
      stream.end(`a gRPC server: content-type must be application/grpc, got ${contentType ?? 'none'}\n`);
      return;
    }
    const path = headers[':path'] ?? '';
    const timeout = timeoutOf(single(headers['grpc-timeout']));
    const call = new WireCall(stream, headers, this.options.maxMessageBytes, timeout instanceof GrpcError ? undefined : timeout);
    const route = this.routes.get(path);
    if (timeout instanceof GrpcError || route === undefined) {
      call.fail(timeout instanceof GrpcError ? timeout : new GrpcError(Status.UNIMPLEMENTED, `no method ${path} on this server`));
      stream.resume();
      return;
    }
    call.start(route);
  }
}
