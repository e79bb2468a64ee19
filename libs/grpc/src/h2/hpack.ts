// HPACK (RFC 7541) for our own HTTP/2 server: a decoder with the dynamic table, and a stateless
// encoder. Header blocks come from grpc-js (nghttp2 underneath), which in steady state sends the same
// bytes for every call of a method; those decode from a small cache instead of being parsed again.

/** A malformed header block: the connection must end with COMPRESSION_ERROR (RFC 7540 4.3). */
export class HpackError extends Error {}

// Appendix A, flat: the name of index i at 2 * (i - 1), its value after it.
const STATIC_TABLE: readonly string[] = [
  ':authority', '',
  ':method', 'GET',
  ':method', 'POST',
  ':path', '/',
  ':path', '/index.html',
  ':scheme', 'http',
  ':scheme', 'https',
  ':status', '200',
  ':status', '204',
  ':status', '206',
  ':status', '304',
  ':status', '400',
  ':status', '404',
  ':status', '500',
  'accept-charset', '',
  'accept-encoding', 'gzip, deflate',
  'accept-language', '',
  'accept-ranges', '',
  'accept', '',
  'access-control-allow-origin', '',
  'age', '',
  'allow', '',
  'authorization', '',
  'cache-control', '',
  'content-disposition', '',
  'content-encoding', '',
  'content-language', '',
  'content-length', '',
  'content-location', '',
  'content-range', '',
  'content-type', '',
  'cookie', '',
  'date', '',
  'etag', '',
  'expect', '',
  'expires', '',
  'from', '',
  'host', '',
  'if-match', '',
  'if-modified-since', '',
  'if-none-match', '',
  'if-range', '',
  'if-unmodified-since', '',
  'last-modified', '',
  'link', '',
  'location', '',
  'max-forwards', '',
  'proxy-authenticate', '',
  'proxy-authorization', '',
  'range', '',
  'referer', '',
  'refresh', '',
  'retry-after', '',
  'server', '',
  'set-cookie', '',
  'strict-transport-security', '',
  'transfer-encoding', '',
  'user-agent', '',
  'vary', '',
  'via', '',
  'www-authenticate', '',
];
const STATIC_ENTRIES = STATIC_TABLE.length / 2;

