/**
 * The manifest tree (format version 2): a root (one per version) that says where every
 * block is stored (a run table) and carries the pages every query starts from, optional
 * interior nodes, and leaves that hold the SHA-256 of every block. Binary, big-endian;
 * the byte tables are in docs/FORMAT.md. Every object is named by the SHA-256 of its
 * bytes, so an unchanged subtree is shared by versions and a commit rewrites only what
 * it touched.
 *
 * Decoders here check structure, limits and the tree's shape; callers check that the
 * bytes hash to the name they were fetched by (see bucket/versions.ts).
 */
import { BucketliteError } from '../errors.js';
import { ByteReader, ByteWriter } from './binary.js';
import {
  FORMAT_VERSION, HASH_BYTES, LEAF_HEADER_BYTES, LIMITS, MAGIC_LEAF, MAGIC_NODE, MAGIC_ROOT,
  NODE_HEADER_BYTES, ROOT_HEADER_BYTES, RUN_BYTES, ZERO_HASH,
} from './constants.js';

/**
 * Blocks [firstBlock, next run's firstBlock) lie back to back in `pack` from `offset`,
 * each stored raw at its length (§2): block i is at offset + (i - firstBlock) x B.
 */
export interface Run {
  firstBlock: number;
  pack: string;
  offset: number;
}

export interface RootManifest {
  formatVersion: number;
  pageSize: number;
  blockSize: number;
  dbSize: number;
  seq: number;
  /** Milliseconds since the Unix epoch. */
  created: number;
  parent: string | null;
  changeCounter: number;
  blocksPerLeaf: number;
  fanout: number;
  depth: number;
  newBlocks: number;
  newBytes: number;
  children: string[];
  /** Where every block is stored, in block order; the first run starts at block 0. */
  runs: Run[];
  /**
   * Pages embedded in the root (page 1, the schema, B-tree roots, ...): ascending page
   * numbers and their bytes. A reader has them with HEAD, verified by the root's hash.
   */
  pages: number[];
  pageData: Uint8Array[];
}

export interface NodeManifest {
  level: number;
  firstBlock: number;
  children: string[];
}

/** A block: its hash (from a leaf) and where it is stored (from the root's runs). */
export interface BlockRef {
  hash: string;
  pack: string;
  offset: number;
  /** Stored length in the pack: the block's length (§2). */
  length: number;
}

export interface LeafManifest {
  firstBlock: number;
  /** SHA-256 of each block, in block order. */
  hashes: string[];
}

// ---- tree shape ----------------------------------------------------------------------

export interface TreeShape {
  blockSize: number;
  dbSize: number;
  blocksPerLeaf: number;
  fanout: number;
}

export function blockCount(dbSize: number, blockSize: number): number {
  return Math.ceil(dbSize / blockSize);
}

/** Length in bytes of block `index` (the last block may be short). */
export function blockLength(s: Pick<TreeShape, 'dbSize' | 'blockSize'>, index: number): number {
  return Math.min(s.blockSize, s.dbSize - index * s.blockSize);
}

/** Depth of the tree under the root: 1 when the root's children are leaves. */
export function treeDepth(s: TreeShape): number {
  const leaves = Math.ceil(blockCount(s.dbSize, s.blockSize) / s.blocksPerLeaf);
  let depth = 1;
  let perChild = 1; // leaves under one root child
  while (Math.ceil(leaves / perChild) > s.fanout) {
    depth++;
    perChild *= s.fanout;
  }
  return depth;
}

/** Blocks covered by one node at `level` (0 = leaf). */
export function blocksPerNode(s: TreeShape, level: number): number {
  return s.blocksPerLeaf * s.fanout ** level;
}

/** Number of children of the node at `level` (≥ 1) that starts at `firstBlock`. */
export function childCount(s: TreeShape, level: number, firstBlock: number): number {
  const remaining = Math.min(blocksPerNode(s, level), blockCount(s.dbSize, s.blockSize) - firstBlock);
  return Math.ceil(remaining / blocksPerNode(s, level - 1));
}

// ---- runs ----------------------------------------------------------------------------

/** The packs the runs name, each once, in order of first use. */
export function runPacks(runs: Run[]): string[] {
  return [...new Set(runs.map((r) => r.pack))];
}

