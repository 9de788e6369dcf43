/**
 * `bucketlite checkpoint`: publish a database another process keeps writing, at the
 * cost of what changed. One checkpoint pins the database's current state in place (see
 * live-snapshot.ts: no copy), reads which pages the WAL frames since the last published
 * state name, uploads only the blocks holding them (the rest are taken from the last
 * version unread), and swaps HEAD conditionally. Between checkpoints the pin keeps the
 * WAL from being reset; when the WAL grows long, the checkpointer restarts it itself,
 * reading the last frames' page numbers first, so no change is ever lost. Where frames
 * may have been lost (first run, the WAL reset while no checkpointer held it), every
 * block is hashed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BucketliteError, isCode } from '../errors.js';
import type { BucketStore } from '../storage/types.js';
import { publish } from '../upload/upload.js';
import type { UploadOptions, UploadResult } from '../upload/upload.js';
import { sleep } from '../util/sleep.js';
import { LiveDatabase } from './live-snapshot.js';
import { emptyState, loadState, saveState } from './state.js';
import type { CheckpointState } from './state.js';

export interface CheckpointOptions extends Omit<UploadOptions, 'changedPages' | 'onProgress'> {
  busyTimeoutMs?: number;
  /**
   * Keep the checkpoint state (last committed version, WAL position) in a file beside
   * the database, so a restarted checkpoint hashes only what the WAL names (default true).
   */
  persistState?: boolean;
  /**
   * WAL frames after which the checkpointer restarts the WAL (its pin keeps the writer
   * from doing so). Default 1000, SQLite's own auto-checkpoint size; 0 after every commit.
   */
  restartFrames?: number;
}

export interface CheckpointResult extends UploadResult {
  /** Seconds the database was pinned and its change read before the upload began. */
  snapshotSeconds: number;
}

export type { CheckpointState } from './state.js';

/**
 * A checkpointer of one database to one bucket: two SQLite connections and the state
 * carried from one commit to the next. `close()` releases the pin.
 */
export class Checkpointer {
  private constructor(private readonly live: LiveDatabase, private readonly store: BucketStore, private readonly opts: CheckpointOptions, readonly state: CheckpointState) {}

  static async open(dbPath: string, store: BucketStore, opts: CheckpointOptions = {}, state?: CheckpointState): Promise<Checkpointer> {
    await removeStaleSnapshots(dbPath);
    const st = state ?? ((opts.persistState ?? true) ? await loadState(dbPath, store.name) : emptyState());
    return new Checkpointer(LiveDatabase.open(dbPath, { busyTimeoutMs: opts.busyTimeoutMs }), store, opts, st);
  }

  async once(): Promise<CheckpointResult> {
    const { live, store, opts, state: st } = this;
    const t0 = performance.now();
    let snap;
    try {
      snap = live.snapshot(st.manifest ? st.wal : null);
    } catch (err) {
      unseal(st); // the pin was let go
      throw err;
    }
    const snapshotSeconds = (performance.now() - t0) / 1000;
    const pages = snap.changed && st.manifest ? new Set([...st.pending, ...snap.changed]) : null;
    let published;
    try {
      published = await publish(snap.source, store, { ...opts, changedPages: pages ? { since: st.manifest!, pages } : undefined }, st.table);
    } catch (err) {
      unseal(st); // the pin moved past the cursor
      throw err;
    } finally {
      await snap.source.close();
      if (!live.wal) live.unpin(); // the shared lock blocks the writer's commits
    }
    if (!published.table) unseal(st);
    else {
      // The version HEAD names now is this state's content: ours to continue from.
      st.manifest = published.table.hash;
      st.table = published.table;
      st.wal = snap.cursor;
      st.pending = new Set();
    }
    if (st.wal && snap.walFrames > 0 && snap.walFrames >= (opts.restartFrames ?? 1000)) this.restartWal(st);
    if (opts.persistState ?? true) await saveState(live.path, store.name, st);
    return { ...published.result, snapshotSeconds };
  }

  private restartWal(st: CheckpointState): void {
    const r = this.live.restartWal(st.wal!);
    if (r === 'lost') st.wal = null; // the next commit hashes every block
    else if (r === null) unseal(st);
    else {
      st.wal = r.cursor;
      for (const p of r.pages) st.pending.add(p);
    }
  }

  close(): void {
    this.live.close();
  }
}

/** A cursor sealed by the pin alone says nothing once the pin was let go or moved. */
function unseal(st: CheckpointState): void {
  if (st.wal?.sealed === 'held') st.wal = { salt1: st.wal.salt1, salt2: st.wal.salt2, frame: st.wal.frame };
}

/**
 * One checkpoint. `state` is carried between calls; without it the state file is read,
 * and with `persistState` (default) it is written after each commit. The WAL is
 * restarted after the commit (the next run continues from it without a full rehash
 * unless the writer resets the WAL again meanwhile).
 */
