// The server side of one HTTP/2 connection (RFC 9113) on a net or TLS socket: frames in and out, stream
// states, flow control both ways, SETTINGS, PING, GOAWAY and the protocol's error rules. It replaces
// node:http2 under the gRPC transport because node:http2 made every request cost an external string
// per header value (allocated in V8's old space and finalised in every mark-compact) and native stream
// wrappers that stay reachable until a mark-compact: the long GC pauses and most of the per-call time
// measured in docs/benchmarks.md. Here a stream is a plain object that dies young.
//
// Server only: no push, no streams of our own, priorities parsed and ignored (RFC 9113 deprecates them).
import type { Socket } from 'node:net';
import { HpackDecoder, HpackError } from './hpack.js';
import { StreamTable } from './stream.table.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

// Frame types.
const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

// Flags.
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;

/** Error codes (RFC 9113 section 7). */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

// Settings identifiers.
const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

const DEFAULT_WINDOW = 65_535;
const DEFAULT_TABLE_SIZE = 4096;
/** An HPACK dynamic table size update to 0 (RFC 7541 6.3). */
const TABLE_SIZE_ZERO = Buffer.from([0x20]);
const MAX_WINDOW = 2 ** 31 - 1;
const MIN_FRAME_SIZE = 16_384;
const MAX_FRAME_SIZE = 2 ** 24 - 1;
/** The frame size we accept: the protocol's default (larger frames save little and cost buffering). */
const OUR_MAX_FRAME = MIN_FRAME_SIZE;
/** Each stream may have this much request data unread; a large tensor arrives without waiting for updates. */
const STREAM_WINDOW = 1024 * 1024;
/** All streams of a connection together may have this much unread: the connection's buffering bound. */
const CONNECTION_WINDOW = 64 * 1024 * 1024;
/** A header block (all its frames) larger than this ends the connection (ENHANCE_YOUR_CALM). */
const MAX_HEADER_BLOCK = 256 * 1024;
/** Request headers larger than this (RFC accounting: name + value + 32 each) are refused per stream. */
const MAX_HEADER_LIST = 64 * 1024;
/** A stream's write() asks the writer to wait above this much queued response data. */
const STREAM_HIGH_WATER = 64 * 1024;
/** Payloads up to this size are copied into the connection's output buffer; larger ones are sent as they are. */
const COPY_LIMIT = 4096;
const OUTPUT_CHUNK = 16 * 1024;

// Headers that HTTP/2 forbids (connection-specific, RFC 9113 8.2.2).
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':path', ':authority']);
const UPPERCASE = /[A-Z]/;

/** Request headers: one value per name, an array for a name that came more than once. */
export type H2Headers = Record<string, string | string[] | undefined>;

/** What the connection tells whoever owns a stream (the gRPC call). */
export interface StreamHandler {
  /** Request body bytes; the owner gives the flow-control credit back with `stream.consumed()` once it has used them. */
  data(chunk: Buffer): void;
  /** The client ended its side (END_STREAM). */
  halfClosed(): void;
  /** The stream is gone: both sides ended, it was reset, or the connection closed. Told once. */
  closed(): void;
  /** After write() returned false: the stream takes more now. */
  writable(): void;
}

export interface ConnectionOptions {
  maxConcurrentStreams: number;
  /** Ping the client this often (0 = never); no answer within keepaliveTimeoutMs closes the connection. */
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  /** A new request stream, headers checked; the callee sets `stream.handler` (or answers at once). */
  onStream(stream: H2Stream): void;
}

/** A connection error: GOAWAY with this code, then the socket closes. */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One request stream. Output: `respond` (a header block, maybe ending the stream), then `write` (DATA,
 * flow-controlled and queued when the client's window is shut) and `end` (trailers or an empty END_STREAM
 * after the queued data). `reset` ends it abruptly. Everything after the stream closed is ignored.
 */
export class H2Stream {
  handler: StreamHandler | undefined = undefined;
  /** The client may still send (no END_STREAM or reset yet). */
  remoteOpen = true;
  /** We may still send. */
  localOpen = true;
  closed = false;
  /** @internal */ sendWindow: number;
  /** @internal */ recvWindow = STREAM_WINDOW;
  /** @internal Credit used by the owner and not yet returned with a WINDOW_UPDATE. */
  recvUnacked = 0;
  /** @internal Response data waiting for window (and the trailers that follow it). */
  queue: Buffer[] = [];
  queuedBytes = 0;
  /** @internal What ends the stream once the queue is empty: a trailers block, null for an empty DATA, undefined while writing. */
  ending: Buffer | null | undefined = undefined;
  /** @internal write() returned false; tell the handler when it may write again. */
  wantsWritable = false;
  /** @internal content-length of the request, -1 without one; and the DATA bytes seen. */
  contentLength = -1;
  received = 0;