// Appendix B: (code, bit length) for bytes 0..255 and EOS (256), the code in the low bits.
const HUFFMAN_CODES: readonly number[] = [
  0x1ff8, 13, 0x7fffd8, 23, 0xfffffe2, 28, 0xfffffe3, 28, 0xfffffe4, 28, 0xfffffe5, 28, 0xfffffe6, 28, 0xfffffe7, 28, // 0-7
  0xfffffe8, 28, 0xffffea, 24, 0x3ffffffc, 30, 0xfffffe9, 28, 0xfffffea, 28, 0x3ffffffd, 30, 0xfffffeb, 28, 0xfffffec, 28, // 8-15
  0xfffffed, 28, 0xfffffee, 28, 0xfffffef, 28, 0xffffff0, 28, 0xffffff1, 28, 0xffffff2, 28, 0x3ffffffe, 30, 0xffffff3, 28, // 16-23
  0xffffff4, 28, 0xffffff5, 28, 0xffffff6, 28, 0xffffff7, 28, 0xffffff8, 28, 0xffffff9, 28, 0xffffffa, 28, 0xffffffb, 28, // 24-31
  0x14, 6, 0x3f8, 10, 0x3f9, 10, 0xffa, 12, 0x1ff9, 13, 0x15, 6, 0xf8, 8, 0x7fa, 11, // 32-39
  0x3fa, 10, 0x3fb, 10, 0xf9, 8, 0x7fb, 11, 0xfa, 8, 0x16, 6, 0x17, 6, 0x18, 6, // 40-47
  0x0, 5, 0x1, 5, 0x2, 5, 0x19, 6, 0x1a, 6, 0x1b, 6, 0x1c, 6, 0x1d, 6, // 48-55
  0x1e, 6, 0x1f, 6, 0x5c, 7, 0xfb, 8, 0x7ffc, 15, 0x20, 6, 0xffb, 12, 0x3fc, 10, // 56-63
  0x1ffa, 13, 0x21, 6, 0x5d, 7, 0x5e, 7, 0x5f, 7, 0x60, 7, 0x61, 7, 0x62, 7, // 64-71
  0x63, 7, 0x64, 7, 0x65, 7, 0x66, 7, 0x67, 7, 0x68, 7, 0x69, 7, 0x6a, 7, // 72-79
  0x6b, 7, 0x6c, 7, 0x6d, 7, 0x6e, 7, 0x6f, 7, 0x70, 7, 0x71, 7, 0x72, 7, // 80-87
  0xfc, 8, 0x73, 7, 0xfd, 8, 0x1ffb, 13, 0x7fff0, 19, 0x1ffc, 13, 0x3ffc, 14, 0x22, 6, // 88-95
  0x7ffd, 15, 0x3, 5, 0x23, 6, 0x4, 5, 0x24, 6, 0x5, 5, 0x25, 6, 0x26, 6, // 96-103
  0x27, 6, 0x6, 5, 0x74, 7, 0x75, 7, 0x28, 6, 0x29, 6, 0x2a, 6, 0x7, 5, // 104-111
  0x2b, 6, 0x76, 7, 0x2c, 6, 0x8, 5, 0x9, 5, 0x2d, 6, 0x77, 7, 0x78, 7, // 112-119
  0x79, 7, 0x7a, 7, 0x7b, 7, 0x7ffe, 15, 0x7fc, 11, 0x3ffd, 14, 0x1ffd, 13, 0xffffffc, 28, // 120-127
  0xfffe6, 20, 0x3fffd2, 22, 0xfffe7, 20, 0xfffe8, 20, 0x3fffd3, 22, 0x3fffd4, 22, 0x3fffd5, 22, 0x7fffd9, 23, // 128-135
  0x3fffd6, 22, 0x7fffda, 23, 0x7fffdb, 23, 0x7fffdc, 23, 0x7fffdd, 23, 0x7fffde, 23, 0xffffeb, 24, 0x7fffdf, 23, // 136-143
  0xffffec, 24, 0xffffed, 24, 0x3fffd7, 22, 0x7fffe0, 23, 0xffffee, 24, 0x7fffe1, 23, 0x7fffe2, 23, 0x7fffe3, 23, // 144-151
  0x7fffe4, 23, 0x1fffdc, 21, 0x3fffd8, 22, 0x7fffe5, 23, 0x3fffd9, 22, 0x7fffe6, 23, 0x7fffe7, 23, 0xffffef, 24, // 152-159
  0x3fffda, 22, 0x1fffdd, 21, 0xfffe9, 20, 0x3fffdb, 22, 0x3fffdc, 22, 0x7fffe8, 23, 0x7fffe9, 23, 0x1fffde, 21, // 160-167
  0x7fffea, 23, 0x3fffdd, 22, 0x3fffde, 22, 0xfffff0, 24, 0x1fffdf, 21, 0x3fffdf, 22, 0x7fffeb, 23, 0x7fffec, 23, // 168-175
  0x1fffe0, 21, 0x1fffe1, 21, 0x3fffe0, 22, 0x1fffe2, 21, 0x7fffed, 23, 0x3fffe1, 22, 0x7fffee, 23, 0x7fffef, 23, // 176-183
  0xfffea, 20, 0x3fffe2, 22, 0x3fffe3, 22, 0x3fffe4, 22, 0x7ffff0, 23, 0x3fffe5, 22, 0x3fffe6, 22, 0x7ffff1, 23, // 184-191
  0x3ffffe0, 26, 0x3ffffe1, 26, 0xfffeb, 20, 0x7fff1, 19, 0x3fffe7, 22, 0x7ffff2, 23, 0x3fffe8, 22, 0x1ffffec, 25, // 192-199
  0x3ffffe2, 26, 0x3ffffe3, 26, 0x3ffffe4, 26, 0x7ffffde, 27, 0x7ffffdf, 27, 0x3ffffe5, 26, 0xfffff1, 24, 0x1ffffed, 25, // 200-207
  0x7fff2, 19, 0x1fffe3, 21, 0x3ffffe6, 26, 0x7ffffe0, 27, 0x7ffffe1, 27, 0x3ffffe7, 26, 0x7ffffe2, 27, 0xfffff2, 24, // 208-215
  0x1fffe4, 21, 0x1fffe5, 21, 0x3ffffe8, 26, 0x3ffffe9, 26, 0xffffffd, 28, 0x7ffffe3, 27, 0x7ffffe4, 27, 0x7ffffe5, 27, // 216-223
  0xfffec, 20, 0xfffff3, 24, 0xfffed, 20, 0x1fffe6, 21, 0x3fffe9, 22, 0x1fffe7, 21, 0x1fffe8, 21, 0x7ffff3, 23, // 224-231
  0x3fffea, 22, 0x3fffeb, 22, 0x1ffffee, 25, 0x1ffffef, 25, 0xfffff4, 24, 0xfffff5, 24, 0x3ffffea, 26, 0x7ffff4, 23, // 232-239
  0x3ffffeb, 26, 0x7ffffe6, 27, 0x3ffffec, 26, 0x3ffffed, 26, 0x7ffffe7, 27, 0x7ffffe8, 27, 0x7ffffe9, 27, 0x7ffffea, 27, // 240-247
  0x7ffffeb, 27, 0xffffffe, 28, 0x7ffffec, 27, 0x7ffffed, 27, 0x7ffffee, 27, 0x7ffffef, 27, 0x7fffff0, 27, 0x3ffffee, 26, // 248-255
  0x3fffffff, 30, // 256 EOS
];

