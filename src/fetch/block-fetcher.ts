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
import { BucketliteError } from '../errors.js';
import { packKey } from '../format/keys.js';
import { coalesce, fitReads } from '../bucket/ranges.js';
import type { Located } from '../bucket/ranges.js';
import { checkHash } from '../bucket/versions.js';
import { sha256Hex } from '../hash.js';
import type { BlockCache } from '../cache/types.js';
import type { BucketStore } from '../storage/types.js';
import { Limiter } from './limiter.js';
import type { LimiterStats } from './limiter.js';

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
  /**
   * Requests in flight at once (default: what the store says its connection carries,
   * `inFlightHint()`, e.g. 64 over HTTP/2; else 6, a browser's HTTP/1.1 limit per host).
   */
  concurrency?: number;
  /** Largest single Range request. */
  maxRangeBytes?: number;
  /**
   * Missing blocks this close in one pack share a request, the bytes between them
   * fetched and dropped (default 0: only back-to-back blocks). A gap of 64 KiB saved 1 to
   * 3 of 21 round trips on a 103 MiB index scan, but where a table's blocks lie among
   * other tables' it joined them into long ranges of mostly unread bytes: 200 readers in
   * one process peaked at 2.2 GiB instead of 1.4.
   */
  maxGapBytes?: number;
  /**
   * When a call that asks to fit (`fetchBlocks(…, { fit: true })`: rows a caller named,
   * BucketReader.prefetchRows) needs more Range reads than `concurrency`, reads of one
   * pack at most this far apart are joined, nearest first, until they fit one wave of
   * requests (default 32 KiB; 0: never). A browser over HTTP/1.1 has 6 connections per
   * host: a search's 8 scattered 2 KiB pages then cost 2 KiB to 8 KiB more instead of a
   * second round trip. Not for readahead: with it joined too, 200 readers in one process
   * peaked at 1,496–1,585 MiB in 3 CI runs, against 1,310–1,400 before
   * (test/reliability.test.ts), as maxGapBytes did.
   */
  maxJoinBytes?: number;
  /** The AbortSignal of the work in progress, read at each request. */
  signal?: () => AbortSignal | undefined;
}

export class BlockFetcher {
  readonly counters: FetchCounters = { blocksFetched: 0, blockCacheHits: 0, blockCacheMisses: 0, hashFailures: 0 };
  private readonly limiter: Limiter;
  /** Blocks on their way, by location: their bytes, and a way to move a queued readahead ahead. */
  private readonly inflight = new Map<string, { bytes: Promise<Uint8Array>; promote(): void }>();

  /** Blocks being fetched now. */
  get inFlight(): number {
    return this.inflight.size;
  }

  constructor(readonly store: BucketStore, readonly cache: BlockCache, private readonly opts: FetcherOptions = {}) {
    this.limiter = new Limiter(this.concurrency);
  }

  private readonly concurrency = () => this.opts.concurrency ?? this.store.inFlightHint?.() ?? 6;

  /** The request queue's depth and peak (bounded by the reads and readahead windows of a statement). */
  queueStats(): LimiterStats {
    return this.limiter.stats();
  }

  private get signal(): AbortSignal | undefined {
    return this.opts.signal?.();
  }

  /** Fetches bytes that must hash to `hash`; one refetch if they do not (a damaged transfer). */
  async verifiedGet(key: string, hash: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      const signal = this.signal;
      const { body } = await this.limiter.run(() => this.store.get(key, { range, signal })).promise;
      try {
        await checkHash(body, hash, key, range);
        return body;
      } catch (err) {
        this.counters.hashFailures++;
        if (attempt >= 1) throw err;
      }
    }
  }

  /**
   * Block bytes for items, from cache, in-flight requests, or coalesced Range reads;
   * `fit`: joined to fit the connections (maxJoinBytes).
   */
  async fetchBlocks(items: BlockItem[], prefetch = false, { fit = false } = {}): Promise<Uint8Array[]> {
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
      if (!prefetch) this.inflight.get(loc)?.promote();
      if (!this.inflight.has(loc) && !missing.has(loc)) {
        missing.set(loc, it);
        if (!prefetch) this.counters.blockCacheMisses++;
      }
    }
    const maxBytes = this.opts.maxRangeBytes ?? 8 * 1024 * 1024;
    const reads = coalesce([...missing.values()], maxBytes, this.opts.maxGapBytes ?? 0);
    for (const r of fit ? fitReads(reads, this.concurrency(), maxBytes, this.opts.maxJoinBytes ?? 32 * 1024) : reads) {
      const task = this.fetchRange(r.pack, r.offset, r.length, r.items, prefetch);
      for (const item of r.items) {
        const loc = locationKey(item);
        const entry = { bytes: task.done.then((m) => m.get(loc)!), promote: task.promote };
        this.inflight.set(loc, entry);
        const forget = () => { if (this.inflight.get(loc) === entry) this.inflight.delete(loc); };
        entry.bytes.then(forget, forget);
      }
    }
    // (An entry another caller started may have finished meanwhile: then ask again.)
    await Promise.all(waitFor.map(async (i) => {
      out[i] = await (this.inflight.get(locationKey(items[i]))?.bytes ?? this.fetchBlocks([{ ...items[i], hash: await items[i].hash }]).then((b) => b[0]));
    }));
    return out as Uint8Array[];
  }

  /**
   * One Range request for adjacent blocks, queued as demand or readahead; `promote`
   * moves it ahead while it is still queued.
   */
  private fetchRange(pack: string, offset: number, length: number, items: BlockItem[], prefetch: boolean): { done: Promise<Map<string, Uint8Array>>; promote(): void } {
    const key = packKey(pack);
    const signal = this.signal;
    // The slot is held for the transfer only, not while a leaf is awaited.
    const get = (asReadahead: boolean) => this.limiter.run(() => this.store.get(key, { range: { offset, length }, signal }), asReadahead);
    const first = get(prefetch);
    const done = (async () => {
      for (let attempt = 0; ; attempt++) {
        const { body } = await (attempt === 0 ? first : get(false)).promise;
        const got = await this.verify(body, offset, items);
        if (!(got instanceof Map)) {
          this.counters.hashFailures++;
          // One refetch: a transfer may have been damaged in flight. Twice is the bucket.
          if (attempt === 0) continue;
          throw new BucketliteError('ERR_HASH_MISMATCH', `block ${(await got.hash).slice(0, 16)}… does not match its hash`, {
            op: 'read-block', key, range: { offset: got.offset, length: got.length },
          });
        }
        this.counters.blocksFetched += items.length;
        return got;
      }
    })();
    return { done, promote: first.promote };
  }

  /** The blocks of a range body checked against their hashes and cached; or the first that does not match. */
  private async verify(body: Uint8Array, offset: number, items: BlockItem[]): Promise<Map<string, Uint8Array> | BlockItem> {
    const got = new Map<string, Uint8Array>();
    const hashes: string[] = [];
    for (const item of items) {
      const bytes = body.slice(item.offset - offset, item.offset - offset + item.length);
      const hash = await item.hash;
      if ((await sha256Hex(bytes)) !== hash) return item;
      got.set(locationKey(item), bytes);
      hashes.push(hash);
    }
    let i = 0;
    for (const b of got.values()) await this.cache.set(hashes[i++], b);
    return got;
  }
}

function locationKey(l: Located): string {
  return `${l.pack}:${l.offset}`;
}
