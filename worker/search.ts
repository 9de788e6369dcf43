/**
 * `bucketlite/search`: site search in the browser, on an index built by
 * `bucketlite site`. The ranking is `runSearch` from src/site/query.ts, the same code
 * `bucketlite search` runs in Node, so both rank exactly alike; here its SQL runs in the
 * bucketlite Web Worker (client.ts).
 *
 *   import { preload, search } from 'bucketlite/search';
 *   preload('/search/');                         // at page load: worker, wasm, HEAD
 *   const results = await search('/search/', 'ocean ti', { limit: 5, signal });
 *
 * One database (one worker) is kept per bucket URL; a failed open is forgotten, so the
 * next call tries again.
 */
import { BrowserDatabaseError, openDatabase } from './client.js';
import type { BrowserDatabase, WorkerOpenOptions } from './client.js';
import { runSearch, SEARCH_READ_OPTIONS, unsearchable, warmSearch } from '../src/site/query.js';
import type { SearchResult, SubResult } from '../src/site/query.js';

export { BrowserDatabaseError };
export type { BrowserDatabase, SearchResult, SubResult };

export interface SearchOptions {
  /** Pages to return (default 10, at most 100). */
  limit?: number;
  /** Heading-level results per page (default 3). */
  subResults?: number;
  /** Aborting rejects at once with the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
}

export interface PreloadOptions extends WorkerOpenOptions {
  /**
   * URL of the worker module to start (default: worker.js beside client.js, as
   * bucketlite/browser does). Only the first open of a bucket URL uses the options.
   */
  workerUrl?: string | URL;
}

const open = new Map<string, Promise<BrowserDatabase>>();

function resolve(bucketUrl: string | URL): string {
  const base = typeof document !== 'undefined' ? document.baseURI : location.href;
  return new URL(bucketUrl, base).href;
}

/**
 * Opens the bucket's database (starts the worker, compiles the wasm, reads HEAD, runs a
 * search on stand-in rows to compile its code) unless it is open or opening: call it
 * when the page loads so the first search pays only for its own reads. Resolves to the
 * open database (for stats).
 */
export function preload(bucketUrl: string | URL, options: PreloadOptions = {}): Promise<BrowserDatabase> {
  const url = resolve(bucketUrl);
  let opening = open.get(url);
  if (!opening) {
    const { workerUrl, ...rest } = options;
    const worker = workerUrl === undefined ? undefined : new Worker(resolve(workerUrl), { type: 'module', name: 'bucketlite' });
    const p: Promise<BrowserDatabase> = openDatabase(url, { ...SEARCH_READ_OPTIONS, ...rest, worker }).then((db) => ready(db, url)).catch((err: unknown) => {
      worker?.terminate();
      forget(url, p);
      throw err;
    });
    open.set(url, (opening = p));
  }
  return opening;
}

/**
 * An open index, checked and warmed: a database that is not a site index of this
 * schema is refused as `bucketlite search` refuses it (ERR_USAGE, the same words), and
 * warmSearch compiles the search's code (no index page is read).
 */
async function ready(db: BrowserDatabase, url: string): Promise<BrowserDatabase> {
  const [row] = await db.query('PRAGMA user_version');
  const why = unsearchable(Number(row?.user_version ?? 0), url.replace(/[?#].*$/, ''));
  if (why) {
    await db.close().catch(() => undefined);
    throw new BrowserDatabaseError('ERR_USAGE', why);
  }
  await warmSearch(db).catch(() => undefined);
  return db;
}

function forget(url: string, p: Promise<BrowserDatabase>): void {
  if (open.get(url) === p) open.delete(url);
}

function aborted(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The search was aborted.', 'AbortError');
}

/** `p`, or a rejection with the abort reason as soon as `signal` aborts. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(aborted(signal));
  return new Promise<T>((res, rej) => {
    const onAbort = () => rej(aborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(res, rej).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Ranks the site's pages for what the user typed (the last word as a prefix while it is
 * being typed): [{url, title, excerpt, score, sub: [{url, title, excerpt}]}], where
 * `excerpt` is escaped HTML with the matched words in <mark>. Rejects with a
 * BrowserDatabaseError (`code`, `message`) when the bucket cannot be opened or read.
 */
export async function search(bucketUrl: string | URL, words: string, opts: SearchOptions = {}): Promise<SearchResult[]> {
  const { signal } = opts;
  const url = resolve(bucketUrl);
  const opening = preload(url);
  const db = await abortable(opening, signal);
  try {
    const results = await runSearch(
      {
        query: (sql, params) => {
          if (signal?.aborted) return Promise.reject(aborted(signal));
          return abortable(db.query(sql, params, { signal }), signal) as Promise<Record<string, unknown>[]>;
        },
        // The excerpts' rows in one round trip, as `bucketlite search` fetches them.
        prefetchRows: (table, rowids) => abortable(db.prefetchRows(table, rowids), signal),
      },
      words,
      { limit: opts.limit, subResults: opts.subResults },
    );
    if (signal?.aborted) throw aborted(signal);
    return results;
  } catch (err) {
    if (signal?.aborted) throw aborted(signal);
    // A dead worker cannot answer again: the next search opens a new one.
    if ((err as { code?: string })?.code === 'ERR_WORKER') forget(url, opening);
    throw err;
  }
}
