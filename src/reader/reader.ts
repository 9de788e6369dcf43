/**
 * The bucket reader behind the VFS: versions, block lookup and readahead (fetching
 * and verifying bytes is src/fetch/block-fetcher.ts).
 *
 * - open: HEAD alone. It carries the root, which says where every block is stored (the
 *   run table) and embeds page 1, the schema and B-tree roots: one round trip, under
 *   64 KiB, before SQLite reads its first page. Leaves (block hashes) are fetched when
 *   a block they cover is first read, in parallel with the block.
 * - versions: each read transaction is pinned to one version; between transactions
 *   HEAD is revalidated (ETag, at most every `headTtlMs`) and a new version replaces
 *   the current one. Unchanged manifest objects come from a cache keyed by hash,
 *   unchanged blocks from the block cache: a new version costs its delta.
 * - time travel: opened with `version` or `at`, the reader walks parent links back from
 *   HEAD to that version and stays on it for good (HEAD is never checked again). A
 *   read that finds an object missing then asks the bucket whether gc collected the
 *   version, and says so (ERR_VERSION_COLLECTED) rather than "not found".
 * - reads: embedded pages first, then blocks through the fetcher; scans keep a doubling
 *   readahead window in flight (readahead.ts), B-tree walks fetch the next leaves.
 */
import { LRUCache } from 'lru-cache';
import { BucketliteError, isCode } from '../errors.js';
import { HEAD_KEY } from '../format/constants.js';
import { manifestKey } from '../format/keys.js';
import { fromHex, toHex } from '../format/binary.js';
import { blockCount, blocksPerNode, locateBlock } from '../format/manifest.js';
import type { RootManifest } from '../format/manifest.js';
import { fetchHead, leafEntries, nodesAbove, parseVersionPin, resolveVersion, rootIfPresent, rootOf, storeObjects } from '../bucket/versions.js';
import type { ObjectSource, VersionPin, VersionSpec } from '../bucket/versions.js';
import type { Head } from '../format/head.js';
import { parseBtreePage } from '../sqlite/btree.js';
import { MemoryBlockCache } from '../cache/memory.js';
import type { BlockCache, CacheStats } from '../cache/types.js';
import type { BucketStore } from '../storage/types.js';
import { CountingStore } from './counting-store.js';
import { BlockFetcher } from '../fetch/block-fetcher.js';
import { SequentialReadahead } from './readahead.js';
import { RowReadahead } from './row-readahead.js';
import { indexLeafRowids, readSchema, tableChildFor, tableOfIndex } from '../sqlite/records.js';
import type { SchemaEntry } from '../sqlite/records.js';
import { fts5DocsizeOf, fts5PageRowids } from '../sqlite/fts5.js';
import type { BlockItem, FetchCounters } from '../fetch/block-fetcher.js';
import type { RequestStats } from './counting-store.js';

/**
 * Reader options. `version` / `at` (VersionPin) read an older version gc kept, or the
 * current one, instead of following HEAD: the reader is then pinned to it for good. It
 * never checks HEAD again and never moves to a newer version (`headTtlMs` does not
 * apply). Opening costs HEAD plus one root per version between the current one and the
 * one asked for, fetched one after another since each names its parent (from the block
 * cache when held there), so a version k back costs k more requests in sequence, and
 * `gc --keep` bounds k; the current version costs nothing more. A version number above
 * the current one, or a time before the first version, is ERR_NOT_FOUND; a version gc
 * deleted is ERR_VERSION_COLLECTED, at open or, for a reader pinned before the gc ran,
 * at the first read that misses an object.
 */
