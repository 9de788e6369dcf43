/**
 * The worker's message loop, shared by the two worker entry points: worker.ts (wasm by
 * URL, for bundlers that emit assets, e.g. Vite) and worker-inline.ts (wasm embedded,
 * for any bundler with no configuration).
 */
import { BucketDatabase } from '../src/database.js';
import { BucketliteError } from '../src/errors.js';
import { MemoryBlockCache, TieredBlockCache } from '../src/cache/memory.js';
import type { BlockCache } from '../src/cache/types.js';
import { CacheStorageBlockCache, OpfsBlockCache } from '../src/browser/caches.js';
import { BucketReader } from '../src/reader/reader.js';
import { HttpStore } from '../src/storage/http.js';
import { FetchTransport } from '../src/storage/fetch-transport.js';
import type { OpenResult, Request, Response, WasmBuild, WorkerOpenOptions } from './protocol.js';

interface Scope {
  postMessage(m: Response): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
}

export type ModuleLoader = (build: WasmBuild) => Promise<unknown>;

export function chooseBuild(requested: WorkerOpenOptions['build']): WasmBuild {
  if (requested === 'jspi' || requested === 'asyncify') return requested;
  return typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function' ? 'jspi' : 'asyncify';
}

function persistentCache(o: WorkerOpenOptions): { cache: BlockCache; name: string } {
  const memory = new MemoryBlockCache(o.cacheBytes ?? 64 * 1024 * 1024);
  const kind = o.persistentCache ?? 'cache-storage';
  try {
    if (kind === 'cache-storage' && typeof caches !== 'undefined') {
      return { cache: new TieredBlockCache(memory, new CacheStorageBlockCache(o.persistentCacheBytes)), name: kind };
    }
    if (kind === 'opfs' && typeof navigator !== 'undefined' && 'storage' in navigator) {
      return { cache: new TieredBlockCache(memory, new OpfsBlockCache(o.persistentCacheBytes)), name: kind };
    }
  } catch {
    // not a secure context, or storage disabled: memory only
  }
  return { cache: memory, name: 'none' };
}

export function serve(loadModule: ModuleLoader): void {
  const scope = self as unknown as Scope;
  let db: BucketDatabase | null = null;
  const running = new Map<number, AbortController>();
  // The wasm starts loading with the worker, before any open: a page that creates the
  // worker early finds SQLite ready when it opens. (One module serves one database.)
  const defaultBuild = chooseBuild(undefined);
  let early: Promise<unknown> | null = loadModule(defaultBuild);
  early.catch(() => undefined);

  async function handle(req: Request): Promise<unknown> {
    switch (req.op) {
      case 'ready': // answers once the default build's wasm is loaded
        await early;
        return null;
      case 'open': {
        if (db) throw new BucketliteError('ERR_USAGE', 'this worker already has an open database');
        const build = chooseBuild(req.options.build);
        const { cache, name } = persistentCache(req.options);
        const store = new HttpStore(new URL(req.url, location.href).href, {
          transport: new FetchTransport(), timeoutMs: req.options.timeoutMs, retries: req.options.retries,
        });
        // The wasm compiles (if it has not already) while HEAD arrives.
        const module = early && build === defaultBuild ? early : loadModule(build);
        early = null;
        module.catch(() => undefined);
        const reader = await BucketReader.open(store, { cache, headTtlMs: req.options.headTtlMs, maxReadaheadBytes: req.options.maxReadaheadBytes, maxRowReadahead: req.options.maxRowReadahead, maxSiblingReadahead: req.options.maxSiblingReadahead, warmTables: req.options.warmTables, prefetch: req.options.prefetch, concurrency: req.options.concurrency, version: req.options.version, at: req.options.at });
        db = await BucketDatabase.open(await module, reader);
        const result: OpenResult = { build, version: reader.current.root.seq, pinned: reader.pinned, persistentCache: name };
        return result;
      }
      case 'query': {
        if (!db) throw new BucketliteError('ERR_USAGE', 'no database is open');
        const ac = new AbortController();
        running.set(req.id, ac);
        try {
          const rows = await db.query(req.sql, req.params, { signal: ac.signal });
          return { rows, stats: db.stats().lastQuery };
        } finally {
          running.delete(req.id);
        }
      }
      case 'abort':
        running.get(req.target)?.abort();
        return null;
      case 'prefetchRows':
        return db ? db.prefetchRows(req.table, req.rowids) : 0;
      case 'stats':
        return db?.stats() ?? null;
      case 'close':
        await db?.close();
        db = null;
        return null;
    }
  }

  scope.onmessage = (e) => {
    const req = e.data;
    handle(req).then(
      (result) => scope.postMessage({ id: req.id, ok: true, result }),
      (err: unknown) => scope.postMessage({
        id: req.id, ok: false,
        error: { code: (err as { code?: string })?.code ?? 'ERR_UNKNOWN', message: (err as Error)?.message ?? String(err) },
      }),
    );
  };
}
