import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder, HpackError } from './hpack.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Decodes a block into [name, value] tuples, easier to read in expectations. */
function fields(decoder: HpackDecoder, block: Uint8Array): string[][] {
  const flat = decoder.decode(block);
  const out: string[][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

/** The dynamic table, newest first, read through indexed fields (62, 63, ...) until one is beyond it. */
function dynamicTable(decoder: HpackDecoder): string[][] {
  const entries: string[][] = [];
  for (let index = 62; ; index++) {
    const block = index < 127 ? Buffer.from([0x80 | index]) : Buffer.from([0xff, index - 127]);
    try {
      entries.push(fields(decoder, block)[0] as string[]);
    } catch (error) {
      expect(error).toBeInstanceOf(HpackError);
      return entries;
    }
  }
}

function listSize(pairs: string[][]): number {
  return pairs.reduce((sum, [name, value]) => sum + (name as string).length + (value as string).length + 32, 0);
}

// Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// RFC 7541 Appendix B as bit lengths only (bytes 0..255, then EOS): the code is canonical, so the codes
// follow from the lengths. The encoder below derives them that way, independently of the table in hpack.ts.
const HUFFMAN_LENGTHS = (
  '13 23 28 28 28 28 28 28 28 24 30 28 28 30 28 28 28 28 28 28 28 28 30 28 28 28 28 28 28 28 28 28 ' +
  '6 10 10 12 13 6 8 11 10 10 8 11 8 6 6 6 5 5 5 6 6 6 6 6 6 6 7 8 15 6 12 10 ' +
  '13 6 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 8 7 8 13 19 13 14 6 ' +
  '15 5 6 5 6 5 6 6 6 5 7 7 6 6 6 5 6 7 6 5 5 6 7 7 7 7 7 15 11 14 13 28 ' +
  '20 22 20 20 22 22 22 23 22 23 23 23 23 23 24 23 24 24 22 23 24 23 23 23 23 21 22 23 22 23 23 24 ' +
  '22 21 20 22 22 23 23 21 23 22 22 24 21 22 23 23 21 21 22 21 23 22 23 23 20 22 22 22 23 22 22 23 ' +
  '26 26 20 19 22 23 22 25 26 26 26 27 27 26 24 25 19 21 26 27 27 26 27 24 21 21 26 26 28 27 27 27 ' +
  '20 24 20 21 22 21 21 23 22 22 25 25 24 24 26 23 26 27 26 26 27 27 27 27 27 28 27 27 27 27 27 26 ' +
  '30'
)
  .split(' ')
  .map(Number);
const HUFFMAN_TEST_CODES: bigint[] = (() => {
  const codes = new Array<bigint>(257);
  const order = [...HUFFMAN_LENGTHS.keys()].sort((a, b) => (HUFFMAN_LENGTHS[a] as number) - (HUFFMAN_LENGTHS[b] as number) || a - b);
  let code = 0n;
  let previous = HUFFMAN_LENGTHS[order[0] as number] as number;
  for (const [i, symbol] of order.entries()) {
    const length = HUFFMAN_LENGTHS[symbol] as number;
    if (i > 0) code = (code + 1n) << BigInt(length - previous);
    previous = length;
    codes[symbol] = code;
  }
  return codes;
})();

function huffmanEncode(bytes: Iterable<number>): Buffer {
  let bits = 0n;
  let count = 0;
  for (const byte of bytes) {
    bits = (bits << BigInt(HUFFMAN_LENGTHS[byte] as number)) | (HUFFMAN_TEST_CODES[byte] as bigint);
    count += HUFFMAN_LENGTHS[byte] as number;
  }
  const padding = (8 - (count % 8)) % 8;
  bits = (bits << BigInt(padding)) | ((1n << BigInt(padding)) - 1n);
  const out = Buffer.alloc((count + padding) / 8);
  for (let i = out.length - 1; i >= 0; i--, bits >>= 8n) out[i] = Number(bits & 0xffn);
  return out;
}

/** An HPACK integer with an N-bit prefix. */
function integer(flags: number, prefixBits: number, value: number): number[] {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return [flags | value];
  const out = [flags | mask];
  let rest = value - mask;
  for (; rest >= 128; rest = Math.floor(rest / 128)) out.push((rest & 0x7f) | 0x80);
  out.push(rest);
  return out;
}

/** A literal-without-indexing field with a literal name "x" and the given value string bytes. */
function literalX(value: Buffer, huffman: boolean): Buffer {
  return Buffer.from([0x00, 0x01, 0x78, ...integer(huffman ? 0x80 : 0x00, 7, value.length), ...value]);
}

describe('HpackDecoder: RFC 7541 Appendix C', () => {
  it('C.2.1 literal with indexing adds to the table', () => {
    const decoder = new HpackDecoder();
    expect(fields(decoder, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).toEqual([['custom-key', 'custom-header']]);
    expect(dynamicTable(decoder)).toEqual([['custom-key', 'custom-header']]);
    expect(decoder.lastListSize).toBe(55);
  });

  it('C.2.2 literal without indexing leaves the table empty', () => {
    const decoder = new HpackDecoder();
    expect(fields(decoder, hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([[':path', '/sample/path']]);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  it('C.2.3 literal never indexed leaves the table empty', () => {
    const decoder = new HpackDecoder();
    expect(fields(decoder, hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual([['password', 'secret']]);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  it('C.2.4 indexed field from the static table', () => {
    const decoder = new HpackDecoder();
    expect(fields(decoder, hex('82'))).toEqual([[':method', 'GET']]);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  const request1 = [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ];
  const request2 = [...request1, ['cache-control', 'no-cache']];
  const request3 = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ];

  it.each([
    [
      'C.3 requests without Huffman coding',
      [
        '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '8286 84be 5808 6e6f 2d63 6163 6865',
        '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      ],
    ],
    [
      'C.4 requests with Huffman coding',
      ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'],
    ],
  ])('%s, one decoder across the three', (_name, blocks) => {
    const decoder = new HpackDecoder();
    expect(fields(decoder, hex(blocks[0] as string))).toEqual(request1);
    expect(dynamicTable(decoder)).toEqual([[':authority', 'www.example.com']]);
    expect(fields(decoder, hex(blocks[1] as string))).toEqual(request2);
    expect(decoder.lastListSize).toBe(listSize(request2));
    expect(dynamicTable(decoder)).toEqual([
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ]);
    expect(fields(decoder, hex(blocks[2] as string))).toEqual(request3);
    expect(dynamicTable(decoder)).toEqual([
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ]);
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const location = 'https://www.example.com';
  const response1 = [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', date1],
    ['location', location],
  ];
  const response2 = [[':status', '307'], ...response1.slice(1)];
  const response3 = [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', date2],
    ['location', location],
    ['content-encoding', 'gzip'],
    ['set-cookie', cookie],
  ];

  it.each([
    [
      'C.5 responses without Huffman coding',
      [
        '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768' +
          '7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '4803 3330 37c1 c0bf',
        '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153' +
          '444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
      ],
    ],
    [
      'C.6 responses with Huffman coding',
      [
        '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8' +
          'e9ae 82ae 43d3',
        '4883 640e ffc1 c0bf',
        '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b' +
          '3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
      ],
    ],
  ])('%s, a 256-octet table with evictions', (_name, blocks) => {
    // SETTINGS_HEADER_TABLE_SIZE is 256 in these examples.
    const decoder = new HpackDecoder(256);
    expect(fields(decoder, hex(blocks[0] as string))).toEqual(response1);
    expect(dynamicTable(decoder)).toEqual([
      ['location', location],
      ['date', date1],
      ['cache-control', 'private'],
      [':status', '302'],
    ]);
    expect(fields(decoder, hex(blocks[1] as string))).toEqual(response2);
    expect(dynamicTable(decoder)).toEqual([
      [':status', '307'],
      ['location', location],
      ['date', date1],
      ['cache-control', 'private'],
    ]);
    expect(fields(decoder, hex(blocks[2] as string))).toEqual(response3);
    expect(decoder.lastListSize).toBe(listSize(response3));
    expect(dynamicTable(decoder)).toEqual([
      ['set-cookie', cookie],
      ['content-encoding', 'gzip'],
      ['date', date2],
    ]);
  });

  it('C.1 integers: 10 and 1337 on a 5-bit prefix (as dynamic table size updates)', () => {
    expect(fields(new HpackDecoder(10), Buffer.from([0x2a]))).toEqual([]);
    expect(() => new HpackDecoder(9).decode(Buffer.from([0x2a]))).toThrow(HpackError);
    expect(fields(new HpackDecoder(1337), hex('3f9a0a'))).toEqual([]);
    expect(() => new HpackDecoder(1336).decode(hex('3f9a0a'))).toThrow(HpackError);
  });
});

describe('HpackDecoder: Huffman', () => {
  it("has, in this test's encoder, the RFC's code: complete, and encoding Appendix C's strings as printed", () => {
    expect(HUFFMAN_LENGTHS.reduce((sum, length) => sum + 2 ** -length, 0)).toBe(1);
    expect([0, 10, 48, 97, 127, 255, 256].map((b) => (HUFFMAN_TEST_CODES[b] as bigint).toString(16))).toEqual([
      '1ff8',
      '3ffffffc',
      '0',
      '3',
      'ffffffc',
      '3ffffee',
      '3fffffff',
    ]);
    expect(huffmanEncode(Buffer.from('www.example.com'))).toEqual(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'));
    expect(huffmanEncode(Buffer.from('custom-value'))).toEqual(hex('25a8 49e9 5bb8 e8b4 bf'));
    expect(huffmanEncode(Buffer.from('foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'))).toEqual(
      hex('94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07'),
    );
  });

  it('decodes every byte value, alone and in strings, from an encoder derived from the code lengths', () => {
    const decoder = new HpackDecoder();
    for (let byte = 0; byte < 256; byte++) {
      expect(fields(decoder, literalX(huffmanEncode([byte]), true))).toEqual([['x', String.fromCharCode(byte)]]);
    }
    const all = [...Array(256).keys()];
    const strings = [all, all.toReversed(), all.flatMap((b) => [b, 0x61, b, 0x30])];
    const next = random(7);
    for (let i = 0; i < 200; i++) strings.push(Array.from({ length: Math.floor(next() * 60) }, () => Math.floor(next() * 256)));
    for (const bytes of strings) {
      expect(fields(decoder, literalX(huffmanEncode(bytes), true))).toEqual([['x', Buffer.from(bytes).toString('latin1')]]);
    }
  });

  it('decodes an empty Huffman string and Huffman-coded names', () => {
    const decoder = new HpackDecoder();
    const name = huffmanEncode(Buffer.from('grpc-status'));
    const block = Buffer.from([0x00, 0x80 | name.length, ...name, 0x80]);
    expect(fields(decoder, block)).toEqual([['grpc-status', '']]);
  });

  it.each([
    ['padding longer than 7 bits', [0x1f, 0xff]],
    ['a whole byte of padding', [0xff]],
    ['padding that is not all ones', [0x1e]],
    ['padding of zeros', [0x18]],
    ['EOS followed by a symbol', [0xff, 0xff, 0xff, 0xfc, 0x7f]],
    ['EOS at the end', [0xff, 0xff, 0xff, 0xff]],
    ['a truncated code', [0xfe]],
  ])('rejects %s', (_name, bytes) => {
    // 'a' is 00011: 0x1f is 'a' and 3 bits of padding, valid; each case breaks that.
    expect(fields(new HpackDecoder(), literalX(Buffer.from([0x1f]), true))).toEqual([['x', 'a']]);
    expect(() => new HpackDecoder().decode(literalX(Buffer.from(bytes), true))).toThrow(HpackError);
  });
});

describe('HpackDecoder: malformed blocks', () => {
  it.each([
    ['index 0', '80'],
    ['an index beyond the empty dynamic table', 'be'],
    ['an index far beyond the table', 'ff ff 01'],
    ['a name index beyond the table', '7e 01 61'],
    ['a never-indexed name index beyond the table', '1f 30 01 61'],
    ['a truncated integer', 'ff'],
    ['an integer cut inside its continuation bytes', '3f ff 80'],
    ['an integer with too many continuation bytes', 'ff 80 80 80 80 80 00'],
    ['an integer above 2^31', 'ff ff ff ff ff 0f'],
    ['a string longer than the block', '04 05 61 62'],
    ['a missing value', '04'],
    ['a missing name', '00'],
    ['a missing value after a literal name', '00 01 61'],
    ['a size update above the advertised maximum', '3f e2 1f'],
    ['a size update after a field', '82 20'],
    ['a size update after a field, not first', '20 82 20'],
  ])('rejects %s', (_name, block) => {
    expect(() => new HpackDecoder().decode(hex(block))).toThrow(HpackError);
  });

  it('accepts the largest integer and a size update equal to the maximum', () => {
    // 0x7fffffff as an index: valid integer, then beyond the table.
    expect(() => new HpackDecoder().decode(Buffer.from(integer(0x80, 7, 0x7fffffff)))).toThrow(/beyond the table/);
    expect(fields(new HpackDecoder(), hex('3f e1 1f'))).toEqual([]);
  });
});

describe('HpackDecoder: dynamic table', () => {
  it('applies several size updates at the start of a block, evicting as they shrink the table', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('400161016240016301644001650166'));
    expect(dynamicTable(decoder)).toEqual([
      ['e', 'f'],
      ['c', 'd'],
      ['a', 'b'],
    ]);
    // Down to 68 (two entries of 34), then up to 4096: the oldest entry is gone.
    expect(fields(decoder, Buffer.from([...integer(0x20, 5, 68), ...integer(0x20, 5, 4096), 0x82]))).toEqual([[':method', 'GET']]);
    expect(dynamicTable(decoder)).toEqual([
      ['e', 'f'],
      ['c', 'd'],
    ]);
    expect(fields(decoder, hex('20'))).toEqual([]);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  it('evicts oldest first to make room, and an entry larger than the table empties it', () => {
    const decoder = new HpackDecoder(100);
    // Entries of 32 + 2 + 10 = 44: two fit in 100.
    const insert = (name: string): Buffer => Buffer.from([0x40, 0x02, ...Buffer.from(name), 0x0a, ...Buffer.from('0123456789')]);
    decoder.decode(insert('n1'));
    decoder.decode(insert('n2'));
    decoder.decode(insert('n3'));
    expect(dynamicTable(decoder)).toEqual([
      ['n3', '0123456789'],
      ['n2', '0123456789'],
    ]);
    // 32 + 1 + 67 = 100 fits alone (evicting both); one more byte does not fit at all.
    const fits = 'v'.repeat(67);
    expect(fields(decoder, Buffer.from([0x40, 0x01, 0x62, 67, ...Buffer.from(fits)]))).toEqual([['b', fits]]);
    expect(dynamicTable(decoder)).toEqual([['b', fits]]);
    const big = 'v'.repeat(68);
    expect(fields(decoder, Buffer.from([0x40, 0x01, 0x62, 68, ...Buffer.from(big)]))).toEqual([['b', big]]);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  it('keeps many entries in order as the table grows and wraps around', () => {
    const decoder = new HpackDecoder();
    const inserted: string[][] = [];
    for (let i = 0; i < 400; i++) {
      const name = `k${i}`;
      const value = 'v'.repeat(i % 50);
      decoder.decode(Buffer.from([0x40, name.length, ...Buffer.from(name), value.length, ...Buffer.from(value)]));
      inserted.unshift([name, value]);
      if (i % 37 === 0 || i === 399) {
        const expected: string[][] = [];
        let size = 0;
        for (const entry of inserted) {
          size += (entry[0] as string).length + (entry[1] as string).length + 32;
          if (size > 4096) break;
          expected.push(entry);
        }
        expect(dynamicTable(decoder)).toEqual(expected);
      }
    }
  });

  it('takes names as they are (no case folding)', () => {
    expect(fields(new HpackDecoder(), hex('00 03 58 2d 41 01 42'))).toEqual([['X-A', 'B']]);
  });
});

describe('HpackDecoder: cache', () => {
  // :method POST, :scheme http, :path as a literal without indexing, then dynamic index 62.
  const steady = Buffer.from([0x83, 0x86, 0x04, 0x05, ...Buffer.from('/a/Bc'), 0xbe]);

  it('returns the same result for the same bytes while the table is unchanged, and the new one after it changed', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('40 02 74 65 08 74 72 61 69 6c 65 72 73')); // te: trailers
    const first = decoder.decode(steady);
    expect(first).toEqual([':method', 'POST', ':scheme', 'http', ':path', '/a/Bc', 'te', 'trailers']);
    expect(decoder.lastListSize).toBe(7 + 4 + (7 + 4) + (5 + 5) + (2 + 8) + 4 * 32);
    // Cached: the very same array.
    expect(decoder.decode(steady)).toBe(first);
    decoder.decode(hex('82'));
    expect(decoder.lastListSize).toBe(7 + 3 + 32);
    expect(decoder.decode(steady)).toBe(first);
    expect(decoder.lastListSize).toBe(7 + 4 + (7 + 4) + (5 + 5) + (2 + 8) + 4 * 32);
    // A new entry at 62: the same bytes now mean something else.
    decoder.decode(hex('40 01 78 01 79'));
    const second = decoder.decode(steady);
    expect(second).toEqual([':method', 'POST', ':scheme', 'http', ':path', '/a/Bc', 'x', 'y']);
    expect(decoder.lastListSize).toBe(7 + 4 + (7 + 4) + (5 + 5) + (1 + 1) + 4 * 32);
    // A size update that evicts everything: index 62 is now an error, not a cached answer.
    decoder.decode(hex('20'));
    expect(() => decoder.decode(steady)).toThrow(HpackError);
  });

  it('never caches a block that changes the table: replaying it inserts again', () => {
    const decoder = new HpackDecoder();
    const insert = hex('40 01 61 01 62');
    decoder.decode(insert);
    decoder.decode(insert);
    expect(dynamicTable(decoder)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });

  it('gives right results and list sizes across more distinct blocks than it holds, and for large uncached blocks', () => {
    const decoder = new HpackDecoder();
    const blocks = Array.from({ length: 80 }, (_, i) => Buffer.from([0x82, 0x04, 0x03, ...Buffer.from(`/${String(i).padStart(2, '0')}`)]));
    const large = Buffer.from([0x00, 0x01, 0x62, ...integer(0, 7, 400), ...Buffer.alloc(400, 0x7a)]);
    for (let round = 0; round < 3; round++) {
      for (const [i, block] of blocks.entries()) {
        expect(fields(decoder, block)).toEqual([
          [':method', 'GET'],
          [':path', `/${String(i).padStart(2, '0')}`],
        ]);
        expect(decoder.lastListSize).toBe(7 + 3 + 5 + 3 + 64);
        if (i % 10 === 0) {
          expect(fields(decoder, large)).toEqual([['b', 'z'.repeat(400)]]);
          expect(decoder.lastListSize).toBe(1 + 400 + 32);
        }
      }
    }
  });

  it('decodes from a plain Uint8Array and an offset view', () => {
    const decoder = new HpackDecoder();
    const bytes = hex('ff 04 05 2f 61 62 63 64 82');
    expect(fields(decoder, new Uint8Array(bytes.subarray(1)))).toEqual([
      [':path', '/abcd'],
      [':method', 'GET'],
    ]);
    expect(fields(decoder, bytes.subarray(1))).toEqual([
      [':path', '/abcd'],
      [':method', 'GET'],
    ]);
  });
});

describe('encodeHeaders', () => {
  it('uses the static table: exact match indexed, name only as an indexed name, else a literal name', () => {
    expect(encodeHeaders([':status', '200'])).toEqual(hex('88'));
    expect(encodeHeaders(['content-type', 'application/grpc'])).toEqual(Buffer.from([0x0f, 0x10, 16, ...Buffer.from('application/grpc')]));
    expect(encodeHeaders([':status', '418'])).toEqual(Buffer.from([0x08, 3, ...Buffer.from('418')]));
    expect(encodeHeaders(['grpc-status', '0'])).toEqual(Buffer.from([0x00, 11, ...Buffer.from('grpc-status'), 1, 0x30]));
    expect(encodeHeaders(['accept', ''])).toEqual(hex('93'));
    expect(encodeHeaders([])).toEqual(Buffer.alloc(0));
  });

  it('round-trips random pairs through the decoder without touching its table', () => {
    const next = random(11);
    const staticNames = [':status', 'content-type', 'date', 'www-authenticate', 'accept-encoding', ':path', 'set-cookie'];
    const staticValues = ['200', '', 'gzip, deflate', '/', '/index.html', '404'];
    const decoder = new HpackDecoder();
    for (let round = 0; round < 200; round++) {
      const pairs: string[] = [];
      const count = Math.floor(next() * 20);
      for (let i = 0; i < count; i++) {
        const roll = next();
        const name =
          roll < 0.4
            ? (staticNames[Math.floor(next() * staticNames.length)] as string)
            : Array.from({ length: 1 + Math.floor(next() * 40) }, () => String.fromCharCode(0x61 + Math.floor(next() * 26))).join('');
        const value =
          next() < 0.3
            ? (staticValues[Math.floor(next() * staticValues.length)] as string)
            : Array.from({ length: Math.floor(next() * (next() < 0.1 ? 3000 : 60)) }, () => String.fromCharCode(Math.floor(next() * 256))).join('');
        pairs.push(name, value);
      }
      const block = encodeHeaders(pairs);
      expect(decoder.decode(block)).toEqual(pairs);
      expect(decoder.lastListSize).toBe(pairs.reduce((sum, s) => sum + s.length, 0) + 16 * pairs.length);
    }
    expect(dynamicTable(decoder)).toEqual([]);
  });
});

describe('HpackDecoder against nghttp2 (node:http2 client)', () => {
  const SETTINGS = hex('000000 04 00 00000000');
  const SETTINGS_ACK = hex('000000 04 01 00000000');

  interface Capture {
    blocks: Buffer[];
    continuations: number;
  }

  /** Sends the requests from a node:http2 client to a raw TCP server and returns their header blocks, in order. */
  async function capture(requests: Array<Record<string, string>>): Promise<Capture> {
    const result: Capture = { blocks: [], continuations: 0 };
    const closed: Array<Promise<unknown>> = [];
    let received!: () => void;
    const done = new Promise<void>((resolve) => (received = resolve));
    const server = net.createServer((socket) => {
      closed.push(once(socket, 'close'));
      socket.write(SETTINGS);
      let pending = Buffer.alloc(0);
      let preface = false;
      let fragments: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        if (!preface) {
          if (pending.length < 24) return;
          expect(pending.subarray(0, 24).toString('latin1')).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
          pending = pending.subarray(24);
          preface = true;
        }
        while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
          const length = pending.readUIntBE(0, 3);
          const type = pending[3];
          const flags = pending[4] as number;
          let payload = pending.subarray(9, 9 + length);
          pending = pending.subarray(9 + length);
          if (type === 0x4 && (flags & 0x1) === 0) socket.write(SETTINGS_ACK);
          if (type === 0x1) {
            if ((flags & 0x8) !== 0) payload = payload.subarray(1, payload.length - (payload[0] as number));
            if ((flags & 0x20) !== 0) payload = payload.subarray(5);
            fragments = [payload];
          } else if (type === 0x9) {
            fragments.push(payload);
            result.continuations++;
          } else {
            continue;
          }
          if ((flags & 0x4) !== 0) {
            result.blocks.push(Buffer.concat(fragments));
            if (result.blocks.length === requests.length) received();
          }
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    for (const headers of requests) client.request(headers, { endStream: true }).on('error', () => undefined);
    await done;
    client.destroy();
    server.close();
    await Promise.all([...closed, once(server, 'close')]);
    return result;
  }

  it('decodes two requests with dozens of headers, Huffman-coded values of every allowed byte, table reuse and CONTINUATION', async () => {
    const next = random(3);
    const allowed = [...Array(256).keys()].filter((b) => (b >= 0x20 && b <= 0x7e) || b >= 0x80);
    const text = (length: number, pick: () => string): string => Array.from({ length }, pick).join('');
    const anyByte = (): string => String.fromCharCode(allowed[Math.floor(next() * allowed.length)] as number);
    const printable = (): string => String.fromCharCode(0x20 + Math.floor(next() * 95));
    const huffman: Record<string, string> = {};
    // Each allowed byte after 7 letters of 5-bit codes: shorter in Huffman (at most 35 + 28 bits against
    // 64), so nghttp2 Huffman-codes these values.
    for (let i = 0; i < allowed.length; i += 16) {
      huffman[`x-huffman-${i}`] = allowed
        .slice(i, i + 16)
        .map((b) => `eeaoist${String.fromCharCode(b)}`)
        .join('');
    }
    const randoms: Record<string, string> = {};
    for (let i = 0; i < 30; i++) {
      const length = Math.floor(next() * (i % 3 === 0 ? 200 : 60));
      randoms[`x-random-${i}`] = i % 2 === 0 ? text(length, printable) : text(length, anyByte);
    }
    // Too large for nghttp2 to index, and together above 16 KiB: each block needs CONTINUATION frames.
    const large: Record<string, string> = {};
    for (let i = 0; i < 3; i++) large[`x-large-${i}`] = text(6000, anyByte);
    const grpc = { 'content-type': 'application/grpc', te: 'trailers' };
    // The random headers come last in the first request, so they are still in nghttp2's table (4096
    // octets) when the second one starts with them: most are then sent as dynamic indexes, the rest
    // inserted again, evicting the Huffman ones, which come back as literals.
    const first = { ...huffman, ...randoms, ...large, ...grpc };
    const second: Record<string, string> = { ...randoms };
    for (let i = 1; i < 30; i += 3) second[`x-random-${i}`] = text(Math.floor(next() * 100), printable);
    for (let i = 0; i < 10; i++) second[`x-new-${i}`] = text(10 + i, printable);
    Object.assign(second, huffman, large, grpc);
    const requests = [first, second];

    const { blocks, continuations } = await capture(requests);
    expect(continuations).toBeGreaterThanOrEqual(2);
    const decoder = new HpackDecoder();
    for (const [i, block] of blocks.entries()) {
      const decoded = fields(decoder, block);
      const byName = new Map(decoded.map(([name, value]) => [name, value]));
      expect(byName.size).toBe(decoded.length);
      for (const [name, value] of Object.entries(requests[i] as Record<string, string>)) expect(byName.get(name)).toBe(value);
      expect(byName.get(':method')).toBe('GET');
      expect(decoder.lastListSize).toBe(listSize(decoded));
    }
    // The second request sent most random headers as dynamic indexes: its block is much smaller.
    expect((blocks[1] as Buffer).length).toBeLessThan((blocks[0] as Buffer).length - 1000);
  });
});
