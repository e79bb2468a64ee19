// HTTP/2 conformance of the server transport: h2spec (its 146 RFC 7540 / RFC 7541 cases) against a
// server with one unary route, in plaintext and over TLS (ALPN h2). h2spec is built from the Go module
// proxy on first use and cached in .infra/h2spec (deploy/local/h2spec/tool.mjs). Its requests carry no
// gRPC content-type, so the route answers them with 415: h2spec checks the framing, stream states,
// flow control and HPACK around the answer, not the answer.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { methodPath } from '../src/service.definition.js';
import type { ServerTls } from '../src/grpc.transport.js';
import { fullInferenceImpl, Harness } from './grpc.fixture.js';

const TOOL = path.resolve(import.meta.dirname, '../../../deploy/local/h2spec/tool.mjs');
const ROUTE = methodPath(GRPCInferenceService.method.modelInfer);
/** h2spec 2.2.1's cases with -S: a report with fewer means some did not run. */
const CASES = 146;
const TLS: ServerTls = {
  key: readFileSync(new URL('tls/server.key', import.meta.url)),
  cert: readFileSync(new URL('tls/server.crt', import.meta.url)),
};

interface Outcome {
  /** h2spec's id of the case, e.g. "http2/5.1/2" (what `h2spec http2/5.1/2` runs alone). */
  id: string;
  description: string;
  result: 'passed' | 'failed' | 'skipped';
  /** What h2spec expected of a failed case and what it got, in one line. */
  message: string;
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return ENTITIES[name] ?? whole;
  });
}

/**
 * The cases of h2spec's JUnit report. A testcase's `package` is its group ("http2/6.5.3") and the case
 * number is its position in the group. h2spec writes a failed case as <error> (and would as <failure>),
 * with the expected lines and the actual one as raw text.
 */
function parseJUnit(xml: string): Outcome[] {
  const outcomes: Outcome[] = [];
  const seen = new Map<string, number>();
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attributes = new Map<string, string>();
    for (const a of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) attributes.set(a[1] ?? '', unescapeXml(a[2] ?? ''));
    const group = attributes.get('package') ?? '?';
    const sequence = (seen.get(group) ?? 0) + 1;
    seen.set(group, sequence);
    const body = m[2] ?? '';
    const failure = /<(failure|error)\b[^>]*>([\s\S]*?)<\/\1>/.exec(body) ?? /<(failure|error)\b[^>]*\/>/.exec(body);
    const skipped = /<skipped\b/.test(body);
    outcomes.push({
      id: `${group}/${sequence}`,
      description: attributes.get('classname') ?? '',
      result: failure !== null ? 'failed' : skipped ? 'skipped' : 'passed',
      message: failure === null ? '' : failureMessage(unescapeXml(failure[2] ?? '')),
    });
  }
  return outcomes;
}

/** h2spec's text of a failed case is its expected lines, then the actual one: "expected A or B; got C". */
function failureMessage(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && line !== 'Expect:' && line !== 'Actual:');
  if (lines.length < 2) return lines.join('');
  return `expected ${lines.slice(0, -1).join(' or ')}; got ${lines.at(-1)}`;
}

/** Runs a program; stderr goes to ours, stdout is collected. */
function run(program: string, args: readonly string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString() }));
  });
}

/** The path of the h2spec binary, built first if needed (progress on stderr). */
async function h2specBinary(): Promise<string> {
  const { h2spec } = (await import(pathToFileURL(TOOL).href)) as { h2spec: { build(): Promise<string> } };
  return h2spec.build();
}

/** The protocol the server picks by ALPN when offered h2 and http/1.1. */
function alpn(port: number): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false }, () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

const harness = new Harness();
afterEach(() => harness.close());

describe('HTTP/2 conformance (h2spec)', () => {
  let h2spec: string;
  let reports: string;

  beforeAll(async () => {
    h2spec = await h2specBinary();
    reports = await mkdtemp(path.join(os.tmpdir(), 'aio-h2spec-'));
  });
  afterAll(async () => {
    if (reports !== undefined) await rm(reports, { recursive: true, force: true });
  });

  async function conformance(name: string, tlsOptions: ServerTls | undefined): Promise<{ port: number; outcomes: Outcome[] }> {
    const server = harness.server({ auth: 'disabled', ...(tlsOptions === undefined ? {} : { tls: tlsOptions }) });
    server.add(GRPCInferenceService, fullInferenceImpl());
    const port = await server.start('127.0.0.1', 0);
    const report = path.join(reports, `${name}.xml`);
    // -S adds h2spec's one strict case (5.4.1/2: GOAWAY before closing on a connection error, a SHOULD);
    // -o is how long it waits for an expected frame, only spent when a case fails.
    const args = ['-h', '127.0.0.1', '-p', String(port), '-P', ROUTE, '-S', '-o', '5', '-j', report, ...(tlsOptions === undefined ? [] : ['-t', '-k'])];
    const { code, stdout } = await run(h2spec, args);
    // Without a report h2spec stopped early (it exits when it cannot connect): show why.
    const xml = await readFile(report, 'utf8').catch(() => {
      throw new Error(`h2spec ${args.join(' ')} exited with ${code} and wrote no report; its last output:\n${stdout.split('\n').slice(-30).join('\n')}`);
    });
    const outcomes = parseJUnit(xml);
    const count = (result: Outcome['result']): number => outcomes.filter((o) => o.result === result).length;
    console.info(`h2spec ${name}: ${outcomes.length} cases, ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
    return { port, outcomes };
  }

  /** One line per failed case, so a failure names exactly which sections fail and how. */
  const failures = (outcomes: Outcome[]): string[] =>
    outcomes.filter((o) => o.result === 'failed').map((o) => `${o.id} ${o.description}: ${o.message}`);

  it('passes every case in plaintext', async () => {
    const { outcomes } = await conformance('plaintext', undefined);
    expect(failures(outcomes)).toEqual([]);
    expect(outcomes.length, 'cases in the report').toBe(CASES);
  });

  it('passes every case over TLS, negotiated by ALPN as h2', async () => {
    const { port, outcomes } = await conformance('tls', TLS);
    expect(await alpn(port)).toBe('h2');
    expect(failures(outcomes)).toEqual([]);
    expect(outcomes.length, 'cases in the report').toBe(CASES);
  });
});