/** Index of the run holding block `index` (binary search). */
export function runOf(runs: Run[], index: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (runs[mid].firstBlock <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Where block `index` of a version is stored. */
export function locateBlock(root: Pick<RootManifest, 'runs' | 'blockSize' | 'dbSize'>, index: number): { pack: string; offset: number; length: number } {
  const run = root.runs[runOf(root.runs, index)];
  return { pack: run.pack, offset: run.offset + (index - run.firstBlock) * root.blockSize, length: blockLength(root, index) };
}

/** The run table of blocks stored at `locs` (block order): a new run wherever a block does not follow the previous one. */
export function runsOf(locs: { pack: string; offset: number }[], blockSize: number): Run[] {
  const runs: Run[] = [];
  let prev: Run | null = null;
  locs.forEach((l, i) => {
    if (prev && prev.pack === l.pack && l.offset === prev.offset + (i - prev.firstBlock) * blockSize) return;
    prev = { firstBlock: i, pack: l.pack, offset: l.offset };
    runs.push(prev);
  });
  return runs;
}

/** Bytes of the run and pack tables in a root. */
export function locationTableBytes(runs: Run[]): number {
  return runs.length * RUN_BYTES + runPacks(runs).length * HASH_BYTES;
}

/** Encoded size of a root with these tables, before its embedded pages. */
export function rootBytesWithoutPages(children: number, runs: Run[]): number {
  return ROOT_HEADER_BYTES + children * HASH_BYTES + locationTableBytes(runs);
}

// ---- root ----------------------------------------------------------------------------

export function encodeRoot(r: RootManifest): Uint8Array {
  const packs = runPacks(r.runs);
  const packIndex = new Map(packs.map((p, i) => [p, i]));
  const w = new ByteWriter(rootBytesWithoutPages(r.children.length, r.runs) + r.pages.length * (4 + r.pageSize));
  w.ascii(MAGIC_ROOT);
  w.u16(FORMAT_VERSION);
  w.u16(0);
  w.u32(r.pageSize);
  w.u32(r.blockSize);
  w.u64(r.dbSize);
  w.u64(r.seq);
  w.u64(r.created);
  w.hash(r.parent ?? ZERO_HASH);
  w.u32(r.changeCounter);
  w.u32(r.blocksPerLeaf);
  w.u32(r.fanout);
  w.u8(r.depth);
  w.zeros(3);
  w.u64(r.newBlocks);
  w.u64(r.newBytes);
  w.u32(r.children.length);
  w.u32(packs.length);
  w.u32(r.runs.length);
  w.u32(r.pages.length);
  for (const c of r.children) w.hash(c);
  for (const p of packs) w.hash(p);
  for (const run of r.runs) {
    w.u64(run.firstBlock);
    w.u32(packIndex.get(run.pack)!);
    w.u64(run.offset);
  }
  for (const p of r.pages) w.u32(p);
  for (const d of r.pageData) w.raw(d);
  return w.bytes;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/**
 * A format version 1 bucket is not read by this version: its leaves hold locations this
 * reader no longer looks for. The error says how to get a readable bucket.
 */
export function republishError(found: number, key?: string): BucketliteError {
  return new BucketliteError(
    'ERR_UNSUPPORTED_VERSION',
    `this bucket is in format version ${found}; this bucketlite reads and writes version ${FORMAT_VERSION}. ` +
      'Republish the database: `bucketlite upload <db> <new location>` (or delete this bucket\'s HEAD, manifests/ and packs/ and upload again)',
    { op: 'decode', key },
  );
}

function checkVersion(r: ByteReader, what: string, key?: string): number {
  const v = r.u16();
  if (v === 0) r.fail('format version 0 is invalid');
  if (v > FORMAT_VERSION) {
    throw new BucketliteError(
      'ERR_UNSUPPORTED_VERSION',
      `${what} has format version ${v}; this bucketlite reads up to ${FORMAT_VERSION}: upgrade bucketlite`,
      { op: 'decode', key },
    );
  }
  if (v < FORMAT_VERSION) throw republishError(v, key);
  return v;
}

function checkMagic(r: ByteReader, magic: string, what: string): void {
  const m = r.ascii(4);
  if (m !== magic) r.fail(`bad magic ${JSON.stringify(m)}, expected ${JSON.stringify(magic)} (${what})`);
}

export function decodeRoot(bytes: Uint8Array, key?: string): RootManifest {
  const r = new ByteReader(bytes, 'manifest root', key);
  if (bytes.length > LIMITS.manifestObjectBytes) r.fail(`${bytes.length} bytes exceeds the ${LIMITS.manifestObjectBytes}-byte limit`);
  checkMagic(r, MAGIC_ROOT, 'root');
  const formatVersion = checkVersion(r, 'manifest root', key);
  if (r.u16() !== 0) r.fail('unknown flags');
  const pageSize = r.u32();
  const blockSize = r.u32();
  const dbSize = r.u64();
  const seq = r.u64();
  const created = r.u64();
  const parentHash = r.hash();
  const changeCounter = r.u32();
  const blocksPerLeaf = r.u32();
  const fanout = r.u32();
  const depth = r.u8();
  r.zeros(3, 'root[85..87]');
  const newBlocks = r.u64();
  const newBytes = r.u64();
  const n = r.u32();
  const p = r.u32();
  const nRuns = r.u32();
  const h = r.u32();

  if (!isPow2(pageSize) || pageSize < LIMITS.minPageSize || pageSize > LIMITS.maxPageSize) r.fail(`page size ${pageSize} is invalid`);
  if (!isPow2(blockSize) || blockSize < Math.max(pageSize, LIMITS.minBlockSize) || blockSize > LIMITS.maxBlockSize) {
    r.fail(`block size ${blockSize} is invalid for page size ${pageSize}`);
  }
  if (dbSize < pageSize || dbSize % pageSize !== 0 || dbSize > LIMITS.maxDatabaseBytes) r.fail(`database size ${dbSize} is invalid`);
  if (seq < 1) r.fail(`sequence number ${seq} is invalid`);
  if (blocksPerLeaf < 1 || blocksPerLeaf > LIMITS.maxBlocksPerLeaf) r.fail(`blocks per leaf ${blocksPerLeaf} is out of range`);
  if (fanout < 2 || fanout > LIMITS.maxFanout) r.fail(`fanout ${fanout} is out of range`);
  const shape = { blockSize, dbSize, blocksPerLeaf, fanout };
  const wantDepth = treeDepth(shape);
  if (wantDepth > LIMITS.maxDepth) r.fail(`tree depth ${wantDepth} exceeds the limit of ${LIMITS.maxDepth}`);
  if (depth !== wantDepth) r.fail(`depth ${depth} does not fit the database (expected ${wantDepth})`);
  const wantChildren = childCount(shape, depth, 0);
  if (n !== wantChildren) r.fail(`${n} children, expected ${wantChildren}`);
  if ((seq === 1) !== (parentHash === ZERO_HASH)) r.fail('parent hash and sequence number disagree');
  const nBlocks = blockCount(dbSize, blockSize);
  if (p < 1 || p > LIMITS.maxPacks) r.fail(`pack count ${p} is out of range`);
  if (nRuns < p || nRuns > Math.min(nBlocks, LIMITS.maxRuns)) r.fail(`run count ${nRuns} is invalid for ${nBlocks} blocks and ${p} packs`);
  if (h > dbSize / pageSize) r.fail(`${h} embedded pages, more than the database has`);
  r.need(n * HASH_BYTES + p * HASH_BYTES + nRuns * RUN_BYTES + h * (4 + pageSize));
  const children: string[] = [];
  for (let i = 0; i < n; i++) children.push(r.hash());
  const packs: string[] = [];
  for (let i = 0; i < p; i++) packs.push(r.hash());
  const runs = decodeRuns(r, nRuns, packs, nBlocks, blockSize);
  const pages: number[] = [];
  for (let i = 0; i < h; i++) {
    const pg = r.u32();
    if (pg < 1 || pg > dbSize / pageSize || (i > 0 && pg <= pages[i - 1])) r.fail(`embedded page number ${pg} at ${i} is out of order or range`);
    pages.push(pg);
  }
  const pageData: Uint8Array[] = [];
  for (let i = 0; i < h; i++) {
    pageData.push(bytes.subarray(r.pos, r.pos + pageSize));
    r.pos += pageSize;
  }
  r.end();
  return {
    formatVersion, pageSize, blockSize, dbSize, seq, created,
    parent: parentHash === ZERO_HASH ? null : parentHash,
    changeCounter, blocksPerLeaf, fanout, depth, newBlocks, newBytes,
    children, runs, pages, pageData,
  };
}

/** Runs must start at block 0, ascend, stay inside the file, use every pack, and end at a safe offset. */
function decodeRuns(r: ByteReader, nRuns: number, packs: string[], nBlocks: number, blockSize: number): Run[] {
  const runs: Run[] = [];
  const used = new Set<number>();
  for (let i = 0; i < nRuns; i++) {
    const firstBlock = r.u64();
    const pi = r.u32();
    const offset = r.u64();
    if (i === 0 ? firstBlock !== 0 : firstBlock <= runs[i - 1].firstBlock || firstBlock >= nBlocks) r.fail(`run ${i} starts at block ${firstBlock}: out of order or range`);
    if (pi >= packs.length) r.fail(`run ${i} names pack ${pi} of ${packs.length}`);
    used.add(pi);
    runs.push({ firstBlock, pack: packs[pi], offset });
  }
  if (used.size !== packs.length) r.fail(`${packs.length - used.size} packs are named by no run`);
  // One encoding per version: the pack table lists each pack once, in order of first use.
  const canonical = runPacks(runs);
  if (canonical.length !== packs.length) r.fail(`pack table names a pack twice`);
  canonical.forEach((p, i) => { if (p !== packs[i]) r.fail(`pack table is not in order of first use (pack ${i})`); });
  runs.forEach((run, i) => {
    const end = run.offset + ((runs[i + 1]?.firstBlock ?? nBlocks) - run.firstBlock) * blockSize;
    if (!Number.isSafeInteger(end)) r.fail(`run ${i} ends past 2^53 bytes`);
  });
  return runs;
}

// ---- interior node -------------------------------------------------------------------

export function encodeNode(n: NodeManifest): Uint8Array {
  const w = new ByteWriter(NODE_HEADER_BYTES + n.children.length * HASH_BYTES);
  w.ascii(MAGIC_NODE);
  w.u16(FORMAT_VERSION);
  w.u8(n.level);
  w.u8(0);
  w.u64(n.firstBlock);
  w.u32(n.children.length);
  w.u32(0);
  for (const c of n.children) w.hash(c);
  return w.bytes;
}

export function decodeNode(bytes: Uint8Array, shape: TreeShape, expect: { level: number; firstBlock: number }, key?: string): NodeManifest {
  const r = new ByteReader(bytes, 'manifest node', key);
  if (bytes.length > LIMITS.manifestObjectBytes) r.fail('object exceeds the size limit');
  checkMagic(r, MAGIC_NODE, 'interior node');
  checkVersion(r, 'manifest node', key);
  const level = r.u8();
  r.zeros(1, 'node[7]');
  const firstBlock = r.u64();
  const n = r.u32();
  r.zeros(4, 'node[20..23]');
  if (level !== expect.level) r.fail(`level ${level}, expected ${expect.level}`);
  if (firstBlock !== expect.firstBlock) r.fail(`first block ${firstBlock}, expected ${expect.firstBlock}`);
  const want = childCount(shape, level, firstBlock);
  if (n !== want) r.fail(`${n} children, expected ${want}`);
  r.need(n * HASH_BYTES);
  const children: string[] = [];
  for (let i = 0; i < n; i++) children.push(r.hash());
  r.end();
  return { level, firstBlock, children };
}

// ---- leaf ----------------------------------------------------------------------------

export function encodeLeaf(leaf: LeafManifest): Uint8Array {
  const w = new ByteWriter(LEAF_HEADER_BYTES + leaf.hashes.length * HASH_BYTES);
  w.ascii(MAGIC_LEAF);
  w.u16(FORMAT_VERSION);
  w.u16(0);
  w.u64(leaf.firstBlock);
  w.u32(leaf.hashes.length);
  w.u32(0);
  for (const h of leaf.hashes) w.hash(h);
  return w.bytes;
}

export function decodeLeaf(bytes: Uint8Array, shape: TreeShape, expect: { firstBlock: number }, key?: string): LeafManifest {
  const r = new ByteReader(bytes, 'manifest leaf', key);
  if (bytes.length > LIMITS.manifestObjectBytes) r.fail('object exceeds the size limit');
  checkMagic(r, MAGIC_LEAF, 'leaf');
  checkVersion(r, 'manifest leaf', key);
  r.zeros(2, 'leaf[6..7]');
  const firstBlock = r.u64();
  const n = r.u32();
  r.zeros(4, 'leaf[20..23]');
  if (firstBlock !== expect.firstBlock) r.fail(`first block ${firstBlock}, expected ${expect.firstBlock}`);
  const want = Math.min(shape.blocksPerLeaf, blockCount(shape.dbSize, shape.blockSize) - firstBlock);
  if (n !== want) r.fail(`${n} entries, expected ${want}`);
  r.need(n * HASH_BYTES);
  const hashes: string[] = [];
  for (let i = 0; i < n; i++) hashes.push(r.hash());
  r.end();
  return { firstBlock, hashes };
}