export interface ReaderOptions extends VersionPin {
  /** Re-check HEAD between read transactions at most this often (0: every transaction). */
  headTtlMs?: number;
  /** Block cache; default an in-memory LRU of 64 MiB. */
  cache?: BlockCache;
  /** Range requests in flight at once. */
  concurrency?: number;
  /**
   * Fetching ahead of SQLite (default true): the sequential, B-tree and index-to-row
   * readahead. False reads only the pages SQLite asks for (to measure what prefetch buys).
   */
  prefetch?: boolean;
  /** Upper bound of the sequential readahead window (default 16 MiB). */
  maxReadaheadBytes?: number;
  /** Largest single Range request. */
  maxRangeBytes?: number;
  /**
   * prefetchRows: reads of one pack this close are joined when its batch needs more
   * requests than `concurrency` (default 32 KiB; 0: never): see FetcherOptions.maxJoinBytes.
   */
  maxJoinBytes?: number;
  /**
   * Index-to-row readahead: rows located ahead of an index walk, in windows of up to
   * this many index entries (default 64; 0: off). See row-readahead.ts.
   */
  maxRowReadahead?: number;
  /**
   * B-tree readahead: when SQLite reads sibling leaves in order, up to this many next
   * siblings are fetched in the background (default 64; 0: off). A caller that names
   * the rows it reads (prefetchRows) gains nothing from it.
   */
  maxSiblingReadahead?: number;
  /**
   * Tables whose block hashes (manifest leaves) are fetched in the background as soon
   * as a version is opened, when they fit `warmBytes`: a later read of any of
   * their rows is then one request per run of blocks, with no leaf to wait for. A table
   * whose leaves do not fit gets the interior nodes above them, when those do: its
   * leaves then come beside the blocks they verify, never after a node. For a
   * table read at scattered rows whose latency matters (a search index's excerpt rows).
   * Default none.
   */
  warmTables?: readonly string[];
  /** Bytes of manifest objects warmTables fetches per table at most (default WARM_BYTES_MAX, 128 KiB). */
  warmBytes?: number;
  /** Bytes of manifest objects (roots, nodes, leaves) kept across versions. */
  manifestCacheBytes?: number;
}

export interface ReaderStats extends RequestStats, FetchCounters {
  hotPageHits: number;
  headChecks: number;
  versionChanges: number;
  version: number;
  manifest: string;
  /** Opened with `version` or `at`: stays on that version, never follows HEAD. */
  pinned: boolean;
  /** Fetches in flight now, blocks and manifest objects, readahead included (a page about to go away loses what they bring). */
  fetchesInFlight: number;
  cache: CacheStats;
}

/**
 * A loaded leaf's block hashes, 32 bytes each rather than 64-character strings: every
 * connection keeps the leaves it touched, so they are kept small.
 */
class PackedHashes {
  private readonly bytes: Uint8Array;
  constructor(hex: string[]) {
    this.bytes = new Uint8Array(hex.length * 32);
    hex.forEach((h, i) => this.bytes.set(fromHex(h), i * 32));
  }
  at(i: number): string {
    return toHex(this.bytes.subarray(i * 32, i * 32 + 32));
  }
}

/** Child pages the B-tree map of one version may hold (about 40 bytes each). */
const MAX_LEARNED_CHILDREN = 32_768;

/**
 * Bytes of block hashes (32 per block) the warmTables option fetches per table at most:
 * the hashes of 4096 blocks, all of an 8 MiB site index in 2 KiB blocks (the Rust
 * book's 5.4 MiB: 84 KiB).
 */
export const WARM_BYTES_MAX = 128 * 1024;

/** The pages of the B-tree rooted at `root` that its interior pages seen so far name, the root included. */
function pagesBelow(v: Version, root: number): number[] {
  const out: number[] = [];
  const todo = [root];
  while (todo.length && out.length < MAX_LEARNED_CHILDREN) {
    const pgno = todo.pop()!;
    out.push(pgno);
    todo.push(...(v.childrenOf.get(pgno) ?? []));
  }
  return out;
}

export interface QueryCounters {
  requests: number;
  bytes: number;
  blockCacheHits: number;
  blockCacheMisses: number;
  hotPageHits: number;
}

export class Version {
  /** Leaves being loaded, and leaves loaded (block hashes), by leaf index. */
  readonly leaves = new Map<number, Promise<string[]>>();
  readonly leafDone = new Map<number, PackedHashes>();
  /** The pages embedded in the root. */
  readonly hot = new Map<number, Uint8Array>();
  /** From interior pages seen so far: each child page's parent and position, and each parent's children. */
  readonly parentOf = new Map<number, { parent: number; idx: number }>();
  readonly childrenOf = new Map<number, number[]>();
  /**
   * Trees whose leaves name rows of another table, from the embedded schema (set when
   * first needed): index root -> its table's root; FTS5 `%_data` root -> `%_docsize` root.
   */
  rowTargets: { indexes: Map<number, number>; fts5: Map<number, number> } | null = null;
  /** The schema table's rows, from the embedded pages (parsed when first needed). */
  schema: SchemaEntry[] | null = null;
  /** B-tree root -> the depth of its leaves, from a leaf SQLite read. */
  readonly leafDepth = new Map<number, number>();
  /** Index-to-row readahead of this version (set by the reader). */
  rows: RowReadahead | null = null;
  /**
   * The change counter the VFS presents for this version: a number this reader never
   * gave another version, so SQLite drops its page cache whenever the content may
   * differ (sequence numbers repeat when a bucket is deleted and published again).
   */
  constructor(readonly hash: string, readonly root: RootManifest, readonly changeCounter: number) {}
  get blockCount(): number {
    return blockCount(this.root.dbSize, this.root.blockSize);
  }
}


