/**
 * The manifest tree: a root (one per version), optional interior nodes, and leaves that
 * map block indexes to (block hash, pack, offset, length). Binary, big-endian; the byte
 * tables are in docs/FORMAT.md. Every object is named by the SHA-256 of its bytes, so
 * an unchanged subtree is shared by versions and a commit rewrites only what it touched.
 *
 * Decoders here check structure, limits and the tree's shape; callers check that the
 * bytes hash to the name they were fetched by (see bucket/versions.ts).
 */
import { BucketliteError } from '../errors.js';
import { ByteReader, ByteWriter } from './binary.js';
import {
  ENCODING_RAW, FORMAT_VERSION, HASH_BYTES, LEAF_ENTRY_BYTES, LEAF_HEADER_BYTES, LIMITS,
  MAGIC_LEAF, MAGIC_NODE, MAGIC_ROOT, MAX_HOT_REGIONS, NODE_HEADER_BYTES, ROOT_HEADER_BYTES, ZERO_HASH,
} from './constants.js';

export interface HotRegionRef {
  /** Pack holding the region. */
  pack: string;
  offset: number;
  length: number;
  /** SHA-256 of the region's bytes. */
  sha256: string;
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
  /**
   * Hot-page regions, at most two: a base region and a delta region whose pages
   * override the base's (so a small commit rewrites only the hot pages it changed).
   */
  hot: HotRegionRef[];
  children: string[];
}

export interface NodeManifest {
  level: number;
  firstBlock: number;
  children: string[];
}

export interface BlockRef {
  hash: string;
  pack: string;
  offset: number;
  /** Stored length in the pack (equal to the block's length for raw encoding). */
  length: number;
  encoding: number;
}

export interface LeafManifest {
  firstBlock: number;
  entries: BlockRef[];
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

// ---- root ----------------------------------------------------------------------------

export function encodeRoot(r: RootManifest): Uint8Array {
  const w = new ByteWriter(ROOT_HEADER_BYTES + r.children.length * HASH_BYTES);
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
  for (let i = 0; i < MAX_HOT_REGIONS; i++) {
    const h = r.hot[i];
    w.hash(h?.pack ?? ZERO_HASH);
    w.u64(h?.offset ?? 0);
    w.u32(h?.length ?? 0);
    w.u32(0);
    w.hash(h?.sha256 ?? ZERO_HASH);
  }
  w.u32(r.children.length);
  w.u32(0);
  for (const c of r.children) w.hash(c);
  return w.bytes;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
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
  const hot: HotRegionRef[] = [];
  for (let i = 0; i < MAX_HOT_REGIONS; i++) {
    const at = r.pos;
    const pack = r.hash();
    const offset = r.u64();
    const length = r.u32();
    r.zeros(4, `root[${at + 44}..${at + 47}]`);
    const sha256 = r.hash();
    if (pack === ZERO_HASH) {
      if (length !== 0 || offset !== 0 || sha256 !== ZERO_HASH) r.fail(`hot region ${i} is empty but has fields set`);
    } else {
      if (hot.length !== i) r.fail(`hot region ${i} follows an empty one`);
      if (length === 0 || length > LIMITS.maxHotRegionBytes) r.fail(`hot region ${i} length ${length} is out of range`);
      hot.push({ pack, offset, length, sha256 });
    }
  }
  const n = r.u32();
  r.zeros(4, 'root[268..271]');

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
  const children: string[] = [];
  r.need(n * HASH_BYTES);
  for (let i = 0; i < n; i++) children.push(r.hash());
  r.end();
  return {
    formatVersion, pageSize, blockSize, dbSize, seq, created,
    parent: parentHash === ZERO_HASH ? null : parentHash,
    changeCounter, blocksPerLeaf, fanout, depth, newBlocks, newBytes,
    hot,
    children,
  };
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
  const packs: string[] = [];
  const packIndex = new Map<string, number>();
  for (const e of leaf.entries) {
    if (!packIndex.has(e.pack)) {
      packIndex.set(e.pack, packs.length);
      packs.push(e.pack);
    }
  }
  const w = new ByteWriter(LEAF_HEADER_BYTES + packs.length * HASH_BYTES + leaf.entries.length * LEAF_ENTRY_BYTES);
  w.ascii(MAGIC_LEAF);
  w.u16(FORMAT_VERSION);
  w.u16(0);
  w.u64(leaf.firstBlock);
  w.u32(leaf.entries.length);
  w.u32(packs.length);
  for (const p of packs) w.hash(p);
  for (const e of leaf.entries) {
    w.hash(e.hash);
    w.u16(packIndex.get(e.pack)!);
    w.u16(e.encoding);
    w.u64(e.offset);
    w.u32(e.length);
  }
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
  const p = r.u32();
  if (firstBlock !== expect.firstBlock) r.fail(`first block ${firstBlock}, expected ${expect.firstBlock}`);
  const want = Math.min(shape.blocksPerLeaf, blockCount(shape.dbSize, shape.blockSize) - firstBlock);
  if (n !== want) r.fail(`${n} entries, expected ${want}`);
  if (p < 1 || p > n || p > 0xffff) r.fail(`pack count ${p} is invalid for ${n} entries`);
  r.need(p * HASH_BYTES + n * LEAF_ENTRY_BYTES);
  const packs: string[] = [];
  for (let i = 0; i < p; i++) packs.push(r.hash());
  const entries: BlockRef[] = [];
  for (let i = 0; i < n; i++) {
    const hash = r.hash();
    const pi = r.u16();
    const encoding = r.u16();
    const offset = r.u64();
    const length = r.u32();
    if (pi >= p) r.fail(`entry ${i} names pack ${pi} of ${p}`);
    if (encoding !== ENCODING_RAW) r.fail(`entry ${i} has unknown encoding ${encoding}`);
    const want = blockLength(shape, firstBlock + i);
    if (length !== want) r.fail(`entry ${i} has length ${length}, expected ${want}`);
    entries.push({ hash, pack: packs[pi], offset, length, encoding });
  }
  r.end();
  return { firstBlock, entries };
}
