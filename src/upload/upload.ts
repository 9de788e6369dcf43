/**
 * Publishing a database file as a new version (docs/FORMAT.md §Commit protocol):
 *  1. read HEAD and remember its ETag; load the current version's block table;
 *  2. hash the file block by block; blocks the bucket holds are reused, new ones are
 *     packed and uploaded in the background;
 *  3. write the manifest leaves and nodes that changed, then the root (create-only),
 *     which carries the run table (where each block is) and the embedded pages;
 *  5. check the file did not change while we read it;
 *  6. swap HEAD conditionally. A lost race is ERR_CONFLICT and nothing became visible.
 * A failure or crash at any step leaves the previous version whole; what was written
 * before it is unreachable and `gc` collects it.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BucketliteError, isCode } from '../errors.js';
import {
  DEFAULT_BLOCK_SIZE, DEFAULT_BLOCKS_PER_LEAF, DEFAULT_FANOUT, DEFAULT_PACK_SIZE, FORMAT_VERSION, FRESH_PACKS_MAX, HEAD_KEY, LIMITS,
  LOCATION_TABLE_MAX, ROOT_INLINE_MAX,
} from '../format/constants.js';
import { encodeHead } from '../format/head.js';
import { manifestKey } from '../format/keys.js';
import {
  blockCount, blocksPerNode, childCount, encodeLeaf, encodeNode, encodeRoot, locationTableBytes, rootBytesWithoutPages, runsOf, treeDepth,
} from '../format/manifest.js';
import type { BlockRef, RootManifest, Run, TreeShape } from '../format/manifest.js';
import { findHotPages } from '../sqlite/btree.js';
import type { SqliteHeader } from '../sqlite/header.js';
import { loadBlockTable, putHead, readHead } from '../bucket/versions.js';
import { currentVersionOutsideGc } from '../bucket/gc-fence.js';
import type { FileHandle } from 'node:fs/promises';
import type { BucketStore } from '../storage/types.js';
import { identify, openDatabaseInput, readAt, sameIdentity } from './input.js';
import { newWriteStats, putImmutable } from './objects.js';
import { PackWriter } from './packer.js';

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
  /** True when every block was written again to keep the run table small (compaction). */
  repacked: boolean;
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
 * The pages embedded in the root: as many as fit beside the tree and the run table
 * while the root stays small enough to travel inside HEAD.
 */
async function embeddedPages(handle: FileHandle, header: SqliteHeader, pageCount: number, rootBytes: number, cap: number | undefined) {
  const room = Math.min(cap ?? Infinity, Math.floor(((ROOT_INLINE_MAX - rootBytes) * header.pageSize) / (header.pageSize + 4)));
  if (room < header.pageSize) return { pages: new Map<number, Uint8Array>(), warnings: [] };
  return findHotPages((pgno) => readAt(handle, header.pageSize, (pgno - 1) * header.pageSize), header, pageCount, room);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
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

/** Thrown by one attempt when only a gc fence moved HEAD: the attempt is run again. */
class FencedOut extends Error {}

/**
 * Publishes `dbPath` as a new version. When a gc put its fence on HEAD during the
 * upload (docs/FORMAT.md §8), the attempt cannot commit: objects it relied on may be
 * gone. It then waits for the gc and runs again (at most 3 times); the bucket never
 * shows a version with missing parts.
 */
export async function upload(dbPath: string, store: BucketStore, options: UploadOptions = {}): Promise<UploadResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await uploadOnce(dbPath, store, options);
    } catch (err) {
      if (!(err instanceof FencedOut)) throw err;
      if (attempt >= 3) throw new BucketliteError('ERR_CONFLICT', `gc kept fencing ${store.name} while this upload ran; nothing of it is visible. Run the upload again`, { op: 'commit', key: HEAD_KEY });
    }
  }
}

/** Thrown by one attempt when its run table came out too large: the next one rewrites every block. */
class Repack extends Error {}

async function uploadOnce(dbPath: string, store: BucketStore, options: UploadOptions): Promise<UploadResult> {
  try {
    return await uploadAttempt(dbPath, store, options, false);
  } catch (err) {
    if (err instanceof Repack) return uploadAttempt(dbPath, store, options, true);
    throw err;
  }
}