export class BucketReader {
  readonly store: CountingStore;
  readonly cache: BlockCache;
  current!: Version;
  private headEtag = '';
  private lastHeadCheck = 0;
  readonly fetcher: BlockFetcher;
  private sequential: SequentialReadahead | null = null;
  private readonly objects: LRUCache<string, Uint8Array>;
  private readonly counts = { hotPageHits: 0, headChecks: 0, versionChanges: 0 };
  private versionsSeen = 0;
  private readonly siblingRuns = new Map<number, { last: number; run: number; upTo: number }>();
  /** Readahead of every kind on (the `prefetch` option). */
  private readonly prefetch: boolean;
  /** Aborts fetches of the statement running now (set by the database per query). */
  signal: AbortSignal | undefined;
  /** Opened with `version` or `at`: the reader stays on `current` and never checks HEAD. */
  pinned = false;
  /** Set once a read of the pinned version found that gc collected it. */
  private collected: BucketliteError | null = null;

  private constructor(store: BucketStore, readonly opts: ReaderOptions) {
    this.store = new CountingStore(store);
    this.prefetch = opts.prefetch !== false;
    this.cache = opts.cache ?? new MemoryBlockCache();
    this.fetcher = new BlockFetcher(this.store, this.cache, { concurrency: opts.concurrency, maxRangeBytes: opts.maxRangeBytes, maxJoinBytes: opts.maxJoinBytes, signal: () => this.signal });
    this.objects = new LRUCache({ maxSize: opts.manifestCacheBytes ?? 16 * 1024 * 1024, sizeCalculation: (b) => Math.max(1, b.byteLength) });
  }

  /**
   * Opens the current version, or with `version` / `at` the version asked for, pinned
   * (see ReaderOptions). A malformed `version` or `at` is ERR_USAGE before any request.
   */
  static async open(store: BucketStore, opts: ReaderOptions = {}): Promise<BucketReader> {
    const spec = parseVersionPin(opts);
    const r = new BucketReader(store, opts);
    const head = await r.fetchHead();
    if (!head || head === 'unchanged') throw new BucketliteError('ERR_NOT_FOUND', `${store.name} holds no bucketlite database (no HEAD)`, { op: 'open', key: HEAD_KEY });
    let hash = head.root;
    let root = await rootOf(r.manifestObject, hash, head.inline);
    if (spec) {
      ({ hash, root } = await resolveVersion({ hash, root }, spec, (h) => rootIfPresent(r.manifestObject, h)));
      r.pinned = true;
    }
    r.current = r.prepare(hash, root);
    r.warm(r.current);
    return r;
  }

  /**
   * The warmTables option: fetches, in the background, the manifest leaves holding the
   * block hashes of each table's pages that the pages at hand (embedded interior pages)
   * point to, or else the interior nodes above those leaves (warmTables). A hint: a
   * failed fetch is tried again by the read that needs it.
   */
  private warm(v: Version): void {
    const { pageSize, blockSize, blocksPerLeaf: L, depth, fanout } = v.root;
    const budget = this.opts.warmBytes ?? WARM_BYTES_MAX;
    for (const table of this.opts.warmTables ?? []) {
      const root = this.schemaOf(v).find((e) => e.type === 'table' && e.name === table)?.rootpage;
      if (!root) continue;
      const leaves = new Set<number>();
      for (const pgno of pagesBelow(v, root)) leaves.add(Math.floor(Math.floor(((pgno - 1) * pageSize) / blockSize) / L));
      const inFile = [...leaves].filter((i) => i * L < v.blockCount);
      if (inFile.length * L * 32 <= budget) {
        for (const i of inFile) this.leaf(v, i).catch(() => undefined);
        continue;
      }
      if (depth < 2) continue;
      const nodeOf = (i: number, level: number) => Math.floor((i * L) / blocksPerNode(v.root, level));
      let bytes = 0;
      for (let level = 1; level < depth; level++) bytes += new Set(inFile.map((i) => nodeOf(i, level))).size * fanout * 32;
      if (bytes > budget) continue;
      // One leaf under each level-1 node: the path to it fetches every node above.
      for (const i of new Map(inFile.map((i) => [nodeOf(i, 1), i])).values()) nodesAbove(this.manifestObject, v.root, i).catch(() => undefined);
    }
  }

