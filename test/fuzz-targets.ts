/**
 * The decoders and parsers a hostile bucket or file can reach, with the property they
 * must keep: given any bytes, return a value that re-validates or throw a *typed* error,
 * never anything else (no RangeError, no TypeError, no DOMException, no hang, no
 * allocation out of proportion to the input). Shared by test/fuzz.test.ts (a fixed
 * number of cases in CI) and bench/fuzz.ts (a long run).
 *
 * Two kinds of targets:
 * - random bytes (the first properties, kept as they were): shallow, they mostly test
 *   the first checks of each decoder;
 * - structure-aware mutation: the seeds are VALID objects made by the real code (a
 *   SQLite database made by better-sqlite3, uploaded by `upload()` into a MemoryStore:
 *   its HEADs, roots with their run tables and embedded pages, interior nodes, leaves and
 *   SQLite pages), and the mutator knows where their counts, offsets, lengths and repeated
 *   sections are, so it flips bits, writes extreme values into fields, truncates (also at
 *   section ends), extends, duplicates, deletes, swaps sections and splices two seeds.
 *   Each of these targets counts how many mutated inputs decode (and then re-validate)
 *   and how many are rejected, and by which check: `outcomeProblems` fails a run in which
 *   either outcome never happens or the rejections come from too few distinct checks (a
 *   mutator that only produced garbage rejected at the magic would test nothing).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { BucketliteError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { isHash, toBase64, toHex } from '../src/format/binary.js';
import { FORMAT_VERSION, LIMITS, ROOT_INLINE_MAX } from '../src/format/constants.js';
import { decodeHead, encodeHead } from '../src/format/head.js';
import type { Head } from '../src/format/head.js';
import { manifestKey } from '../src/format/keys.js';
import {
  blockCount, blocksPerNode, childCount, decodeLeaf, decodeNode, decodeRoot, encodeLeaf, encodeNode, encodeRoot, runPacks, treeDepth,
} from '../src/format/manifest.js';
import type { LeafManifest, NodeManifest, RootManifest, TreeShape } from '../src/format/manifest.js';
import { parseSqliteHeader } from '../src/sqlite/header.js';
import type { SqliteHeader } from '../src/sqlite/header.js';
import { findHotPages, PageFormatError, parseBtreePage } from '../src/sqlite/btree.js';
import { MemoryStore } from '../src/storage/memory.js';
import { upload } from '../src/upload/upload.js';

export function typedOnly(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BucketliteError) && !(err instanceof PageFormatError)) throw err;
  }
}

// ---- random bytes (the original properties) -------------------------------------------

const shape = { dbSize: 65536 * 40, blockSize: 65536, blocksPerLeaf: 16, fanout: 4 };
const root: RootManifest = {
  formatVersion: FORMAT_VERSION, pageSize: 512, blockSize: 65536, dbSize: 65536 * 40, seq: 3, created: 0, parent: 'ab'.repeat(32),
  changeCounter: 1, blocksPerLeaf: 16, fanout: 4, depth: 1, newBlocks: 1, newBytes: 1, children: ['11'.repeat(32), '22'.repeat(32), '33'.repeat(32)],
  runs: [{ firstBlock: 0, pack: 'aa'.repeat(32), offset: 0 }, { firstBlock: 7, pack: 'bb'.repeat(32), offset: 65536 }, { firstBlock: 9, pack: 'aa'.repeat(32), offset: 9 * 65536 }],
  pages: [1, 2, 5], pageData: [1, 2, 5].map((p) => new Uint8Array(512).fill(p)),
};
const goodRoot = encodeRoot(root);
const goodNode = encodeNode({ level: 1, firstBlock: 0, children: ['11'.repeat(32), '22'.repeat(32)] });
const goodLeaf = encodeLeaf({ firstBlock: 0, hashes: Array.from({ length: 16 }, (_, i) => String(i % 10).repeat(64)) });

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

// ---- structure-aware mutation ---------------------------------------------------------

/** A big-endian integer field of a seed: where the mutator writes extreme values. */
export interface Field { at: number; size: 1 | 2 | 4 | 8 }
/**
 * Repeated sections (child hashes, leaf entries, cell pointers...). `lists` are parallel
 * arrays (a root's embedded page numbers and their bytes); `count` is the field that counts
 * them, bumped by a "consistent" duplicate or delete.
 */
export interface Group {
  count?: Field;
  lists: Array<Array<[number, number]>>;
  /** Fields pointing at the sections of `lists[0]` (a page's cell pointers), kept right by a move. */
  pointers?: Field[];
}
export interface Seed {
  name: string;
  bytes: Uint8Array;
  fields: Field[];
  groups: Group[];
  /** Values worth writing into fields: page numbers, lengths, limits and their neighbours. */
  interesting: number[];
  /** Where the seed's sections end (a root's header, children, packs, runs...): where a cut hurts most. */
  cuts?: number[];
}

interface Val { kind: number; delta: number; rnd: bigint; pick: number }
export type Op =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'byte'; pos: number; v: number }
  | { k: 'field'; idx: number; val: Val }
  | { k: 'word'; pos: number; size: 1 | 2 | 4 | 8; val: Val }
  | { k: 'truncate'; at: number; fromEnd: boolean }
  | { k: 'cut'; idx: number; delta: number }
  | { k: 'extend'; n: number; fill: number }
  | { k: 'dup'; group: number; item: number; atEnd: boolean; consistent: boolean }
  | { k: 'del'; group: number; item: number; consistent: boolean }
  | { k: 'swap'; group: number; a: number; b: number }
  | { k: 'move'; group: number; item: number; slack: number }
  | { k: 'splice'; other: number; at: number }
  | { k: 'json'; key: number; val: number; del: boolean };

const valArb: fc.Arbitrary<Val> = fc.record({
  kind: fc.nat(12), delta: fc.integer({ min: -4, max: 4 }), rnd: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), pick: fc.nat(),
});
const smallOrAny = fc.oneof(fc.nat(64), fc.nat());