  constructor(
    readonly connection: H2Connection,
    readonly id: number,
    readonly headers: H2Headers,
  ) {
    this.sendWindow = connection.peerInitialWindow;
  }

  /** Sends a header block (encoded with encodeHeaders); `endStream` makes it the whole answer. */
  respond(block: Buffer, endStream: boolean): void {
    if (!this.localOpen) return;
    this.connection.sendHeaders(this, block, endStream);
    if (endStream) this.connection.localEnded(this);
  }

  /** Queues response data; false when the caller should wait for the handler's `writable()`. */
  write(data: Buffer): boolean {
    if (!this.localOpen || this.ending !== undefined) return true;
    if (data.length > 0) {
      this.queue.push(data);
      this.queuedBytes += data.length;
      this.connection.pump(this);
    }
    if (this.queuedBytes >= STREAM_HIGH_WATER || this.connection.congested) {
      this.wantsWritable = true;
      return false;
    }
    return true;
  }

  /** Ends the answer after the queued data: with a trailers block, or an empty DATA frame without one. */
  end(trailers: Buffer | undefined): void {
    if (!this.localOpen || this.ending !== undefined) return;
    this.ending = trailers ?? null;
    this.connection.pump(this);
  }

  /** Ends the stream at once with RST_STREAM (CANCEL unless said otherwise). */
  reset(code: number = H2Error.CANCEL): void {
    if (this.closed) return;
    this.connection.resetStream(this, code);
  }

  /** Gives back flow-control credit for request bytes the owner has used. */
  consumed(bytes: number): void {
    this.connection.credit(this, bytes);
  }

  /** The client's address, e.g. "ipv4:127.0.0.1:53122". */
  get peer(): string {
    return this.connection.peer;
  }
}

/** Builds the 9-byte-headed frames of a connection into one buffer, handed to the socket once per turn. */
class Output {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private buffer = Buffer.allocUnsafe(OUTPUT_CHUNK);
  // The part of `buffer` from `start` to `at` is not yet in `chunks`.
  private start = 0;
  private at = 0;

  get empty(): boolean {
    return this.bytes === 0 && this.at === this.start;
  }

  frame(type: number, flags: number, id: number, payload: Uint8Array | undefined, from = 0, to = payload?.length ?? 0): void {
    const length = to - from;
    const copy = length <= COPY_LIMIT;
    let at = this.header(length, type, flags, id, copy ? length : 0);
    if (payload === undefined || length === 0) return;
    if (copy) {
      this.buffer.set(length === payload.length ? payload : payload.subarray(from, to), at);
      at += length;
      this.at = at;
      return;
    }
    this.cut();
    this.chunks.push(Buffer.from(payload.buffer, payload.byteOffset + from, length));
    this.bytes += length;
  }

  /** A frame whose payload is a few 32-bit words (RST_STREAM, WINDOW_UPDATE, GOAWAY without debug data). */
  words(type: number, flags: number, id: number, ...values: number[]): void {
    const at = this.header(values.length * 4, type, flags, id, values.length * 4);
    for (let i = 0; i < values.length; i++) this.buffer.writeUInt32BE(values[i] as number, at + 4 * i);
    this.at = at + values.length * 4;
  }

  /** Writes a frame header with room for `room` payload bytes after it; returns where the payload goes. */
  private header(length: number, type: number, flags: number, id: number, room: number): number {
    this.reserve(9 + room);
    const b = this.buffer;
    const at = this.at;
    b[at] = length >>> 16;
    b[at + 1] = (length >>> 8) & 0xff;
    b[at + 2] = length & 0xff;
    b[at + 3] = type;
    b[at + 4] = flags;
    b.writeUInt32BE(id, at + 5);
    this.at = at + 9;
    return at + 9;
  }

  /** Everything framed so far, as one buffer or a list; the output is empty afterwards. */
  take(): Buffer[] {
    this.cut();
    const out = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return out;
  }

