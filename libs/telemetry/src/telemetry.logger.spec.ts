import { describe, expect, it } from 'vitest';
import { LogOutput } from './telemetry.logger.js';

function output(json: boolean, level: 'debug' | 'info' | 'warn' | 'error' = 'info') {
  const lines: string[] = [];
  return { lines, out: new LogOutput({ serviceName: 'svc', level, stdout: true, json, write: (line) => lines.push(line) }) };
}

describe('LogOutput', () => {
  it('writes one JSON object per line with ECS-style keys', () => {
    const { lines, out } = output(true);
    out.emit('models', 'warn', 'slow query', { 'db.ms': 812 }, new Error('timeout'));
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(record).toMatchObject({
      'log.level': 'warn',
      'log.logger': 'models',
      'service.name': 'svc',
      message: 'slow query',
      'db.ms': 812,
      'error.type': 'Error',
      'error.message': 'timeout',
    });
    expect(record).not.toHaveProperty('trace.id');
  });

  it('writes a readable line for people, with the stack on the following lines', () => {
    const { lines, out } = output(false);
    out.emit('models', 'info', 'loaded', { name: 'churn v2', rows: 3 }, undefined);
    out.emit('models', 'error', 'failed', undefined, new Error('bad'));
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[models\] loaded name="churn v2" rows=3\n$/);
    expect(lines[1]).toMatch(/ERROR \[models\] failed\nError: bad\n {4}at /);
  });

  it('drops records below the configured level', () => {
    const { lines, out } = output(true, 'warn');
    out.emit('c', 'debug', 'no', undefined, undefined);
    out.emit('c', 'info', 'no', undefined, undefined);
    out.emit('c', 'error', 'yes', undefined, undefined);
    expect(lines).toHaveLength(1);
    expect(out.enabled('warn')).toBe(true);
    expect(out.enabled('info')).toBe(false);
  });

  it('survives attributes that cannot be serialised', () => {
    const { lines, out } = output(true);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    out.emit('c', 'info', 'odd', { circular, big: 10n }, undefined);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ message: 'odd', circular: { self: '[circular]' }, big: '10' });
  });
});