async function uploadAttempt(dbPath: string, store: BucketStore, options: UploadOptions, repack: boolean): Promise<UploadResult> {
  const t0 = performance.now();
  const dryRun = options.dryRun ?? false;
  const input = await openDatabaseInput(dbPath);
  const { header, size: dbSize } = input;
  const blockSize = options.blockSize ?? Math.max(DEFAULT_BLOCK_SIZE, header.pageSize);
  const shape: TreeShape = {
    blockSize, dbSize,
    blocksPerLeaf: options.blocksPerLeaf ?? DEFAULT_BLOCKS_PER_LEAF,
    fanout: options.fanout ?? DEFAULT_FANOUT,
  };
  const packSize = options.packSize ?? defaultPackSize(dbSize, blockSize);
  const warnings: string[] = [];
  const stats = newWriteStats();
  let packer: PackWriter | null = null;
  try {
    checkOptions({ ...shape, packSize }, header.pageSize, dbSize);
    // 1. The current version: its ETag guards the swap, its blocks are reusable.
    // Never build on a version while a gc fence is up: what gc deletes could be reused.
    const cur = await currentVersionOutsideGc(store, { onWait: () => options.onProgress?.({ phase: 'wait-gc', bytesHashed: 0, bytesTotal: dbSize, bytesUploaded: 0, blocksNew: 0 }) });
    const known = new Map<string, BlockRef>();
    const oldObjects = new Set<string>();
    let oldBlocks: BlockRef[] = [];
    if (cur) {
      const table = await loadBlockTable(store, cur.root);
      if (!repack) oldBlocks = table.blocks;
      for (const b of oldBlocks) if (!known.has(b.hash)) known.set(b.hash, b);
      for (const h of table.manifestObjects) oldObjects.add(h);
    }

    // 2. One sequential pass: hash every block, reuse what is stored where it keeps the
    //    run table short, pack the rest.
    const nBlocks = blockCount(dbSize, blockSize);
    const blocks: BlockRef[] = new Array(nBlocks);
    let blocksNew = 0;
    let bytesHashed = 0;
    let blocksReused = 0;
    let bytesUploaded = 0;
    let bytesNew = 0;
    const progress = (phase: UploadProgress['phase']) =>
      options.onProgress?.({ phase, bytesHashed, bytesTotal: dbSize, bytesUploaded, blocksNew });
    const pk = new PackWriter(store, {
      // Packs are buffered whole: bound the memory of large ones (about 1 GiB in all).
      packSize, dryRun, concurrency: options.concurrency ?? Math.max(1, Math.min(4, Math.floor((1 << 30) / packSize))),
      onUploaded: (n) => { bytesUploaded += n; },
    }, stats);
    packer = pk;

    // Double-buffered sequential read: the next chunk is read while this one is hashed.
    const chunkSize = Math.max(blockSize, Math.floor((8 << 20) / blockSize) * blockSize);
    const bufs = [new Uint8Array(chunkSize), new Uint8Array(chunkSize)];
    const readChunk = async (pos: number, buf: Uint8Array) => {
      const len = Math.min(chunkSize, dbSize - pos);
      let done = 0;
      while (done < len) {
        const { bytesRead } = await input.handle.read(buf, done, len - done, pos + done);
        if (bytesRead === 0) throw new BucketliteError('ERR_FILE_CHANGED', `${dbPath} shrank while it was read`, { op: 'read', path: dbPath });
        done += bytesRead;
      }
      return buf.subarray(0, len);
    };
    // Blocks that may be taken from the current version unread (see `changedPages`).
    const changed = cur && options.changedPages?.since === cur.hash ? options.changedPages.pages : null;
    const reusable = (index: number): boolean => {
      if (!changed || !cur || index === 0) return false;
      if (cur.root.blockSize !== blockSize || cur.root.pageSize !== header.pageSize) return false;
      const old = oldBlocks[index];
      const len = Math.min(blockSize, dbSize - index * blockSize);
      if (!old || old.length !== len) return false;
      const perBlock = blockSize / header.pageSize;
      for (let p = index * perBlock + 1; p <= (index + 1) * perBlock; p++) if (changed.has(p)) return false;
      return true;
    };
    const chunkReusable = (pos: number) => {
      for (let i = pos / blockSize; i * blockSize < Math.min(dbSize, pos + chunkSize); i++) if (!reusable(i)) return false;
      return true;
    };
    // A stored copy is reused where the block was (unchanged) or where it continues the
    // previous block's run; anywhere else it would cut the run table into pieces, so the
    // block is written again.
    const reuse = (hash: string, index: number): BlockRef | undefined => {
      if (oldBlocks[index]?.hash === hash) return oldBlocks[index];
      const k = known.get(hash);
      const prev = blocks[index - 1];
      return k && prev && k.pack === prev.pack && k.offset === prev.offset + blockSize ? k : undefined;
    };
    const readOrSkip = (pos: number, buf: Uint8Array) =>
      chunkReusable(pos) && !options.verifyIncremental ? Promise.resolve(new Uint8Array(0)) : readChunk(pos, buf);
    let pending = dbSize > 0 ? readOrSkip(0, bufs[0]) : null;
    for (let pos = 0, turn = 0; pending; turn ^= 1) {
      const chunk = await pending;
      const chunkLen = chunk.length || Math.min(chunkSize, dbSize - pos); // empty = skipped, all reusable
      const nextPos = pos + chunkLen;
      pending = nextPos < dbSize ? readOrSkip(nextPos, bufs[turn ^ 1]) : null;
      for (let off = 0; off < chunkLen; off += blockSize) {
        const index = (pos + off) / blockSize;
        if (reusable(index)) {
          if (options.verifyIncremental) {
            const full = sha256(chunk.subarray(off, Math.min(off + blockSize, chunkLen)));
            if (full !== oldBlocks[index].hash) {
              throw new BucketliteError('ERR_DAMAGED', `incremental hashing disagrees with a full rehash at block ${index}: a changed page was missed`, { op: 'upload', path: dbPath });
            }
          }
          blocks[index] = oldBlocks[index];
          blocksReused++;
          continue;
        }
        const block = chunk.subarray(off, Math.min(off + blockSize, chunkLen));
        const hash = sha256(block);
        let ref = reuse(hash, index);
        if (!ref) {
          ref = await pk.addBlock(hash, block);
          blocksNew++;
          bytesNew += block.length;
        }
        blocks[index] = ref;
      }
      pos = nextPos;
      bytesHashed = pos;
      progress('hash');
    }

    const unchanged = cur !== null && cur.root.dbSize === dbSize && cur.root.blockSize === blockSize &&
      cur.root.pageSize === header.pageSize && blocksNew === 0 &&
      blocks.every((b, i) => oldBlocks[i]?.hash === b.hash);
    // (The open pack is not named yet; its blocks still form runs of their own.)
    if (!repack && !unchanged && locationTableBytes(runsOf(blocks, blockSize)) > LOCATION_TABLE_MAX) {
      await pk.drain();
      throw new Repack();
    }
    await pk.finish();
    const runs: Run[] = runsOf(blocks, blockSize);
    progress('commit');

    // 4. The manifest tree, bottom up. Unchanged subtrees hash the same and are not rewritten.
    const depth = treeDepth(shape);
    const writeManifest = async (bytes: Uint8Array): Promise<string> => {
      const hash = sha256(bytes);
      if (!unchanged && !oldObjects.has(hash)) await putImmutable(store, manifestKey(hash), bytes, stats, dryRun);
      return hash;
    };
    let level: string[] = [];
    for (let first = 0; first < nBlocks; first += shape.blocksPerLeaf) {
      level.push(await writeManifest(encodeLeaf({ firstBlock: first, hashes: blocks.slice(first, first + shape.blocksPerLeaf).map((b) => b.hash) })));
    }
    for (let lv = 1; lv < depth; lv++) {
      const span = blocksPerNode(shape, lv);
      const next: string[] = [];
      for (let first = 0, i = 0; first < nBlocks; first += span) {
        const n = childCount(shape, lv, first);
        next.push(await writeManifest(encodeNode({ level: lv, firstBlock: first, children: level.slice(i, i + n) })));
        i += n;
      }
      level = next;
    }
    // 4. Pages for the root, as many as fit beside the tree and the run table.
    const hot = await embeddedPages(input.handle, header, input.pageCount, rootBytesWithoutPages(level.length, runs), options.hotBudget);
    warnings.push(...hot.warnings.filter((w) => !w.startsWith('hot-page budget')));
    const hotPages = [...hot.pages.keys()].sort((a, b) => a - b);
    const root: RootManifest = {
      formatVersion: FORMAT_VERSION, pageSize: header.pageSize, blockSize, dbSize,
      seq: (cur?.root.seq ?? 0) + 1,
      created: options.now?.() ?? Date.now(),
      parent: cur?.hash ?? null,
      changeCounter: header.changeCounter,
      blocksPerLeaf: shape.blocksPerLeaf, fanout: shape.fanout, depth,
      newBlocks: blocksNew, newBytes: bytesNew,
      children: level, runs, pages: hotPages, pageData: hotPages.map((p) => hot.pages.get(p)!),
    };
    const rootBytes = encodeRoot(root);
    const rootHash = unchanged ? cur!.hash : await writeManifest(rootBytes);

    const result = (committed: boolean): UploadResult => ({
      committed, unchanged, dryRun,
      seq: unchanged ? cur!.root.seq : root.seq,
      manifest: rootHash,
      parent: unchanged ? cur!.root.parent : root.parent,
      dbSize, pageSize: header.pageSize, blockSize,
      blocksTotal: nBlocks, blocksNew, bytesNew, incremental: changed !== null, blocksReused,
      hotPages: hotPages.length, hotBytesWritten: unchanged ? 0 : hotPages.length * header.pageSize,
      runs: runs.length, repacked: repack,
      packsWritten: stats.keys.filter((k) => k.startsWith('packs/')).length,
      objectsWritten: stats.objectsWritten, bytesWritten: stats.bytesWritten, keysWritten: stats.keys,
      seconds: (performance.now() - t0) / 1000,
      warnings,
    });

    // 5. The file must be as it was when we started, or the version would be torn.
    const after = await identify(input.handle, dbPath);
    if (!sameIdentity(input.identity, after)) {
      throw new BucketliteError(
        'ERR_FILE_CHANGED',
        `${dbPath} changed while it was being uploaded (change counter ${input.identity.changeCounter}→${after.changeCounter}, ` +
          `size ${input.identity.size}→${after.size}); nothing was committed. Stop the writer or use \`bucketlite checkpoint\``,
        { op: 'upload', path: dbPath },
      );
    }
    if (unchanged) return result(false);
    const headBytes = encodeHead({ seq: root.seq, root: rootHash, inline: rootBytes });
    if (dryRun) {
      stats.objectsWritten++;
      stats.bytesWritten += headBytes.length;
      stats.keys.push(HEAD_KEY);
      return result(false);
    }

    // 6. The commit point.
    try {
      await putHead(store, headBytes, cur ? { ifMatch: cur.etag } : { ifNoneMatch: '*' });
    } catch (err) {
      if (isCode(err, 'ERR_PRECONDITION_FAILED')) {
        if (cur && (await readHead(store))?.head.root === cur.hash) throw new FencedOut();
        throw new BucketliteError(
          'ERR_CONFLICT',
          `another writer committed to ${store.name} while this upload ran (this one was based on ` +
            `${cur ? `version ${cur.root.seq}` : 'an empty bucket'}); nothing of this upload is visible. Run the upload again`,
          { op: 'commit', key: HEAD_KEY, status: 412, cause: err },
        );
      }
      throw err;
    }
    stats.objectsWritten++;
    stats.bytesWritten += headBytes.length;
    stats.keys.push(HEAD_KEY);
    return result(true);
  } catch (err) {
    await packer?.drain();
    throw err;
  } finally {
    await input.handle.close();
  }
}