/** Byte-level mutations, weighted towards the fields that decoders trust least. */
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('field' as const), idx: fc.nat(), val: valArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('byte' as const), pos: fc.nat(), v: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('word' as const), pos: fc.nat(), size: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), val: valArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), at: smallOrAny, fromEnd: fc.boolean() }) },
  // Truncation at (or a byte either side of) the end of a section.
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cut' as const), idx: fc.nat(), delta: fc.integer({ min: -1, max: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('extend' as const), n: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 4096 })), fill: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('dup' as const), group: fc.nat(), item: fc.nat(), atEnd: fc.boolean(), consistent: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('del' as const), group: fc.nat(), item: fc.nat(), consistent: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('swap' as const), group: fc.nat(), a: fc.nat(), b: fc.nat() }) },
  // A section moved to the end of the object, just fitting or cut short by a few bytes.
  { weight: 2, arbitrary: fc.record({ k: fc.constant('move' as const), group: fc.nat(), item: fc.nat(), slack: fc.integer({ min: -6, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('splice' as const), other: fc.nat(), at: fc.nat() }) },
);
/** HEAD is JSON: most of its mutations replace or delete a member, then bytes are mutated. */
const jsonOpArb: fc.Arbitrary<Op> = fc.record({ k: fc.constant('json' as const), key: fc.nat(), val: fc.nat(), del: fc.boolean() });

function readBE(b: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return v;
}

function writeBE(b: Uint8Array, at: number, size: number, v: bigint): void {
  for (let i = size - 1; i >= 0; i--) {
    if (at + i < b.length) b[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function extremeValue(val: Val, orig: bigint, size: number, seed: Seed, len: number): bigint {
  const bits = BigInt(size * 8);
  const mod = 1n << bits;
  const big = [2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, BigInt(LIMITS.maxDatabaseBytes), BigInt(LIMITS.maxDatabaseBytes) + 1n];
  let v: bigint;
  switch (val.kind) {
    case 0: v = 0n; break;
    case 1: v = 1n; break;
    case 2: v = mod - 1n; break;
    case 3: v = mod - 2n; break;
    case 4: v = mod >> 1n; break;
    case 5: v = (mod >> 1n) - 1n; break;
    case 6: v = orig + BigInt(val.delta || 1); break;
    case 7: v = orig * 2n; break;
    case 8: v = orig >> 1n; break;
    case 9: v = val.rnd; break;
    case 10: case 11: v = BigInt(seed.interesting.length ? seed.interesting[val.pick % seed.interesting.length] : len); break;
    default: v = size === 8 ? big[val.pick % big.length] : BigInt([len, len >> 5, Math.floor(len / 48), len + 1][val.pick % 4]); break;
  }
  return ((v % mod) + mod) % mod;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const HEAD_KEYS = ['format', 'version', 'seq', 'root', 'inline', '__proto__', 'constructor', 'x'];
function headValues(): unknown[] {
  const h = 'ab'.repeat(32);
  return [
    null, true, false, 0, -1, 1, 2, FORMAT_VERSION + 1, 1.5, 2 ** 53 - 1, 2 ** 53, 1e308, -0, '1', '', [], {}, { a: 1 }, 'bucketlite', 'BUCKETLITE',
    h, h.toUpperCase(), h.slice(1), `${h}0`, `../${h.slice(3)}`, `manifests/${h}`, 'https://example.com/x', `${h}\n`,
    'A', 'AA', 'AAA', 'AAAA', 'A=', 'AA=', 'AA==', '====', '=', 'AAAAA', '@@@@', 'AA AA', toBase64(new Uint8Array([1, 2, 3, 4, 5])), 'A'.repeat(70_000), 'QUJD'.repeat(11_000),
  ];
}
const HEAD_VALUES = headValues();

function applyJson(b: Uint8Array, op: Extract<Op, { k: 'json' }>): Uint8Array {
  let doc: unknown;
  try { doc = JSON.parse(new TextDecoder().decode(b)); } catch { return b; }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return b;
  const key = HEAD_KEYS[op.key % HEAD_KEYS.length];
  if (op.del) delete (doc as Record<string, unknown>)[key];
  else Object.defineProperty(doc, key, { value: HEAD_VALUES[op.val % HEAD_VALUES.length], enumerable: true, configurable: true, writable: true });
  return new TextEncoder().encode(JSON.stringify(doc) + (op.val % 2 ? '\n' : ''));
}

/** Applies ops to a copy of `seed` (`others`: seeds of the same kind, for splicing). */
export function applyOps(seed: Seed, ops: readonly Op[], others: readonly Seed[]): Uint8Array {
  let b: Uint8Array = seed.bytes.slice();
  for (const op of ops) {
    const len = b.length;
    switch (op.k) {
      case 'flip': if (len) b[op.pos % len] ^= 1 << op.bit; break;
      case 'byte': if (len) b[op.pos % len] = op.v; break;
      case 'field': {
        if (!seed.fields.length) break;
        const f = seed.fields[op.idx % seed.fields.length];
        if (f.at + f.size > len) break;
        writeBE(b, f.at, f.size, extremeValue(op.val, readBE(b, f.at, f.size), f.size, seed, len));
        break;
      }
      case 'word': {
        if (len < op.size) break;
        const at = op.pos % (len - op.size + 1);
        writeBE(b, at, op.size, extremeValue(op.val, readBE(b, at, op.size), op.size, seed, len));
        break;
      }
      case 'truncate': {
        const cut = op.at % (len + 1);
        b = b.subarray(0, op.fromEnd ? len - cut : cut);
        break;
      }
      case 'cut': {
        if (!seed.cuts?.length) break;
        const at = seed.cuts[op.idx % seed.cuts.length] + op.delta;
        if (at >= 0 && at < len) b = b.subarray(0, at);
        break;
      }
      case 'extend': {
        const tail = new Uint8Array(op.n);
        if (op.fill === 1) tail.fill(0xff);
        else if (op.fill === 2) for (let i = 0; i < op.n; i++) tail[i] = len ? b[i % len] : 0;
        else if (op.fill === 3) for (let i = 0; i < op.n; i++) tail[i] = (i * 167 + op.n) & 0xff;
        b = concat(b, tail);
        break;
      }
      case 'move': {
        const movable = seed.groups.some((x) => x.pointers) ? seed.groups.filter((x) => x.pointers) : seed.groups;
        if (!movable.length) break;
        const g = movable[op.group % movable.length];
        const list = g.lists[0];
        if (!list?.length) break;
        const i = op.item % list.length;
        const [s0, s1] = list[i];
        if (s1 > len) break;
        const dest = Math.min(len, Math.max(0, len - (s1 - s0) + op.slack));
        const moved = b.slice(s0, s1);
        b.set(moved.subarray(0, Math.max(0, len - dest)), dest);
        const ptr = g.pointers?.[i];
        if (ptr && ptr.at + ptr.size <= len) writeBE(b, ptr.at, ptr.size, BigInt(dest));
        break;
      }
      case 'dup': case 'del': case 'swap': {
        if (!seed.groups.length) break;
        const g = seed.groups[op.group % seed.groups.length];
        if (!g.lists[0]?.length) break;
        if (op.k === 'swap') {
          const list = g.lists[0];
          const [a0, a1] = list[op.a % list.length];
          const [b0, b1] = list[op.b % list.length];
          if (a1 - a0 !== b1 - b0 || a1 > len || b1 > len) break;
          const tmp = b.slice(a0, a1);
          b.copyWithin(a0, b0, b1);
          b.set(tmp, b0);
          break;
        }
        // Later lists first, so the offsets of earlier lists stay right.
        for (let li = g.lists.length - 1; li >= 0; li--) {
          const list = g.lists[li];
          const [s0, s1] = list[op.item % list.length];
          if (s1 > b.length) continue;
          if (op.k === 'dup') {
            const at = op.atEnd ? Math.min(b.length, list[list.length - 1][1]) : s1;
            b = concat(b.subarray(0, at), b.slice(s0, s1), b.subarray(at));
          } else {
            b = concat(b.subarray(0, s0), b.subarray(s1));
          }
        }
        if (op.consistent && g.count && g.count.at + g.count.size <= b.length) {
          const c = readBE(b, g.count.at, g.count.size) + (op.k === 'dup' ? 1n : -1n);
          writeBE(b, g.count.at, g.count.size, c < 0n ? 0n : c);
        }
        break;
      }
      case 'splice': {
        const other = others[op.other % others.length].bytes;
        const at = op.at % (Math.min(len, other.length) + 1);
        b = concat(b.subarray(0, at), other.subarray(at));
        break;
      }
      case 'json': b = applyJson(b, op); break;
    }
  }
  return b;
}

/** Mutated copies of `seeds`: one to five operations on one seed. */
export function mutants(seeds: readonly Seed[], ops: fc.Arbitrary<Op> = opArb): fc.Arbitrary<Uint8Array> {
  return fc.record({ seed: fc.nat(), ops: fc.array(ops, { minLength: 1, maxLength: 5 }) })
    .map(({ seed, ops: list }) => applyOps(seeds[seed % seeds.length], list, seeds));
}

// ---- outcomes -------------------------------------------------------------------------

/** What the mutated inputs of one target came to: accepted, or rejected by which check. */
export class Outcomes {
  accepted = 0;
  rejected = 0;
  readonly reasons = new Map<string, number>();
  /** Accepted inputs the recheck let through with a remark (a laxity of the decoder). */
  readonly notes = new Map<string, number>();
  note(what: string): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + 1);
  }
  reject(message: string): void {
    this.rejected++;
    const reason = reasonOf(message);
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }
  magicShare(): number {
    let n = 0;
    for (const [r, c] of this.reasons) if (/magic|first N bytes/.test(r)) n += c;
    return this.rejected ? n / this.rejected : 0;
  }
  summary(): string {
    const top = [...this.reasons].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([r, c]) => `${c}× ${r}`).join('; ');
    const notes = [...this.notes].map(([r, c]) => `${c}× ${r}`).join('; ');
    return `${this.accepted} accepted${notes ? ` (${notes})` : ''}, ${this.rejected} rejected by ${this.reasons.size} distinct checks (magic ${(100 * this.magicShare()).toFixed(0)}%): ${top}`;
  }
}

/** A rejection's check, without the numbers and names that vary between inputs. */
function reasonOf(message: string): string {
  return message
    .replace(/ \((op|key|path)=[^)]*\)$/, '')
    .replace(/\(([^()]*)\)$/, '')
    .replace(/bad magic .*, expected/, 'bad magic …, expected')
    .replace(/\d+/g, 'N')
    .trim()
    .slice(0, 120);
}

/** Messages of JavaScript's own errors: the hot-page walk turns errors into warnings, so an
 *  untyped error that escaped a parser can only be seen in its message. */
const ENGINE_ERROR = /outside the bounds|out of bounds access|offset is out of bounds|Cannot read prop|Cannot set prop|is not a function|is not iterable|is not defined|Invalid typed array length|Invalid array length|Array buffer allocation failed|Maximum call stack|undefined|NaN/;

// ---- the corpus: a real database, uploaded by the real uploader ----------------------

export interface Corpus {
  heads: Seed[];
  roots: Array<{ seed: Seed; root: RootManifest }>;
  nodes: Array<{ seed: Seed; shape: TreeShape; expect: { level: number; firstBlock: number } }>;
  leaves: Array<{ seed: Seed; shape: TreeShape; expect: { firstBlock: number } }>;
  /** `hotPages`: the pages the root embeds (chosen by the hot-page walk), the ones worth mutating. */
  db: { bytes: Uint8Array; pageSize: number; pageCount: number; pages: Seed[]; hotPages: number[]; schemaPages: number[] };
}

const f = (at: number, size: Field['size']): Field => ({ at, size });
const sections = (start: number, size: number, n: number): Array<[number, number]> => Array.from({ length: n }, (_, i) => [start + i * size, start + (i + 1) * size]);
const LENGTH_LIMITS = [LIMITS.manifestObjectBytes, LIMITS.maxBlockSize, 4096, 4095, 65536, 65537, 512, 511];
const COUNT_LIMITS = [LIMITS.maxPacks, LIMITS.maxPacks + 1, LIMITS.maxRuns, LIMITS.maxRuns + 1, 0xffffffff];

/** Indexes of a long list worth a field each: the first few and the last two. */
const someOf = (n: number, first = 4): number[] => [...new Set([...Array.from({ length: Math.min(n, first) }, (_, i) => i), n - 2, n - 1])].filter((i) => i >= 0);

/**
 * A root: the header (counts of children, packs, runs and embedded pages at 104..116),
 * then children, pack table, runs (first block u64, pack index u32, offset u64) and the
 * embedded pages (numbers, then bytes). Groups: each section with its count (a
 * "consistent" duplicate or delete keeps the count right, so a run or pack added or
 * removed reaches the run checks rather than the length check), the page numbers with
 * their bytes (parallel lists), and every hash of the root (parent, children, packs) as
 * one list for swaps.
 */
function rootSeed(name: string, bytes: Uint8Array, root: RootManifest): Seed {
  const n = root.children.length;
  const p = runPacks(root.runs).length;
  const nRuns = root.runs.length;
  const h = root.pages.length;
  const packAt = 120 + 32 * n;
  const runAt = packAt + 32 * p;
  const pageAt = runAt + 20 * nRuns;
  const dataAt = pageAt + 4 * h;
  if (dataAt + h * root.pageSize !== bytes.length) throw new Error(`fuzz corpus: ${name} is not laid out as expected`);
  const fields = [
    f(4, 2), f(6, 2), f(8, 4), f(12, 4), f(16, 8), f(24, 8), f(32, 8), f(72, 4), f(76, 4), f(80, 4), f(84, 1), f(85, 1), f(87, 1), f(88, 8), f(96, 8),
    f(104, 4), f(108, 4), f(112, 4), f(116, 4),
    // the counts again, weighted: they size everything after the header
    f(108, 4), f(112, 4), f(116, 4),
  ];
  // Runs: first block (also its low word, where small values land), pack index, offset.
  for (const i of someOf(nRuns)) fields.push(f(runAt + 20 * i, 8), f(runAt + 20 * i + 4, 4), f(runAt + 20 * i + 8, 4), f(runAt + 20 * i + 12, 8));
  for (const i of someOf(h, 3)) fields.push(f(pageAt + 4 * i, 4));
  const nBlocks = blockCount(root.dbSize, root.blockSize);
  const maxPage = root.dbSize / root.pageSize;
  return {
    name, bytes, fields,
    groups: [
      { count: f(104, 4), lists: [sections(120, 32, n)] },
      { count: f(108, 4), lists: [sections(packAt, 32, p)] },
      { count: f(112, 4), lists: [sections(runAt, 20, nRuns)] },
      { count: f(116, 4), lists: [sections(pageAt, 4, h), sections(dataAt, root.pageSize, h)] },
      { lists: [[[40, 72], ...sections(120, 32, n), ...sections(packAt, 32, p)]] },
    ],
    interesting: [
      n, n + 1, n - 1, p, p + 1, p - 1, nRuns, nRuns + 1, nRuns - 1, h, h + 1, h - 1, 0, 1, 2, 3,
      nBlocks, nBlocks - 1, nBlocks + 1, maxPage, maxPage + 1,
      ...root.runs.flatMap((r) => [r.firstBlock, r.firstBlock + 1, r.firstBlock - 1]).slice(0, 12),
      ...root.pages.slice(0, 4), ...root.pages.slice(-2).map((x) => x + 1),
      ...COUNT_LIMITS, ...LENGTH_LIMITS,
    ],
    cuts: [104, 120, packAt, runAt, pageAt, dataAt, ...(h ? [dataAt + root.pageSize, bytes.length - root.pageSize] : [])],
  };
}

function nodeSeed(name: string, bytes: Uint8Array, firstBlock: number): Seed {
  const n = (bytes.length - 24) / 32;
  return {
    name, bytes, fields: [f(4, 2), f(6, 1), f(7, 1), f(8, 8), f(16, 4), f(20, 4)],
    groups: [{ count: f(16, 4), lists: [sections(24, 32, n)] }],
    interesting: [n, n + 1, n - 1, firstBlock, firstBlock + 1, firstBlock - 1, 0, 1, 2, 8, 9],
    cuts: [16, 24, bytes.length - 32],
  };
}

/** A leaf: header, then one 32-byte hash per block. */
function leafSeed(name: string, bytes: Uint8Array, leaf: LeafManifest, blocksPerLeaf: number): Seed {
  const e = leaf.hashes.length;
  return {
    name, bytes, fields: [f(4, 2), f(6, 2), f(8, 8), f(12, 4), f(16, 4), f(20, 4), f(16, 4)],
    groups: [{ count: f(16, 4), lists: [sections(24, 32, e)] }],
    interesting: [e, e + 1, e - 1, 0, 1, 2, blocksPerLeaf, blocksPerLeaf + 1, leaf.firstBlock, leaf.firstBlock + 1, leaf.firstBlock - 1, leaf.firstBlock + blocksPerLeaf, ...COUNT_LIMITS],
    cuts: [16, 24, bytes.length - 32],
  };
}

function varintAt(b: Uint8Array, off: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    const byte = b[off + i] ?? 0;
    if (i === 8) return [v * 256 + byte, 9];
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) return [v, i + 1];
  }
  return [v, 9];
}