  /** Reads HEAD, or revalidates it against the ETag we hold; null if absent. */
  private async fetchHead(revalidate = false): Promise<Head | 'unchanged' | null> {
    this.counts.headChecks++;
    // Revalidate only against ETags that change whenever the content does: many static
    // servers (nginx) derive theirs from size and mtime in seconds, which two HEADs
    // written within a second can share. HEAD is small; then it is fetched whole.
    const exact = this.headEtag && (this.store.inner.etagIsExact?.(this.headEtag) ?? true);
    const got = await fetchHead(this.store, { ifNoneMatch: revalidate && exact ? this.headEtag : undefined, signal: this.signal });
    if (got === null) return null;
    this.lastHeadCheck = Date.now();
    if (got === 'unchanged') return got;
    this.headEtag = got.etag;
    return got.head;
  }

  /** A version ready to read: the root decoded, its embedded pages at hand. Nothing more is fetched. */
  private prepare(hash: string, root: RootManifest): Version {
    const v = new Version(hash, root, ++this.versionsSeen);
    v.root.pages.forEach((p, i) => v.hot.set(p, v.root.pageData[i]));
    if (this.current?.root.blockSize !== v.root.blockSize) {
      // Forward jumps of up to 256 KiB still count as sequential (tables written interleaved).
      const bs = v.root.blockSize;
      const bytes = !this.prefetch ? 0 : this.opts.maxReadaheadBytes ?? 16 * 1024 * 1024;
      this.sequential = new SequentialReadahead(Math.floor(bytes / bs), Math.max(4, (256 * 1024) / bs));
    }
    for (const [pgno, page] of v.hot) this.learnPage(v, pgno, page);
    const rowWindow = !this.prefetch ? 0 : this.opts.maxRowReadahead ?? 64;
    if (rowWindow > 0) v.rows = new RowReadahead((table, rowid, fetch) => this.descendTable(v, table, rowid, fetch), rowWindow);
    return v;
  }

  /**
   * Interior pages give the B-tree map readahead uses: a walk along leaves (a range
   * scan, an FTS5 doclist) fetches the next leaves before SQLite asks. Learned from the
   * embedded pages and from every interior page read (a bounded number).
   */
  private learnPage(v: Version, pgno: number, page: Uint8Array): void {
    const type = page[pgno === 1 ? 100 : 0];
    // Bounded: every connection keeps its own map (a few MiB at most).
    if ((type !== 2 && type !== 5) || v.childrenOf.has(pgno) || v.parentOf.size >= MAX_LEARNED_CHILDREN) return;
    let parsed;
    try {
      parsed = parseBtreePage(page, pgno);
    } catch {
      return; // damaged, or not a b-tree page after all: no hints from it
    }
    v.childrenOf.set(pgno, parsed.children);
    parsed.children.forEach((c, idx) => v.parentOf.set(c, { parent: pgno, idx }));
  }

  /**
   * Index-to-row readahead (row-readahead.ts) is fed the index and table leaves SQLite
   * reads: an index leaf's rowids, and which table's leaves follow it.
   */
  private followRows(v: Version, pgno: number, page: Uint8Array): void {
    const type = page[pgno === 1 ? 100 : 0];
    if ((type !== 10 && type !== 13) || !v.rows) return;
    try {
      const { root, depth } = this.treeRoot(v, pgno);
      if (v.hot.has(root)) v.leafDepth.set(root, depth); // a root SQLite reads first: the path is whole
      const usable = v.root.pageSize - (v.hot.get(1)?.[20] ?? 0);
      if (!v.rowTargets) {
        const schema = this.schemaOf(v);
        v.rowTargets = { indexes: tableOfIndex(schema), fts5: fts5DocsizeOf(schema) };
      }
      // An FTS5 doclist leaf: the rows a ranking reads next are in `%_docsize`.
      const docsize = type === 13 ? v.rowTargets.fts5.get(root) : undefined;
      if (docsize !== undefined) v.rows.onIndexLeaf(pgno, docsize, fts5PageRowids(page, pgno, usable));
      else if (type === 13) void v.rows.onTableLeaf(root, pgno).catch(() => undefined);
      const table = type === 10 ? v.rowTargets.indexes.get(root) : undefined;
      if (table !== undefined) v.rows.onIndexLeaf(pgno, table, indexLeafRowids(page, pgno, usable));
    } catch {
      // a page that does not parse gives no hints
    }
  }