// Huffman decoding reads a byte at a time through a table built once from the code (256 KiB): a state is
// an inner node of the code tree (256 of them, 0 the root), and each (state, byte) gives the next state,
// the bytes completed on the way (codes are 5 bits or more, so at most two) and two flags. A nibble table
// would be 16 times smaller and built at once (this one takes about 5 ms), but its two dependent lookups
// per byte made decoding half again as slow.
const SYMBOL_COUNT_SHIFT = 24;
// The byte completed EOS, which a string must not contain (RFC 7541 5.2).
const FAIL = 1 << 26;
// A string may end in the next state: the bits since the last byte are at most 7 ones, a prefix of EOS.
const ACCEPT = 1 << 27;
// Built on the first Huffman-coded string (256 KiB, a few ms): processes that only use gRPC clients never need it.
let huffmanStates: Int32Array | undefined;

function buildHuffmanStates(): Int32Array {
  // Inner nodes are 0..255; a child >= 256 is the leaf of symbol child - 256.
  const children = new Int32Array(512).fill(-1);
  let nodes = 1;
  for (let symbol = 0; symbol <= 256; symbol++) {
    const code = HUFFMAN_CODES[2 * symbol] as number;
    const bits = HUFFMAN_CODES[2 * symbol + 1] as number;
    let node = 0;
    for (let i = bits - 1; i > 0; i--) {
      const slot = 2 * node + ((code >>> i) & 1);
      if (children[slot] === -1) children[slot] = nodes++;
      node = children[slot] as number;
    }
    children[2 * node + (code & 1)] = 256 + symbol;
  }
  const accepting = new Uint8Array(256);
  for (let depth = 0, node = 0; depth <= 7; depth++, node = children[2 * node + 1] as number) accepting[node] = 1;
  const states = new Int32Array(256 * 256);
  for (let state = 0; state < 256; state++) {
    for (let byte = 0; byte < 256; byte++) {
      let node = state;
      let symbols = 0;
      let count = 0;
      let fail = 0;
      for (let i = 7; i >= 0; i--) {
        const child = children[2 * node + ((byte >>> i) & 1)] as number;
        if (child < 256) {
          node = child;
          continue;
        }
        if (child === 512) fail = FAIL;
        else symbols |= (child - 256) << (8 + 8 * count++);
        node = 0;
      }
      states[(state << 8) | byte] = node | symbols | (count << SYMBOL_COUNT_SHIFT) | fail | (accepting[node] === 1 ? ACCEPT : 0);
    }
  }
  return states;
}

// Huffman output is written here, then read as one string; it grows to the longest string seen.
let scratch = Buffer.allocUnsafe(1024);