/** A SQLite page as a seed: its header fields, cell pointers, child pointers, payload
 *  sizes and (in schema records) the root page numbers the walk follows. */
function pageSeed(bytes: Uint8Array, pgno: number, pageCount: number, interestingPages: number[], schemaPages: Set<number>, usable: number): Seed {
  const hdr = pgno === 1 ? 100 : 0;
  const fields: Field[] = [];
  const groups: Group[] = [];
  if (pgno === 1) fields.push(f(16, 2), f(18, 1), f(19, 1), f(20, 1), f(24, 4), f(28, 4), f(92, 4), f(96, 4));
  fields.push(f(0, 4)); // an overflow page's next pointer
  try {
    const p = parseBtreePage(bytes, pgno);
    const interior = p.type === 2 || p.type === 5;
    const ptrs = hdr + (interior ? 12 : 8);
    fields.push(f(hdr, 1), f(hdr + 1, 2), f(hdr + 3, 2), f(hdr + 5, 2), f(hdr + 7, 1));
    if (interior) fields.push(f(hdr + 8, 4));
    groups.push({ count: f(hdr + 3, 2), lists: [sections(ptrs, 2, p.cells.length)] });
    // Each cell's bytes, to the next cell (or the end of the page); a table-leaf cell exactly.
    const sorted = [...p.cells].sort((x, y) => x - y);
    const extent = (off: number): [number, number] => {
      let end = sorted.find((o) => o > off) ?? bytes.length;
      if (p.type === 13) {
        const [size, a] = varintAt(bytes, off);
        const [, b2] = varintAt(bytes, off + a);
        const maxLocal = usable - 35;
        const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
        const k = minLocal + ((size - minLocal) % (usable - 4));
        const local = size <= maxLocal ? size : k <= maxLocal ? k : minLocal;
        end = Math.min(bytes.length, off + a + b2 + local + (local < size ? 4 : 0));
      }
      return [off, end];
    };
    groups.push({ lists: [p.cells.map(extent)], pointers: p.cells.map((_, i) => f(ptrs + 2 * i, 2)) });
    for (let i = 0; i < p.cells.length; i++) {
      const off = p.cells[i];
      fields.push(f(ptrs + 2 * i, 2), f(off, 1), f(off, 2));
      if (interior) fields.push(f(off, 4));
      if (p.type === 13) {
        // payload size, rowid, then the record: its header and (schema) column 3, the root page.
        const [size, a] = varintAt(bytes, off);
        const [, b2] = varintAt(bytes, off + a);
        const start = off + a + b2;
        fields.push(f(off + a, 1));
        const maxLocal = usable - 35;
        if (size > maxLocal) {
          const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
          const k = minLocal + ((size - minLocal) % (usable - 4));
          const local = k <= maxLocal ? k : minLocal;
          fields.push(f(start + local, 4)); // the first overflow page
        }
        if (schemaPages.has(pgno)) {
          const [hsize, h0] = varintAt(bytes, start);
          let h = start + h0;
          let body = start + hsize;
          for (let col = 0; h < start + hsize && col < 5; col++) {
            const [t, n] = varintAt(bytes, h);
            fields.push(f(h, 1));
            h += n;
            const len = t <= 4 ? t : t === 5 ? 6 : t === 6 || t === 7 ? 8 : t >= 12 ? Math.floor((t - 12) / 2) : 0;
            if (col === 3 && len >= 1 && len <= 4) fields.push(f(body, len as 1 | 2 | 4));
            body += len;
          }
        }
      }
    }
  } catch {
    // not a b-tree page (overflow, freelist): bytes and its first pointer only
  }
  return {
    name: `page ${pgno}`, bytes, fields, groups,
    interesting: [
      0, 1, 2, pgno, pgno + 1, pageCount, pageCount + 1, 2 ** 31, 2 ** 32 - 1, 65536, ...interestingPages,
      // offsets near the end of the page, and 2-byte varints of payload sizes around the local maximum
      ...[1, 2, 4, 5, 8, 40, 44].map((k) => bytes.length - k),
      ...[usable - 36, usable - 35, usable - 34, usable, 1000, 5000, 16000].map((n) => ((0x80 | (n >> 7)) << 8) | (n & 0x7f)),
    ],
  };
}

