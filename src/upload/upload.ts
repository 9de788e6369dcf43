/**
 * Publishing a database file as a new version (docs/FORMAT.md §Commit protocol):
 *  1. read HEAD and remember its ETag; load the current version's block table;
 *  2. hash the file block by block; blocks the bucket holds are reused, new ones are
 *     packed and uploaded in the background;
 *  3. write the manifest leaves and nodes that changed, then the root (create-only),
 *     which carries the run table (where each block is) and the embedded pages;
 *  5. check the source did not change while we read it;
 *  6. swap HEAD conditionally. A lost race is ERR_CONFLICT and nothing became visible.
 * A failure or crash at any step leaves the previous version whole; what was written
 * before it is unreachable and `gc` collects it.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BucketliteError } from '../errors.js';
import {
  DEFAULT_BLOCK_SIZE, DEFAULT_BLOCKS_PER_LEAF, DEFAULT_FANOUT, DEFAULT_PACK_SIZE, FORMAT_VERSION, FRESH_PACKS_MAX, HEAD_KEY, LIMITS,
  LOCATION_TABLE_MAX, PACK_PREFIX, ROOT_INLINE_MAX,
} from '../format/constants.js';
import { encodeHead } from '../format/head.js';
import { manifestKey } from '../format/keys.js';
import { encodeRoot, locationTableBytes, rootBytesWithoutPages, runPacks, runsOf, treeDepth } from '../format/manifest.js';
import type { BlockRef, RootManifest, Run, TreeShape } from '../format/manifest.js';
import { findHotPages } from '../sqlite/btree.js';
import { missingModuleWarnings, virtualTables } from '../sqlite/modules.js';
import { loadBlockTable } from '../bucket/versions.js';
import type { HeadState, Version } from '../bucket/versions.js';
import { currentVersionOutsideGc } from '../bucket/gc-fence.js';
import type { BucketStore } from '../storage/types.js';
import { FencedOut, swapHead } from './commit.js';
import { DEFAULT_COMPACT_BUDGET, planCompaction } from './compact.js';
import { hashBlocks, packRewrites } from './hash-blocks.js';
import type { BlockPlan } from './hash-blocks.js';
import { openFileSource } from './input.js';
import type { DatabaseSource } from './input.js';
import { newWriteStats, putImmutable } from './objects.js';
import type { WriteStats } from './objects.js';
import { PackWriter } from './packer.js';
import { writeTree } from './tree.js';

export interface UploadProgress {
  /** wait-gc: a gc holds its fence on HEAD; the upload waits for it before it starts. */
  phase: 'wait-gc' | 'hash' | 'commit';
  bytesHashed: number;
  bytesTotal: number;
  bytesUploaded: number;
  blocksNew: number;
}

export interface UploadOptions {
  blockSize?: number;
  packSize?: number;
  /**
   * Upper bound on the bytes of pages embedded in the root (page 1, the schema, B-tree
   * roots, then interior pages breadth first); default and ceiling: what keeps the root
   * inside HEAD (46 KiB with the tree and the run table).
   */
  hotBudget?: number;
  /** Tables or indexes whose interior pages are embedded before any other tree's (see findHotPages). */
  hotFirst?: string[];
  dryRun?: boolean;
  /** Pack uploads in flight at once. */
  concurrency?: number;
  onProgress?(p: UploadProgress): void;
  /** Tree shape overrides (tests exercise deep trees on small files). */
  blocksPerLeaf?: number;
  fanout?: number;
  /** Clock for the version's creation time. */
  now?: () => number;
  /**
   * Pages that may differ from version `since` (a root manifest hash), from the WAL.
   * Applied only when HEAD still names exactly that version: blocks none of whose pages
   * are in the set are then taken from it without being read or hashed. When HEAD names
   * anything else, every block is hashed (the WAL says nothing about another version).
   * The caller guarantees a superset; block 0 (the header) is always hashed.
   */
  changedPages?: { since: string; pages: Set<number> };
  /** With changedPages: read and hash every block anyway and fail if any reused one differs. */
  verifyIncremental?: boolean;
  /**
   * Bytes of unchanged blocks a commit may write again to keep the root's run table and
   * the bucket small (src/upload/compact.ts). Default 4 MiB; 0 turns compaction off.
   */
  compactBudget?: number;
}