export async function checkpointOnce(dbPath: string, store: BucketStore, opts: CheckpointOptions = {}, state?: CheckpointState): Promise<CheckpointResult> {
  const cp = await Checkpointer.open(dbPath, store, { restartFrames: 0, ...opts }, state);
  try {
    return await cp.once();
  } finally {
    cp.close();
  }
}

/**
 * Earlier checkpoints copied the database to a snapshot file beside it; one left by a
 * killed process (its pid is gone) is removed.
 */
async function removeStaleSnapshots(dbPath: string): Promise<void> {
  const dir = path.dirname(path.resolve(dbPath));
  const prefix = `.${path.basename(dbPath)}.bucketlite-snapshot-`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(name.slice(prefix.length));
    if (!name.startsWith(prefix) || !Number.isSafeInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export interface WatchOptions extends CheckpointOptions {
  /** Minimum time between two commits, and the longest a change waits for quiet (ms; default 5000). */
  intervalMs?: number;
  /** Quiet time after a change before publishing (ms; default 250, capped by the interval). */
  debounceMs?: number;
  /** How often to look for changes (ms; default half the debounce, 20 to 100). */
  pollMs?: number;
  /** Called after each attempt. */
  onCommit?(r: CheckpointResult): void;
  onError?(err: unknown, attempt: number, retryInMs: number): void;
  signal?: AbortSignal;
}

async function fingerprint(dbPath: string): Promise<string> {
  const parts = await Promise.all([dbPath, `${dbPath}-wal`].map((f) => fs.stat(f, { bigint: true }).then((s) => `${s.size}:${s.mtimeNs}`, () => '-')));
  return parts.join('|');
}

/**
 * Publishes whenever the database changes: one commit at a time, at most once per
 * interval, after a short quiet period. A failed commit (including a lost race) is
 * retried with backoff and reported; it is never half-applied (see upload). When the
 * signal fires, the commit in progress is finished and the loop returns.
 */
export async function watch(dbPath: string, store: BucketStore, opts: WatchOptions = {}): Promise<void> {
  const interval = opts.intervalMs ?? 5000;
  const debounce = Math.min(opts.debounceMs ?? 250, interval);
  const poll = opts.pollMs ?? Math.max(20, Math.min(100, debounce / 2));
  const cp = await Checkpointer.open(dbPath, store, opts);
  try {
    await watchLoop(dbPath, cp, opts, interval, debounce, poll);
  } finally {
    cp.close();
  }
}

async function watchLoop(dbPath: string, cp: Checkpointer, opts: WatchOptions, interval: number, debounce: number, poll: number): Promise<void> {
  let published = '';
  let lastCommit = 0;
  let failures = 0;
  while (!opts.signal?.aborted) {
    const fp = await fingerprint(dbPath);
    if (fp === published) {
      await sleep(poll, opts.signal);
      continue;
    }
    await settle(dbPath, fp, lastCommit, { interval, debounce, poll, signal: opts.signal });
    if (opts.signal?.aborted && lastCommit) break;
    const seen = await fingerprint(dbPath);
    try {
      const r = await cp.once();
      published = seen;
      lastCommit = Date.now();
      failures = 0;
      opts.onCommit?.(r);
    } catch (err) {
      if (isCode(err, 'ERR_NOT_SQLITE') || isCode(err, 'ERR_NOT_FOUND') || isCode(err, 'ERR_USAGE')) throw err;
      failures++;
      const retry = Math.min(30_000, 250 * 2 ** Math.min(failures, 7)) * (0.5 + Math.random() / 2);
      opts.onError?.(err, failures, retry);
      await sleep(retry, opts.signal);
    }
  }
}

/**
 * Waits after a change is seen until it is time to publish: once the database has been
 * quiet for `debounce`, or `interval` after the change was seen while it keeps changing;
 * never sooner than `interval` after the last commit. A writer that never pauses is
 * published once per interval, each change at most about one interval late.
 */
async function settle(dbPath: string, fp: string, lastCommit: number, o: { interval: number; debounce: number; poll: number; signal?: AbortSignal }): Promise<void> {
  const seenAt = Date.now();
  let last = fp;
  let changedAt = seenAt;
  while (!o.signal?.aborted) {
    const now = Date.now();
    if ((now - changedAt >= o.debounce || now - seenAt >= o.interval) && now >= lastCommit + o.interval) return;
    await sleep(Math.min(o.poll, Math.max(1, lastCommit + o.interval - now), Math.max(1, changedAt + o.debounce - now)), o.signal);
    const f = await fingerprint(dbPath);
    if (f !== last) {
      last = f;
      changedAt = Date.now();
    }
  }
}

export function watchIntervalMs(v: string | true | undefined): number {
  if (v === undefined || v === true) return 5000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new BucketliteError('ERR_USAGE', `--watch wants an interval like 2s, 500ms or 1m, not ${JSON.stringify(v)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's']!;
}
