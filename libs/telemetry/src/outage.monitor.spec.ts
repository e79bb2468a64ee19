import { describe, expect, it } from 'vitest';
import { OutageMonitor, type NoticeWriter } from './outage.monitor.js';

function recorder() {
  const notices: { level: string; message: string }[] = [];
  const write: NoticeWriter = (level, message) => notices.push({ level, message });
  return { notices, write };
}

describe('OutageMonitor', () => {
  it('warns once when an outage starts, however many batches fail, and once when it ends', () => {
    const { notices, write } = recorder();
    let now = 1_000;
    const monitor = new OutageMonitor('http://127.0.0.1:9200', write, () => now);

    monitor.success();
    expect(notices).toEqual([]);

    for (let i = 0; i < 5; i++) monitor.failure(i % 2 === 0 ? 'traces' : 'logs', 'connect ECONNREFUSED', 'records wait in memory');
    monitor.droppedWhileDown(7);
    expect(monitor.down).toBe(true);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: 'warn' });
    expect(notices[0]?.message).toContain('ECONNREFUSED');
    expect(notices[0]?.message).toContain('records wait in memory');

    now = 13_500;
    monitor.success();
    monitor.success();
    expect(monitor.down).toBe(false);
    expect(notices).toHaveLength(2);
    expect(notices[1]?.level).toBe('info');
    expect(notices[1]?.message).toContain('after 12.5 s');
    expect(notices[1]?.message).toContain('7 records were dropped');

    monitor.failure('logs', 'HTTP 503', 'records wait in memory');
    expect(notices).toHaveLength(3);
  });

  it('counts drops only while down', () => {
    const { notices, write } = recorder();
    const monitor = new OutageMonitor('http://x', write);
    monitor.droppedWhileDown(3);
    monitor.failure('traces', 'down', 'hint');
    monitor.droppedWhileDown(2);
    monitor.success();
    expect(notices[1]?.message).toContain('2 records were dropped');
  });

  it('reports each kind of item rejection once', () => {
    const { notices, write } = recorder();
    const monitor = new OutageMonitor('http://x', write);
    monitor.rejected('logs', 'mapper_parsing_exception', 'failed to parse field');
    monitor.rejected('logs', 'mapper_parsing_exception', 'failed to parse field');
    monitor.rejected('traces', 'mapper_parsing_exception', 'failed to parse field');
    expect(notices).toHaveLength(2);
    expect(monitor.down).toBe(false);
  });
});