export interface UploadResult {
  /** True when HEAD now names the new version. */
  committed: boolean;
  /** True when the file equals the current version: nothing was written. */
  unchanged: boolean;
  dryRun: boolean;
  seq: number;
  manifest: string;
  parent: string | null;
  dbSize: number;
  pageSize: number;
  blockSize: number;
  blocksTotal: number;
  blocksNew: number;
  bytesNew: number;
  /** True when changedPages applied (HEAD named its `since` version). */
  incremental: boolean;
  /** Blocks taken from the current version unread (changedPages). */
  blocksReused: number;
  /** Pages embedded in the root. */
  hotPages: number;
  /** Bytes of those pages (0 when nothing was written). */
  hotBytesWritten: number;
  /** Entries in the root's run table (where blocks are stored). */
  runs: number;
  /** True when every block was written again to keep the run table small. */
  repacked: boolean;
  /** Unchanged blocks written again into this version's packs (compaction). */
  blocksRewritten: number;
  packsWritten: number;
  objectsWritten: number;
  bytesWritten: number;
  keysWritten: string[];
  seconds: number;
  warnings: string[];
}

/** A fresh upload's pack size: 16 MiB, or larger so that at most 256 packs hold the file. */
export function defaultPackSize(dbSize: number, blockSize: number): number {
  return Math.max(DEFAULT_PACK_SIZE, Math.ceil(dbSize / FRESH_PACKS_MAX / blockSize) * blockSize);
}


/**
 * A version's block table kept between commits (checkpoint --watch), so the next commit
 * need not load the tree's leaves again. Used only while HEAD still names `hash`.
 */
export interface BaseTable {
  hash: string;
  blocks: BlockRef[];
  /** Hashes of the version's interior nodes and leaves. */
  manifestObjects: Set<string>;
  /** Hash of each leaf, in order (empty when not known: every leaf is encoded again). */
  leaves: string[];
  /** Stored sizes of packs (by hash), for compaction. */
  packSizes: Map<string, number>;
}

export interface Published {
  result: UploadResult;
  /** The committed version's table (null when nothing was committed). */
  table: BaseTable | null;
}

/**
 * Publishes `dbPath` as a new version. When a gc put its fence on HEAD during the
 * upload (docs/FORMAT.md §8), the attempt cannot commit: objects it relied on may be
 * gone. It then waits for the gc and runs again (at most 3 times); the bucket never
 * shows a version with missing parts.
 */
export async function upload(dbPath: string, store: BucketStore, options: UploadOptions = {}): Promise<UploadResult> {
  const source = await openFileSource(dbPath);
  try {
    return (await publish(source, store, options)).result;
  } finally {
    await source.close();
  }
}

/** Publishes one consistent state of a database (a file, or a checkpoint's snapshot). */
export async function publish(source: DatabaseSource, store: BucketStore, options: UploadOptions = {}, base?: BaseTable): Promise<Published> {
  for (let attempt = 1; ; attempt++) {
    try {
      try {
        return await attemptUpload(source, store, options, false, base);
      } catch (err) {
        if (err instanceof Repack) return await attemptUpload(source, store, options, true, base);
        throw err;
      }
    } catch (err) {
      if (!(err instanceof FencedOut)) throw err;
      if (attempt >= 3) throw new BucketliteError('ERR_CONFLICT', `gc kept fencing ${store.name} while this upload ran; nothing of it is visible. Run the upload again`, { op: 'commit', key: HEAD_KEY });
    }
  }
}

/** Thrown by one attempt when its run table came out too large: the next one rewrites every block. */
class Repack extends Error {}

interface Attempt {
  source: DatabaseSource;
  store: BucketStore;
  options: UploadOptions;
  shape: TreeShape;
  stats: WriteStats;
  cur: (Version & HeadState) | null;
  t0: number;
}