function makeDatabase(): Database.Database {
  const db = new Database(':memory:');
  db.pragma('page_size = 512');
  db.exec(`
    CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, body BLOB);
    CREATE INDEX t_name ON t(name);
    CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
    CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB);
    CREATE TABLE wide(${Array.from({ length: 40 }, (_, i) => `column_with_a_long_name_${i} TEXT DEFAULT 'x'`).join(', ')});
    CREATE VIEW names AS SELECT name FROM t WHERE id % 2 = 0;
    CREATE TRIGGER t_del AFTER DELETE ON t BEGIN DELETE FROM kv WHERE k = old.name; END;
  `);
  for (let i = 0; i < 6; i++) db.exec(`CREATE TABLE small${i}(x INTEGER, y TEXT); INSERT INTO small${i} VALUES (${i}, 'row ${i}');`);
  // Deterministic content: the same corpus, hence the same cases, on every run.
  let x = 12345;
  const rnd = () => { x = (x * 1103515245 + 12345) >>> 0; return x; };
  const insT = db.prepare('INSERT INTO t(id, name, body) VALUES (?, ?, ?)');
  const insKv = db.prepare('INSERT INTO kv VALUES (?, ?)');
  const insBig = db.prepare('INSERT INTO big VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= 600; i++) insT.run(i, `name-${(rnd() % 100000).toString().padStart(5, '0')}-${i}`, Buffer.alloc(30, i & 0xff));
    for (let i = 0; i < 300; i++) insKv.run(`key-${rnd().toString(36)}-${i}`, i);
    for (let i = 1; i <= 12; i++) insBig.run(i, Buffer.alloc(1500 + i * 37, i));
  })();
  return db;
}

let corpusPromise: Promise<Corpus> | null = null;
/** Built once per process (an upload of two versions of a small database into memory). */
export function corpus(): Promise<Corpus> {
  corpusPromise ??= buildCorpus();
  return corpusPromise;
}

