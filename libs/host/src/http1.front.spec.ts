import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FastRouter, type FastRoute } from './fast-route.js';
import { installHttp1Front } from './http1.front.js';

const routes: FastRoute[] = [
  { method: 'POST', url: '/fast/echo/:name', handle: ({ params, body }) => ({ name: params['name'], body }) },
  { method: 'GET', url: '/fast/hello', handle: () => ({ hello: true }) },
];

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server as runService makes it: the front first, node:http (standing in for Fastify) for the rest. */
async function start(bodyLimit = 1024) {
  const router = new FastRouter(routes, undefined, bodyLimit);
  const seenByNode: string[] = [];
  const server = http.createServer((req, res) => {
    seenByNode.push(`${req.method} ${req.url}`);
    if (router.serve(req, res)) return;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 9 }).end('from node');
  });
  installHttp1Front(server, () => router);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port, seenByNode };
}

/** A raw client: writes bytes, reads answers (Content-Length framed) as they come. */
class Raw {
  private data = '';
  closed = false;
  private waiters: (() => void)[] = [];
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.data += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  static async open(port: number): Promise<Raw> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new Raw(socket);
  }
  send(text: string): void {
    this.socket.write(text, 'latin1');
  }
  /** The next complete answer: status, lower-cased headers, body. */
  async answer(): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    for (;;) {
      const end = this.data.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [line, ...fields] = this.data.slice(0, end).split('\r\n');
        const headers: Record<string, string> = {};
        for (const f of fields) headers[f.slice(0, f.indexOf(':')).toLowerCase()] = f.slice(f.indexOf(':') + 1).trim();
        const length = Number(headers['content-length'] ?? 0);
        if (this.data.length >= end + 4 + length) {
          const body = this.data.slice(end + 4, end + 4 + length);
          this.data = this.data.slice(end + 4 + length);
          return { status: Number(line?.split(' ')[1]), headers, body };
        }
      }
      if (this.closed) throw new Error(`closed; unread: ${JSON.stringify(this.data)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

const post = (path: string, body: string, extra = ''): string =>
  `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('HTTP/1.1 front', () => {
  it('answers fast routes itself on a keep-alive connection, pipelined requests in order', async () => {
    const { port, seenByNode } = await start();
    const client = await Raw.open(port);
    client.send(post('/fast/echo/a', '{"n":1}'));
    const first = await client.answer();
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ name: 'a', body: { n: 1 } });
    expect(first.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', connection: 'keep-alive' });
    expect(first.headers['date']).toMatch(/GMT$/);
    // Two more in one write, the second's body split off into a later write.
    const second = post('/fast/echo/b', '{"n":2}');
    const third = post('/fast/echo/c', '{"n":3}');
    client.send(second + third.slice(0, -3));
    await new Promise((resolve) => setImmediate(resolve));
    client.send(third.slice(-3));
    expect(JSON.parse((await client.answer()).body)).toEqual({ name: 'b', body: { n: 2 } });
    expect(JSON.parse((await client.answer()).body)).toEqual({ name: 'c', body: { n: 3 } });
    client.send('GET /fast/hello HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(JSON.parse((await client.answer()).body)).toEqual({ hello: true });
    expect(seenByNode).toEqual([]);
  });

  it('takes a large body that arrives in many small writes, and many pipelined requests at once', async () => {
    const { port, seenByNode } = await start(1024 * 1024);
    const client = await Raw.open(port);
    const text = JSON.stringify({ data: 'y'.repeat(300_000) });
    const request = post('/fast/echo/big', text);
    for (let at = 0; at < request.length; at += 4096) {
      client.send(request.slice(at, at + 4096));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(JSON.parse((await client.answer()).body)).toEqual({ name: 'big', body: JSON.parse(text) as unknown });
    // 200 pipelined requests in one write: more than the front reads ahead while one is answered.
    client.send(Array.from({ length: 200 }, (_, i) => post(`/fast/echo/${i}`, `{"i":${i}}`)).join(''));
    for (let i = 0; i < 200; i++) expect(JSON.parse((await client.answer()).body)).toEqual({ name: String(i), body: { i } });
    expect(seenByNode).toEqual([]);
  });

  it('hands a connection to node:http at the first request that is not a plain fast one, and node serves the rest', async () => {
    const { port, seenByNode } = await start();
    const client = await Raw.open(port);
    client.send(post('/fast/echo/a', '{}'));
    expect((await client.answer()).status).toBe(200);
    // Another route, pipelined with a fast one behind it: both reach node, in order.
    client.send('GET /other HTTP/1.1\r\nhost: x\r\n\r\n' + post('/fast/echo/b', '{"n":2}'));
    expect((await client.answer()).body).toBe('from node');
    expect(JSON.parse((await client.answer()).body)).toEqual({ name: 'b', body: { n: 2 } });
    expect(seenByNode).toEqual(['GET /other', 'POST /fast/echo/b']);
  });

  it('leaves chunked and 100-continue bodies to node:http', async () => {
    const { port, seenByNode } = await start();
    const chunked = await Raw.open(port);
    chunked.send('POST /fast/echo/c HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n');
    expect(JSON.parse((await chunked.answer()).body)).toEqual({ name: 'c', body: { a: 1 } });
    const waiting = await Raw.open(port);
    waiting.send('POST /fast/echo/d HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 7\r\nexpect: 100-continue\r\n\r\n');
    expect((await waiting.answer()).status).toBe(100);
    waiting.send('{"b":2}');
    expect(JSON.parse((await waiting.answer()).body)).toEqual({ name: 'd', body: { b: 2 } });
    expect(seenByNode).toEqual(['POST /fast/echo/c', 'POST /fast/echo/d']);
  });

  it('refuses a malformed request with 400 and an oversized head with 431, closing the connection', async () => {
    const { port } = await start();
    const bad = await Raw.open(port);
    bad.send('POST /fast/echo/a HTTP/9\r\n\r\n');
    const refused = await bad.answer();
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toEqual({ error: 'malformed request line' });
    await bad.untilClosed();
    const huge = await Raw.open(port);
    huge.send(`GET /fast/hello HTTP/1.1\r\nx-big: ${'a'.repeat(17 * 1024)}`);
    expect((await huge.answer()).status).toBe(431);
    await huge.untilClosed();
    const badLength = await Raw.open(port);
    badLength.send('POST /fast/echo/a HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n{}');
    expect((await badLength.answer()).status).toBe(400);
  });

  it('takes headers named like Object.prototype members as plain headers', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    class Capturing extends FastRouter {
      override handle(...args: Parameters<FastRouter['handle']>): void {
        seen.push(args[1].headers);
        super.handle(...args);
      }
    }
    const router = new Capturing(routes, undefined, 1024);
    const server = http.createServer(() => undefined);
    installHttp1Front(server, () => router);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = await Raw.open((server.address() as net.AddressInfo).port);
    client.send(post('/fast/echo/p', '{}', 'constructor: a\r\n__proto__: b\r\ntoString: c\r\n'));
    expect((await client.answer()).status).toBe(200);
    const headers = seen[0] ?? {};
    expect([headers['constructor'], headers['__proto__'], headers['tostring']]).toEqual(['a', 'b', 'c']);
  });

  it('answers a body above the limit with 413 without reading it, and closes', async () => {
    const { port } = await start(16);
    const client = await Raw.open(port);
    client.send(post('/fast/echo/a', JSON.stringify({ text: 'x'.repeat(100) })));
    const answer = await client.answer();
    expect(answer.status).toBe(413);
    expect(answer.headers['connection']).toBe('close');
    await client.untilClosed();
  });

  it('closes after the answer for HTTP/1.0 and for connection: close', async () => {
    const { port } = await start();
    const old = await Raw.open(port);
    old.send('GET /fast/hello HTTP/1.0\r\n\r\n');
    expect((await old.answer()).headers['connection']).toBe('close');
    await old.untilClosed();
    const closing = await Raw.open(port);
    closing.send('GET /fast/hello HTTP/1.1\r\nconnection: close\r\n\r\n');
    expect((await closing.answer()).status).toBe(200);
    await closing.untilClosed();
  });

  it('closes an idle connection after the keep-alive timeout, and idle ones at server.close()', async () => {
    const { server, port } = await start();
    server.keepAliveTimeout = 50;
    const idle = await Raw.open(port);
    idle.send('GET /fast/hello HTTP/1.1\r\n\r\n');
    await idle.answer();
    await idle.untilClosed();
    server.keepAliveTimeout = 60_000;
    const kept = await Raw.open(port);
    kept.send('GET /fast/hello HTTP/1.1\r\n\r\n');
    await kept.answer();
    servers.splice(servers.indexOf(server), 1);
    await new Promise((resolve) => server.close(resolve));
    expect(kept.closed).toBe(true);
  });
});