  private schemaOf(v: Version): SchemaEntry[] {
    v.schema ??= readSchema((p) => v.hot.get(p), v.root.pageSize - (v.hot.get(1)?.[20] ?? 0));
    return v.schema;
  }

  /** The root of the B-tree a page belongs to, as far as the interior pages seen tell, and the page's depth below it. */
  private treeRoot(v: Version, pgno: number): { root: number; depth: number } {
    let depth = 0;
    for (; depth < 32; depth++) {
      const up = v.parentOf.get(pgno);
      if (!up) break;
      pgno = up.parent;
    }
    return { root: pgno, depth };
  }

  /**
   * The leaf of the table rooted at `table` that holds `rowid`, fetching what is missing
   * (in the background). Without `fetch`, through pages at hand only; a page not at hand
   * at the depth where this tree's leaves were seen is a leaf (all leaves of a B-tree
   * lie at one depth), so only the levels above need to be held.
   */
  private async descendTable(v: Version, table: number, rowid: number, fetch: boolean): Promise<number | null> {
    if (!fetch) {
      const at = await this.walkLocal(v, table, rowid);
      return at && 'leaf' in at ? at.leaf : null;
    }
    const pages = v.root.dbSize / v.root.pageSize;
    let pgno = table;
    for (let depth = 0; depth < 20; depth++) {
      const child = tableChildFor(await this.pageBytes(v, pgno), pgno, rowid);
      if (child === 'leaf') return pgno;
      if (child < 1 || child > pages) return null;
      pgno = child;
    }
    return null;
  }

  /** As far as pages at hand lead towards `rowid`: its leaf, the first page not at hand, or null (damaged). */
  private async walkLocal(v: Version, table: number, rowid: number): Promise<{ leaf: number } | { missing: number } | null> {
    const pages = v.root.dbSize / v.root.pageSize;
    let pgno = table;
    for (let depth = 0; depth < 20; depth++) {
      const page = await this.localPage(v, pgno);
      if (!page) return depth > 0 && v.leafDepth.get(table) === depth ? { leaf: pgno } : { missing: pgno };
      const child = tableChildFor(page, pgno, rowid);
      if (child === 'leaf') return { leaf: pgno };
      if (child < 1 || child > pages) return null;
      pgno = child;
    }
    return null;
  }

  /**
   * Fetches the leaves of table `table` (current version) that hold `rowids`: a caller
   * that knows which rows its next statement reads (a search's result rows) pays one
   * round trip per missing tree level for all of them (usually one: interior pages are
   * embedded or cached) instead of one per row. Each level goes out as one batch of
   * coalesced Range reads. A hint: it never fails a query, and SQLite still reads (and
   * the reader verifies) every page. Returns the number of leaves at hand afterwards.
   */
  async prefetchRows(table: string, rowids: number[]): Promise<number> {
    const v = this.current;
    const root = this.schemaOf(v).find((e) => e.type === 'table' && e.name === table)?.rootpage;
    if (!root || !this.prefetch) return 0;
    const { pageSize, blockSize } = v.root;
    const blockOf = (pgno: number) => Math.floor(((pgno - 1) * pageSize) / blockSize);
    const tried = new Set<number>(); // a block the cache did not keep is not fetched again
    try {
      for (let level = 0; level < 20; level++) {
        const at = await Promise.all(rowids.map((r) => this.walkLocal(v, root, r)));
        // A leaf is named once its tree's leaf depth is known, held or not: fetch it too.
        const missing = new Set<number>();
        const leaves = new Set<number>();
        await Promise.all(at.map(async (x) => {
          if (x && 'missing' in x) missing.add(blockOf(x.missing));
          else if (x && !(await this.localPage(v, x.leaf))) missing.add(blockOf(x.leaf));
          else if (x) leaves.add(x.leaf);
        }));
        const blocks = [...missing].filter((b) => !tried.has(b)).sort((a, b) => a - b);
        if (blocks.length === 0) return leaves.size;
        blocks.forEach((b) => tried.add(b));
        await this.fetcher.fetchBlocks((await Promise.all(blocks.map((b) => this.blockItems(v, b, b)))).flat(), true, { fit: true });
      }
    } catch {
      // a failed hint: SQLite's own reads fetch, retry and report
    }
    return 0;
  }

