// The fast routes' own HTTP/1.1 (RFC 9112): a connection's requests are read off the socket here, and
// those of a fast route (the gateway's infer) are answered without node:http's per-request machinery
// (an IncomingMessage and a ServerResponse, their streams, header objects and timers), which on a small
// infer request cost about as much main-thread time as the JSON parsing (docs/benchmarks.md, mlp-rest).
// The first request that is not a plain fast-route request (another route, a chunked or 100-continue body,
// an upgrade) hands the connection to node:http at that request's first byte, and from then on node
// serves it all (fast routes there go through FastRouter.serve). Fastify and Nest never notice.
import { STATUS_CODES, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { httpErrorAnswer } from './http-error.filter.js';
import { problem, tooLarge, type FastMatch, type FastReply, type FastRequest, type FastRouter } from './fast-route.js';

/** Request line and headers larger than this are refused (431), as node:http does at 16 KiB. */
const MAX_HEAD = 16 * 1024;
const MAX_HEADERS = 100;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

let dateSecond = -1;
let dateText = '';
/** The Date header's value, made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** A parsed request head: where its body starts in the connection's buffer. */
interface Head {
  request: FastRequest;
  bodyStart: number;
  contentLength: number;
  keepAlive: boolean;
  /** Something only node:http serves: chunked or 100-continue bodies, upgrades. */
  special: boolean;
}

/**
 * Takes over the http.Server's connections: node's own connection listener runs only for connections
 * handed over. Call before the server listens; `router()` is read per request (it is set after Nest boots).
 */
export function installHttp1Front(server: Server, router: () => FastRouter | undefined): void {
  const [nodeListener] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (nodeListener === undefined) throw new Error('http.Server without its connection listener');
  server.removeListener('connection', nodeListener);
  const open = new Set<Http1Connection>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    const connection = new Http1Connection(socket, server, router, (bytes) => {
      open.delete(connection);
      handOver(socket, bytes, nodeListener, server);
    });
    open.add(connection);
    socket.once('close', () => open.delete(connection));
    if (closing) connection.closeWhenIdle();
  });
  // server.close() waits for every connection: ours end when idle, or after the answer in progress.
  const close = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    closing = true;
    for (const connection of open) connection.closeWhenIdle();
    return close(callback);
  };
}

/** Gives a connection to node:http with the bytes it has not served yet in front of whatever comes next. */
function handOver(socket: Socket, bytes: Buffer, nodeListener: (socket: Socket) => void, server: Server): void {
  if (bytes.length > 0) socket.unshift(bytes);
  nodeListener.call(server, socket);
}

const EMPTY = Buffer.alloc(0);

class Http1Connection {
  // What arrived and is not served yet, joined only when a request could be complete (a large body
  // arriving in many reads is not copied again at each one).
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes needed before the next request can be complete. */
  private need = 1;
  /** A request is being answered: what arrives meanwhile (pipelining) waits, up to a bound. */
  private busy = false;
  private done = false;
  private closeIdle = false;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onError = (): void => {
    this.socket.destroy();
  };

  constructor(
    private readonly socket: Socket,
    private readonly server: Server,
    private readonly router: () => FastRouter | undefined,
    private readonly handOff: (bytes: Buffer) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.once('close', () => {
      this.done = true;
    });
    this.idleTimer();
  }

  /** Ends the connection once no answer is in progress (server shutdown). */
  closeWhenIdle(): void {
    this.closeIdle = true;
    if (!this.busy && !this.done) this.finish();
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Pipelined requests pile up while one is answered: reading stops at a bound, as node:http's does.
    if (this.busy) {
      if (this.size > MAX_HEAD) this.socket.pause();
      return;
    }
    if (this.size >= this.need) this.next();
  }

