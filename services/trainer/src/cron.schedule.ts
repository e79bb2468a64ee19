// A 5-field cron expression (minute hour day-of-month month day-of-week, UTC): parsing with errors a
// person can act on, and the next matching minute after a given time. Standard semantics: when both
// day-of-month and day-of-week are restricted, a day matching either one matches.

interface Field {
  name: string;
  min: number;
  max: number;
}

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
];

export class CronError extends Error {
  override readonly name = 'CronError';
}

export interface CronSchedule {
  readonly expression: string;
  /** The first minute strictly after `after` that matches, or undefined when none does within ~5 years. */
  next(after: Date): Date | undefined;
}

function parseField(text: string, field: Field): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new CronError(`${field.name} "${part}": use *, a number, a range a-b, a list a,b or a step */n`);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    if (step < 1) throw new CronError(`${field.name} "${part}": the step must be at least 1`);
    const from = m[1] === '*' ? field.min : Number(m[2]);
    const to = m[1] === '*' ? field.max : m[3] === undefined ? (m[4] === undefined ? from : field.max) : Number(m[3]);
    if (from < field.min || to > field.max || from > to) {
      throw new CronError(`${field.name} "${part}": values must be within ${field.min}-${field.max}, low to high`);
    }
    for (let v = from; v <= to; v += step) values.add(field.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return values;
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError(`"${expression}" has ${parts.length} fields; a cron expression has 5: minute hour day-of-month month day-of-week`);
  const [minutes, hours, days, months, weekdays] = parts.map((p, i) => parseField(p, FIELDS[i] as Field)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const anyDay = parts[2] === '*';
  const anyWeekday = parts[4] === '*';
  const dayMatches = (d: Date): boolean => {
    const dom = days.has(d.getUTCDate());
    const dow = weekdays.has(d.getUTCDay());
    if (anyDay && anyWeekday) return true;
    if (anyDay) return dow;
    if (anyWeekday) return dom;
    return dom || dow;
  };
  return {
    expression,
    next(after) {
      const t = new Date(after.getTime());
      t.setUTCSeconds(0, 0);
      t.setUTCMinutes(t.getUTCMinutes() + 1);
      const limit = after.getTime() + 5 * 366 * 24 * 3600_000;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1) || !dayMatches(t)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!hours.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
          continue;
        }
        if (!minutes.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
          continue;
        }
        return t;
      }
      return undefined;
    },
  };
}
