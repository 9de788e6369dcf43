/**
 * `bucketlite checkpoint`: publish a database another process keeps writing.
 * One checkpoint = WAL scan (before) → consistent snapshot (SQLite backup API) → WAL
 * scan (after) → upload of the snapshot, hashing only blocks whose pages the WAL names
 * (when the WAL generation is continuous since the last checkpoint; otherwise every
 * block) → conditional HEAD swap. `watch` repeats it whenever the database changes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BucketliteError, isCode } from '../errors.js';
import type { BucketStore } from '../storage/types.js';
import { upload } from '../upload/upload.js';
import type { UploadOptions, UploadResult } from '../upload/upload.js';
import { snapshot } from './snapshot.js';
import { scanWal } from './wal.js';
import { sleep } from '../util/sleep.js';
import { emptyState, loadState, saveState } from './state.js';
import type { CheckpointState } from './state.js';

export interface CheckpointOptions extends Omit<UploadOptions, 'changedPages' | 'onProgress'> {
  busyTimeoutMs?: number;
  /** Where the snapshot file goes (default: beside the database). */
  tempDir?: string;
  /**
   * Keep the checkpoint state (last committed version, WAL position) in a file beside
   * the database, so a restarted checkpoint hashes only what the WAL names (default true).
   */
  persistState?: boolean;
}

export interface CheckpointResult extends UploadResult {
  snapshotSeconds: number;
}

export type { CheckpointState } from './state.js';

/**
 * One checkpoint. `state` is carried between calls (watch); without it the state file
 * is read, and with `persistState` (default) it is written after each commit.
 */
export async function checkpointOnce(dbPath: string, store: BucketStore, opts: CheckpointOptions = {}, state?: CheckpointState): Promise<CheckpointResult> {
  const persist = opts.persistState ?? true;
  const st = state ?? (persist ? await loadState(dbPath, store.name) : emptyState());
  const walPath = `${dbPath}-wal`;
  const dir = opts.tempDir ?? path.dirname(path.resolve(dbPath));
  const snap = path.join(dir, `${snapshotPrefix(dbPath)}${process.pid}`);
  await removeStaleSnapshots(dbPath, dir);
  // Frames up to the last commit seen now are in the snapshot about to be taken; the
  // next checkpoint starts from there, so nothing committed after it is ever missed.
  const before = await scanWal(walPath, st.wal);
  const t0 = performance.now();
  try {
    await snapshot(dbPath, snap, { busyTimeoutMs: opts.busyTimeoutMs });
    const snapshotSeconds = (performance.now() - t0) / 1000;
    // Every frame from the previous position to the end now: a superset of the pages
    // that changed between the previous snapshot and this one.
    const after = await scanWal(walPath, st.wal);
    const walKnown = before.continuous && after.continuous && st.manifest !== null;
    const r = await upload(snap, store, { ...opts, changedPages: walKnown ? { since: st.manifest!, pages: after.pages } : undefined });
    if (!r.dryRun) {
      // The version HEAD names now is this snapshot's content: ours to continue from.
      st.manifest = r.manifest;
      st.wal = before.committedEnd;
      if (persist) await saveState(dbPath, store.name, st);
    }
    return { ...r, snapshotSeconds };
  } finally {
    await fs.rm(snap, { force: true });
  }
}

const snapshotPrefix = (dbPath: string) => `.${path.basename(dbPath)}.bucketlite-snapshot-`;

/** Snapshot files of checkpoints that were killed (their process is gone) are removed. */
async function removeStaleSnapshots(dbPath: string, dir: string): Promise<void> {
  const prefix = snapshotPrefix(dbPath);
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
  /** Minimum time between two commits (ms). */
  intervalMs?: number;
  /** Quiet time after a change before publishing (ms); capped by the interval. */
  debounceMs?: number;
  /** How often to look for changes (ms). */
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
  const poll = opts.pollMs ?? Math.max(50, Math.min(500, debounce));
  const state = (opts.persistState ?? true) ? await loadState(dbPath, store.name) : emptyState();
  let published = '';
  let lastCommit = 0;
  let failures = 0;
  while (!opts.signal?.aborted) {
    const fp = await fingerprint(dbPath);
    if (fp === published) {
      await sleep(poll, opts.signal);
      continue;
    }
    // Wait for a quiet moment (or the interval), and never commit more often than the interval.
    const changedAt = Date.now();
    let last = fp;
    while (!opts.signal?.aborted && Date.now() - changedAt < interval) {
      await sleep(Math.min(poll, debounce), opts.signal);
      const now = await fingerprint(dbPath);
      if (now === last) break;
      last = now;
    }
    const wait = lastCommit + interval - Date.now();
    if (wait > 0 && lastCommit) await sleep(wait, opts.signal);
    if (opts.signal?.aborted && lastCommit) break;
    const seen = await fingerprint(dbPath);
    try {
      const r = await checkpointOnce(dbPath, store, opts, state);
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

export function watchIntervalMs(v: string | true | undefined): number {
  if (v === undefined || v === true) return 5000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new BucketliteError('ERR_USAGE', `--watch wants an interval like 2s, 500ms or 1m, not ${JSON.stringify(v)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's']!;
}
