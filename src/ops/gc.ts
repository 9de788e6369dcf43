/**
 * Garbage collection (docs/FORMAT.md §GC). Keeps every object reachable from the
 * newest `keep` versions and from any version superseded less than `grace` ago
 * (a reader may still be pinned to it), and never deletes an object younger than
 * `grace`. Deletes collected versions' roots first, newest first, so an interrupted gc
 * never leaves a listed version with missing parts. While it deletes, a fence on HEAD
 * keeps uploads from committing anything that relies on what it deletes (gc-fence.ts).
 */
import { BucketliteError } from '../errors.js';
import { MANIFEST_PREFIX, PACK_PREFIX } from '../format/constants.js';
import { manifestKey, packKey } from '../format/keys.js';
import { currentVersion, history, loadBlockTable } from '../bucket/versions.js';
import type { Version } from '../bucket/versions.js';
import { FenceHold } from '../bucket/gc-fence.js';
import type { BucketStore, ObjectInfo } from '../storage/types.js';

export interface GcOptions {
  keep?: number;
  graceMs?: number;
  dryRun?: boolean;
  /** Clock for the grace period (tests). The fence always uses the real clock. */
  now?: () => number;
  /** Lease of the gc fence on HEAD (default 10 min, renewed while gc works). */
  fenceLeaseMs?: number;
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
  const dryRun = opts.dryRun ?? false;
  if (!Number.isInteger(keep) || keep < 1) throw new BucketliteError('ERR_USAGE', `--keep must be at least 1, not ${keep}`);
  if (!(grace >= 0)) throw new BucketliteError('ERR_USAGE', '--grace must be a non-negative duration');
  // The fence first: from here on no upload can commit on top of what gc saw.
  const hold = dryRun ? null : await FenceHold.acquire(store, opts.fenceLeaseMs);
  const cur = hold ? hold.version : await currentVersion(store);
  if (!cur) throw new BucketliteError('ERR_NOT_FOUND', `${store.name} has no HEAD; refusing to collect anything`, { op: 'gc' });
  try {
    const now = opts.now?.() ?? Date.now();
    const plan = await planCollection(store, cur, keep, grace, now);
    if (hold) await deleteInOrder(store, plan, hold);
    const temporaryFilesRemoved = hold && store.sweepTemporary ? await store.sweepTemporary(grace) : 0;
    return {
      dryRun,
      versionsKept: plan.kept.map((v) => v.root.seq),
      versionsCollected: plan.collected.map((v) => v.root.seq),
      deleted: plan.garbage.map((o) => o.key),
      bytesFreed: plan.garbage.reduce((a, o) => a + o.size, 0),
      keptYoung: plan.keptYoung, temporaryFilesRemoved,
    };
  } finally {
    await hold?.release();
  }
}

interface Plan {
  kept: Version[];
  collected: Version[];
  /** In deletion order: roots of collected versions (newest first), other manifests, packs. */
  garbage: ObjectInfo[];
  /** How many leading entries of `garbage` are collected roots. */
  roots: number;
  keptYoung: number;
}

async function planCollection(store: BucketStore, cur: Version, keep: number, grace: number, now: number): Promise<Plan> {
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
  const rank = new Map(collected.map((v, i) => [manifestKey(v.hash), i]));
  const order = (o: ObjectInfo) => rank.get(o.key) ?? (o.key.startsWith(MANIFEST_PREFIX) ? collected.length : collected.length + 1);
  garbage.sort((a, b) => order(a) - order(b));
  return { kept, collected, garbage, roots: garbage.filter((o) => rank.has(o.key)).length, keptYoung };
}

/** Collected roots one by one, the rest in batches; the fence is checked before each. */
async function deleteInOrder(store: BucketStore, plan: Plan, hold: FenceHold): Promise<void> {
  const keys = plan.garbage.map((o) => o.key);
  for (const k of keys.slice(0, plan.roots)) {
    await hold.check();
    await store.delete(k);
  }
  const rest = keys.slice(plan.roots);
  for (let i = 0; i < rest.length; i += DELETE_BATCH) {
    await hold.check();
    const batch = rest.slice(i, i + DELETE_BATCH);
    if (store.deleteMany) await store.deleteMany(batch);
    else for (const k of batch) await store.delete(k);
  }
}

const DELETE_BATCH = 1000;

/** Parses durations like 90s, 15m, 24h, 7d, 500ms, or 0. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new BucketliteError('ERR_USAGE', `not a duration: ${JSON.stringify(s)} (use e.g. 30s, 15m, 24h, 7d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}
