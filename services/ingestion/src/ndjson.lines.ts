/** Longest NDJSON line accepted, in bytes (one record). */
export const MAX_LINE_BYTES = 1 << 20;

export interface Line {
  /** 1-based line number in the body. */
  number: number;
  text: string;
}

/** A body line longer than the limit: the request is refused naming it. */
export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(readonly line: number) {
    super(`line ${line}: longer than ${MAX_LINE_BYTES} bytes`);
  }
}

/**
 * Splits a byte stream into lines (\n or \r\n), skipping blank ones, holding at most one line plus
 * one chunk in memory; throws LineTooLongError as soon as a line outgrows `maxBytes`.
 */
export async function* ndjsonLines(body: AsyncIterable<Uint8Array | string>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let size = 0;
  let number = 1;
  const finish = (tail: Buffer): Line | undefined => {
    const text = Buffer.concat([...parts, tail]).toString('utf8').replace(/\r$/, '');
    parts = [];
    size = 0;
    const line = { number: number++, text };
    return text.trim() === '' ? undefined : line;
  };
  for await (const raw of body) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10)) {
      if (size + nl > maxBytes) throw new LineTooLongError(number);
      const line = finish(chunk.subarray(0, nl));
      if (line !== undefined) yield line;
      chunk = chunk.subarray(nl + 1);
    }
    size += chunk.length;
    if (size > maxBytes) throw new LineTooLongError(number);
    if (chunk.length > 0) parts.push(chunk);
  }
  if (size > 0) {
    const line = finish(Buffer.alloc(0));
    if (line !== undefined) yield line;
  }
}