function huffmanDecode(block: Uint8Array, start: number, end: number): string {
  // Every code is at least 5 bits; and one more byte, written past the end below.
  const most = Math.floor(((end - start) * 8) / 5) + 2;
  if (scratch.length < most) scratch = Buffer.allocUnsafe(Math.max(most, 2 * scratch.length));
  const out = scratch;
  const states = (huffmanStates ??= buildHuffmanStates());
  let n = 0;
  let state = 0;
  let t = ACCEPT;
  let seen = 0;
  for (let i = start; i < end; i++) {
    t = states[(state << 8) | (block[i] as number)] as number;
    // Both symbol slots are written whatever the count (the unused ones are overwritten next), to spare branches.
    out[n] = t >>> 8;
    out[n + 1] = t >>> 16;
    n += (t >>> SYMBOL_COUNT_SHIFT) & 3;
    seen |= t;
    state = t & 0xff;
  }
  if ((seen & FAIL) !== 0) throw new HpackError('a Huffman-coded string contains EOS');
  if ((t & ACCEPT) === 0) throw new HpackError('a Huffman-coded string ends with invalid padding');
  return latin1(out, 0, n);
}

// Node's own latin1 reader, left out of its typings; one call into C++, so the shortest strings are built in JS.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

function latin1(bytes: Uint8Array, start: number, end: number): string {
  switch (end - start) {
    case 0:
      return '';
    case 1:
      return String.fromCharCode(bytes[start] as number);
    case 2:
      return String.fromCharCode(bytes[start] as number, bytes[start + 1] as number);
    case 3:
      return String.fromCharCode(bytes[start] as number, bytes[start + 1] as number, bytes[start + 2] as number);
    default:
      return latin1Slice.call(bytes, start, end);
  }
}

// Blocks up to this many bytes are cached, at most CACHE_ENTRIES of them (the cache is emptied when full).
const CACHE_MAX_BLOCK = 256;
const CACHE_ENTRIES = 32;
// Entry overhead in the table size and in SETTINGS_MAX_HEADER_LIST_SIZE (RFC 7541 4.1, RFC 7540 6.5.2).
const ENTRY_OVERHEAD = 32;
// An integer has at most 5 bytes after its prefix and stays below 2^31.
const MAX_INT = 0x7fffffff;
const MAX_MULTIPLIER = 2 ** 28;

interface Decoded {
  /** A copy of the block. */
  readonly bytes: Uint8Array;
  readonly pairs: readonly string[];
  readonly listSize: number;
}

export class HpackDecoder {
  /** The table size the encoder set (size updates), at most maxTableSize. */
  private capacity: number;
  private size = 0;
  // The dynamic table, a ring of [name, value] slots; the newest entry is at `newest`.
  private ring: string[] = new Array<string>(32).fill('');
  private newest = 0;
  private count = 0;
  // Bumped by every change to the table: cached blocks are valid for one generation.
  private generation = 0;
  private cacheGeneration = 0;
  private readonly cache = new Map<string, Decoded>();
  // The last block decoded or found in the cache, compared byte for byte before anything else: the calls of
  // one method repeat it, and comparing costs a third of making the cache's key and looking it up.
  private recent: Decoded | undefined;
  private at = 0;
  private listSize = 0;

  /** `maxTableSize`: SETTINGS_HEADER_TABLE_SIZE we advertised (default 4096): a dynamic table size update above it is an HpackError. */
  constructor(private readonly maxTableSize = 4096) {
    this.capacity = maxTableSize;
  }

  /** Sum over the last decoded block of name.length + value.length + 32 (RFC 7540 SETTINGS_MAX_HEADER_LIST_SIZE accounting). */
  get lastListSize(): number {
    return this.listSize;
  }

