/** openDatabase for Node: any bucketlite target or URL, read with wa-sqlite. */
import { BucketDatabase } from '../database.js';
import { MemoryBlockCache, TieredBlockCache } from '../cache/memory.js';
import type { BlockCache } from '../cache/types.js';
import { BucketReader } from '../reader/reader.js';
import type { ReaderOptions } from '../reader/reader.js';
import { HttpStore } from '../storage/http.js';
import type { HttpStoreOptions } from '../storage/http.js';
import { openStore } from '../storage/open.js';
import type { BucketStore } from '../storage/types.js';
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
}

/** A store for a target: http(s) URLs read through undici; directories and file:// directly. */
export function readerStore(target: string, http?: OpenOptions['http']): BucketStore {
  if (/^https?:\/\//i.test(target)) return new HttpStore(target, { ...http, transport: new UndiciTransport() });
  return openStore(target);
}

export async function openDatabase(target: string | BucketStore, options: OpenOptions = {}): Promise<BucketDatabase> {
  const store = typeof target === 'string' ? readerStore(target, options.http) : target;
  let cache: BlockCache | undefined = options.cache;
  if (!cache) {
    const memory = new MemoryBlockCache(options.cacheBytes);
    cache = options.cacheDir ? new TieredBlockCache(memory, new DiskBlockCache(options.cacheDir, options.cacheDirBytes)) : memory;
  }
  const reader = await BucketReader.open(store, { ...options, cache });
  try {
    return await BucketDatabase.open(await loadSqliteModule(), reader);
  } catch (err) {
    await reader.close();
    throw err;
  }
}
