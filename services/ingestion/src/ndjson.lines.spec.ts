import { describe, expect, it } from 'vitest';
import { LineTooLongError, ndjsonLines, type Line } from './ndjson.lines.js';

async function lines(chunks: string[], max?: number): Promise<Line[]> {
  const out: Line[] = [];
  const source = chunks.map((c) => Buffer.from(c, 'utf8'));
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const chunk of source) yield await Promise.resolve(chunk);
  }
  for await (const line of ndjsonLines(body(), max)) out.push(line);
  return out;
}

describe('ndjsonLines', () => {
  it('splits across chunks, numbers lines from 1, skips blank lines and strips \\r', async () => {
    expect(await lines(['{"a":1}\n{"b"', ':2}\r\n\n  \n{"c":3}'])).toEqual([
      { number: 1, text: '{"a":1}' },
      { number: 2, text: '{"b":2}' },
      { number: 5, text: '{"c":3}' },
    ]);
    expect(await lines(['é', '\n'])).toEqual([{ number: 1, text: 'é' }]);
    expect(await lines([])).toEqual([]);
  });

  it('refuses a line longer than the limit, naming it, without buffering the rest', async () => {
    await expect(lines(['ok\n', 'x'.repeat(6), 'x'], 6)).rejects.toEqual(new LineTooLongError(2));
    await expect(lines(['ok\nxxxxxxxx\n'], 6)).rejects.toMatchObject({ line: 2 });
    expect(await lines(['xxxxxx\n'], 6)).toEqual([{ number: 1, text: 'xxxxxx' }]);
  });
});