async function buildCorpus(): Promise<Corpus> {
  const db = makeDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketlite-fuzz-'));
  const store = new MemoryStore();
  const heads: Uint8Array[] = [];
  const dbFiles: Uint8Array[] = [];
  try {
    const file = path.join(dir, 'fuzz.db');
    // A deep tree on a small file: 4 KiB blocks, 2 blocks per leaf, fanout 2; small packs,
    // so that the run table has several packs and runs (more after the second version).
    const opts = { blockSize: 4096, packSize: 4 * 4096, blocksPerLeaf: 2, fanout: 2, now: () => 1_700_000_000_000 };
    for (const change of [null, "UPDATE t SET name = 'changed' WHERE id = 7"]) {
      if (change) db.exec(change);
      const bytes = new Uint8Array(db.serialize());
      dbFiles.push(bytes);
      fs.writeFileSync(file, bytes);
      const r = await upload(file, store, opts);
      if (!r.committed) throw new Error('fuzz corpus: upload did not commit');
      heads.push(store.objects.get('HEAD')!.body);
    }
    // A second bucket at the default shape: a shallow tree, one pack, one run.
    fs.writeFileSync(file, dbFiles[1]);
    const flat = new MemoryStore();
    await upload(file, flat, { now: () => 1_700_000_000_000 });
    heads.push(flat.objects.get('HEAD')!.body);
    return collect([store, store, flat], heads, dbFiles[1]);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function collect(stores: MemoryStore[], headBytes: Uint8Array[], dbBytes: Uint8Array): Corpus {
  const c: Corpus = { heads: [], roots: [], nodes: [], leaves: [], db: null as unknown as Corpus['db'] };
  let embedded: number[] = [1];
  const seenObjects = new Set<string>();
  headBytes.forEach((hb, i) => {
    const head = decodeHead(hb);
    c.heads.push({ name: `HEAD v${head.seq}`, bytes: hb, fields: [], groups: [], interesting: [] });
    if (i === 0) c.heads.push({ name: 'HEAD without inline', bytes: encodeHead({ seq: head.seq, root: head.root }), fields: [], groups: [], interesting: [] });
    const store = stores[i];
    const get = (key: string) => store.objects.get(key)!.body;
    const rootBytes = get(manifestKey(head.root));
    const root = decodeRoot(rootBytes);
    // A small inline root (no embedded pages): the HEADs above carry roots of about 40 KiB.
    if (i === 0) {
      const small = encodeRoot({ ...root, pages: [], pageData: [] });
      c.heads.push({ name: 'HEAD with a small inline root', bytes: encodeHead({ seq: head.seq, root: head.root, inline: small }), fields: [], groups: [], interesting: [] });
    }
    if (!root.pages.length || (i === 1 && root.runs.length < 3)) throw new Error(`fuzz corpus: root v${head.seq} has ${root.pages.length} embedded pages and ${root.runs.length} runs`);
    const label = `root v${head.seq}${i === 2 ? ' (flat)' : ''}`;
    c.roots.push({ seed: rootSeed(label, rootBytes, root), root });
    // The same root without embedded pages, and as a first version (no parent).
    const bare = decodeRoot(encodeRoot({ ...root, pages: [], pageData: [], seq: 1, parent: null }));
    c.roots.push({ seed: rootSeed(`${label} bare`, encodeRoot(bare), bare), root: bare });
    // The database whose pages are mutated is the second version's: its root's pages are the hot ones.
    if (i === 1) embedded = root.pages;
    // Walk the tree: every node and leaf, with the level and first block it must have.
    const walk = (hash: string, level: number, firstBlock: number) => {
      if (seenObjects.has(hash)) return;
      seenObjects.add(hash);
      const bytes = get(manifestKey(hash));
      if (level === 0) {
        const leaf = decodeLeaf(bytes, root, { firstBlock });
        c.leaves.push({ seed: leafSeed(`leaf ${firstBlock}`, bytes, leaf, root.blocksPerLeaf), shape: root, expect: { firstBlock } });
      } else {
        const node = decodeNode(bytes, root, { level, firstBlock });
        c.nodes.push({ seed: nodeSeed(`node ${level}/${firstBlock}`, bytes, firstBlock), shape: root, expect: { level, firstBlock } });
        node.children.forEach((h, k) => walk(h, level - 1, firstBlock + k * blocksPerNode(root, level - 1)));
      }
    };
    root.children.forEach((h, k) => walk(h, root.depth - 1, k * blocksPerNode(root, root.depth - 1)));
  });

  // The database's pages, and the pages its hot-page walk chose for the root (the ones worth mutating).
  const header = parseSqliteHeader(dbBytes);
  const ps = header.pageSize;
  const pageCount = dbBytes.length / ps;
  const hotPages = embedded;
  const schemaPages = new Set<number>([1]);
  const p1 = parseBtreePage(dbBytes.subarray(0, ps), 1);
  for (const ch of p1.children) schemaPages.add(ch);
  const pages = Array.from({ length: pageCount }, (_, i) =>
    pageSeed(dbBytes.slice(i * ps, (i + 1) * ps), i + 1, pageCount, hotPages.slice(0, 24), schemaPages, ps - header.reserved));
  c.db = { bytes: dbBytes, pageSize: ps, pageCount, pages, hotPages, schemaPages: [...schemaPages] };
  return c;
}

// ---- re-validation of what a decoder accepted -----------------------------------------

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`accepted but inconsistent: ${what}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const safeNat = (n: number) => Number.isSafeInteger(n) && n >= 0;

/**
 * The decoder accepts a pack table that is not the encoder's (packs in order of first use
 * by the runs, each once): a table in another order, or naming one pack twice, decodes
 * to a root whose re-encoding differs in the pack table and the runs' pack indexes (and
 * is shorter when a pack repeats). Until decodeRoot refuses such tables, an accepted root
 * must re-encode to its bytes exactly when its table is canonical and, otherwise, match
 * them everywhere else and name the same pack for every run; such inputs are counted
 * ("non-canonical pack table" in the target's summary). Set this to true to require
 * canonical tables (the target then fails on the first such input it accepts).
 */
const PACK_TABLE_MUST_BE_CANONICAL = true;

function recheckRoot(v: RootManifest, b: Uint8Array): string | void {
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  check(v.formatVersion === FORMAT_VERSION, `format version ${v.formatVersion}`);
  check(pow2(v.pageSize) && v.pageSize >= LIMITS.minPageSize && v.pageSize <= LIMITS.maxPageSize, `page size ${v.pageSize}`);
  check(pow2(v.blockSize) && v.blockSize >= Math.max(v.pageSize, LIMITS.minBlockSize) && v.blockSize <= LIMITS.maxBlockSize, `block size ${v.blockSize}`);
  check(safeNat(v.dbSize) && v.dbSize >= v.pageSize && v.dbSize % v.pageSize === 0 && v.dbSize <= LIMITS.maxDatabaseBytes, `db size ${v.dbSize}`);
  check(Number.isSafeInteger(v.seq) && v.seq >= 1 && (v.seq === 1) === (v.parent === null), `seq ${v.seq} / parent ${v.parent}`);
  check(v.parent === null || isHash(v.parent), 'parent hash');
  check([v.created, v.newBlocks, v.newBytes, v.changeCounter].every(safeNat), 'created / new blocks / new bytes / change counter');
  check(v.depth === treeDepth(v) && v.depth <= LIMITS.maxDepth, `depth ${v.depth}`);
  check(v.children.length === childCount(v, v.depth, 0) && v.children.every(isHash), `${v.children.length} children`);
  // Runs: the first at block 0, strictly ascending, every one inside the file.
  const nBlocks = blockCount(v.dbSize, v.blockSize);
  check(v.runs.length >= 1 && v.runs.length <= Math.min(nBlocks, LIMITS.maxRuns), `${v.runs.length} runs for ${nBlocks} blocks`);
  v.runs.forEach((r, i) => {
    check(Number.isSafeInteger(r.firstBlock) && (i === 0 ? r.firstBlock === 0 : r.firstBlock > v.runs[i - 1].firstBlock) && r.firstBlock < nBlocks, `run ${i} starts at block ${r.firstBlock}`);
    check(isHash(r.pack) && safeNat(r.offset), `run ${i} pack / offset`);
  });
  // The pack table as stored: every run's index inside it and naming the run's pack, every pack used.
  const n = v.children.length;
  const p = Number(readBE(b, 108, 4));
  check(p >= 1 && p <= LIMITS.maxPacks && p <= v.runs.length, `${p} packs for ${v.runs.length} runs`);
  const packAt = 120 + 32 * n;
  const runAt = packAt + 32 * p;
  const table = Array.from({ length: p }, (_, i) => toHex(b.subarray(packAt + 32 * i, packAt + 32 * (i + 1))));
  const used = new Set<number>();
  v.runs.forEach((r, i) => {
    const pi = Number(readBE(b, runAt + 20 * i + 8, 4));
    check(pi < p && table[pi] === r.pack, `run ${i} names pack ${pi} of ${p}`);
    check(Number(readBE(b, runAt + 20 * i, 8)) === r.firstBlock && Number(readBE(b, runAt + 20 * i + 12, 8)) === r.offset, `run ${i} as stored`);
    used.add(pi);
  });
  check(used.size === p, `${p - used.size} of ${p} packs named by no run`);
  // Embedded pages: ascending, inside the database, a page each, the input's own bytes.
  const maxPage = v.dbSize / v.pageSize;
  const h = v.pages.length;
  check(h === v.pageData.length && h <= maxPage, `${h} embedded pages, ${v.pageData.length} page bodies`);
  v.pages.forEach((pg, i) => check(Number.isInteger(pg) && pg >= 1 && pg <= maxPage && (i === 0 || pg > v.pages[i - 1]), `embedded page ${pg} at ${i}`));
  const pageAt = runAt + 20 * v.runs.length;
  const dataAt = pageAt + 4 * h;
  check(b.length === dataAt + h * v.pageSize, `${b.length} bytes for the counts`);
  v.pageData.forEach((d, i) => check(sameBytes(d, b.subarray(dataAt + i * v.pageSize, dataAt + (i + 1) * v.pageSize)), `embedded page ${v.pages[i]}'s bytes`));
  // Every field is decoded and checked: re-encoding gives back exactly the input.
  const again = encodeRoot(v);
  const canonical = table.length === runPacks(v.runs).length && table.every((x, i) => x === runPacks(v.runs)[i]);
  if (canonical || PACK_TABLE_MUST_BE_CANONICAL) {
    check(sameBytes(again, b), canonical ? 'root does not re-encode to its bytes' : `pack table not in order of first use, each pack once: ${table.length} packs, ${runPacks(v.runs).length} distinct`);
    return;
  }
  // A non-canonical pack table: the same bytes outside the pack table and the run indexes.
  const p2 = runPacks(v.runs).length;
  const runAt2 = packAt + 32 * p2;
  check(again.length === b.length - 32 * (p - p2), 're-encoded length');
  check(sameBytes(again.subarray(0, 108), b.subarray(0, 108)) && sameBytes(again.subarray(112, packAt), b.subarray(112, packAt)), 're-encoded header and children');
  v.runs.forEach((_, i) => {
    const [x, y] = [runAt2 + 20 * i, runAt + 20 * i];
    check(sameBytes(again.subarray(x, x + 8), b.subarray(y, y + 8)) && sameBytes(again.subarray(x + 12, x + 20), b.subarray(y + 12, y + 20)), `re-encoded run ${i}`);
  });
  check(sameBytes(again.subarray(runAt2 + 20 * v.runs.length), b.subarray(pageAt)), 're-encoded embedded pages');
  const back = decodeRoot(again);
  check(back.runs.every((r, i) => r.pack === v.runs[i].pack && r.firstBlock === v.runs[i].firstBlock && r.offset === v.runs[i].offset), 're-encoded runs name other packs');
  return 'non-canonical pack table';
}

function recheckNode(v: NodeManifest, b: Uint8Array, s: TreeShape, e: { level: number; firstBlock: number }): void {
  check(v.level === e.level && v.firstBlock === e.firstBlock, `level ${v.level} first block ${v.firstBlock}`);
  check(v.children.length === childCount(s, v.level, v.firstBlock) && v.children.every(isHash), `${v.children.length} children`);
  check(sameBytes(encodeNode(v), b), 'node does not re-encode to its bytes');
}

function recheckLeaf(v: LeafManifest, b: Uint8Array, s: TreeShape, e: { firstBlock: number }): void {
  const want = Math.min(s.blocksPerLeaf, blockCount(s.dbSize, s.blockSize) - e.firstBlock);
  check(v.firstBlock === e.firstBlock && v.hashes.length === want, `${v.hashes.length} hashes at ${v.firstBlock}`);
  check(v.hashes.every(isHash), 'hashes');
  check(b.length === 24 + 32 * want, `${b.length} bytes for ${want} hashes`);
  v.hashes.forEach((x, i) => check(x === toHex(b.subarray(24 + 32 * i, 56 + 32 * i)), `hash ${i}`));
  check(sameBytes(encodeLeaf(v), b), 'leaf does not re-encode to its bytes');
}

function recheckHead(v: Head, b: Uint8Array): void {
  check(Number.isSafeInteger(v.version) && v.version >= 1 && v.version <= FORMAT_VERSION, `version ${v.version}`);
  check(Number.isSafeInteger(v.seq) && v.seq >= 1, `seq ${v.seq}`);
  check(isHash(v.root), `root ${v.root}`);
  check(v.inline === undefined || (v.inline instanceof Uint8Array && v.inline.length <= b.length), 'inline');
  const again = decodeHead(encodeHead(v));
  check(again.seq === v.seq && again.root === v.root, 'HEAD does not survive re-encoding');
  if (v.inline && v.inline.length <= ROOT_INLINE_MAX) check(!!again.inline && sameBytes(again.inline, v.inline), 'inline does not survive re-encoding');
}

function recheckSqliteHeader(v: SqliteHeader): void {
  check(v.pageSize >= 512 && v.pageSize <= 65536 && (v.pageSize & (v.pageSize - 1)) === 0, `page size ${v.pageSize}`);
  check(v.pageSize - v.reserved >= 480, `reserved ${v.reserved}`);
  check([1, 2].includes(v.writeVersion) && [1, 2].includes(v.readVersion), 'versions');
}

function recheckBtreePage(v: ReturnType<typeof parseBtreePage>, b: Uint8Array, pgno: number): void {
  const interior = v.type === 2 || v.type === 5;
  check([2, 5, 10, 13].includes(v.type), `type ${v.type}`);
  const ptrs = (pgno === 1 ? 100 : 0) + (interior ? 12 : 8);
  check(v.cells.every((o) => o >= ptrs + 2 * v.cells.length && o + 4 <= b.length), 'cell offsets');
  check(v.children.length === (interior ? v.cells.length + 1 : 0), 'children');
}

// ---- targets --------------------------------------------------------------------------

export interface FuzzTarget {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  property: fc.IRawProperty<any>;
  /** Cases in the fixed (CI) run. */
  runs: number;
  /** Relative cost: the long run gives this target `runs / cost` cases. */
  cost: number;
  /** Structure-aware targets: what their inputs came to, and what that must look like. */
  outcomes?: Outcomes;
  minReasons?: number;
}

/** Slower than this for one input is a failure: a decoder must not loop on a count. */
const SLOW_MS = 2_000;

/** One input through one decoder: a typed rejection is counted, an accepted value is
 *  re-validated, anything else (or a slow decode) fails the property. */
function decodeOnce<T>(
  b: Uint8Array, outcomes: Outcomes, codes: ErrorCode[] | 'page', decode: (b: Uint8Array) => T, recheck: (v: T, b: Uint8Array) => string | void,
): void {
  const t0 = performance.now();
  let v: T;
  try {
    v = decode(b);
  } catch (err) {
    const typed = codes === 'page'
      ? err instanceof PageFormatError
      : err instanceof BucketliteError && err.code.startsWith('ERR_') && codes.includes(err.code);
    if (!typed) throw err;
    outcomes.reject((err as Error).message);
    return;
  } finally {
    const ms = performance.now() - t0;
    if (ms > SLOW_MS) throw new Error(`decoding ${b.length} bytes took ${ms.toFixed(0)} ms`);
  }
  const note = recheck(v, b);
  if (note) outcomes.note(note);
  outcomes.accepted++;
}

/** Mutants of one of `items` (each a seed with what its decoder is told to expect). */
function itemProperty<T extends { seed: Seed }, V>(
  items: readonly T[], outcomes: Outcomes, codes: ErrorCode[] | 'page',
  decode: (b: Uint8Array, item: T) => V, recheck: (v: V, b: Uint8Array, item: T) => string | void, ops: fc.Arbitrary<Op> = opArb,
): fc.IProperty<[{ item: T; bytes: Uint8Array }]> {
  const seeds = items.map((x) => x.seed);
  const arb = fc.tuple(fc.nat(), fc.array(ops, { minLength: 1, maxLength: 5 }))
    .map(([i, list]) => ({ item: items[i % items.length], bytes: applyOps(seeds[i % items.length], list, seeds) }));
  return fc.property(arb, ({ item, bytes }) => decodeOnce(bytes, outcomes, codes, (b) => decode(b, item), (v, b) => recheck(v, b, item)));
}

const MANIFEST_CODES: ErrorCode[] = ['ERR_BAD_MANIFEST', 'ERR_UNSUPPORTED_VERSION'];

/** The page reads a walk may make: every page a few times over, plus the probes. */
const readLimit = (pageCount: number, maxPages: number) => 8 * (pageCount + maxPages) + 256;

export interface WalkCase {
  /** `where`: 0 a schema page, 1 a hot page, 2 any page. */
  edits: Array<{ page: number; where: number; ops: Op[] }>;
  resize: number;
  budgetPages: number;
}

const walkArb: fc.Arbitrary<WalkCase> = fc.record({
  edits: fc.array(fc.record({
    page: fc.nat(),
    where: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
    ops: fc.array(opArb, { minLength: 1, maxLength: 3 }),
  }), { minLength: 1, maxLength: 4 }),
  resize: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -300, max: 8 }) }),
  budgetPages: fc.constantFrom(1, 3, 8, 24, 64, 1_000_000),
});

