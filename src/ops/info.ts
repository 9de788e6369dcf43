/** `info` and `log`: what a version holds and how the history runs. */
import { HEAD_KEY, ROOT_INLINE_MAX } from '../format/constants.js';
import { manifestKey } from '../format/keys.js';
import { blockCount } from '../format/manifest.js';
import { currentVersion, findVersion, history, loadBlockTable } from '../bucket/versions.js';
import type { BucketStore } from '../storage/types.js';
import { BucketliteError } from '../errors.js';

export interface VersionInfo {
  seq: number;
  manifest: string;
  parent: string | null;
  created: string;
  formatVersion: number;
  dbSize: number;
  pageSize: number;
  blockSize: number;
  blocks: number;
  distinctBlocks: number;
  packs: number;
  treeDepth: number;
  manifestObjects: number;
  manifestBytes: number;
  /** Bytes a reader fetches to open this version: HEAD, plus the root when it is not inline. */
  openBytes: number;
  /** Pages embedded in the root (page 1, the schema, B-tree roots, ...). */
  embeddedPages: number;
  /** Entries of the root's run table (where blocks are stored). */
  runs: number;
  newBlocks: number;
  newBytes: number;
  isCurrent: boolean;
}

export async function info(store: BucketStore, opts: { version?: string } = {}): Promise<VersionInfo> {
  const v = await findVersion(store, opts.version);
  const cur = await currentVersion(store);
  const table = await loadBlockTable(store, v.root);
  let manifestBytes = 0;
  const sizes = new Map<string, number>();
  for (const h of [v.hash, ...table.manifestObjects]) {
    const o = await store.head(manifestKey(h));
    sizes.set(h, o?.size ?? 0);
    manifestBytes += o?.size ?? 0;
  }
  const headSize = (await store.head(HEAD_KEY))?.size ?? 0;
  const rootInline = (sizes.get(v.hash) ?? 0) <= ROOT_INLINE_MAX;
  return {
    seq: v.root.seq, manifest: v.hash, parent: v.root.parent,
    created: new Date(v.root.created).toISOString(), formatVersion: v.root.formatVersion,
    dbSize: v.root.dbSize, pageSize: v.root.pageSize, blockSize: v.root.blockSize,
    blocks: blockCount(v.root.dbSize, v.root.blockSize),
    distinctBlocks: new Set(table.blocks.map((b) => b.hash)).size,
    packs: new Set(table.blocks.map((b) => b.pack)).size,
    treeDepth: v.root.depth,
    manifestObjects: 1 + table.manifestObjects.length,
    manifestBytes,
    openBytes: headSize + (rootInline ? 0 : sizes.get(v.hash) ?? 0),
    embeddedPages: v.root.pages.length,
    runs: v.root.runs.length,
    newBlocks: v.root.newBlocks, newBytes: v.root.newBytes,
    isCurrent: cur?.hash === v.hash,
  };
}

export interface LogEntry {
  seq: number;
  /** The root manifest's hash (a prefix of 8+ digits names the version, as `--version` does). */
  manifest: string;
  /** Creation time, ISO 8601 UTC: `at` picks the newest version created at or before a time. */
  created: string;
  dbSize: number;
  /** Blocks, and their bytes, this version wrote that no earlier version had: what the commit changed. */
  newBlocks: number;
  newBytes: number;
  /** The previous version's manifest hash; null for version 1. On the last entry of a whole log, non-null means gc collected the older versions. */
  parent: string | null;
  isCurrent: boolean;
}

export async function log(store: BucketStore, opts: { limit?: number } = {}): Promise<LogEntry[]> {
  const cur = await currentVersion(store);
  if (!cur) throw new BucketliteError('ERR_NOT_FOUND', `${store.name} holds no bucketlite version (no HEAD)`, { op: 'log', key: HEAD_KEY });
  const out: LogEntry[] = [];
  for await (const v of history(store, cur)) {
    out.push({
      seq: v.root.seq, manifest: v.hash, created: new Date(v.root.created).toISOString(),
      dbSize: v.root.dbSize, newBlocks: v.root.newBlocks, newBytes: v.root.newBytes,
      parent: v.root.parent, isCurrent: v.hash === cur.hash,
    });
    if (opts.limit && out.length >= opts.limit) break;
  }
  return out;
}
