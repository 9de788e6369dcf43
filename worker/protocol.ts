/** Messages between the main-thread client and the bucketlite worker. */
import type { Params, QueryStats, Row } from '../src/database.js';
import type { ReaderStats } from '../src/reader/reader.js';

export type WasmBuild = 'jspi' | 'asyncify';

export interface WorkerOpenOptions {
  /** Which wa-sqlite build: JSPI where WebAssembly.Suspending exists, else Asyncify. */
  build?: WasmBuild | 'auto';
  /** Persistent block cache: Cache Storage (default), OPFS, or none. */
  persistentCache?: 'cache-storage' | 'opfs' | 'none';
  persistentCacheBytes?: number;
  /** In-memory block cache. */
  cacheBytes?: number;
  headTtlMs?: number;
  maxReadaheadBytes?: number;
  /** Index-to-row readahead window in index entries (default 64; 0: off). */
  maxRowReadahead?: number;
  /** B-tree readahead of sibling leaves, in pages (default 64; 0: off). */
  maxSiblingReadahead?: number;
  /** Tables whose block hashes are fetched as soon as the database opens (ReaderOptions.warmTables). */
  warmTables?: readonly string[];
  /** All readahead on (default) or off: only the pages SQLite asks for are fetched. */
  prefetch?: boolean;
  /** Requests in flight (default 6; 64 once the host is seen to speak HTTP/2 or 3). */
  concurrency?: number;
  /** Deadline of one HTTP attempt (default 30 s) and retries of retryable failures (default 4). */
  timeoutMs?: number;
  retries?: number;
  /**
   * Read an older version gc kept, and stay on it (HEAD is never followed): a version
   * number, or at least 8 hex digits of its manifest hash. Costs one more request per
   * version back from the current one.
   */
  version?: number | string;
  /** Read the version current at this time (a Date, ms since the epoch, or an ISO 8601 string), and stay on it. */
  at?: Date | string | number;
}

export type Request =
  | { id: number; op: 'ready' }
  | { id: number; op: 'open'; url: string; options: WorkerOpenOptions }
  | { id: number; op: 'query'; sql: string; params?: Params }
  | { id: number; op: 'abort'; target: number }
  | { id: number; op: 'prefetchRows'; table: string; rowids: number[] }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

export interface OpenResult {
  build: WasmBuild;
  version: number;
  /** Opened with `version` or `at`: stays on that version. */
  pinned: boolean;
  persistentCache: string;
}

export interface QueryResult {
  rows: Row[];
  stats: QueryStats;
}

export interface StatsResult {
  total: ReaderStats;
  lastQuery: QueryStats | null;
}

export type Response =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } };
