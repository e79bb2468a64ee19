// A process's resident memory, read from /proc: the one way every benchmark measures memory.
import { readFileSync } from 'node:fs';
import { median } from './result.ts';

export const MiB = 1024 * 1024;

/**
 * Resident memory of a process in bytes (VmRSS from /proc: read at any moment, not at the exporter's
 * collection, which process_resident_memory_bytes on :8002 would be).
 */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** RSS after `settleMs`, as the median of 10 reads `everyMs` apart, with their spread (the noise floor). */
export async function settledRss(pid: number, settleMs: number, everyMs: number): Promise<{ median: number; spread: number }> {
  await sleep(settleMs);
  const reads: number[] = [];
  for (let i = 0; i < 10; i++) {
    reads.push(rssBytes(pid));
    await sleep(everyMs);
  }
  return { median: median(reads), spread: Math.max(...reads) - Math.min(...reads) };
}