/** A copy of the database with some pages mutated (hot ones mostly) and maybe resized. */
export function buildWalkFile(db: Corpus['db'], c: WalkCase): Uint8Array {
  const ps = db.pageSize;
  const pages = db.pageCount + Math.max(-(db.pageCount - 1), c.resize);
  const file = new Uint8Array(pages * ps);
  file.set(db.bytes.subarray(0, Math.min(db.bytes.length, file.length)));
  for (const e of c.edits) {
    const from = e.where === 0 ? db.schemaPages : e.where === 1 ? db.hotPages : null;
    const pgno = from ? from[e.page % from.length] : (e.page % db.pageCount) + 1;
    if (pgno > pages) continue;
    const seed = db.pages[pgno - 1];
    const b = applyOps(seed, e.ops, db.pages);
    const out = new Uint8Array(ps); // a page keeps its size: a shorter one is zero-filled
    out.set(b.subarray(0, ps));
    file.set(out, (pgno - 1) * ps);
  }
  return file;
}

/**
 * Runs the hot-page walk the way upload() does on a file (header checks first, a fresh
 * buffer per page read). Throws on anything the walk must never do: read outside the
 * file, read without bound, exceed its budget, return bytes that are not the file's,
 * swallow an untyped error; counts the outcome (clean, or a warning: damage found).
 */