  /** A page of version `v`, fetched if need be, as readahead (it is not counted as a miss). */
  private async pageBytes(v: Version, pgno: number): Promise<Uint8Array> {
    const hot = v.hot.get(pgno);
    if (hot) return hot;
    const { pageSize, blockSize } = v.root;
    const b = Math.floor(((pgno - 1) * pageSize) / blockSize);
    const [block] = await this.fetcher.fetchBlocks(await this.blockItems(v, b, b), true);
    const at = ((pgno - 1) * pageSize) % blockSize;
    return block.subarray(at, at + pageSize);
  }

  /** A page of version `v` if it is held locally (embedded or cached), else undefined. */
  private async localPage(v: Version, pgno: number): Promise<Uint8Array | undefined> {
    const hot = v.hot.get(pgno);
    if (hot) return hot;
    const { pageSize, blockSize, blocksPerLeaf } = v.root;
    const b = Math.floor(((pgno - 1) * pageSize) / blockSize);
    await this.localLeaves(v, b, b);
    const hash = v.leafDone.get(Math.floor(b / blocksPerLeaf))?.at(b % blocksPerLeaf);
    const block = hash ? await this.cache.get(hash) : undefined;
    const at = ((pgno - 1) * pageSize) % blockSize;
    return block?.subarray(at, at + pageSize);
  }

  /** Manifest objects being fetched: concurrent reads of one (the node above several leaves) share one request. */
  private readonly objectsInFlight = new Map<string, Promise<Uint8Array>>();

  /** A manifest object, verified, from memory, the block cache, or the bucket. */
  private readonly manifestObject = async (hash: string): Promise<Uint8Array> => {
    const held = this.objects.get(hash);
    if (held) return held;
    let p = this.objectsInFlight.get(hash);
    if (!p) {
      p = this.loadObject(hash).finally(() => this.objectsInFlight.delete(hash));
      this.objectsInFlight.set(hash, p);
    }
    try {
      return await p;
    } catch (err) {
      // Started by a statement that was aborted since: this one fetches it again.
      if (isCode(err, 'ERR_ABORTED') && !this.signal?.aborted) return this.manifestObject(hash);
      throw err;
    }
  };

  private async loadObject(hash: string): Promise<Uint8Array> {
    const hit = await this.cache.get(hash);
    if (hit) {
      this.objects.set(hash, hit);
      return hit;
    }
    const body = await this.fetcher.verifiedGet(manifestKey(hash), hash);
    this.objects.set(hash, body);
    await this.cache.set(hash, body);
    return body;
  }

  /** A manifest object held locally (memory or the block cache), or an error: never the network. */
  private readonly localObject: ObjectSource = async (hash) => {
    const hit = this.objects.get(hash) ?? (await this.cache.get(hash));
    if (!hit) throw new Error('not held locally');
    this.objects.set(hash, hit);
    return hit;
  };

  /** The block hashes of leaf `i` (memoized per version; a failed fetch is tried again by the next read). */
  private leaf(v: Version, i: number): Promise<string[]> {
    let p = v.leaves.get(i);
    if (!p) {
      p = leafEntries(this.manifestObject, v.root, i);
      v.leaves.set(i, p);
      p.then((h) => v.leafDone.set(i, new PackedHashes(h)), () => v.leaves.delete(i));
    }
    return p;
  }

  /**
   * Loads the leaves covering blocks [first, last] that are held locally, so their
   * blocks can be looked up in the cache; the others come from the network alongside
   * their blocks.
   */
  private async localLeaves(v: Version, first: number, last: number): Promise<void> {
    const L = v.root.blocksPerLeaf;
    for (let li = Math.floor(first / L); li <= Math.floor(last / L); li++) {
      if (v.leafDone.has(li) || v.leaves.has(li)) continue;
      const local = await leafEntries(this.localObject, v.root, li).catch(() => null);
      if (local) v.leafDone.set(li, new PackedHashes(local));
    }
  }

