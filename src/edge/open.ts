/**
 * bucketlite for fetch-only runtimes (Cloudflare Workers, Deno Deploy and the like): no
 * filesystem, no Node APIs, no wasm compiled from bytes at run time. The caller imports
 * the Asyncify .wasm as a module and passes it in:
 *
 *   import wasmModule from 'bucketlite/edge/wa-sqlite-async.wasm';
 *   import { openDatabase } from 'bucketlite/edge';
 *   const db = await openDatabase('https://pub-….r2.dev/app/', { wasmModule });
 *
 * Reads go through fetch (HttpStore + FetchTransport); blocks are cached in memory for
 * the life of the isolate only.
 */
import SQLiteAsyncFactory from '#sqlite-wasm/wa-sqlite-async.mjs';
import { MemoryBlockCache } from '../cache/memory.js';
import type { BucketDatabase } from '../database.js';
import { BucketliteError } from '../errors.js';
import type { ReaderOptions } from '../reader/reader.js';
import { FetchTransport } from '../storage/fetch-transport.js';
import { HttpStore } from '../storage/http.js';
import type { HttpStoreOptions } from '../storage/http.js';
import { openOnStore } from './open-bucket.js';

export { BucketDatabase } from '../database.js';
export type { Row, Params, SqlValue, QueryOptions, QueryStats, DatabaseStats } from '../database.js';
export { BucketliteError, isCode } from '../errors.js';
export type { ErrorCode } from '../errors.js';

export interface EdgeOpenOptions extends ReaderOptions {
  /** wa-sqlite's Asyncify build, compiled: the `.wasm` imported as a module. */
  wasmModule: WebAssembly.Module;
  /** In-memory block cache bound (default 64 MiB); ignored when `cache` is given. */
  cacheBytes?: number;
  /** HTTP: retries, timeouts, extra headers (a signer for private buckets). */
  http?: Omit<HttpStoreOptions, 'transport'>;
}

/** A fresh wa-sqlite instance on the given compiled module (one per connection). */
function sqliteModule(wasmModule: WebAssembly.Module): Promise<unknown> {
  return SQLiteAsyncFactory({
    instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      void WebAssembly.instantiate(wasmModule, imports).then((instance) => done(instance, wasmModule));
      return {};
    },
  });
}

/**
 * Opens the bucket at `url` (http or https) for reading; the options are Node's
 * openDatabase's (version, at, headTtlMs, …) less the filesystem ones. Errors:
 * ERR_USAGE for a missing wasmModule or a URL that is not http(s), and those of Node's
 * openDatabase otherwise.
 */
export async function openDatabase(url: string, options: EdgeOpenOptions): Promise<BucketDatabase> {
  if (!(options?.wasmModule instanceof WebAssembly.Module)) {
    throw new BucketliteError('ERR_USAGE', 'openDatabase (bucketlite/edge) needs { wasmModule }: import the wa-sqlite-async .wasm as a module and pass it', { op: 'open' });
  }
  if (!/^https?:\/\//i.test(url)) throw new BucketliteError('ERR_USAGE', `bucketlite/edge opens http(s) URLs only, not ${url}`, { op: 'open' });
  const { wasmModule, cacheBytes, http, ...readerOptions } = options;
  const store = new HttpStore(url, { ...http, transport: new FetchTransport() });
  const cache = readerOptions.cache ?? new MemoryBlockCache(cacheBytes);
  return openOnStore(store, { ...readerOptions, cache }, () => sqliteModule(wasmModule), { url, http, transport: () => new FetchTransport() });
}
