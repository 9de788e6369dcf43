/**
 * The main-thread client: the same API as Node's openDatabase, with SQLite running in
 * a module Web Worker so the page never blocks.
 *
 *   import { openDatabase } from 'bucketlite/browser';
 *   const db = await openDatabase('https://cdn.example.com/app/');
 *   const rows = await db.query('SELECT …', [params], { signal });
 *
 * Bundlers (Vite, and any that follows new Worker(new URL(…, import.meta.url))) pick
 * up the worker and its wasm from this file with no configuration.
 */
import type { Params, QueryStats, Row } from '../src/database.js';
import { BucketliteError, isCode } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import type { OpenResult, QueryResult, Request, Response, StatsResult, WorkerOpenOptions } from './protocol.js';

export type { WorkerOpenOptions, OpenResult, StatsResult };

// The same error class and codes as Node's (src/errors.ts): one `err.code` to branch on
// in both rooms. The worker sends code and message; the message already names the
// operation, key, range and status.
export { BucketliteError, isCode };
export type { ErrorCode };
/** @deprecated The old name of BucketliteError in the browser. */
export { BucketliteError as BrowserDatabaseError };

type Pending = { resolve(v: unknown): void; reject(e: unknown): void };
type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class BrowserDatabase {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  lastQuery: QueryStats | null = null;
  info!: OpenResult;

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<Response>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data.result);
      else p.reject(new BucketliteError(e.data.error.code as ErrorCode, e.data.error.message));
    };
    worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new BucketliteError('ERR_WORKER', e.message || 'the bucketlite worker failed'));
      this.pending.clear();
    };
  }

  call<T>(body: RequestBody, onId?: (id: number) => void): Promise<T> {
    const id = this.next++;
    onId?.(id);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, id });
    });
  }

  /** `T` types the rows (`db.query<{ id: number }>(…)`); nothing checks it at run time. */
  async query<T extends object = Row>(sql: string, params?: Params, opts: { signal?: AbortSignal } = {}): Promise<T[]> {
    let id = 0;
    const onAbort = () => void this.call({ op: 'abort', target: id });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await this.call<QueryResult>({ op: 'query', sql, params }, (i) => { id = i; });
      this.lastQuery = r.stats;
      return r.rows as T[];
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Fetches the leaves of `table` that hold `rowids` together, before a statement reads those rows (a hint). */
  prefetchRows(table: string, rowids: number[]): Promise<number> {
    return this.call<number>({ op: 'prefetchRows', table, rowids });
  }

  stats(): Promise<StatsResult> {
    return this.call<StatsResult>({ op: 'stats' });
  }

  async close(): Promise<void> {
    await this.call({ op: 'close' });
    this.worker.terminate();
  }
}

function newWorker(): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'bucketlite' });
}

/**
 * Starts a worker and resolves when its SQLite (wasm) is loaded: create it early (at page
 * load) and pass it to openDatabase({ worker }), and the open costs only the network.
 */
export async function startWorker(worker: Worker = newWorker()): Promise<Worker> {
  await new BrowserDatabase(worker).call({ op: 'ready' });
  return worker;
}

/**
 * Opens the bucket at `url` in a worker. `version` or `at` reads an older version gc
 * kept and stays on it (see WorkerOpenOptions); otherwise the connection follows HEAD.
 */
export async function openDatabase(url: string, options: WorkerOpenOptions & { worker?: Worker } = {}): Promise<BrowserDatabase> {
  const { worker: given, ...rest } = options;
  const worker = given ?? newWorker();
  const db = new BrowserDatabase(worker);
  try {
    db.info = await db.call<OpenResult>({ op: 'open', url: new URL(url, location.href).href, options: rest });
  } catch (err) {
    if (!given) worker.terminate(); // a failed open (no bucket, a collected version) leaves no worker behind
    throw err;
  }
  return db;
}
