/**
 * Fetching verified bytes: blocks by hash through the cache, in-flight dedup, adjacent
 * missing blocks of one pack coalesced into one Range request, bounded concurrency,
 * every block checked against its SHA-256 (one refetch on a mismatch: a transfer may
 * be damaged in flight; twice is the bucket) and then cached.
 */
import pLimit from 'p-limit';
import { BucketliteError } from '../errors.js';
import { packKey } from '../format/keys.js';
import type { BlockRef } from '../format/manifest.js';
import { coalesce } from '../bucket/ranges.js';
import { checkHash } from '../bucket/versions.js';
import { sha256Hex } from '../hash.js';
import type { BlockCache } from '../cache/types.js';
import type { BucketStore } from '../storage/types.js';

export interface FetchCounters {
  blocksFetched: number;
  blockCacheHits: number;
  blockCacheMisses: number;
  hashFailures: number;
}

export interface FetcherOptions {
  /** Range requests in flight at once. */
  concurrency?: number;
  /** Largest single Range request. */
  maxRangeBytes?: number;
  /** The AbortSignal of the work in progress, read at each request. */
  signal?: () => AbortSignal | undefined;
}

export class BlockFetcher {
  readonly counters: FetchCounters = { blocksFetched: 0, blockCacheHits: 0, blockCacheMisses: 0, hashFailures: 0 };
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly inflight = new Map<string, Promise<Uint8Array>>();

  constructor(readonly store: BucketStore, readonly cache: BlockCache, private readonly opts: FetcherOptions = {}) {
    this.limit = pLimit(opts.concurrency ?? 6);
  }

  private get signal(): AbortSignal | undefined {
    return this.opts.signal?.();
  }

  /** Fetches bytes that must hash to `hash`; one refetch if they do not (a damaged transfer). */
  async verifiedGet(key: string, hash: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      const { body } = await this.store.get(key, { range, signal: this.signal });
      try {
        await checkHash(body, hash, key, range);
        return body;
      } catch (err) {
        this.counters.hashFailures++;
        if (attempt >= 1) throw err;
      }
    }
  }

  /** Block bytes for refs, from cache, in-flight requests, or coalesced Range reads. */
  async fetchBlocks(refs: BlockRef[], prefetch = false): Promise<Uint8Array[]> {
    const out: Uint8Array[] = new Array(refs.length);
    const missing = new Map<string, BlockRef>();
    const waitFor: number[] = [];
    for (let i = 0; i < refs.length; i++) {
      const cached = await this.cache.get(refs[i].hash);
      if (cached) {
        out[i] = cached;
        if (!prefetch) this.counters.blockCacheHits++;
        continue;
      }
      waitFor.push(i);
      if (!this.inflight.has(refs[i].hash) && !missing.has(refs[i].hash)) {
        missing.set(refs[i].hash, refs[i]);
        if (!prefetch) this.counters.blockCacheMisses++;
      }
    }
    for (const r of coalesce([...missing.values()], this.opts.maxRangeBytes ?? 8 * 1024 * 1024)) {
      const task = this.limit(() => this.fetchRange(r.pack, r.offset, r.length, r.items));
      for (const item of r.items) {
        const p = task.then((m) => m.get(item.hash)!);
        this.inflight.set(item.hash, p);
        const forget = () => { if (this.inflight.get(item.hash) === p) this.inflight.delete(item.hash); };
        p.then(forget, forget);
      }
    }
    // (An entry another caller started may have finished meanwhile: then ask again.)
    await Promise.all(waitFor.map(async (i) => {
      out[i] = await (this.inflight.get(refs[i].hash) ?? this.fetchBlocks([refs[i]]).then((b) => b[0]));
    }));
    return out;
  }

  private async fetchRange(pack: string, offset: number, length: number, items: BlockRef[]): Promise<Map<string, Uint8Array>> {
    const key = packKey(pack);
    for (let attempt = 0; ; attempt++) {
      const { body } = await this.store.get(key, { range: { offset, length }, signal: this.signal });
      const got = new Map<string, Uint8Array>();
      let bad: BlockRef | null = null;
      for (const item of items) {
        const bytes = body.slice(item.offset - offset, item.offset - offset + item.length);
        if ((await sha256Hex(bytes)) !== item.hash) { bad = item; break; }
        got.set(item.hash, bytes);
      }
      if (!bad) {
        for (const [h, b] of got) await this.cache.set(h, b);
        this.counters.blocksFetched += items.length;
        return got;
      }
      this.counters.hashFailures++;
      // One refetch: a transfer may have been damaged in flight. Twice is the bucket.
      if (attempt >= 1) {
        throw new BucketliteError('ERR_HASH_MISMATCH', `block ${bad.hash.slice(0, 16)}… does not match its hash`, {
          op: 'read-block', key, range: { offset: bad.offset, length: bad.length },
        });
      }
    }
  }

}