  /** Blocks [first, last] to fetch: locations from the root, hashes from leaves (known or on the way). */
  private async blockItems(v: Version, first: number, last: number): Promise<BlockItem[]> {
    await this.localLeaves(v, first, last);
    const L = v.root.blocksPerLeaf;
    const out: BlockItem[] = [];
    for (let i = first; i <= last; i++) {
      const li = Math.floor(i / L);
      const done = v.leafDone.get(li);
      let hash: string | Promise<string>;
      if (done) hash = done.at(i % L);
      else {
        hash = this.leaf(v, li).then((h) => h[i % L]);
        hash.catch(() => undefined); // a failed leaf is reported by the fetch that awaits it
      }
      out.push({ ...locateBlock(v.root, i), hash });
    }
    return out;
  }

  /** True when HEAD is due for a check (the TTL has passed since the last one); never for a pinned reader. */
  headDue(): boolean {
    return !this.pinned && Date.now() - this.lastHeadCheck >= (this.opts.headTtlMs ?? 5000);
  }

  /** Checks HEAD now and moves to a new version if there is one; true if it moved. A pinned reader never moves. */
  async refresh(): Promise<boolean> {
    if (this.pinned) return false;
    const head = await this.fetchHead(true);
    if (head === null) throw new BucketliteError('ERR_NOT_FOUND', `HEAD disappeared from ${this.store.name}`, { op: 'refresh', key: HEAD_KEY });
    if (head === 'unchanged' || head.root === this.current.hash) return false;
    this.current = this.prepare(head.root, await rootOf(this.manifestObject, head.root, head.inline));
    this.warm(this.current);
    this.counts.versionChanges++;
    return true;
  }

  /**
   * Starts a read transaction: revalidates HEAD if the TTL has passed and moves to a
   * new version if there is one. The returned version stays pinned until the next call.
   */
  async beginRead(): Promise<Version> {
    if (this.headDue()) await this.refresh();
    return this.current;
  }

  /**
   * Reads `out.length` bytes at `offset` of version `v` into `out`; returns the number
   * of bytes that exist (less at the end of the file; the caller zero-fills).
   */
  async read(v: Version, offset: number, out: Uint8Array): Promise<number> {
    if (this.collected) throw this.collected;
    try {
      return await this.readVersion(v, offset, out);
    } catch (err) {
      throw await this.explainMissing(v, err);
    }
  }

  /**
   * A pinned reader's version may be collected by gc while it reads (its root is in
   * memory or in the cache, its packs and leaves are gone): an object not found is then
   * checked against the bucket, bypassing every cache: HEAD and the roots back to the
   * version (the cost of opening it). Collected: ERR_VERSION_COLLECTED, for this and
   * every later read. Still kept: the object is missing for another reason (damage),
   * and the error stays as it was.
   */
  private async explainMissing(v: Version, err: unknown): Promise<unknown> {
    if (!this.pinned || !isCode(err, 'ERR_NOT_FOUND')) return err;
    try {
      const got = await fetchHead(this.store, { signal: this.signal });
      if (!got || got === 'unchanged') return err;
      const objects = storeObjects(this.store);
      const start = { hash: got.head.root, root: await rootOf(objects, got.head.root, got.head.inline) };
      const spec: VersionSpec = { kind: 'version', seq: v.root.seq, prefix: null, text: String(v.root.seq) };
      await resolveVersion(start, spec, (h) => rootIfPresent(objects, h));
      return err;
    } catch (e) {
      if (!isCode(e, 'ERR_VERSION_COLLECTED')) return err;
      this.collected = e;
      return e;
    }
  }