async function attemptUpload(source: DatabaseSource, store: BucketStore, options: UploadOptions, repack: boolean, base?: BaseTable): Promise<Published> {
  const { header, size: dbSize } = source;
  const blockSize = options.blockSize ?? Math.max(DEFAULT_BLOCK_SIZE, header.pageSize);
  const shape: TreeShape = { blockSize, dbSize, blocksPerLeaf: options.blocksPerLeaf ?? DEFAULT_BLOCKS_PER_LEAF, fanout: options.fanout ?? DEFAULT_FANOUT };
  const packSize = options.packSize ?? defaultPackSize(dbSize, blockSize);
  checkOptions({ ...shape, packSize }, header.pageSize, dbSize);
  const at: Attempt = { source, store, options, shape, stats: newWriteStats(), cur: null, t0: performance.now() };
  const packer = new PackWriter(store, {
    // Packs are buffered whole: bound the memory of large ones (about 1 GiB in all).
    packSize, dryRun: options.dryRun ?? false, concurrency: options.concurrency ?? Math.max(1, Math.min(4, Math.floor((1 << 30) / packSize))),
    onUploaded: (n) => { bytesUploaded += n; },
  }, at.stats);
  let bytesUploaded = 0;
  try {
    // 1. The current version: its ETag guards the swap, its blocks are reusable.
    // Never build on a version while a gc fence is up: what gc deletes could be reused.
    const progress = (phase: UploadProgress['phase'], bytesHashed: number, blocksNew = 0) =>
      options.onProgress?.({ phase, bytesHashed, bytesTotal: dbSize, bytesUploaded, blocksNew });
    at.cur = await currentVersionOutsideGc(store, { onWait: () => progress('wait-gc', 0) });
    const budget = options.compactBudget ?? DEFAULT_COMPACT_BUDGET;
    const table = at.cur ? (base?.hash === at.cur.hash ? base : await tableOf(store, at.cur, budget > 0)) : null;
    const old = table && !repack ? table.blocks : [];

    // 2. Hash, reuse, pack.
    const unread = unreadBlocks(at, old);
    const packSizes = table ? table.packSizes : new Map<string, number>();
    const compaction = planCompaction({ old, blockSize, packSizes, packSize, budget });
    const plan = await hashBlocks({
      // A WAL-guided commit writes its few changed blocks anew rather than index every stored one.
      source, blockSize, old, known: unread ? () => undefined : storedCopies(old), unread: unread ?? (() => false), rewrite: (i) => compaction.rewrite.has(i),
      verifyUnread: options.verifyIncremental ?? false, packer, onHashed: (n) => progress('hash', n),
    });
    const unchanged = at.cur !== null && at.cur.root.dbSize === dbSize && at.cur.root.blockSize === blockSize &&
      at.cur.root.pageSize === header.pageSize && plan.blocksNew === 0 &&
      plan.blocks.every((b, i) => old[i]?.hash === b.hash) && plan.rewrites.every((r) => old[r.index]?.hash === r.hash);
    // Compaction only rides along with a change: an unchanged file writes nothing.
    await packRewrites(plan, old, packer, !unchanged);
    // (The open pack is not named yet; its blocks still form runs of their own.)
    if (!repack && !unchanged && locationTableBytes(runsOf(plan.blocks, blockSize)) > LOCATION_TABLE_MAX) {
      await packer.drain();
      throw new Repack();
    }
    await packer.finish(); // (every block's pack is named now)
    progress('commit', dbSize, plan.blocksNew);
    for (const [p, n] of packer.sizes) packSizes.set(p, n);
    return await commitVersion(at, plan, { unchanged, repack, incremental: unread !== null, previous: table, packSizes });
  } catch (err) {
    await packer.drain();
    throw err;
  }
}

/** A version's table from the bucket: its leaves, and for compaction the sizes of the packs (one listing). */
async function tableOf(store: BucketStore, v: Version, packSizesToo: boolean): Promise<BaseTable> {
  const t = await loadBlockTable(store, v.root);
  const packSizes = new Map<string, number>();
  if (packSizesToo) for await (const o of store.list(PACK_PREFIX)) packSizes.set(o.key.slice(PACK_PREFIX.length), o.size);
  return { hash: v.hash, blocks: t.blocks, manifestObjects: new Set(t.manifestObjects), leaves: [], packSizes };
}