  /**
   * Decodes one complete header block (all HEADERS+CONTINUATION fragments joined) into flat pairs
   * [name0, value0, name1, value1, ...]. The returned array may be shared with later calls (cache below): callers must not mutate it.
   * Throws HpackError for malformed input (bad index, integer overflow, truncated string, invalid Huffman padding / EOS in a string, size update not at the start of the block or above the max, etc).
   * After an HpackError the decoder's table is undefined: the connection ends.
   */
  decode(block: Uint8Array): readonly string[] {
    const length = block.length;
    let key: string | undefined;
    if (length <= CACHE_MAX_BLOCK) {
      if (this.cacheGeneration !== this.generation) {
        this.cache.clear();
        this.recent = undefined;
        this.cacheGeneration = this.generation;
      }
      let hit = this.recent;
      if (hit === undefined || !sameBytes(hit.bytes, block)) {
        key = latin1(block, 0, length);
        hit = this.cache.get(key);
      }
      if (hit !== undefined) {
        this.recent = hit;
        this.listSize = hit.listSize;
        return hit.pairs;
      }
    }
    const generation = this.generation;
    const pairs: string[] = [];
    let listSize = 0;
    this.at = 0;
    while (this.at < length) {
      const first = block[this.at] as number;
      let name: string;
      let value: string;
      if (first >= 0x80) {
        // Indexed field (6.1).
        const index = this.integer(block, 0x7f);
        if (index === 0) throw new HpackError('indexed header field with index 0');
        if (index <= STATIC_ENTRIES) {
          name = STATIC_TABLE[2 * index - 2] as string;
          value = STATIC_TABLE[2 * index - 1] as string;
        } else {
          const slot = this.slot(index);
          name = this.ring[slot] as string;
          value = this.ring[slot + 1] as string;
        }
      } else if (first >= 0x40) {
        // Literal with incremental indexing (6.2.1).
        const index = this.integer(block, 0x3f);
        name = index === 0 ? this.string(block) : this.name(index);
        value = this.string(block);
        this.insert(name, value);
      } else if (first >= 0x20) {
        // Dynamic table size update (6.3): only before the first field (RFC 7541 4.2).
        if (pairs.length > 0) throw new HpackError('dynamic table size update after a header field');
        this.resize(this.integer(block, 0x1f));
        continue;
      } else {
        // Literal without indexing (6.2.2) or never indexed (6.2.3).
        const index = this.integer(block, 0x0f);
        name = index === 0 ? this.string(block) : this.name(index);
        value = this.string(block);
      }
      pairs.push(name, value);
      listSize += name.length + value.length + ENTRY_OVERHEAD;
    }
    this.listSize = listSize;
    // Not a block that changed the table: replayed, it would change it again.
    if (key !== undefined && this.generation === generation) {
      if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
      const decoded = { bytes: new Uint8Array(block), pairs, listSize };
      this.cache.set(key, decoded);
      this.recent = decoded;
    }
    return pairs;
  }