  private cut(): void {
    if (this.at === this.start) return;
    const piece = this.buffer.subarray(this.start, this.at);
    this.chunks.push(piece);
    this.bytes += piece.length;
    this.start = this.at;
  }

  private reserve(n: number): void {
    if (this.buffer.length - this.at >= n) return;
    this.cut();
    // What was handed out stays untouched; the rest of the old buffer is dropped.
    this.buffer = Buffer.allocUnsafe(Math.max(OUTPUT_CHUNK, n));
    this.start = 0;
    this.at = 0;
  }
}

/** A header block arriving in HEADERS + CONTINUATION frames. */
interface PendingBlock {
  id: number;
  endStream: boolean;
  selfDependent: boolean;
  fragments: Buffer[];
  bytes: number;
}

export class H2Connection {
  /** @internal The client's SETTINGS_INITIAL_WINDOW_SIZE. */
  peerInitialWindow = DEFAULT_WINDOW;
  /** @internal The socket's buffer is full: streams' write() asks writers to wait. */
  congested = false;
  private peerMaxFrame = MIN_FRAME_SIZE;
  private readonly streams = new StreamTable<H2Stream>();
  /** Streams with data waiting for the connection's window, oldest first. */
  private readonly blocked = new Set<H2Stream>();
  private readonly decoder = new HpackDecoder();
  private readonly output = new Output();
  private flushScheduled = false;
  private leftover: Buffer | undefined;
  private prefaceSeen = false;
  private settingsSeen = false;
  private pendingBlock: PendingBlock | undefined;
  private lastStreamId = 0;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = CONNECTION_WINDOW;
  private recvUnacked = 0;
  private goawaySent = false;
  /** The client lowered SETTINGS_HEADER_TABLE_SIZE: our next header block starts with a size update. */
  private tableSizeUpdate = false;
  private dead = false;
  private keepalive: NodeJS.Timeout | undefined;
  private pingTimeout: NodeJS.Timeout | undefined;
  private lastHeaders: { pairs: readonly string[]; headers: H2Headers } | undefined;
  /** Told once when the socket has closed. */
  onClose: (() => void) | undefined = undefined;

