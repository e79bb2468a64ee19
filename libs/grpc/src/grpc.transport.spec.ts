import { readFileSync } from 'node:fs';
import http2, { type IncomingHttpHeaders } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { credentials } from '@grpc/grpc-js';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { GetModelRequestSchema, GetModelResponseSchema, RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { afterEach, describe, expect, it } from 'vitest';
import { fullInferenceImpl, fullRegistryImpl, Harness, ingestionImpl, newProbe, thrown } from '../test/grpc.fixture.js';
import { Status } from './grpc.error.js';
import { GrpcTransport, MessageDecoder, type WireCall } from './grpc.transport.js';

const harness = new Harness();
afterEach(() => harness.close());

const GET_MODEL = '/aio.registry.v1.RegistryService/GetModel';

function framed(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

function decodeAll(decoder: MessageDecoder, chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) decoder.push(chunk, (m) => out.push(m.toString()));
  decoder.finish();
  return out;
}

describe('MessageDecoder', () => {
  const stream = Buffer.concat([framed(Buffer.from('first')), framed(Buffer.alloc(0)), framed(Buffer.from('third message'))]);

  it('splits messages at every possible chunk boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      for (let second = cut; second <= stream.length; second++) {
        const chunks = [stream.subarray(0, cut), stream.subarray(cut, second), stream.subarray(second)];
        expect(decodeAll(new MessageDecoder(1024, undefined), chunks)).toEqual(['first', '', 'third message']);
      }
    }
  });

  it('hands a message that came in one chunk over as a view of it', () => {
    const chunk = framed(Buffer.from('abc'));
    let message: Buffer | undefined;
    new MessageDecoder(1024, undefined).push(chunk, (m) => (message = m));
    expect(message?.buffer).toBe(chunk.buffer);
  });

  it('refuses a message above the limit before reading it, and a request cut inside a message', () => {
    const tooLarge = thrown(() => new MessageDecoder(4, undefined).push(framed(Buffer.from('12345')), () => undefined));
    expect(tooLarge.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(tooLarge.message).toBe("request message of 5 bytes exceeds the server's limit of 4");
    const decoder = new MessageDecoder(1024, undefined);
    decoder.push(stream.subarray(0, 7), () => undefined);
    expect(thrown(() => decoder.finish()).code).toBe(Status.INTERNAL);
  });

  it('decompresses gzip and deflate, bounded by the limit, and refuses other encodings', () => {
    const out: string[] = [];
    new MessageDecoder(1024, 'gzip').push(framed(gzipSync('zipped'), true), (m) => out.push(m.toString()));
    expect(out).toEqual(['zipped']);
    const bomb = thrown(() => new MessageDecoder(1024, 'gzip').push(framed(gzipSync(Buffer.alloc(100_000)), true), () => undefined));
    expect(bomb.code).toBe(Status.RESOURCE_EXHAUSTED);
    const unknown = thrown(() => new MessageDecoder(1024, 'snappy').push(framed(Buffer.from('x'), true), () => undefined));
    expect(unknown.code).toBe(Status.UNIMPLEMENTED);
    expect(unknown.message).toContain('"snappy"');
  });
});

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
}

/** One call over plain node:http2, for what grpc-js clients never send. */
async function rawCall(port: number, headers: http2.OutgoingHttpHeaders, chunks: readonly Buffer[]): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': GET_MODEL, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      const answer: RawAnswer = { status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0) };
      const body: Buffer[] = [];
      req.on('response', (h) => {
        answer.status = Number(h[':status']);
        answer.headers = h;
      });
      req.on('trailers', (t: IncomingHttpHeaders) => {
        answer.trailers = t;
      });
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => resolve({ ...answer, body: Buffer.concat(body) }));
      req.on('error', reject);
      // Each chunk in its own DATA frame.
      const write = (i: number): void => {
        if (i === chunks.length) {
          req.end();
          return;
        }
        req.write(chunks[i], () => setImmediate(() => write(i + 1)));
      };
      write(0);
    });
  } finally {
    session.close();
  }
}

async function openRegistry(maxMessageBytes?: number) {
  const probe = newProbe();
  const server = harness.server({ auth: 'disabled', ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }) });
  server.add(RegistryService, fullRegistryImpl(probe));
  return { port: await server.start('127.0.0.1', 0), probe };
}

const getModel = (name: string): Buffer => framed(toBinary(GetModelRequestSchema, create(GetModelRequestSchema, { name })));