export async function walkFile(file: Uint8Array, budgetPages: number, outcomes: Outcomes | null): Promise<{ reads: number; pageCount: number }> {
  let header: SqliteHeader;
  try {
    header = parseSqliteHeader(file.subarray(0, Math.min(file.length, 100)));
  } catch (err) {
    if (!(err instanceof BucketliteError && err.code === 'ERR_NOT_SQLITE')) throw err;
    outcomes?.reject(err.message);
    return { reads: 0, pageCount: 0 };
  }
  recheckSqliteHeader(header);
  // What openDatabaseInput() refuses before the walk.
  if (file.length % header.pageSize !== 0) { outcomes?.reject('input: size is not a multiple of the page size'); return { reads: 0, pageCount: 0 }; }
  const pageCount = file.length / header.pageSize;
  if (header.pageCountValid && header.pageCount > pageCount) { outcomes?.reject('input: header page count exceeds the file'); return { reads: 0, pageCount }; }
  const ps = header.pageSize;
  const maxPages = Math.max(1, budgetPages);
  const limit = readLimit(pageCount, maxPages);
  const violations: string[] = [];
  let reads = 0;
  // Like upload's reader: a fresh buffer per page. Violations are recorded here, since the
  // walk turns errors thrown by the reader into warnings.
  const read = async (n: number): Promise<Uint8Array> => {
    reads++;
    if (!(Number.isInteger(n) && n >= 1 && n <= pageCount)) violations.push(`read of page ${n}, outside 1..${pageCount}`);
    if (reads === limit + 1) violations.push(`more than ${limit} page reads for ${pageCount} pages`);
    if (reads > limit) throw new Error('read limit');
    return file.slice((n - 1) * ps, n * ps);
  };
  const t0 = performance.now();
  let r;
  try {
    r = await findHotPages(read, header, pageCount, maxPages * ps);
  } catch (err) {
    // Only the reader's own error may come out (the first read, or a read past the limit).
    throw new Error(`hot-page walk threw: ${violations.length ? violations.join('; ') : String(err)}`, { cause: err });
  }
  const ms = performance.now() - t0;
  if (ms > SLOW_MS) violations.push(`walk took ${ms.toFixed(0)} ms`);
  if (r.pages.size > maxPages) violations.push(`budget exceeded: ${r.pages.size} pages > ${maxPages}`);
  for (const [n, bytes] of r.pages) {
    if (!(Number.isInteger(n) && n >= 1 && n <= pageCount)) violations.push(`hot page ${n} outside 1..${pageCount}`);
    else if (!sameBytes(bytes, file.subarray((n - 1) * ps, n * ps))) violations.push(`hot page ${n} is not the file's page`);
  }
  for (const w of r.warnings) if (ENGINE_ERROR.test(w)) violations.push(`an untyped error was swallowed into a warning: ${w}`);
  if (violations.length) throw new Error(`hot-page walk: ${violations.join('; ')}`);
  const damaged = r.warnings.filter((w) => !w.startsWith('hot-page budget'));
  if (outcomes) {
    if (damaged.length) outcomes.reject(damaged[0]);
    else outcomes.accepted++;
  }
  return { reads, pageCount };
}

/**
 * A hostile file no mutation is likely to reach: a schema of `leaves` table-leaf pages
 * (512-byte pages) whose cells all claim the same overflow chain, the rest of the file.
 * Followed once per cell, the chain costs cells × chain page reads, quadratic in the hot
 * budget: before the walk shared its overflow bookkeeping across cells, 300 pages cost
 * 50,520 reads and 4,200 pages (2 MiB, with a 4 MiB budget) 1.87 M reads (914 MiB, 6 s).
 */
export function sharedOverflowFile(pageCount: number, leaves: number): Uint8Array {
  const ps = 512;
  const file = new Uint8Array(pageCount * ps);
  const u16 = (at: number, v: number) => { file[at] = v >> 8; file[at + 1] = v & 0xff; };
  const u32 = (at: number, v: number) => { u16(at, v >>> 16); u16(at + 2, v & 0xffff); };
  file.set(new TextEncoder().encode('SQLite format 3\0'));
  u16(16, ps); file[18] = 1; file[19] = 1; file[20] = 0; file[21] = 64; file[22] = 32; file[23] = 32;
  u32(28, pageCount);
  // Page 1: an interior table page over schema leaves 2 .. leaves + 1.
  const h = 100;
  file[h] = 5;
  u16(h + 3, leaves - 1);
  u32(h + 8, leaves + 1); // right-most child
  let content = ps;
  for (let i = 0; i < leaves - 1; i++) {
    content -= 5;
    u32(content, i + 2);
    file[content + 4] = i + 1; // rowid key
    u16(h + 12 + 2 * i, content);
  }
  u16(h + 5, content);
  // The chain: pages leaves + 2 .. pageCount, each pointing at the next.
  const first = leaves + 2;
  const chain = pageCount - first + 1;
  for (let pg = first; pg < pageCount; pg++) u32((pg - 1) * ps, pg + 1);
  const usable = ps;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  const size = minLocal + chain * (usable - 4); // exactly the local part plus the whole chain
  for (let leaf = 2; leaf <= leaves + 1; leaf++) {
    const base = (leaf - 1) * ps;
    const cellLen = 4 + 3 + minLocal + 4;
    const cells = Math.floor((ps - 8) / (cellLen + 2));
    file[base] = 13;
    u16(base + 3, cells);
    let at = ps;
    for (let i = 0; i < cells; i++) {
      at -= cellLen;
      const c = base + at;
      // payload size as a 4-byte varint, rowid as a 3-byte varint
      file[c] = 0x80 | ((size >> 21) & 0x7f); file[c + 1] = 0x80 | ((size >> 14) & 0x7f); file[c + 2] = 0x80 | ((size >> 7) & 0x7f); file[c + 3] = size & 0x7f;
      file[c + 4] = 0x81; file[c + 5] = 0x80; file[c + 6] = i;
      u32(c + 7 + minLocal, first);
      u16(base + 8 + 2 * i, at);
    }
    u16(base + 5, at);
  }
  return file;
}

