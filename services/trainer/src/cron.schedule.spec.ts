import { describe, expect, it } from 'vitest';
import { CronError, parseCron } from './cron.schedule.js';

const at = (iso: string): Date => new Date(iso);
const next = (expr: string, after: string): string | undefined => parseCron(expr).next(at(after))?.toISOString();

describe('cron schedules (UTC)', () => {
  it('finds the next matching minute', () => {
    expect(next('*/15 * * * *', '2026-11-26T10:07:30Z')).toBe('2026-11-26T10:15:00.000Z');
    expect(next('0 3 * * *', '2026-11-26T03:00:00Z')).toBe('2026-11-27T03:00:00.000Z');
    expect(next('30 2 1 * *', '2026-12-15T00:00:00Z')).toBe('2027-01-01T02:30:00.000Z');
    expect(next('0 9 * * 1-5', '2026-11-28T12:00:00Z')).toBe('2026-11-30T09:00:00.000Z'); // Saturday -> Monday
    expect(next('0 0 * * 7', '2026-11-26T00:00:00Z')).toBe('2026-11-29T00:00:00.000Z'); // 7 is Sunday too
    expect(next('0 12 29 2 *', '2026-03-01T00:00:00Z')).toBe('2028-02-29T12:00:00.000Z');
    expect(next('5,35 8-9 * * *', '2026-11-26T08:10:00Z')).toBe('2026-11-26T08:35:00.000Z');
  });

  it('matches either day field when both are restricted, as cron does', () => {
    expect(next('0 0 13 * 5', '2026-11-26T00:00:00Z')).toBe('2026-11-27T00:00:00.000Z'); // a Friday before the 13th
  });

  it('says what is wrong with a bad expression', () => {
    expect(() => parseCron('* * * *')).toThrow(new CronError('"* * * *" has 4 fields; a cron expression has 5: minute hour day-of-month month day-of-week'));
    expect(() => parseCron('60 * * * *')).toThrow(/minute "60": values must be within 0-59/);
    expect(() => parseCron('* * * * mon')).toThrow(/day-of-week "mon": use \*/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/the step must be at least 1/);
    expect(parseCron('0 0 31 2 *').next(at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });
});