  /** Everything unserved, as one buffer. */
  private get buffer(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] ?? EMPTY;
  }

  /** Drops the bytes of the request just served. */
  private consume(bytes: number): void {
    const rest = this.buffer.subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    this.need = 1;
  }

  /** Serves the next complete request in the buffer, if there is one. */
  private next(): void {
    while (!this.busy && !this.done && this.size >= this.need) {
      const head = this.head();
      if (head === undefined) {
        this.need = this.size + 1;
        return;
      }
      if (head instanceof Error) {
        this.refuse(head);
        return;
      }
      const router = this.router();
      const found = router?.match(head.request.method, head.request.url);
      // A body on a GET (which the fast GET routes do not read) is node's to frame, like the other specials.
      const getWithBody = found?.compiled.route.method === 'GET' && head.contentLength !== 0;
      if (router === undefined || found === undefined || head.special || getWithBody) {
        this.leave();
        return;
      }
      if (!this.serve(router, found, head)) return;
    }
  }

  /** Starts answering a request; false while its body has not all arrived. */
  private serve(router: FastRouter, found: FastMatch, head: Head): boolean {
    const request = head.request;
    let body: string | Error | undefined;
    let end = head.bodyStart;
    if (found.compiled.route.method === 'POST') {
      const refused = router.bodyProblem(request) ?? (head.contentLength < 0 ? tooLarge(router.bodyLimit) : undefined);
      if (refused !== undefined) {
        body = refused;
      } else {
        end = head.bodyStart + head.contentLength;
        if (this.size < end) {
          this.need = end;
          // Waits for the rest (bounded: the length is within the body limit).
          this.socket.setTimeout(this.server.requestTimeout || 300_000);
          return false;
        }
        body = this.buffer.toString('utf8', head.bodyStart, end);
      }
    }
    this.consume(end);
    this.busy = true;
    this.socket.setTimeout(0);
    const keepAlive = head.keepAlive && !(body instanceof Error);
    const reply: FastReply = (status, headers, text, close) => this.reply(status, headers, text, close || !keepAlive || this.closeIdle);
    router.handle(found, request, body, reply);
    return true;
  }

  private reply(status: number, headers: Record<string, string | number>, text: string, close: boolean): void {
    if (this.done) return;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\ndate: ${httpDate()}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    head += close ? 'connection: close\r\n\r\n' : 'connection: keep-alive\r\n\r\n';
    const flowing = this.socket.write(head + text);
    this.busy = false;
    if (close) {
      this.finish();
      return;
    }
    this.idleTimer();
    // A client that does not read its answers is not read from either.
    if (!flowing) {
      this.socket.pause();
      this.socket.once('drain', () => this.resume());
      return;
    }
    this.resume();
  }

  private resume(): void {
    if (this.done) return;
    this.socket.resume();
    this.next();
  }

  /** Parses the request head at the start of the buffer: undefined until it has all arrived. */
  private head(): Head | Error | undefined {
    const buffer = this.buffer;
    const end = buffer.indexOf(CRLFCRLF);
    if (end < 0) return buffer.length > MAX_HEAD ? problem(431, `request head larger than ${MAX_HEAD} bytes`) : undefined;
    if (end > MAX_HEAD) return problem(431, `request head larger than ${MAX_HEAD} bytes`);
    const lines = buffer.toString('latin1', 0, end).split('\r\n');
    const line = REQUEST_LINE.exec(lines[0] ?? '');
    if (line === null) return problem(400, 'malformed request line');
    if (lines.length - 1 > MAX_HEADERS) return problem(431, `more than ${MAX_HEADERS} header fields`);
    // No prototype: a header named like an Object.prototype member (constructor, __proto__) is just a header.
    const headers = Object.create(null) as IncomingHttpHeaders;
    for (let i = 1; i < lines.length; i++) {
      const text = lines[i] as string;
      const colon = text.indexOf(':');
      const name = colon > 0 ? text.slice(0, colon) : '';
      if (!TOKEN.test(name)) return problem(400, 'malformed header field');
      const key = name.toLowerCase();
      const value = text.slice(colon + 1).trim();
      const before = headers[key];
      if (before === undefined) headers[key] = value;
      else if (key === 'content-length' || key === 'authorization' || key === 'host' || key === 'content-type') return problem(400, `repeated ${key} header`);
      else headers[key] = `${String(before)}, ${value}`;
    }
    const http10 = line[3] === '0';
    const connection = headers.connection?.toLowerCase() ?? '';
    const keepAlive = http10 ? connection.includes('keep-alive') : !connection.includes('close');
    const lengthText = headers['content-length'];
    let contentLength = 0;
    if (lengthText !== undefined) {
      if (!/^\d{1,15}$/.test(lengthText)) return problem(400, 'malformed content-length');
      contentLength = Number(lengthText);
    }
    const router = this.router();
    if (router !== undefined && contentLength > router.bodyLimit) contentLength = -1;
    const special = headers['transfer-encoding'] !== undefined || headers.expect !== undefined || headers.upgrade !== undefined;
    return { request: { method: line[1] as string, url: line[2] as string, headers }, bodyStart: end + 4, contentLength, keepAlive, special };
  }

  /** A request that cannot be parsed: 400 (or 431) and the connection ends, as node:http does. */
  private refuse(error: Error): void {
    const { status, body } = httpErrorAnswer(error);
    const text = JSON.stringify(body);
    this.busy = true;
    this.reply(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }, text, true);
  }

  /** Hands the connection, from the current request on, to node:http. */
  private leave(): void {
    this.done = true;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('error', this.onError);
    this.socket.setTimeout(0);
    this.socket.removeAllListeners('timeout');
    const bytes = this.buffer;
    this.chunks = [];
    this.size = 0;
    this.handOff(bytes);
    // Reading may have stopped for pipelined requests: node's listener is in place now.
    this.socket.resume();
  }

  /** Waits for the next request at most the server's keep-alive timeout, as node:http does. */
  private idleTimer(): void {
    const ms = this.server.keepAliveTimeout;
    if (ms > 0) {
      this.socket.setTimeout(ms);
      if (this.socket.listenerCount('timeout') === 0) this.socket.on('timeout', () => this.finish());
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.socket.setTimeout(0);
    this.socket.end();
    // A client that does not close its side is not waited for.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