/** All targets: the random-bytes properties, then the structure-aware ones (fresh counters). */
export async function fuzzTargets(): Promise<FuzzTarget[]> {
  const c = await corpus();
  const targets: FuzzTarget[] = Object.entries(PROPERTIES).map(([name, property]) => ({
    name: `random bytes: ${name}`, property, runs: name === 'hot-page walk' ? 300 : 1000, cost: name === 'hot-page walk' ? 10 : 1,
  }));
  const add = (name: string, runs: number, cost: number, minReasons: number, make: (o: Outcomes) => fc.IRawProperty<[unknown]>) => {
    const outcomes = new Outcomes();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    targets.push({ name: `mutated: ${name}`, property: make(outcomes) as fc.IRawProperty<any>, runs, cost, outcomes, minReasons });
  };
  const headOps = fc.oneof({ weight: 3, arbitrary: jsonOpArb }, { weight: 1, arbitrary: opArb });
  add('HEAD', 5000, 1, 8, (o) => fc.property(mutants(c.heads, headOps), (b) => decodeOnce(b, o, ['ERR_BAD_HEAD', 'ERR_UNSUPPORTED_VERSION'], decodeHead, recheckHead)) as fc.IRawProperty<[unknown]>);
  add('root', 5000, 1, 10, (o) => itemProperty(c.roots, o, MANIFEST_CODES, (b) => decodeRoot(b), (v, b) => recheckRoot(v, b)) as fc.IRawProperty<[unknown]>);
  add('interior node', 5000, 1, 5, (o) => itemProperty(c.nodes, o, MANIFEST_CODES, (b, it) => decodeNode(b, it.shape, it.expect), (v, b, it) => recheckNode(v, b, it.shape, it.expect)) as fc.IRawProperty<[unknown]>);
  add('leaf', 5000, 1, 6, (o) => itemProperty(c.leaves, o, MANIFEST_CODES, (b, it) => decodeLeaf(b, it.shape, it.expect), (v, b, it) => recheckLeaf(v, b, it.shape, it.expect)) as fc.IRawProperty<[unknown]>);
  const page1 = [c.db.pages[0]];
  add('SQLite header', 3000, 1, 4, (o) => fc.property(mutants(page1), (b) => decodeOnce(b, o, ['ERR_NOT_SQLITE'], (x) => parseSqliteHeader(x), recheckSqliteHeader)) as fc.IRawProperty<[unknown]>);
  const btreePages = c.db.pages.map((seed, i) => ({ seed, pgno: i + 1 })).filter((x) => x.seed.groups.length);
  add('B-tree page', 5000, 1, 3, (o) => itemProperty(btreePages, o, 'page', (b, it) => parseBtreePage(b, it.pgno), (v, b, it) => recheckBtreePage(v, b, it.pgno)) as fc.IRawProperty<[unknown]>);
  add('hot-page walk', 3000, 10, 6, (o) => fc.asyncProperty(walkArb, async (wc) => { await walkFile(buildWalkFile(c.db, wc), wc.budgetPages, o); }) as fc.IRawProperty<[unknown]>);
  targets.push({
    name: 'crafted: schema cells sharing one overflow chain',
    property: fc.asyncProperty(fc.integer({ min: 60, max: 1500 }), fc.integer({ min: 2, max: 50 }), fc.constantFrom(64, 512, 8192), async (pages, leaves, budget) => {
      await walkFile(sharedOverflowFile(pages, Math.min(leaves, pages - 10)), budget, null);
    }),
    runs: 40, cost: 100,
  });
  return targets;
}

/** What is wrong with a structure-aware target's outcomes after `runs` cases. */
export function outcomeProblems(t: FuzzTarget, runs: number): string[] {
  const o = t.outcomes;
  if (!o) return [];
  const problems: string[] = [];
  const atLeast = Math.max(1, Math.floor(runs * 0.02));
  if (o.accepted < atLeast) problems.push(`only ${o.accepted} of ${runs} mutated inputs were accepted (want ≥ ${atLeast}): the mutations never keep an input valid`);
  if (o.rejected < atLeast) problems.push(`only ${o.rejected} of ${runs} mutated inputs were rejected (want ≥ ${atLeast}): the mutations do not reach the checks`);
  if (o.reasons.size < (t.minReasons ?? 1)) problems.push(`rejections came from ${o.reasons.size} distinct checks, want ≥ ${t.minReasons}`);
  if (o.magicShare() > 0.5) problems.push(`${(100 * o.magicShare()).toFixed(0)}% of rejections are at the magic: the mutations are mostly garbage`);
  return problems;
}

// ---- running a target -----------------------------------------------------------------

export interface TargetRun {
  numRuns: number;
  seconds: number;
  interrupted: boolean;
  /** Empty when the target passed: ran every case, no failure, outcomes as required. */
  problems: string[];
  /** fast-check's report of a failure (seed, path, counterexample), if any. */
  report?: string;
  error?: unknown;
}

/**
 * Runs one target for exactly `numRuns` cases, or fails. fast-check's time limit on its own
 * turns a run cut short into a pass with fewer cases; here `interrupted` or a short count
 * is a problem. (The plugin's `failOnInterrupt: true` is not used: in fast-check 4.10 it
 * makes `fc.check` throw instead of returning its details.)
 */
export async function runTarget(t: FuzzTarget, numRuns: number, opts: { seed?: number; timeLimitMs: number }): Promise<TargetRun> {
  const t0 = performance.now();
  let r: fc.RunDetails<unknown>;
  try {
    r = await fc.check(t.property, {
      numRuns,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      plugins: [fc.interruptAfterTimeLimit(opts.timeLimitMs)],
    });
  } catch (error) {
    return { numRuns: 0, seconds: (performance.now() - t0) / 1000, interrupted: false, problems: [`fast-check threw: ${String(error)}`], error };
  }
  const seconds = (performance.now() - t0) / 1000;
  const problems: string[] = [];
  let report: string | undefined;
  if (r.interrupted) problems.push(`cut short by the ${opts.timeLimitMs} ms time limit after ${r.numRuns} of ${numRuns} cases (${seconds.toFixed(1)} s)`);
  // (Interrupted before any case succeeded, fast-check also sets `failed`, with no error.)
  if (r.failed && !(r.interrupted && r.errorInstance == null)) {
    report = `${fc.defaultReportMessage(r) ?? 'failed'}${asText(r.counterexample)}`;
    problems.push(`failed (seed ${r.seed}, path ${r.counterexamplePath}): ${String(r.errorInstance)}`);
  } else if (r.numRuns !== numRuns) {
    if (!r.interrupted) problems.push(`ran ${r.numRuns} of ${numRuns} cases`);
  } else {
    problems.push(...outcomeProblems(t, r.numRuns));
  }
  return { numRuns: r.numRuns, seconds, interrupted: r.interrupted, problems, report, error: r.errorInstance };
}

/** A byte counterexample as Latin-1 text too (HEAD is JSON; others show their magic). */
function asText(ce: unknown): string {
  const v = Array.isArray(ce) ? ce[0] : undefined;
  const b = v instanceof Uint8Array ? v : (v as { bytes?: unknown } | undefined)?.bytes;
  return b instanceof Uint8Array ? `\nAs text: ${JSON.stringify(Buffer.from(b.subarray(0, 400)).toString('latin1'))}` : '';
}
