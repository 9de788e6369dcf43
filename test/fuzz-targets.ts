/**
 * The decoders and parsers a hostile bucket or file can reach, with the property they
 * must keep: given any bytes, return or throw a *typed* error, never anything else
 * (no RangeError, no TypeError, no hang). Shared by test/fuzz.test.ts (a fixed number
 * of cases in CI) and bench/fuzz.ts (a long run).
 */
import fc from 'fast-check';
import { BucketliteError } from '../src/errors.js';
import { decodeHead } from '../src/format/head.js';
import { decodeHotRegion } from '../src/format/hot.js';
import { decodeLeaf, decodeNode, decodeRoot, encodeLeaf, encodeNode, encodeRoot } from '../src/format/manifest.js';
import type { RootManifest } from '../src/format/manifest.js';
import { parseSqliteHeader } from '../src/sqlite/header.js';
import { findHotPages, PageFormatError, parseBtreePage } from '../src/sqlite/btree.js';

export function typedOnly(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BucketliteError) && !(err instanceof PageFormatError)) throw err;
  }
}

const shape = { dbSize: 65536 * 40, blockSize: 65536, blocksPerLeaf: 16, fanout: 4 };
const root: RootManifest = {
  formatVersion: 1, pageSize: 4096, blockSize: 65536, dbSize: 65536 * 40, seq: 3, created: 0, parent: 'ab'.repeat(32),
  changeCounter: 1, blocksPerLeaf: 16, fanout: 4, depth: 1, newBlocks: 1, newBytes: 1, hot: [], children: ['11'.repeat(32), '22'.repeat(32), '33'.repeat(32)],
};
const goodRoot = encodeRoot(root);
const goodNode = encodeNode({ level: 1, firstBlock: 0, children: ['11'.repeat(32), '22'.repeat(32)] });
const goodLeaf = encodeLeaf({ firstBlock: 0, entries: Array.from({ length: 16 }, (_, i) => ({ hash: String(i % 10).repeat(64), pack: 'aa'.repeat(32), offset: i * 65536, length: 65536, encoding: 0 })) });

/** Valid bytes with a few bytes overwritten, truncated or extended: hostile but close to real. */
function mutated(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.integer({ min: -40, max: 40 }))
    .map(([edits, resize]) => {
      const out = new Uint8Array(Math.max(0, base.length + resize));
      out.set(base.subarray(0, Math.min(base.length, out.length)));
      for (const [at, v] of edits) if (at < out.length) out[at] = v;
      return out;
    });
}

const anyBytes = fc.uint8Array({ maxLength: 4096 });

export const PROPERTIES: Record<string, fc.IProperty<[Uint8Array]> | fc.IAsyncProperty<[Uint8Array]>> = {
  'HEAD decoder': fc.property(fc.oneof(anyBytes, fc.string().map((s) => new TextEncoder().encode(s)), fc.json().map((s) => new TextEncoder().encode(s))), (b) => typedOnly(() => decodeHead(b))),
  'root decoder': fc.property(fc.oneof(anyBytes, mutated(goodRoot)), (b) => typedOnly(() => decodeRoot(b))),
  'node decoder': fc.property(fc.oneof(anyBytes, mutated(goodNode)), (b) => typedOnly(() => decodeNode(b, shape, { level: 1, firstBlock: 0 }))),
  'leaf decoder': fc.property(fc.oneof(anyBytes, mutated(goodLeaf)), (b) => typedOnly(() => decodeLeaf(b, shape, { firstBlock: 0 }))),
  'hot region decoder': fc.property(anyBytes, (b) => typedOnly(() => decodeHotRegion(b, { pageSize: 512, dbSize: 512 * 1000 }))),
  'SQLite header parser': fc.property(fc.oneof(anyBytes, fc.uint8Array({ minLength: 100, maxLength: 100 }).map((b) => { b.set(new TextEncoder().encode('SQLite format 3\0')); return b; })), (b) => typedOnly(() => parseSqliteHeader(b))),
  'B-tree page parser': fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (b) => typedOnly(() => parseBtreePage(b, 2))),
  // A whole "file" of hostile pages: the hot-page walk must end, within its budget.
  'hot-page walk': fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 512, maxLength: 512 }), { minLength: 1, maxLength: 64 }).map((pages) => {
    const b = new Uint8Array(pages.length * 512);
    pages.forEach((p, i) => b.set(p, i * 512));
    b.set(new TextEncoder().encode('SQLite format 3\0'));
    b[16] = 2; b[17] = 0; b[18] = 1; b[19] = 1; b[20] = 0;
    return b;
  }), async (file) => {
    const pageCount = file.length / 512;
    const header = { pageSize: 512, reserved: 0, writeVersion: 1, readVersion: 1, changeCounter: 0, pageCount, pageCountValid: true };
    const r = await findHotPages(async (n) => file.subarray((n - 1) * 512, n * 512), header, pageCount, 16 * 512);
    if (r.pages.size > 16) throw new Error(`budget exceeded: ${r.pages.size} pages`);
  }),
};