  constructor(
    readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.socketClosed());
    // Our SETTINGS, then the connection window opened from the protocol's 65,535 to ours.
    const settings = Buffer.allocUnsafe(24);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_MAX_CONCURRENT_STREAMS, 6);
    settings.writeUInt32BE(options.maxConcurrentStreams, 8);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 12);
    settings.writeUInt32BE(STREAM_WINDOW, 14);
    settings.writeUInt16BE(SETTINGS_MAX_HEADER_LIST_SIZE, 18);
    settings.writeUInt32BE(MAX_HEADER_LIST, 20);
    this.output.frame(SETTINGS, 0, 0, settings);
    this.output.words(WINDOW_UPDATE, 0, 0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.flush();
    if (options.keepaliveMs > 0) this.keepalive = setInterval(() => this.ping(), options.keepaliveMs).unref();
  }

  /** The client's address, e.g. "ipv4:127.0.0.1:53122". */
  get peer(): string {
    const address = this.socket.remoteAddress;
    if (address === undefined) return 'unknown';
    return address.includes(':') ? `ipv6:[${address}]:${this.socket.remotePort}` : `ipv4:${address}:${this.socket.remotePort}`;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Graceful shutdown: GOAWAY (streams already open finish, newer ones are refused), then close when idle. */
  shutdown(): void {
    if (this.dead) return;
    if (!this.goawaySent) {
      this.goawaySent = true;
      this.output.words(GOAWAY, 0, 0, this.lastStreamId, H2Error.NO_ERROR);
      this.scheduleFlush();
    }
    if (this.streams.size === 0) this.closeSoon();
  }

  /** Closes the socket now; open streams see it as a cancel. */
  destroy(): void {
    this.socket.destroy();
  }

  // ---------------------------------------------------------------- input

  private receive(chunk: Buffer): void {
    if (this.dead) return;
    let buffer = this.leftover === undefined ? chunk : Buffer.concat([this.leftover, chunk]);
    this.leftover = undefined;
    try {
      let at = 0;
      if (!this.prefaceSeen) {
        const n = Math.min(buffer.length, PREFACE.length);
        if (buffer.compare(PREFACE, 0, n, 0, n) !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
        if (n < PREFACE.length) {
          this.leftover = buffer;
          return;
        }
        this.prefaceSeen = true;
        at = PREFACE.length;
      }
      while (buffer.length - at >= 9 && !this.dead) {
        const length = (buffer[at]! << 16) | (buffer[at + 1]! << 8) | buffer[at + 2]!;
        if (length > OUR_MAX_FRAME) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${length} bytes above SETTINGS_MAX_FRAME_SIZE ${OUR_MAX_FRAME}`);
        const end = at + 9 + length;
        if (buffer.length < end) break;
        const type = buffer[at + 3]!;
        const flags = buffer[at + 4]!;
        const id = buffer.readUInt32BE(at + 5) & 0x7fffffff;
        this.frame(type, flags, id, buffer.subarray(at + 9, end));
        at = end;
      }
      if (at < buffer.length && !this.dead) {
        buffer = buffer.subarray(at);
        this.leftover = buffer;
      }
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      this.fail(error.code, error.message);
    }
    this.scheduleFlush();
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (!this.settingsSeen) {
      if (type !== SETTINGS || (flags & ACK) !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'the first frame must be SETTINGS');
      this.settingsSeen = true;
    }
    const pending = this.pendingBlock;
    if (pending !== undefined && (type !== CONTINUATION || id !== pending.id)) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, `a header block of stream ${pending.id} must continue with CONTINUATION frames`);
    }
    switch (type) {
      case DATA:
        return this.onData(flags, id, payload);
      case HEADERS:
        return this.onHeaders(flags, id, payload);
      case PRIORITY:
        return this.onPriority(id, payload);
      case RST_STREAM:
        return this.onReset(id, payload);
      case SETTINGS:
        return this.onSettings(flags, id, payload);
      case PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a client must not send PUSH_PROMISE');
      case PING:
        return this.onPing(flags, id, payload);
      case GOAWAY:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (payload.length < 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 bytes');
        // The client leaves: streams it opened still finish; it opens no new ones.
        return;
      case WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      case CONTINUATION:
        return this.onContinuation(flags, id, payload);
      default:
        // Unknown frame types are ignored (RFC 9113 5.5).
        return;
    }
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    const data = unpad(flags, payload);
    const size = payload.length;
    this.recvWindow -= size;
    if (this.recvWindow < 0) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    const stream = this.streams.get(id);
    if (stream === undefined || !stream.remoteOpen) {
      if (stream === undefined && id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      this.creditConnection(size);
      this.streamError(stream, id, H2Error.STREAM_CLOSED);
      return;
    }
    stream.recvWindow -= size;
    if (stream.recvWindow < 0) {
      this.creditConnection(size);
      this.streamError(stream, id, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    stream.received += data.length;
    const endStream = (flags & END_STREAM) !== 0;
    if (stream.contentLength >= 0 && (stream.received > stream.contentLength || (endStream && stream.received !== stream.contentLength))) {
      this.creditConnection(size);
      this.streamError(stream, id, H2Error.PROTOCOL_ERROR);
      return;
    }
    // Padding is credited back at once; the data when its owner has used it.
    if (size > data.length) this.credit(stream, size - data.length);
    if (data.length > 0) {
      if (stream.handler === undefined) this.credit(stream, data.length);
      else stream.handler.data(data);
    }
    if (endStream) this.remoteEnded(stream);
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let block = unpad(flags, payload);
    let selfDependent = false;
    if ((flags & PRIORITY_FLAG) !== 0) {
      if (block.length < 5) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      selfDependent = (block.readUInt32BE(0) & 0x7fffffff) === id;
      block = block.subarray(5);
    }
    const endStream = (flags & END_STREAM) !== 0;
    if ((flags & END_HEADERS) === 0) {
      this.pendingBlock = { id, endStream, selfDependent, fragments: [block], bytes: block.length };
      return;
    }
    this.headerBlock(id, endStream, selfDependent, block);
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const pending = this.pendingBlock;
    if (pending === undefined) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without HEADERS before it');
    pending.fragments.push(payload);
    pending.bytes += payload.length;
    if (pending.bytes > MAX_HEADER_BLOCK) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `a header block above ${MAX_HEADER_BLOCK} bytes`);
    if ((flags & END_HEADERS) === 0) return;
    this.pendingBlock = undefined;
    this.headerBlock(id, pending.endStream, pending.selfDependent, Buffer.concat(pending.fragments, pending.bytes));
  }

  private headerBlock(id: number, endStream: boolean, selfDependent: boolean, block: Buffer): void {
    let pairs: readonly string[];
    try {
      pairs = this.decoder.decode(block);
    } catch (error) {
      if (error instanceof HpackError) throw new ConnectionError(H2Error.COMPRESSION_ERROR, `header block: ${error.message}`);
      throw error;
    }
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers: they end the request, carry no pseudo-headers.
      if (!existing.remoteOpen) return this.streamError(existing, id, H2Error.STREAM_CLOSED);
      if (!endStream || selfDependent || !validTrailers(pairs)) return this.streamError(existing, id, H2Error.PROTOCOL_ERROR);
      if (existing.contentLength >= 0 && existing.received !== existing.contentLength) return this.streamError(existing, id, H2Error.PROTOCOL_ERROR);
      return this.remoteEnded(existing);
    }
    if (id % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `a client stream with the even id ${id}`);
    if (id <= this.lastStreamId) throw new ConnectionError(H2Error.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    this.lastStreamId = id;
    if (selfDependent) return this.streamError(undefined, id, H2Error.PROTOCOL_ERROR);
    if (this.goawaySent || this.streams.size >= this.options.maxConcurrentStreams) return this.streamError(undefined, id, H2Error.REFUSED_STREAM);
    if (this.decoder.lastListSize > MAX_HEADER_LIST) return this.streamError(undefined, id, H2Error.ENHANCE_YOUR_CALM);
    const headers = this.requestHeaders(pairs);
    if (headers === undefined) return this.streamError(undefined, id, H2Error.PROTOCOL_ERROR);
    const stream = new H2Stream(this, id, headers);
    const length = headers['content-length'];
    if (length !== undefined) {
      if (typeof length !== 'string' || !/^\d{1,15}$/.test(length)) return this.streamError(undefined, id, H2Error.PROTOCOL_ERROR);
      stream.contentLength = Number(length);
      if (endStream && stream.contentLength !== 0) return this.streamError(undefined, id, H2Error.PROTOCOL_ERROR);
    }
    this.streams.add(stream);
    this.options.onStream(stream);
    if (endStream && !stream.closed) this.remoteEnded(stream);
  }

  /**
   * The request's headers as an object, or undefined for a malformed request (RFC 9113 8.2-8.3). The
   * decoder hands back the same array for the same header bytes, so a repeated block reuses its object.
   */
  private requestHeaders(pairs: readonly string[]): H2Headers | undefined {
    const last = this.lastHeaders;
    if (last !== undefined && last.pairs === pairs) return last.headers;
    const headers: H2Headers = Object.create(null) as H2Headers;
    let regular = false;
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i] as string;
      const value = pairs[i + 1] as string;
      if (name.length === 0 || UPPERCASE.test(name)) return undefined;
      if (name.charCodeAt(0) === 0x3a) {
        if (regular || !REQUEST_PSEUDO.has(name) || headers[name] !== undefined) return undefined;
      } else {
        regular = true;
        if (CONNECTION_HEADERS.has(name) || (name === 'te' && value !== 'trailers')) return undefined;
      }
      const before = headers[name];
      if (before === undefined) headers[name] = value;
      else if (Array.isArray(before)) before.push(value);
      else headers[name] = [before, value];
    }
    const method = headers[':method'];
    if (method === undefined || headers[':scheme'] === undefined || !headers[':path']) {
      // CONNECT alone goes without :scheme and :path; this server answers it like any unknown path.
      if (method !== 'CONNECT' || headers[':authority'] === undefined) return undefined;
    }
    Object.freeze(headers);
    this.lastHeaders = { pairs, headers };
    return headers;
  }

  private onPriority(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
    if (payload.length !== 5) return this.streamError(this.streams.get(id), id, H2Error.FRAME_SIZE_ERROR);
    if ((payload.readUInt32BE(0) & 0x7fffffff) === id) this.streamError(this.streams.get(id), id, H2Error.PROTOCOL_ERROR);
  }

  private onReset(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM not 4 bytes');
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return;
    }
    this.close(stream);
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & ACK) !== 0) {
      if (payload.length !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS not a multiple of 6 bytes');
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (key === SETTINGS_ENABLE_PUSH && value > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH not 0 or 1');
      if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'a stream window above 2^31-1');
        }
      } else if (key === SETTINGS_MAX_FRAME_SIZE) {
        if (value < MIN_FRAME_SIZE || value > MAX_FRAME_SIZE) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
        this.peerMaxFrame = value;
      }
      // Our encoder never indexes, but a decoder told of a smaller table expects the next block to start
      // with a size update (RFC 7541 4.2; nghttp2 insists): ours says 0, which fits any maximum.
      if (key === SETTINGS_HEADER_TABLE_SIZE && value < DEFAULT_TABLE_SIZE) this.tableSizeUpdate = true;
      // Unknown settings are ignored.
    }
    this.output.frame(SETTINGS, ACK, 0, undefined);
    for (const stream of this.streams.values()) this.pump(stream);
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING not 8 bytes');
    if ((flags & ACK) !== 0) {
      clearTimeout(this.pingTimeout);
      this.pingTimeout = undefined;
      return;
    }
    this.output.frame(PING, ACK, 0, payload);
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE not 4 bytes');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      for (const stream of this.blocked) {
        this.blocked.delete(stream);
        this.pump(stream);
        if (this.sendWindow <= 0) break;
      }
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return;
    }
    if (increment === 0) return this.streamError(stream, id, H2Error.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) return this.streamError(stream, id, H2Error.FLOW_CONTROL_ERROR);
    this.pump(stream);
  }

  // ---------------------------------------------------------------- flow control in

  /** @internal The owner used `bytes` of the stream's data: return the credit once half a window has built up. */
  credit(stream: H2Stream, bytes: number): void {
    this.creditConnection(bytes);
    if (!stream.remoteOpen || this.dead) return;
    stream.recvUnacked += bytes;
    if (stream.recvUnacked >= STREAM_WINDOW / 2) {
      stream.recvWindow += stream.recvUnacked;
      this.output.words(WINDOW_UPDATE, 0, stream.id, stream.recvUnacked);
      stream.recvUnacked = 0;
      this.scheduleFlush();
    }
  }

  private creditConnection(bytes: number): void {
    this.recvUnacked += bytes;
    if (this.recvUnacked >= CONNECTION_WINDOW / 2 && !this.dead) {
      this.recvWindow += this.recvUnacked;
      this.output.words(WINDOW_UPDATE, 0, 0, this.recvUnacked);
      this.recvUnacked = 0;
      this.scheduleFlush();
    }
  }

  // ---------------------------------------------------------------- output

  /** @internal A header block, split into HEADERS + CONTINUATION when larger than the client's frame size. */
  sendHeaders(stream: H2Stream, block: Buffer, endStream: boolean): void {
    if (this.tableSizeUpdate) {
      this.tableSizeUpdate = false;
      block = Buffer.concat([TABLE_SIZE_ZERO, block]);
    }
    const flags = endStream ? END_STREAM : 0;
    const max = this.peerMaxFrame;
    if (block.length <= max) {
      this.output.frame(HEADERS, flags | END_HEADERS, stream.id, block);
    } else {
      this.output.frame(HEADERS, flags, stream.id, block, 0, max);
      for (let at = max; at < block.length; at += max) {
        const end = Math.min(at + max, block.length);
        this.output.frame(CONTINUATION, end === block.length ? END_HEADERS : 0, stream.id, block, at, end);
      }
    }
    this.scheduleFlush();
  }

  /** @internal Sends what the windows allow of a stream's queue, then its ending once the queue is empty. */
  pump(stream: H2Stream): void {
    if (!stream.localOpen) return;
    const queue = stream.queue;
    while (queue.length > 0) {
      const window = Math.min(stream.sendWindow, this.sendWindow);
      if (window <= 0) {
        if (this.sendWindow <= 0) this.blocked.add(stream);
        break;
      }
      const head = queue[0] as Buffer;
      const n = Math.min(window, head.length, this.peerMaxFrame);
      const last = n === head.length && queue.length === 1 && stream.ending === null;
      this.output.frame(DATA, last ? END_STREAM : 0, stream.id, head, 0, n);
      stream.sendWindow -= n;
      this.sendWindow -= n;
      stream.queuedBytes -= n;
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
      if (last) {
        this.scheduleFlush();
        this.localEnded(stream);
        return;
      }
    }
    this.scheduleFlush();
    if (queue.length > 0) return;
    if (stream.ending !== undefined) {
      if (stream.ending === null) this.output.frame(DATA, END_STREAM, stream.id, undefined);
      else this.sendHeaders(stream, stream.ending, true);
      this.localEnded(stream);
      return;
    }
    this.maybeWritable(stream);
  }

  /** @internal */
  localEnded(stream: H2Stream): void {
    stream.localOpen = false;
    stream.queue.length = 0;
    this.blocked.delete(stream);
    if (!stream.remoteOpen) this.close(stream);
  }

  private remoteEnded(stream: H2Stream): void {
    stream.remoteOpen = false;
    if (!stream.localOpen) {
      this.close(stream);
      return;
    }
    stream.handler?.halfClosed();
  }

  /** @internal RST_STREAM from our side. */
  resetStream(stream: H2Stream, code: number): void {
    this.output.words(RST_STREAM, 0, stream.id, code);
    this.scheduleFlush();
    this.close(stream);
  }

  /** A stream error (RFC 9113 5.4.2): RST_STREAM with the code; the stream, if we had it, closes. */
  private streamError(stream: H2Stream | undefined, id: number, code: number): void {
    this.output.words(RST_STREAM, 0, id, code);
    this.scheduleFlush();
    if (stream !== undefined) this.close(stream);
  }

  private close(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.localOpen = false;
    stream.remoteOpen = false;
    stream.queue.length = 0;
    this.blocked.delete(stream);
    this.streams.delete(stream.id);
    const handler = stream.handler;
    stream.handler = undefined;
    handler?.closed();
    if (this.goawaySent && this.streams.size === 0) this.closeSoon();
  }

  private maybeWritable(stream: H2Stream): void {
    if (stream.closed || !stream.wantsWritable || this.congested || stream.queuedBytes >= STREAM_HIGH_WATER) return;
    stream.wantsWritable = false;
    stream.handler?.writable();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.dead) return;
    this.flushScheduled = true;
    // Frames made in one turn of the event loop (a window of requests, a batch of answers) leave in one write.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.output.empty || this.socket.destroyed) return;
    const chunks = this.output.take();
    let ok: boolean;
    if (chunks.length === 1) {
      ok = this.socket.write(chunks[0] as Buffer);
    } else {
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
      ok = !this.socket.writableNeedDrain;
    }
    if (!ok) this.congested = true;
  }

  private drained(): void {
    this.congested = false;
    for (const stream of this.streams.values()) this.maybeWritable(stream);
  }

  // ---------------------------------------------------------------- lifetime

  private ping(): void {
    if (this.dead || this.pingTimeout !== undefined) return;
    this.output.frame(PING, 0, 0, Buffer.alloc(8));
    this.flush();
    this.pingTimeout = setTimeout(() => this.socket.destroy(), this.options.keepaliveTimeoutMs).unref();
  }

  /** A connection error: GOAWAY naming the last stream we took, then the socket closes. */
  private fail(code: number, message: string): void {
    if (this.dead) return;
    this.goawaySent = true;
    const debug = Buffer.from(message);
    const payload = Buffer.allocUnsafe(8 + debug.length);
    payload.writeUInt32BE(this.lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    debug.copy(payload, 8);
    this.output.frame(GOAWAY, 0, 0, payload);
    this.flush();
    this.dead = true;
    this.leftover = undefined;
    this.socket.end();
    // A client that does not close its side is not waited for.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    for (const stream of this.streams.values()) this.close(stream);
  }

  /** After the last stream of a draining connection: the frames leave, then the socket ends. */
  private closeSoon(): void {
    setImmediate(() => {
      if (this.dead) return;
      this.flush();
      this.dead = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  private socketClosed(): void {
    this.dead = true;
    clearInterval(this.keepalive);
    clearTimeout(this.pingTimeout);
    for (const stream of this.streams.values()) this.close(stream);
    this.onClose?.();
  }
}

/** A DATA or HEADERS payload without its padding. */
function unpad(flags: number, payload: Buffer): Buffer {
  if ((flags & PADDED) === 0) return payload;
  if (payload.length === 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'a padded frame without its pad length');
  const pad = payload[0]!;
  if (pad >= payload.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding as long as the frame');
  return payload.subarray(1, payload.length - pad);
}

function validTrailers(pairs: readonly string[]): boolean {
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i] as string;
    if (name.length === 0 || name.charCodeAt(0) === 0x3a || UPPERCASE.test(name) || CONNECTION_HEADERS.has(name)) return false;
  }
  return true;
}
