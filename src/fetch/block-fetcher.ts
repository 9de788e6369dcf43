/**
 * Fetching verified bytes: blocks through the cache, in-flight dedup, adjacent missing
 * blocks of one pack coalesced into one Range request, bounded concurrency, every block
 * checked against its SHA-256 (one refetch on a mismatch: a transfer may be damaged in
 * flight; twice is the bucket) and then cached.
 *
 * A block's location (pack, offset) comes from the root; its hash from a leaf that may
 * still be on its way. The fetch does not wait for the hash: it starts at once and the
 * bytes are checked when the hash arrives, so a leaf costs no round trip of its own.
 * In-flight requests are keyed by location, which names immutable bytes.
 */
import pLimit from 'p-limit';
import { BucketliteError } from '../errors.js';
import { packKey } from '../format/keys.js';
import { coalesce } from '../bucket/ranges.js';
import type { Located } from '../bucket/ranges.js';
import { checkHash } from '../bucket/versions.js';
import { sha256Hex } from '../hash.js';
import type { BlockCache } from '../cache/types.js';
import type { BucketStore } from '../storage/types.js';

/** A block to fetch: where it is stored, and its hash (known, or coming from a leaf). */
export interface BlockItem extends Located {
  hash: string | Promise<string>;
}

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

  /** Block bytes for items, from cache, in-flight requests, or coalesced Range reads. */
  async fetchBlocks(items: BlockItem[], prefetch = false): Promise<Uint8Array[]> {
    // A block whose hash is not known yet cannot be looked up: the reader only sends
    // such items when the leaf is not held locally, so the block is not either.
    const out = await Promise.all(items.map((it) => (typeof it.hash === 'string' ? this.cache.get(it.hash) : undefined)));
    // From here to the registration of the new requests nothing awaits: two callers
    // asking for the same block cannot both miss the other's request.
    const missing = new Map<string, BlockItem>();
    const waitFor: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (out[i]) {
        if (!prefetch) this.counters.blockCacheHits++;
        continue;
      }
      waitFor.push(i);
      const loc = locationKey(it);
      if (!this.inflight.has(loc) && !missing.has(loc)) {
        missing.set(loc, it);
        if (!prefetch) this.counters.blockCacheMisses++;
      }
    }
    for (const r of coalesce([...missing.values()], this.opts.maxRangeBytes ?? 8 * 1024 * 1024)) {
      const task = this.fetchRange(r.pack, r.offset, r.length, r.items);
      for (const item of r.items) {
        const loc = locationKey(item);
        const p = task.then((m) => m.get(loc)!);
        this.inflight.set(loc, p);
        const forget = () => { if (this.inflight.get(loc) === p) this.inflight.delete(loc); };
        p.then(forget, forget);
      }
    }
    // (An entry another caller started may have finished meanwhile: then ask again.)
    await Promise.all(waitFor.map(async (i) => {
      out[i] = await (this.inflight.get(locationKey(items[i])) ?? this.fetchBlocks([{ ...items[i], hash: await items[i].hash }]).then((b) => b[0]));
    }));
    return out as Uint8Array[];
  }

  private async fetchRange(pack: string, offset: number, length: number, items: BlockItem[]): Promise<Map<string, Uint8Array>> {
    const key = packKey(pack);
    for (let attempt = 0; ; attempt++) {
      // The connection slot is held for the transfer only, not while a leaf is awaited.
      const { body } = await this.limit(() => this.store.get(key, { range: { offset, length }, signal: this.signal }));
      const got = new Map<string, Uint8Array>();
      const hashes: string[] = [];
      let bad: BlockItem | null = null;
      for (const item of items) {
        const bytes = body.slice(item.offset - offset, item.offset - offset + item.length);
        const hash = await item.hash;
        if ((await sha256Hex(bytes)) !== hash) { bad = item; break; }
        got.set(locationKey(item), bytes);
        hashes.push(hash);
      }
      if (!bad) {
        let i = 0;
        for (const b of got.values()) await this.cache.set(hashes[i++], b);
        this.counters.blocksFetched += items.length;
        return got;
      }
      this.counters.hashFailures++;
      // One refetch: a transfer may have been damaged in flight. Twice is the bucket.
      if (attempt >= 1) {
        throw new BucketliteError('ERR_HASH_MISMATCH', `block ${(await bad.hash).slice(0, 16)}… does not match its hash`, {
          op: 'read-block', key, range: { offset: bad.offset, length: bad.length },
        });
      }
    }
  }
}

function locationKey(l: Located): string {
  return `${l.pack}:${l.offset}`;
}
