/** openDatabase for Node: any bucketlite target or URL, read with wa-sqlite. */
import type { BucketDatabase } from '../database.js';
import { MemoryBlockCache, TieredBlockCache } from '../cache/memory.js';
import type { BlockCache } from '../cache/types.js';
import type { ReaderOptions } from '../reader/reader.js';
import { HttpStore } from '../storage/http.js';
import type { HttpStoreOptions } from '../storage/http.js';
import { openStore } from '../storage/open.js';
import type { BucketStore } from '../storage/types.js';
import { openOnStore } from '../edge/open-bucket.js';
import { DiskBlockCache } from './disk-cache.js';
import { loadSqliteModule } from './sqlite.js';
import { UndiciTransport } from './undici-transport.js';

export interface OpenOptions extends ReaderOptions {
  /** In-memory block cache bound (default 64 MiB). */
  cacheBytes?: number;
  /** A persistent block cache directory, shared by versions and processes. */
  cacheDir?: string;
  cacheDirBytes?: number;
  /** HTTP: retries, timeouts, extra headers (a signer for private buckets). */
  http?: Omit<HttpStoreOptions, 'transport'>;
  /** Extra certificate authorities (PEM) trusted for https, e.g. a private CA. */
  ca?: string | string[];
}

/** A store for a target: http(s) URLs read through undici; directories and file:// directly. */
export function readerStore(target: string, http?: OpenOptions['http'], ca?: OpenOptions['ca']): BucketStore {
  if (/^https?:\/\//i.test(target)) return new HttpStore(target, { ...http, transport: new UndiciTransport({ ca }) });
  return openStore(target);
}

/**
 * Opens a bucket for reading. By default the connection follows HEAD: each read
 * transaction sees the version current when it starts (HEAD re-checked at most every
 * `headTtlMs`). With `version` (a number, or 8+ hex digits of a manifest hash) or `at`
 * (a Date or ISO 8601 time: the version current then) it reads that version and stays
 * on it, never following HEAD; opening an older version costs one more request per
 * version back from the current one (see ReaderOptions). Errors: ERR_USAGE for a
 * malformed `version`/`at`, ERR_NOT_FOUND for a version that never existed,
 * ERR_VERSION_COLLECTED for one gc deleted.
 */
export async function openDatabase(target: string | BucketStore, options: OpenOptions = {}): Promise<BucketDatabase> {
  const store = typeof target === 'string' ? readerStore(target, options.http, options.ca) : target;
  let cache: BlockCache | undefined = options.cache;
  if (!cache) {
    const memory = new MemoryBlockCache(options.cacheBytes);
    cache = options.cacheDir ? new TieredBlockCache(memory, new DiskBlockCache(options.cacheDir, options.cacheDirBytes)) : memory;
  }
  const source = typeof target === 'string' ? { url: target, http: options.http, transport: () => new UndiciTransport() } : undefined;
  return openOnStore(store, { ...options, cache }, loadSqliteModule, source);
}