  /** Reads an integer whose prefix is the low bits (`mask`) of the byte at `at` (5.1). */
  private integer(block: Uint8Array, mask: number): number {
    let value = (block[this.at++] as number) & mask;
    if (value < mask) return value;
    let multiplier = 1;
    for (;;) {
      if (this.at >= block.length) throw new HpackError('truncated integer');
      const byte = block[this.at++] as number;
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) break;
      multiplier *= 128;
      if (multiplier > MAX_MULTIPLIER) throw new HpackError('integer too long');
    }
    if (value > MAX_INT) throw new HpackError('integer too large');
    return value;
  }

  /** Reads a string literal (5.2). */
  private string(block: Uint8Array): string {
    if (this.at >= block.length) throw new HpackError('truncated header block: a string is missing');
    const huffman = (block[this.at] as number) >= 0x80;
    const length = this.integer(block, 0x7f);
    const start = this.at;
    if (length > block.length - start) throw new HpackError('truncated string');
    this.at = start + length;
    return huffman ? huffmanDecode(block, start, this.at) : latin1(block, start, this.at);
  }

  private name(index: number): string {
    return index <= STATIC_ENTRIES ? (STATIC_TABLE[2 * index - 2] as string) : (this.ring[this.slot(index)] as string);
  }

  /** The ring slot of the dynamic entry at `index` (62 is the newest). */
  private slot(index: number): number {
    const i = index - STATIC_ENTRIES - 1;
    if (i >= this.count) throw new HpackError(`header index ${index} is beyond the table (${STATIC_ENTRIES + this.count} entries)`);
    return (this.newest - 2 * i) & (this.ring.length - 1);
  }

  private insert(name: string, value: string): void {
    this.generation++;
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (4.4).
    if (entrySize > this.capacity) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.capacity - entrySize);
    if (2 * this.count === this.ring.length) this.grow();
    const ring = this.ring;
    this.newest = (this.newest + 2) & (ring.length - 1);
    ring[this.newest] = name;
    ring[this.newest + 1] = value;
    this.count++;
    this.size += entrySize;
  }

  private resize(capacity: number): void {
    if (capacity > this.maxTableSize) throw new HpackError(`dynamic table size update to ${capacity}, above the ${this.maxTableSize} advertised`);
    this.generation++;
    this.capacity = capacity;
    this.evictTo(capacity);
  }

  /** Drops the oldest entries until the table's size is at most `size`. */
  private evictTo(size: number): void {
    const ring = this.ring;
    const mask = ring.length - 1;
    while (this.size > size) {
      const oldest = (this.newest - 2 * (this.count - 1)) & mask;
      this.size -= (ring[oldest] as string).length + (ring[oldest + 1] as string).length + ENTRY_OVERHEAD;
      // Lets go of the strings.
      ring[oldest] = '';
      ring[oldest + 1] = '';
      this.count--;
    }
  }

  /** Doubles the ring, oldest entry first. */
  private grow(): void {
    const old = this.ring;
    const mask = old.length - 1;
    const ring = new Array<string>(2 * old.length).fill('');
    for (let i = 0; i < this.count; i++) {
      const from = (this.newest - 2 * (this.count - 1 - i)) & mask;
      ring[2 * i] = old[from] as string;
      ring[2 * i + 1] = old[from + 1] as string;
    }
    this.ring = ring;
    this.newest = 2 * (this.count - 1);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// The static table by name: the first index with that name, and the index of each (name, value).
const STATIC_BY_NAME = new Map<string, { readonly index: number; readonly values: Map<string, number> }>();
for (let index = 1; index <= STATIC_ENTRIES; index++) {
  const name = STATIC_TABLE[2 * index - 2] as string;
  const value = STATIC_TABLE[2 * index - 1] as string;
  let entry = STATIC_BY_NAME.get(name);
  if (entry === undefined) STATIC_BY_NAME.set(name, (entry = { index, values: new Map() }));
  if (!entry.values.has(value)) entry.values.set(value, index);
}
// Strings this short are copied byte by byte (a call into C++ costs more).
const SHORT_STRING = 16;

/** Stateless encoder (never adds to the peer's dynamic table, so the peer's SETTINGS_HEADER_TABLE_SIZE never matters): static-table indexed field for an exact name+value match, "literal without indexing" with an indexed name when only the name is in the static table, else literal without indexing with a literal name; strings are not Huffman-coded. */
export function encodeHeaders(pairs: readonly string[]): Buffer {
  // An upper bound: 7 bytes per string besides its own, as a field's first byte (or an indexed name, 2 bytes)
  // and the lengths of its strings (at most 6 bytes each) take at most 14.
  let bound = 0;
  for (let i = 0; i < pairs.length; i++) bound += (pairs[i] as string).length + 7;
  const out = Buffer.allocUnsafe(bound);
  let at = 0;
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i] as string;
    const value = pairs[i + 1] as string;
    const known = STATIC_BY_NAME.get(name);
    if (known !== undefined) {
      const exact = known.values.get(value);
      if (exact !== undefined) {
        out[at++] = 0x80 | exact;
        continue;
      }
      at = writeInteger(out, at, 0x0f, 0x00, known.index);
    } else {
      out[at++] = 0x00;
      at = writeString(out, at, name);
    }
    at = writeString(out, at, value);
  }
  return at === bound ? out : out.subarray(0, at);
}

function writeInteger(out: Buffer, at: number, mask: number, flags: number, value: number): number {
  if (value < mask) {
    out[at++] = flags | value;
    return at;
  }
  out[at++] = flags | mask;
  let rest = value - mask;
  while (rest >= 0x80) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[at++] = rest;
  return at;
}

/** A string literal, not Huffman-coded, as latin1 (each char's low byte). */
function writeString(out: Buffer, at: number, s: string): number {
  const length = s.length;
  at = writeInteger(out, at, 0x7f, 0x00, length);
  if (length <= SHORT_STRING) {
    for (let i = 0; i < length; i++) out[at + i] = s.charCodeAt(i);
  } else {
    out.write(s, at, length, 'latin1');
  }
  return at + length;
}