/** Stored copies by hash, indexed on first use. */
function storedCopies(old: BlockRef[]): (hash: string) => BlockRef | undefined {
  let byHash: Map<string, BlockRef> | null = null;
  return (hash) => {
    if (!byHash) {
      byHash = new Map();
      for (const b of old) if (!byHash.has(b.hash)) byHash.set(b.hash, b);
    }
    return byHash.get(hash);
  };
}

/**
 * Blocks that may be taken from the current version unread (see `changedPages`), or
 * null when the WAL says nothing about the current version.
 */
function unreadBlocks(at: Attempt, old: BlockRef[]): ((i: number) => boolean) | null {
  const { cur, options, source, shape } = at;
  const changed = cur && options.changedPages?.since === cur.hash ? options.changedPages.pages : null;
  if (!changed || !cur || cur.root.blockSize !== shape.blockSize || cur.root.pageSize !== source.header.pageSize) return null;
  const perBlock = shape.blockSize / source.header.pageSize;
  return (i) => {
    const o = old[i];
    if (i === 0 || !o || o.length !== Math.min(shape.blockSize, source.size - i * shape.blockSize)) return false;
    for (let p = i * perBlock + 1; p <= (i + 1) * perBlock; p++) if (changed.has(p)) return false;
    return true;
  };
}

/** Steps 4-6: the manifest tree, the root with its embedded pages, the HEAD swap. */
async function commitVersion(
  at: Attempt, plan: BlockPlan, o: { unchanged: boolean; repack: boolean; incremental: boolean; previous: BaseTable | null; packSizes: Map<string, number> },
): Promise<Published> {
  const { source, store, options, shape, stats, cur } = at;
  const dryRun = options.dryRun ?? false;
  const objects = new Set<string>();
  const oldObjects = o.previous?.manifestObjects ?? new Set<string>();
  const writeManifest = async (bytes: Uint8Array): Promise<string> => {
    const hash = createHash('sha256').update(bytes).digest('hex');
    objects.add(hash);
    if (!o.unchanged && !oldObjects.has(hash)) await putImmutable(store, manifestKey(hash), bytes, stats, dryRun);
    return hash;
  };
  const runs: Run[] = runsOf(plan.blocks, shape.blockSize);
  const prev = o.previous && { blocks: o.previous.blocks, leaves: o.previous.leaves, blocksPerLeaf: cur!.root.blocksPerLeaf };
  const tree = await writeTree(plan.blocks, shape, { write: writeManifest, keep: (h) => objects.add(h) }, prev ?? undefined);
  const hot = await embeddedPages(source, rootBytesWithoutPages(tree.children.length, runs), options.hotBudget, options.hotFirst);
  const warnings = [...hot.warnings, ...(await moduleWarnings(source))];
  const root: RootManifest = {
    formatVersion: FORMAT_VERSION, pageSize: source.header.pageSize, blockSize: shape.blockSize, dbSize: source.size,
    seq: (cur?.root.seq ?? 0) + 1,
    created: options.now?.() ?? Date.now(),
    parent: cur?.hash ?? null,
    changeCounter: source.header.changeCounter,
    blocksPerLeaf: shape.blocksPerLeaf, fanout: shape.fanout, depth: tree.depth,
    newBlocks: plan.blocksNew, newBytes: plan.bytesNew,
    children: tree.children, runs, pages: hot.pages, pageData: hot.data,
  };
  const rootBytes = encodeRoot(root);
  const rootHash = o.unchanged ? cur!.hash : await writeManifest(rootBytes);
  objects.delete(rootHash);
  const result = (committed: boolean): UploadResult => ({
    committed, unchanged: o.unchanged, dryRun,
    seq: o.unchanged ? cur!.root.seq : root.seq,
    manifest: rootHash,
    parent: o.unchanged ? cur!.root.parent : root.parent,
    dbSize: source.size, pageSize: source.header.pageSize, blockSize: shape.blockSize,
    blocksTotal: plan.blocks.length, blocksNew: plan.blocksNew, bytesNew: plan.bytesNew, incremental: o.incremental, blocksReused: plan.blocksReused,
    blocksRewritten: plan.blocksRewritten,
    hotPages: hot.pages.length, hotBytesWritten: o.unchanged ? 0 : hot.pages.length * source.header.pageSize,
    runs: runs.length, repacked: o.repack,
    packsWritten: stats.keys.filter((k) => k.startsWith('packs/')).length,
    objectsWritten: stats.objectsWritten, bytesWritten: stats.bytesWritten, keysWritten: stats.keys,
    seconds: (performance.now() - at.t0) / 1000,
    warnings,
  });
  // Sizes only of the packs this version names: the map stays as small as the run table.
  const table = (): BaseTable => ({
    hash: rootHash, blocks: plan.blocks, manifestObjects: objects, leaves: tree.leaves,
    packSizes: new Map(runPacks(runs).flatMap((p) => (o.packSizes.has(p) ? [[p, o.packSizes.get(p)!] as const] : []))),
  });

  // 5. The source must be as it was when we started, or the version would be torn.
  await source.checkUnchanged();
  if (o.unchanged) return { result: result(false), table: table() };
  const headBytes = encodeHead({ seq: root.seq, root: rootHash, inline: rootBytes });
  if (!dryRun) await swapHead(store, cur, headBytes); // 6. The commit point.
  stats.objectsWritten++;
  stats.bytesWritten += headBytes.length;
  stats.keys.push(HEAD_KEY);
  return { result: result(!dryRun), table: dryRun ? null : table() };
}

