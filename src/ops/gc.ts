/**
 * Garbage collection (docs/FORMAT.md §GC). Keeps every object reachable from the
 * newest `keep` versions and from any version superseded less than `grace` ago
 * (a reader may still be pinned to it), and never deletes an object younger than
 * `grace` (an upload may be writing it). Deletes collected versions' roots first,
 * newest first, so an interrupted gc never leaves a listed version with missing parts.
 */
import { BucketliteError } from '../errors.js';
import { MANIFEST_PREFIX, PACK_PREFIX } from '../format/constants.js';
import { manifestKey, packKey } from '../format/keys.js';
import { currentVersion, history, loadBlockTable } from '../bucket/versions.js';
import type { Version } from '../bucket/versions.js';
import type { BucketStore, ObjectInfo } from '../storage/types.js';

export interface GcOptions {
  keep?: number;
  graceMs?: number;
  dryRun?: boolean;
  now?: () => number;
}

export interface GcResult {
  dryRun: boolean;
  versionsKept: number[];
  versionsCollected: number[];
  deleted: string[];
  bytesFreed: number;
  /** Unreachable objects left because they are younger than the grace period. */
  keptYoung: number;
  temporaryFilesRemoved: number;
}

export const DEFAULT_KEEP = 10;
export const DEFAULT_GRACE_MS = 24 * 3600 * 1000;

export async function gc(store: BucketStore, opts: GcOptions = {}): Promise<GcResult> {
  const keep = opts.keep ?? DEFAULT_KEEP;
  const grace = opts.graceMs ?? DEFAULT_GRACE_MS;
  const now = opts.now?.() ?? Date.now();
  const dryRun = opts.dryRun ?? false;
  if (!Number.isInteger(keep) || keep < 1) throw new BucketliteError('ERR_USAGE', `--keep must be at least 1, not ${keep}`);
  if (!(grace >= 0)) throw new BucketliteError('ERR_USAGE', '--grace must be a non-negative duration');
  const cur = await currentVersion(store);
  if (!cur) throw new BucketliteError('ERR_NOT_FOUND', `${store.name} has no HEAD; refusing to collect anything`, { op: 'gc' });

  const all: Version[] = [];
  for await (const v of history(store, cur)) all.push(v);
  // all[i - 1] superseded all[i]: its creation time is when all[i] stopped being current.
  const kept = all.filter((v, i) => i < keep || all[i - 1].root.created > now - grace);
  const collected = all.filter((v) => !kept.includes(v));

  const reachable = new Set<string>();
  for (const v of kept) {
    reachable.add(manifestKey(v.hash));
    const table = await loadBlockTable(store, v.root);
    for (const h of table.manifestObjects) reachable.add(manifestKey(h));
    for (const b of table.blocks) reachable.add(packKey(b.pack));
    for (const h of v.root.hot) reachable.add(packKey(h.pack));
  }

  const garbage: ObjectInfo[] = [];
  let keptYoung = 0;
  for (const prefix of [MANIFEST_PREFIX, PACK_PREFIX]) {
    for await (const o of store.list(prefix)) {
      if (reachable.has(o.key)) continue;
      if (now - o.lastModified.getTime() < grace) keptYoung++;
      else garbage.push(o);
    }
  }
  // Order: roots of collected versions (newest first), other manifests, then packs.
  const rank = new Map(collected.map((v, i) => [manifestKey(v.hash), i]));
  const order = (o: ObjectInfo) => rank.get(o.key) ?? (o.key.startsWith(MANIFEST_PREFIX) ? collected.length : collected.length + 1);
  garbage.sort((a, b) => order(a) - order(b));

  const deleted = garbage.map((o) => o.key);
  const bytesFreed = garbage.reduce((a, o) => a + o.size, 0);
  if (!dryRun) {
    // Collected roots one by one, in order; the rest in batches where the store can.
    const roots = deleted.filter((k) => rank.has(k));
    const rest = deleted.filter((k) => !rank.has(k));
    for (const k of roots) await store.delete(k);
    if (store.deleteMany) await store.deleteMany(rest);
    else for (const k of rest) await store.delete(k);
  }
  const temporaryFilesRemoved = !dryRun && store.sweepTemporary ? await store.sweepTemporary(grace) : 0;
  return {
    dryRun,
    versionsKept: kept.map((v) => v.root.seq),
    versionsCollected: collected.map((v) => v.root.seq),
    deleted, bytesFreed, keptYoung, temporaryFilesRemoved,
  };
}

/** Parses durations like 90s, 15m, 24h, 7d, 500ms, or 0. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new BucketliteError('ERR_USAGE', `not a duration: ${JSON.stringify(s)} (use e.g. 30s, 15m, 24h, 7d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}
