/**
 * The gc fence (docs/FORMAT.md §8): how uploads and gc avoid losing data together
 * without a lock service. HEAD is the bucket's only compare-and-swap point, so gc
 * writes a fence into HEAD (same version, plus `gc: {id, until}`) before it deletes
 * anything and removes it when done:
 *  - an upload that read HEAD before the fence fails its conditional swap (the fence
 *    changed HEAD), so nothing it relied on that gc deleted can become visible;
 *  - an upload never commits over a live fence: it waits until the fence is gone (or
 *    has expired: a crashed gc) and only then reads the version it builds on.
 * gc stops deleting before its lease runs out, so an expired fence is safe to ignore.
 */
import { BucketliteError, isCode } from '../errors.js';
import { HEAD_KEY } from '../format/constants.js';
import { encodeHead } from '../format/head.js';
import type { GcFence, Head } from '../format/head.js';
import { toHex } from '../format/binary.js';
import type { BucketStore } from '../storage/types.js';
import { sleep } from '../util/sleep.js';
import { currentVersion, putHead } from './versions.js';
import type { HeadState, Version } from './versions.js';

/** How long a fence holds without renewal; gc renews it while it works. */
export const DEFAULT_FENCE_LEASE_MS = 10 * 60_000;

export function liveFence(head: Head, now = Date.now()): GcFence | null {
  return head.gc && head.gc.until > now ? head.gc : null;
}

function headBytes(head: Head, gc?: GcFence): Uint8Array {
  return encodeHead({ seq: head.seq, root: head.root, inline: head.inline, gc });
}

export interface WaitOptions {
  /** How often HEAD is read again while a fence is up (default 500 ms). */
  pollMs?: number;
  onWait?(fence: GcFence): void;
  signal?: AbortSignal;
}

/** The current version, once no gc holds a live fence on HEAD. */
export async function currentVersionOutsideGc(store: BucketStore, opts: WaitOptions = {}): Promise<(Version & HeadState) | null> {
  for (;;) {
    const cur = await currentVersion(store);
    const fence = cur && liveFence(cur.head);
    if (!fence) return cur;
    opts.onWait?.(fence);
    await sleep(Math.max(1, Math.min(opts.pollMs ?? 500, fence.until - Date.now() + 1)), opts.signal);
  }
}

/** A fence held by one gc run. */
export class FenceHold {
  private constructor(
    private readonly store: BucketStore,
    readonly version: Version & HeadState,
    private fence: GcFence,
    private etag: string,
    private readonly leaseMs: number,
  ) {}

  /**
   * Puts the fence up on the current version. A commit that lands meanwhile is simply
   * read again; a live fence of another gc is ERR_CONFLICT.
   */
  static async acquire(store: BucketStore, leaseMs = DEFAULT_FENCE_LEASE_MS): Promise<FenceHold | null> {
    for (let attempt = 0; ; attempt++) {
      const cur = await currentVersion(store);
      if (!cur) return null;
      const other = liveFence(cur.head);
      if (other) {
        throw new BucketliteError('ERR_CONFLICT', `another gc is running on ${store.name} (its fence holds until ${new Date(other.until).toISOString()}); run gc again later`, { op: 'gc', key: HEAD_KEY });
      }
      const fence = { id: randomId(), until: Date.now() + leaseMs };
      try {
        const { etag } = await putHead(store, headBytes(cur.head, fence), { ifMatch: cur.etag });
        return new FenceHold(store, { ...cur, head: { ...cur.head, gc: fence }, etag }, fence, etag, leaseMs);
      } catch (err) {
        if (!isCode(err, 'ERR_PRECONDITION_FAILED') || attempt >= 4) throw asConflict(err, store);
      }
    }
  }

  /**
   * Call before each deletion: renews the lease when half of it is gone, and fails
   * (ERR_CONFLICT) rather than delete under a fence that may have expired or been lost.
   */
  async check(): Promise<void> {
    const left = this.fence.until - Date.now();
    if (left > this.leaseMs / 2) return;
    if (left < this.leaseMs / 4) {
      throw new BucketliteError('ERR_CONFLICT', `gc stopped: its fence on ${this.store.name} is about to expire (a clock jump or a stall); nothing more is deleted, run gc again`, { op: 'gc', key: HEAD_KEY });
    }
    const fence = { id: this.fence.id, until: Date.now() + this.leaseMs };
    try {
      this.etag = (await putHead(this.store, headBytes(this.version.head, fence), { ifMatch: this.etag })).etag;
      this.fence = fence;
    } catch (err) {
      throw asConflict(err, this.store);
    }
  }

  /** Takes the fence down. False when HEAD moved on meanwhile (a commit after the fence expired). */
  async release(): Promise<boolean> {
    try {
      await putHead(this.store, headBytes(this.version.head), { ifMatch: this.etag });
      return true;
    } catch (err) {
      if (isCode(err, 'ERR_PRECONDITION_FAILED')) return false;
      throw err;
    }
  }
}

function asConflict(err: unknown, store: BucketStore): unknown {
  if (!isCode(err, 'ERR_PRECONDITION_FAILED')) return err;
  return new BucketliteError('ERR_CONFLICT', `HEAD of ${store.name} kept changing under gc (uploads committing); run gc again`, { op: 'gc', key: HEAD_KEY, status: 412, cause: err });
}

function randomId(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(8)));
}
