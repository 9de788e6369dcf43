/** openDatabase for Node: any bucketlite target or URL, read with wa-sqlite. */
import { BucketDatabase } from '../database.js';
import { MemoryBlockCache, TieredBlockCache } from '../cache/memory.js';
import type { BlockCache } from '../cache/types.js';
import { BucketReader } from '../reader/reader.js';
import type { ReaderOptions } from '../reader/reader.js';
import { HttpStore } from '../storage/http.js';
import type { HttpStoreOptions } from '../storage/http.js';
import { hasSqliteMagic, openStore } from '../storage/open.js';
import { BucketliteError, isCode } from '../errors.js';
import { HEAD_KEY } from '../format/constants.js';
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
  const reader = await BucketReader.open(store, { ...options, cache }).catch(async (err) => {
    // No HEAD at all: perhaps a plain SQLite file. (A version not found is said as it is.)
    throw typeof target === 'string' && isCode(err, 'ERR_NOT_FOUND') && err.key === HEAD_KEY ? await explainMissingBucket(target, options.http, err) : err;
  });
  try {
    return await BucketDatabase.open(await loadSqliteModule(), reader);
  } catch (err) {
    await reader.close();
    throw err;
  }
}

/**
 * No HEAD under a URL: if the URL is a plain SQLite file (people point readers at the
 * file they host), say how to publish it instead of only "no bucket here". One ranged
 * request, on the failure path only.
 */
async function explainMissingBucket(target: string, http: OpenOptions['http'], err: unknown): Promise<unknown> {
  if (!/^https?:\/\//i.test(target)) return err;
  const file = new URL(target.replace(/\/+$/, ''));
  const name = file.pathname.split('/').pop();
  if (!name) return err;
  const probe = new HttpStore(new URL('./', file).href, { ...http, retries: 0, transport: new UndiciTransport() });
  try {
    const { body } = await probe.get(name, { range: { offset: 0, length: 16 } });
    if (!hasSqliteMagic(body)) return err;
    return new BucketliteError('ERR_NOT_FOUND', `${probe.name}${name} is a plain SQLite file, not a bucketlite bucket: publish it with \`bucketlite upload <file> <bucket-dir>\`, serve that directory, and open its URL`, { op: 'open', key: name, cause: err });
  } catch {
    return err;
  } finally {
    await probe.close();
  }
}
