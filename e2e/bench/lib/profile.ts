// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by where the code lives; and a
// sampling heap profile (DevTools HeapProfiler.stopSampling): bytes allocated by function and by area.
import { readFileSync } from 'node:fs';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by function, largest first. */
  functions: { name: string; where: string; ms: number; pct: number }[];
  /** Self time by area: idle, GC, JSON, kafkajs, mongodb driver + bson, protobuf, grpc-js, the service, node internals... */
  areas: { area: string; ms: number; pct: number }[];
}

export function areaOf(url: string, name: string): string {
  if (name === '(idle)') return 'idle (waiting on I/O)';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return 'V8/native (program)';
  if (name === 'parse' && url === '') return 'JSON.parse';
  if (name === 'stringify' && url === '') return 'JSON.stringify';
  if (url.includes('/kafkajs/')) return 'kafkajs';
  if (url.includes('/bson/')) return 'bson (driver serialisation)';
  if (url.includes('/mongodb/')) return 'mongodb driver';
  if (url.includes('/mongoose/')) return 'mongoose';
  if (url.includes('/@bufbuild/')) return 'protobuf-es';
  if (url.includes('/@grpc/')) return 'grpc-js';
  if (url.includes('/@nestjs/') || url.includes('/rxjs/')) return 'nest';
  if (url.includes('/@opentelemetry/')) return 'opentelemetry';
  const service = /\/services\/([^/]+)\//.exec(url);
  if (service !== null) return `${service[1]} service code`;
  if (url.includes('/libs/')) return 'platform libs (@aio/*)';
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return `native (${name || 'anonymous'})`;
  return 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const root = url.indexOf('/services/') >= 0 ? url.indexOf('/services/') : url.indexOf('/libs/');
  return root >= 0 ? url.slice(root + 1) : url;
}

export function summariseProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  return summarise(byId, self, top);
}

interface HeapNode {
  id: number;
  callFrame: CpuNode['callFrame'];
  selfSize: number;
  children?: HeapNode[];
}

/**
 * A sampling heap profile ({ head } from HeapProfiler.stopSampling, collected objects included): bytes
 * allocated by function and area, in the same shape as a CPU summary (`totalMs`, `ms` hold KiB there).
 */
export function summariseHeapProfile(file: string, top = 20): ProfileSummary {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const byId = new Map<number, CpuNode>();
  const self = new Map<number, number>();
  const stack = [head];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    byId.set(node.id, { id: node.id, callFrame: node.callFrame });
    self.set(node.id, (self.get(node.id) ?? 0) + node.selfSize);
    stack.push(...(node.children ?? []));
  }
  // summarise() divides by 1000 for ms; bytes / 1.024 makes that KiB.
  for (const [id, bytes] of self) self.set(id, bytes / 1.024);
  return summarise(byId, self, top);
}

/** Self cost (µs of CPU, or bytes) per profile node -> totals by function and by area. */
function summarise(byId: Map<number, CpuNode>, self: Map<number, number>, top: number): ProfileSummary {
  const fns = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where = url === '' ? '' : `${shortUrl(url)}:${lineNumber + 1}`;
    const k = `${name} ${where}`;
    const f = fns.get(k) ?? { name, where, us: 0 };
    f.us += us;
    fns.set(k, f);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    total += us;
  }
  const pct = (us: number): number => Math.round((1000 * us) / total) / 10;
  return {
    totalMs: Math.round(total / 1000),
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: Math.round(f.us / 1000), pct: pct(f.us) })),
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: Math.round(us / 1000), pct: pct(us) })),
  };
}