describe('gRPC over our HTTP/2 connection', () => {
  it('answers a request whose message arrives in several DATA frames', async () => {
    const { port } = await openRegistry();
    const request = getModel('split-model');
    const answer = await rawCall(port, {}, [request.subarray(0, 3), request.subarray(3, 9), request.subarray(9)]);
    expect(answer.status).toBe(200);
    expect(answer.trailers['grpc-status']).toBe('0');
    const response = fromBinary(GetModelResponseSchema, answer.body.subarray(5));
    expect(response.model?.name).toBe('split-model');
  });

  it('refuses a body that is not gRPC with 415', async () => {
    const { port } = await openRegistry();
    const answer = await rawCall(port, { 'content-type': 'application/json' }, [Buffer.from('{}')]);
    expect(answer.status).toBe(415);
    expect(answer.body.toString()).toContain('content-type must be application/grpc');
  });

  it('answers a malformed grpc-timeout, two messages for a unary method and none with a status', async () => {
    const { port } = await openRegistry();
    const badTimeout = await rawCall(port, { 'grpc-timeout': '10 seconds' }, [getModel('a')]);
    expect(badTimeout.headers['grpc-status']).toBe(String(Status.INTERNAL));
    expect(decodeURI(String(badTimeout.headers['grpc-message']))).toBe('invalid grpc-timeout header "10 seconds"');
    const two = await rawCall(port, {}, [getModel('a'), getModel('b')]);
    expect(two.headers['grpc-status']).toBe(String(Status.UNIMPLEMENTED));
    const none = await rawCall(port, {}, []);
    expect(none.headers['grpc-status']).toBe(String(Status.UNIMPLEMENTED));
    expect(decodeURI(String(none.headers['grpc-message']))).toContain('got none');
  });

  it('shows handlers their metadata without the transport headers, and the peer address', async () => {
    const probe = newProbe();
    const server = harness.server({ auth: 'disabled' });
    const seen: { keys: string[]; peer: string }[] = [];
    server.add(RegistryService, {
      ...fullRegistryImpl(probe),
      getModel: (request, ctx) => {
        seen.push({ keys: Object.keys(ctx.metadata.getMap()).sort(), peer: ctx.peer });
        return Promise.resolve({ model: { name: request.name } });
      },
    });
    const port = await server.start('127.0.0.1', 0);
    await harness.client(RegistryService, port).getModel({ name: 'm' }, { metadata: { 'x-tenant': 'acme' } });
    expect(seen[0]?.keys).toEqual(['x-tenant']);
    expect(seen[0]?.peer).toMatch(/^ipv4:127\.0\.0\.1:\d+$/);
  });

  it('refuses to send a response above maxMessageBytes with RESOURCE_EXHAUSTED', async () => {
    // A GetModelResponse is two bytes longer than the GetModelRequest it answers.
    const name = 'n'.repeat(90);
    const requestBytes = toBinary(GetModelRequestSchema, create(GetModelRequestSchema, { name })).length;
    const { port } = await openRegistry(requestBytes + 1);
    const answer = await rawCall(port, {}, [getModel(name)]);
    expect(answer.headers['grpc-status']).toBe(String(Status.RESOURCE_EXHAUSTED));
    expect(decodeURI(String(answer.headers['grpc-message']))).toContain(`exceeds the server's limit of ${requestBytes + 1}`);
  });

  it('refuses an oversized message inside a client stream with RESOURCE_EXHAUSTED, not a reset stream', async () => {
    const server = harness.server({ auth: 'disabled', maxMessageBytes: 1024 });
    server.add(IngestionService, ingestionImpl);
    const port = await server.start('127.0.0.1', 0);
    const client = harness.client(IngestionService, port);
    async function* batches() {
      await Promise.resolve();
      yield { records: [{ dataset: 'iris', key: 'small' }] };
      yield { records: [{ dataset: 'iris', key: 'x'.repeat(4096) }] };
      yield { records: [{ dataset: 'iris', key: 'never read' }] };
    }
    await expect(client.ingestRecords(batches())).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    async function* one() {
      await Promise.resolve();
      yield { records: [{ dataset: 'iris', key: 'k' }] };
    }
    const ok = await client.ingestRecords(one());
    expect(ok.accepted).toBe(1n);
  });

  it('serves a grpc-js client that compresses its messages', async () => {
    const { port } = await openRegistry();
    // grpc.default_compression_algorithm 2 = gzip.
    const client = harness.client(RegistryService, port, { channelOptions: { 'grpc.default_compression_algorithm': 2 } });
    const response = await client.getModel({ name: 'gz'.repeat(200) });
    expect(response.model?.name).toBe('gz'.repeat(200));
  });

  it('serves over TLS', async () => {
    const tls = { key: readFileSync(new URL('../test/tls/server.key', import.meta.url)), cert: readFileSync(new URL('../test/tls/server.crt', import.meta.url)) };
    const server = harness.server({ auth: 'disabled', tls });
    server.add(GRPCInferenceService, fullInferenceImpl());
    const port = await server.start('127.0.0.1', 0);
    const client = harness.client(GRPCInferenceService, port, {
      credentials: credentials.createSsl(tls.cert),
      channelOptions: { 'grpc.ssl_target_name_override': 'localhost' },
    });
    expect((await client.serverLive({})).live).toBe(true);
    const plaintext = harness.client(GRPCInferenceService, port, { timeoutMs: 2_000 });
    await expect(plaintext.serverLive({})).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });

  it('answers with the shared header blocks, and a closed stream lets go of its call', async () => {
    const transport = new GrpcTransport({ maxMessageBytes: 1024, keepaliveMs: 0, keepaliveTimeoutMs: 0 });
    const calls: WireCall[] = [];
    transport.route(GET_MODEL, { requestStream: false, handle: (call, request) => (calls.push(call), call.reply(request ?? new Uint8Array())) });
    const port = await transport.listen('127.0.0.1', 0);
    try {
      for (const name of ['m', 'n']) {
        const answer = await rawCall(port, {}, [getModel(name)]);
        expect(answer.headers).toMatchObject({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': 'identity,gzip,deflate' });
        expect(answer.headers.date).toBeUndefined();
        expect(answer.trailers['grpc-status']).toBe('0');
        expect(answer.body.subarray(5).toString()).toContain(name);
      }
      const call = calls[0] as WireCall;
      expect(call.stream.closed).toBe(true);
      expect(call.stream.handler).toBeUndefined();
    } finally {
      transport.destroy();
      await transport.drain();
    }
  });
  /** A transport with one route on a port; closed after the test. */
  async function transportWith(route: Parameters<GrpcTransport['route']>[1], maxMessageBytes = 16 * 1024 * 1024) {
    const transport = new GrpcTransport({ maxMessageBytes, keepaliveMs: 0, keepaliveTimeoutMs: 0 });
    transport.route(GET_MODEL, route);
    const port = await transport.listen('127.0.0.1', 0);
    return { port, close: () => (transport.destroy(), transport.drain()) };
  }

  it('carries a request and an answer larger than every flow-control window', async () => {
    const { port, close } = await transportWith({ requestStream: false, handle: (call, request) => call.reply(request ?? new Uint8Array()) });
    try {
      const big = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = i % 251;
      const framedBig = framed(big);
      // In 64 KiB writes: the 1 MiB stream window is refilled as the transport takes them.
      const chunks = Array.from({ length: Math.ceil(framedBig.length / 65_536) }, (_, i) => framedBig.subarray(i * 65_536, (i + 1) * 65_536));
      const answer = await rawCall(port, {}, chunks);
      expect(answer.trailers['grpc-status']).toBe('0');
      expect(answer.body.equals(framedBig)).toBe(true);
    } finally {
      await close();
    }
  });

  it('reads a long client stream with backpressure, and waits for the client while streaming an answer', async () => {
    const received: number[] = [];
    let waited = 0;
    const { port, close } = await transportWith({
      requestStream: true,
      handle: (call) => {
        void (async () => {
          for await (const message of call.messages()) {
            received.push(message.length);
            // A slow reader: the client must wait for window, not the transport buffer it all.
            await new Promise((resolve) => setImmediate(resolve));
          }
          const abort = new AbortController();
          for (let i = 0; i < 64; i++) {
            if (!call.write(Buffer.alloc(32 * 1024, i))) {
              waited++;
              await call.drained(abort.signal);
            }
          }
          call.end();
        })();
      },
    });
    try {
      const message = framed(Buffer.alloc(64 * 1024, 1));
      const answer = await rawCall(port, {}, Array.from({ length: 64 }, () => message));
      expect(received).toEqual(Array.from({ length: 64 }, () => 64 * 1024));
      expect(answer.trailers['grpc-status']).toBe('0');
      const decoded: number[] = [];
      new MessageDecoder(1 << 20, undefined).push(answer.body, (m) => decoded.push(m[0] as number));
      expect(decoded).toEqual(Array.from({ length: 64 }, (_, i) => i));
      // The client's 64 KiB window made the stream's queue fill up.
      expect(waited).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });

  it('tells a call its client cancelled, mid-request', async () => {
    let cancelled: Status | undefined;
    let call: WireCall | undefined;
    const { port, close } = await transportWith({
      requestStream: true,
      handle: (c) => {
        call = c;
        c.listener = { cancelled: (code) => (cancelled = code) };
      },
    });
    try {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const req = session.request({ ':method': 'POST', ':path': GET_MODEL, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      req.write(framed(Buffer.from('first')));
      while (call === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      req.close(http2.constants.NGHTTP2_CANCEL);
      while (cancelled === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(cancelled).toBe(Status.CANCELLED);
      session.close();
    } finally {
      await close();
    }
  });
});