/** Virtual tables whose module the reader lacks (a damaged schema is hot-page walking's warning, not this one's). */
async function moduleWarnings(source: DatabaseSource): Promise<string[]> {
  const { pageSize, reserved } = source.header;
  try {
    return missingModuleWarnings(await virtualTables(pageReader(source), pageSize - reserved, source.pageCount));
  } catch {
    return [];
  }
}

function pageReader(source: DatabaseSource) {
  return async (pgno: number) => {
    const buf = new Uint8Array(source.header.pageSize);
    await source.read(buf, (pgno - 1) * source.header.pageSize);
    return buf;
  };
}

/**
 * The pages embedded in the root: as many as fit beside the tree and the run table
 * while the root stays small enough to travel inside HEAD.
 */
async function embeddedPages(source: DatabaseSource, rootBytes: number, cap: number | undefined, first?: string[]) {
  const { header } = source;
  const room = Math.min(cap ?? Infinity, Math.floor(((ROOT_INLINE_MAX - rootBytes) * header.pageSize) / (header.pageSize + 4)));
  if (room < header.pageSize) return { pages: [], data: [], warnings: [] };
  const hot = await findHotPages(pageReader(source), header, source.pageCount, room, first);
  const pages = [...hot.pages.keys()].sort((a, b) => a - b);
  return { pages, data: pages.map((p) => hot.pages.get(p)!), warnings: hot.warnings.filter((w) => !w.startsWith('hot-page budget')) };
}

function checkOptions(o: Required<Pick<UploadOptions, 'blockSize' | 'packSize' | 'blocksPerLeaf' | 'fanout'>>, pageSize: number, dbSize: number): void {
  const { blockSize, packSize } = o;
  if (!Number.isInteger(blockSize) || (blockSize & (blockSize - 1)) !== 0 || blockSize < LIMITS.minBlockSize || blockSize > LIMITS.maxBlockSize) {
    throw new BucketliteError('ERR_USAGE', `--block-size must be a power of two from ${LIMITS.minBlockSize} to ${LIMITS.maxBlockSize}, not ${blockSize}`);
  }
  if (blockSize < pageSize) throw new BucketliteError('ERR_USAGE', `--block-size ${blockSize} is smaller than the database's ${pageSize}-byte pages`);
  if (!Number.isInteger(packSize) || packSize < blockSize) throw new BucketliteError('ERR_USAGE', `--pack-size must be at least the block size (${blockSize})`);
  if (o.blocksPerLeaf < 1 || o.blocksPerLeaf > LIMITS.maxBlocksPerLeaf || o.fanout < 2 || o.fanout > LIMITS.maxFanout) {
    throw new BucketliteError('ERR_USAGE', 'tree shape out of range');
  }
  if (treeDepth({ ...o, dbSize }) > LIMITS.maxDepth) throw new BucketliteError('ERR_USAGE', 'the manifest tree would be too deep; use a larger --block-size');
}
