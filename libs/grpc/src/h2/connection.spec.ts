import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H2Connection, H2Error, type ConnectionOptions, type H2Stream, type StreamHandler } from './connection.js';
import { encodeHeaders, HpackDecoder } from './hpack.js';

// Frame types and flags, as the RFC numbers them.
const DATA = 0;
const HEADERS = 1;
const RST_STREAM = 3;
const SETTINGS = 4;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const CONTINUATION = 9;
const END_STREAM = 1;
const END_HEADERS = 4;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(id, 5);
  return Buffer.concat([head, payload]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

function settings(...pairs: [number, number][]): Buffer {
  const b = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([k, v], i) => {
    b.writeUInt16BE(k, 6 * i);
    b.writeUInt32BE(v, 6 * i + 2);
  });
  return frame(SETTINGS, 0, 0, b);
}

const REQUEST = [':method', 'POST', ':scheme', 'http', ':path', '/echo', ':authority', 'localhost', 'content-type', 'application/grpc'];
const request = (id: number, flags = END_HEADERS, pairs = REQUEST): Buffer => frame(HEADERS, flags, id, encodeHeaders(pairs));

/** A client speaking raw frames, reading the server's frames as they come. */
class RawClient {
  readonly frames: Frame[] = [];
  readonly decoder = new HpackDecoder();
  closed = false;
  private buffer = Buffer.alloc(0);
  private pings = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 9) {
        const length = this.buffer.readUIntBE(0, 3);
        if (this.buffer.length < 9 + length) break;
        this.frames.push({ type: this.buffer[3]!, flags: this.buffer[4]!, id: this.buffer.readUInt32BE(5), payload: this.buffer.subarray(9, 9 + length) });
        this.buffer = this.buffer.subarray(9 + length);
      }
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Waits for the first frame (after `from`) that matches; throws if the socket closes first. */
  async next(match: (f: Frame) => boolean, from = 0): Promise<Frame> {
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.closed) throw new Error(`socket closed; frames: ${JSON.stringify(this.frames.map((f) => [f.type, f.flags, f.id, f.payload.length]))}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** A PING round trip: every frame the server sent before answering it has arrived. */
  async barrier(): Promise<void> {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(++this.pings, 4);
    this.send(frame(PING, 0, 0, payload));
    await this.next((f) => f.type === PING && f.flags === 1 && f.payload.equals(payload));
  }

  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** A GOAWAY's error code. */
  async goaway(): Promise<number> {
    const f = await this.next((x) => x.type === GOAWAY);
    return f.payload.readUInt32BE(4);
  }

  async reset(id: number): Promise<number> {
    const f = await this.next((x) => x.type === RST_STREAM && x.id === id);
    return f.payload.readUInt32BE(0);
  }

  data(id: number): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.type === DATA && f.id === id).map((f) => f.payload));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** A handler that records what the connection tells it. */
class Recorder implements StreamHandler {
  chunks: Buffer[] = [];
  halfClosedSeen = false;
  closedSeen = false;
  writableSeen = 0;
  constructor(
    readonly stream: H2Stream,
    private readonly consume: boolean,
  ) {
    stream.handler = this;
  }
  data(chunk: Buffer): void {
    this.chunks.push(chunk);
    if (this.consume) this.stream.consumed(chunk.length);
  }
  halfClosed(): void {
    this.halfClosedSeen = true;
  }
  closed(): void {
    this.closedSeen = true;
  }
  writable(): void {
    this.writableSeen++;
  }
}

const open: { server: net.Server; sockets: net.Socket[] }[] = [];
afterEach(async () => {
  for (const { server, sockets } of open.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A connection under test and a raw client on it, past the preface and SETTINGS exchange. */
async function connect(options: Partial<ConnectionOptions> & { onStream(stream: H2Stream): void }, clientSettings: [number, number][] = []) {
  const connections: H2Connection[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    connections.push(new H2Connection(socket, { maxConcurrentStreams: 100, keepaliveMs: 0, keepaliveTimeoutMs: 0, ...options }));
  });
  open.push({ server, sockets });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  const client = new RawClient(socket);
  client.send(PREFACE, settings(...clientSettings));
  await client.next((f) => f.type === SETTINGS && f.flags === 1);
  return { client, connection: connections[0] as H2Connection };
}

describe('H2Connection', () => {
  it('opens with its SETTINGS and a wide connection window, acks the client SETTINGS and answers PING', async () => {
    const { client } = await connect({ onStream: () => undefined });
    const ours = await client.next((f) => f.type === SETTINGS && f.flags === 0);
    const values = new Map<number, number>();
    for (let at = 0; at < ours.payload.length; at += 6) values.set(ours.payload.readUInt16BE(at), ours.payload.readUInt32BE(at + 2));
    expect(values.get(3)).toBe(100);
    expect(values.get(4)).toBe(1024 * 1024);
    const update = await client.next((f) => f.type === WINDOW_UPDATE && f.id === 0);
    expect(update.payload.readUInt32BE(0)).toBe(64 * 1024 * 1024 - 65_535);
    client.send(frame(PING, 0, 0, Buffer.from('12345678')));
    const pong = await client.next((f) => f.type === PING);
    expect(pong.flags).toBe(1);
    expect(pong.payload.toString()).toBe('12345678');
  });

  it('hands a request to its stream: headers, body, half-close; the answer goes out as HEADERS, DATA, trailers', async () => {
    let recorder: Recorder | undefined;
    const { client } = await connect({ onStream: (s) => (recorder = new Recorder(s, true)) });
    client.send(request(1), frame(DATA, 0, 1, Buffer.from('hello ')), frame(DATA, END_STREAM, 1, Buffer.from('world')));
    await until(() => recorder?.halfClosedSeen === true);
    const r = recorder as Recorder;
    expect(r.stream.headers[':path']).toBe('/echo');
    expect(Buffer.concat(r.chunks).toString()).toBe('hello world');
    r.stream.respond(encodeHeaders([':status', '200']), false);
    r.stream.write(Buffer.from('answer'));
    r.stream.end(encodeHeaders(['grpc-status', '0']));
    const trailers = await client.next((f) => f.type === HEADERS && (f.flags & END_STREAM) !== 0);
    const kinds = client.frames.filter((f) => f.id === 1).map((f) => f.type);
    expect(kinds).toEqual([HEADERS, DATA, HEADERS]);
    expect(client.decoder.decode(trailers.payload)).toEqual(['grpc-status', '0']);
    expect(client.data(1).toString()).toBe('answer');
    await until(() => r.closedSeen);
  });

  it('reuses the headers object for a repeated header block, and freezes it', async () => {
    const streams: H2Stream[] = [];
    const { client } = await connect({ onStream: (s) => streams.push(s) });
    client.send(request(1, END_HEADERS | END_STREAM), request(3, END_HEADERS | END_STREAM));
    await until(() => streams.length === 2);
    expect(streams[1]?.headers).toBe(streams[0]?.headers);
    expect(Object.isFrozen(streams[0]?.headers)).toBe(true);
  });

  it('sends no more DATA than the client window allows, resumes on WINDOW_UPDATE, and sends trailers only after the data', async () => {
    let recorder: Recorder | undefined;
    // SETTINGS_INITIAL_WINDOW_SIZE 10.
    const { client } = await connect({ onStream: (s) => (recorder = new Recorder(s, true)) }, [[4, 10]]);
    client.send(request(1, END_HEADERS | END_STREAM));
    await until(() => recorder?.halfClosedSeen === true);
    const r = recorder as Recorder;
    r.stream.respond(encodeHeaders([':status', '200']), false);
    expect(r.stream.write(Buffer.from('0123456789abcdefghijklmno'))).toBe(true);
    r.stream.end(encodeHeaders(['grpc-status', '0']));
    await client.next((f) => f.type === DATA);
    await client.barrier();
    expect(client.data(1).toString()).toBe('0123456789');
    expect(client.frames.some((f) => f.type === HEADERS && (f.flags & END_STREAM) !== 0)).toBe(false);
    client.send(frame(WINDOW_UPDATE, 0, 1, u32(100)));
    await client.next((f) => f.type === HEADERS && (f.flags & END_STREAM) !== 0);
    expect(client.data(1).toString()).toBe('0123456789abcdefghijklmno');
    await until(() => r.closedSeen);
  });

  it('starts its next header block with a table size update when the client lowers its HPACK table', async () => {
    let recorder: Recorder | undefined;
    // SETTINGS_HEADER_TABLE_SIZE 256.
    const { client } = await connect({ onStream: (s) => (recorder = new Recorder(s, true)) }, [[1, 256]]);
    client.send(request(1, END_HEADERS | END_STREAM), request(3, END_HEADERS | END_STREAM));
    await until(() => recorder?.stream.id === 3);
    const first = recorder as Recorder;
    first.stream.respond(encodeHeaders([':status', '200']), true);
    const block = await client.next((f) => f.type === HEADERS && f.id === 3);
    expect(block.payload[0]).toBe(0x20);
    expect(client.decoder.decode(block.payload)).toEqual([':status', '200']);
  });

  it('splits DATA at the frame size, stops at the connection window, and tells a writer when it may write again', async () => {
    let recorder: Recorder | undefined;
    const { client } = await connect({ onStream: (s) => (recorder = new Recorder(s, true)) }, [[4, 1 << 20]]);
    client.send(request(1, END_HEADERS | END_STREAM));
    await until(() => recorder?.halfClosedSeen === true);
    const r = recorder as Recorder;
    r.stream.respond(encodeHeaders([':status', '200']), false);
    const body = Buffer.alloc(200_000, 7);
    // Above the stream's high-water mark: the writer is asked to wait.
    expect(r.stream.write(body)).toBe(false);
    await client.next((f) => f.type === DATA);
    await client.barrier();
    const sizes = client.frames.filter((f) => f.type === DATA).map((f) => f.payload.length);
    expect(Math.max(...sizes)).toBe(16_384);
    // The connection window is the protocol's 65,535 until the client raises it.
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(65_535);
    expect(r.writableSeen).toBe(0);
    client.send(frame(WINDOW_UPDATE, 0, 0, u32(1 << 20)));
    await until(() => client.data(1).length === 200_000);
    expect(r.writableSeen).toBe(1);
  });

  it('splits a large header block into HEADERS and CONTINUATION, and joins the client CONTINUATION frames', async () => {
    let recorder: Recorder | undefined;
    const { client } = await connect({ onStream: (s) => (recorder = new Recorder(s, true)) });
    const big = 'v'.repeat(20_000);
    const block = encodeHeaders([...REQUEST, 'x-big', big]);
    client.send(frame(HEADERS, END_STREAM, 1, block.subarray(0, 100)), frame(CONTINUATION, 0, 1, block.subarray(100, 10_000)), frame(CONTINUATION, END_HEADERS, 1, block.subarray(10_000)));
    await until(() => recorder?.halfClosedSeen === true);
    const r = recorder as Recorder;
    expect(r.stream.headers['x-big']).toBe(big);
    r.stream.respond(encodeHeaders([':status', '200', 'x-big', big, 'x-bigger', big]), true);
    const last = await client.next((f) => f.type === CONTINUATION && (f.flags & END_HEADERS) !== 0);
    const parts = client.frames.filter((f) => f.id === 1 && (f.type === HEADERS || f.type === CONTINUATION));
    expect(parts[0]?.type).toBe(HEADERS);
    expect(parts[0]?.flags).toBe(END_STREAM);
    expect(parts.at(-1)).toBe(last);
    const decoded = client.decoder.decode(Buffer.concat(parts.map((p) => p.payload)));
    expect(decoded.slice(0, 2)).toEqual([':status', '200']);
    expect(decoded[3]).toBe(big);
  });

  it('ends the connection when a header block is interrupted by another frame', async () => {
    const { client } = await connect({ onStream: () => undefined });
    const block = encodeHeaders(REQUEST);
    client.send(frame(HEADERS, 0, 1, block.subarray(0, 5)), frame(PING, 0, 0, Buffer.alloc(8)));
    expect(await client.goaway()).toBe(H2Error.PROTOCOL_ERROR);
    await client.untilClosed();
  });

  it('closes a stream the client resets, telling its handler', async () => {
    let recorder: Recorder | undefined;
    const { client } = await connect({ onStream: (s) => (recorder = new Recorder(s, true)) });
    client.send(request(1));
    await until(() => recorder !== undefined);
    client.send(frame(RST_STREAM, 0, 1, u32(H2Error.CANCEL)));
    await until(() => recorder?.closedSeen === true);
    expect(recorder?.stream.closed).toBe(true);
  });

  it('holds request data its owner has not used against the stream window, and refills the window as it is used', async () => {
    let recorder: Recorder | undefined;
    const { client, connection } = await connect({ onStream: (s) => (recorder = new Recorder(s, false)) });
    client.send(request(1));
    const piece = Buffer.alloc(16_384, 1);
    for (let i = 0; i < 64; i++) client.send(frame(DATA, 0, 1, piece));
    await until(() => (recorder?.chunks.length ?? 0) === 64);
    const r = recorder as Recorder;
    // A full window unread: no update yet; one more byte is beyond it.
    expect(client.frames.some((f) => f.type === WINDOW_UPDATE && f.id === 1)).toBe(false);
    r.stream.consumed(600_000);
    const update = await client.next((f) => f.type === WINDOW_UPDATE && f.id === 1);
    expect(update.payload.readUInt32BE(0)).toBe(600_000);
    client.send(frame(DATA, 0, 1, Buffer.alloc(16_384)), frame(DATA, 0, 1, Buffer.alloc(16_384)));
    await until(() => r.chunks.length === 66);
    client.send(...Array.from({ length: 40 }, () => frame(DATA, 0, 1, piece)));
    expect(await client.reset(1)).toBe(H2Error.FLOW_CONTROL_ERROR);
    expect(connection.streamCount).toBe(0);
  });

  it('refuses streams beyond the concurrency limit, and malformed requests, with RST_STREAM', async () => {
    const streams: H2Stream[] = [];
    const { client } = await connect({ maxConcurrentStreams: 2, onStream: (s) => streams.push(s) });
    client.send(request(1), request(3), request(5));
    expect(await client.reset(5)).toBe(H2Error.REFUSED_STREAM);
    expect(streams.map((s) => s.id)).toEqual([1, 3]);
    streams[0]?.reset();
    client.send(request(7, END_HEADERS, [...REQUEST.slice(0, 8), 'Upper', 'x']));
    expect(await client.reset(7)).toBe(H2Error.PROTOCOL_ERROR);
    client.send(request(9, END_HEADERS, REQUEST.slice(2)));
    expect(await client.reset(9)).toBe(H2Error.PROTOCOL_ERROR);
    expect(streams.map((s) => s.id)).toEqual([1, 3]);
  });

  it('checks content-length against the DATA that came', async () => {
    const { client } = await connect({ onStream: (s) => new Recorder(s, true) });
    client.send(request(1, END_HEADERS, [...REQUEST, 'content-length', '3']), frame(DATA, END_STREAM, 1, Buffer.from('four')));
    expect(await client.reset(1)).toBe(H2Error.PROTOCOL_ERROR);
  });

  it('answers protocol violations with GOAWAY and the right code, then closes', async () => {
    const cases: [string, Buffer, number][] = [
      ['frame above the max size', frame(DATA, 0, 1, Buffer.alloc(16_385)), H2Error.FRAME_SIZE_ERROR],
      ['an even stream id', request(2), H2Error.PROTOCOL_ERROR],
      ['a header block HPACK cannot decode', frame(HEADERS, END_HEADERS, 1, Buffer.from([0x80])), H2Error.COMPRESSION_ERROR],
      ['DATA on an idle stream', frame(DATA, 0, 11, Buffer.from('x')), H2Error.PROTOCOL_ERROR],
      ['a window above 2^31-1', frame(WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1)), H2Error.FLOW_CONTROL_ERROR],
      ['SETTINGS of a bad length', frame(SETTINGS, 0, 0, Buffer.alloc(5)), H2Error.FRAME_SIZE_ERROR],
    ];
    for (const [what, bytes, code] of cases) {
      const { client } = await connect({ onStream: () => undefined });
      client.send(bytes);
      expect({ what, code: await client.goaway() }).toEqual({ what, code });
      await client.untilClosed();
    }
  });

  it('refuses a connection that does not start with the preface', async () => {
    const server = net.createServer((socket) => new H2Connection(socket, { maxConcurrentStreams: 1, keepaliveMs: 0, keepaliveTimeoutMs: 0, onStream: () => undefined }));
    open.push({ server, sockets: [] });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    open[0]?.sockets.push(socket);
    const client = new RawClient(socket);
    client.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await client.goaway()).toBe(H2Error.PROTOCOL_ERROR);
    await client.untilClosed();
  });

  it('drains on shutdown: GOAWAY, open streams finish, new ones are refused, then the socket closes', async () => {
    let recorder: Recorder | undefined;
    const { client, connection } = await connect({ onStream: (s) => (recorder ??= new Recorder(s, true)) });
    client.send(request(1, END_HEADERS | END_STREAM));
    await until(() => recorder?.halfClosedSeen === true);
    connection.shutdown();
    const goaway = await client.next((f) => f.type === GOAWAY);
    expect(goaway.payload.readUInt32BE(0)).toBe(1);
    expect(goaway.payload.readUInt32BE(4)).toBe(H2Error.NO_ERROR);
    client.send(request(3, END_HEADERS | END_STREAM));
    expect(await client.reset(3)).toBe(H2Error.REFUSED_STREAM);
    expect(client.closed).toBe(false);
    recorder?.stream.respond(encodeHeaders([':status', '200']), true);
    await client.untilClosed();
  });

  it('closes a connection that does not answer its keepalive PING in time', async () => {
    const { client } = await connect({ keepaliveMs: 30, keepaliveTimeoutMs: 30, onStream: () => undefined });
    const ping = await client.next((f) => f.type === PING && f.flags === 0);
    expect(ping.payload.length).toBe(8);
    await client.untilClosed();
  });

  it('keeps a connection whose client answers its PINGs', async () => {
    const { client } = await connect({ keepaliveMs: 20, keepaliveTimeoutMs: 40, onStream: () => undefined });
    for (let i = 0; i < 4; i++) {
      const from = client.frames.length;
      const ping = await client.next((f) => f.type === PING && f.flags === 0, from);
      client.send(frame(PING, 1, 0, ping.payload));
    }
    expect(client.closed).toBe(false);
  });
});

/** Waits for a condition set by socket events (polled each turn of the event loop; the test times out otherwise). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