  private async readVersion(v: Version, offset: number, out: Uint8Array): Promise<number> {
    const { pageSize, blockSize, dbSize } = v.root;
    if (offset >= dbSize) return 0;
    const end = Math.min(offset + out.length, dbSize);
    // Any read inside one hot page (a whole page, or SQLite's 100-byte and 16-byte header reads).
    const pgno = Math.floor(offset / pageSize) + 1;
    if (end <= pgno * pageSize) {
      const hot = v.hot.get(pgno);
      if (hot) {
        const from = offset - (pgno - 1) * pageSize;
        out.set(hot.subarray(from, from + (end - offset)));
        this.counts.hotPageHits++;
        return end - offset;
      }
    }
    const first = Math.floor(offset / blockSize);
    const last = Math.floor((end - 1) / blockSize);
    this.readahead(v, first, last);
    if (end - offset <= pageSize) this.siblingReadahead(v, pgno);
    const blocks = await this.fetcher.fetchBlocks(await this.blockItems(v, first, last));
    for (let i = first; i <= last; i++) {
      const b = blocks[i - first];
      const from = Math.max(offset, i * blockSize);
      const to = Math.min(end, (i + 1) * blockSize);
      out.set(b.subarray(from - i * blockSize, to - i * blockSize), from - offset);
    }
    if (offset % pageSize === 0 && end - offset === pageSize) {
      this.learnPage(v, pgno, out.subarray(0, pageSize));
      this.followRows(v, pgno, out.subarray(0, pageSize));
    }
    return end - offset;
  }

  /**
   * B-tree readahead: when SQLite reads the children of one interior page in order
   * (tracked per parent, so two interleaved walks both count), the next 2, 4, … up to
   * 64 siblings are fetched in the background. Point lookups never trigger it.
   */
  private siblingReadahead(v: Version, pgno: number): void {
    const at = v.parentOf.get(pgno);
    if (!at || !this.prefetch) return;
    const run = this.siblingRuns.get(at.parent);
    const next = run && at.idx === run.last + 1 ? { last: at.idx, run: run.run + 1, upTo: run.upTo } : { last: at.idx, run: 0, upTo: at.idx };
    this.siblingRuns.set(at.parent, next);
    if (this.siblingRuns.size > 4096) this.siblingRuns.delete(this.siblingRuns.keys().next().value!);
    if (next.run === 0) return;
    const siblings = v.childrenOf.get(at.parent)!;
    // Interior siblings each lead to many leaves SQLite reads first: two ahead are enough.
    const interior = at.idx > 0 && v.childrenOf.has(siblings[at.idx - 1]);
    const want = Math.min(interior ? 2 : this.opts.maxSiblingReadahead ?? 64, 2 ** next.run);
    if (want <= 0) return;
    if (next.upTo - at.idx >= want / 2) return;
    const from = Math.max(at.idx, next.upTo) + 1;
    const to = Math.min(siblings.length - 1, at.idx + want);
    if (from > to) return;
    next.upTo = to;
    const { pageSize, blockSize } = v.root;
    const blocks = new Set<number>();
    for (let i = from; i <= to; i++) {
      const b = Math.floor(((siblings[i] - 1) * pageSize) / blockSize);
      if (!v.hot.has(siblings[i]) && !this.sequential?.covers(b)) blocks.add(b);
    }
    const signal = this.signal;
    void (async () => {
      const items = await Promise.all([...blocks].filter((b) => b < v.blockCount).map((b) => this.blockItems(v, b, b)));
      if (!signal?.aborted) await this.fetcher.fetchBlocks(items.flat(), true);
    })().catch(() => undefined);
  }

  /** Sequential readahead (policy in readahead.ts): the next window, fetched in the background. */
  private readahead(v: Version, first: number, last: number): void {
    const ahead = this.sequential?.next(first, last, v.blockCount);
    if (!ahead) return;
    const signal = this.signal;
    void (async () => {
      const items = await this.blockItems(v, ahead.from, ahead.to);
      if (!signal?.aborted) await this.fetcher.fetchBlocks(items, true);
    })().catch(() => undefined); // a failed readahead is retried, and reported, by the read that needs it
  }

  /** The counters a query's stats are the difference of (cheap: no cache stats). */
  counters(): QueryCounters {
    const { requests, bytes } = this.store.counts;
    const { blockCacheHits, blockCacheMisses } = this.fetcher.counters;
    return { requests, bytes, blockCacheHits, blockCacheMisses, hotPageHits: this.counts.hotPageHits };
  }

  stats(): ReaderStats {
    return {
      ...this.store.counts, ...this.counts, ...this.fetcher.counters,
      version: this.current.root.seq, manifest: this.current.hash, pinned: this.pinned, fetchesInFlight: this.fetcher.inFlight + this.objectsInFlight.size, cache: this.cache.stats(),
    };
  }

  async close(): Promise<void> {
    await this.cache.flush?.(); // blocks still queued for the persistent cache are kept
    await this.store.close();
  }
}
