// Kafka's own consumer ceiling: kafka-consumer-perf-test (org.apache.kafka.tools.ConsumerPerformance
// in kafka-tools) with the cached broker jars, reading the whole topic with a new group.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../lib/result.ts';

const run = promisify(execFile);
export const KAFKA_LIB = path.join(ROOT, '.infra', 'kafka', 'lib');

export interface PerfResult {
  /** Records per second over the fetch time (group join excluded), as reported by the tool. */
  fetchRecordsPerSec: number;
  /** Records per second from the tool's start to end, group join included. */
  totalRecordsPerSec: number;
  records: number;
  mb: number;
  rebalanceMs: number;
  fetchMs: number;
}

export async function consumerPerf(opts: { brokers: string; topic: string; group: string; records: number }): Promise<PerfResult> {
  const java = process.env['JAVA_HOME'] ? path.join(process.env['JAVA_HOME'], 'bin', 'java') : 'java';
  const { stdout } = await run(
    java,
    [
      '-Xmx512m',
      '-cp',
      `${KAFKA_LIB}/*`,
      // Quiet: the tool's output is the one CSV line we parse.
      '-Dlog4j2.level=WARN',
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      opts.brokers,
      '--topic',
      opts.topic,
      '--group',
      opts.group,
      '--num-records',
      String(opts.records),
      '--timeout',
      '30000',
    ],
    { cwd: ROOT, maxBuffer: 4 * 1024 * 1024, timeout: 300_000 },
  );
  return parsePerfOutput(stdout);
}

/**
 * start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
 * rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
 */
export function parsePerfOutput(stdout: string): PerfResult {
  const lines = stdout.split('\n').map((l) => l.trim());
  const header = lines.findIndex((l) => l.startsWith('start.time'));
  const data = header >= 0 ? lines[header + 1] : undefined;
  if (data === undefined || data === '') throw new Error(`ConsumerPerformance printed no result:\n${stdout}`);
  const cols = data.split(',').map((c) => c.trim());
  const num = (i: number): number => Number(cols[i]);
  return { mb: num(2), records: num(4), totalRecordsPerSec: num(5), rebalanceMs: num(6), fetchMs: num(7), fetchRecordsPerSec: num(9) };
}
