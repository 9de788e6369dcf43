/**
 * A read-only SQLite connection over a bucket: wa-sqlite (any build: Asyncify in Node,
 * JSPI or Asyncify in browsers) with the bucketlite VFS. Statements run one at a time
 * (an async wasm build cannot re-enter); rows come back as plain objects.
 */
import * as SQLite from '#sqlite-wasm/sqlite-api.js';
import { SQLITE_OPEN_READONLY, SQLITE_ROW } from '#sqlite-wasm/sqlite-constants.js';
import { BucketliteError } from './errors.js';
import type { BucketReader, ReaderStats } from './reader/reader.js';
import { BucketVFS } from './vfs/bucket-vfs.js';

export type SqlValue = number | string | Uint8Array | bigint | null;
export type Row = Record<string, SqlValue>;
export type Params = SqlValue[] | Record<string, SqlValue>;

export interface QueryOptions {
  /** Cancels the query: its fetches are aborted and it fails with ERR_ABORTED. */
  signal?: AbortSignal;
}

export interface QueryStats {
  requests: number;
  bytes: number;
  blockCacheHits: number;
  blockCacheMisses: number;
  /** Reads served by pages embedded in the root. */
  hotPageHits: number;
  ms: number;
  rows: number;
  /** The version (sequence number) the query read. */
  version: number;
}

export interface DatabaseStats {
  total: ReaderStats;
  lastQuery: QueryStats | null;
}

let vfsSeq = 0;

/** Single-statement SQL kept prepared per connection, least recently used dropped first. */
const STATEMENT_CACHE = 64;

export class BucketDatabase {
  private queue: Promise<unknown> = Promise.resolve();
  private last: QueryStats | null = null;
  private closed = false;
  /** Single-statement SQL kept prepared, by its text (at most STATEMENT_CACHE). */
  private readonly stmts = new Map<string, number>();

  private constructor(
    private readonly sqlite3: SQLiteAPI,
    private readonly db: number,
    private readonly vfs: BucketVFS,
    readonly reader: BucketReader,
  ) {}

  /** Opens the database in a fresh wa-sqlite module instance. */
  static async open(module: unknown, reader: BucketReader): Promise<BucketDatabase> {
    const sqlite3 = SQLite.Factory(module);
    const vfs = new BucketVFS(`bucketlite-${++vfsSeq}`, module, reader);
    sqlite3.vfs_register(vfs as unknown as SQLiteVFS, false);
    let db: number;
    try {
      db = await sqlite3.open_v2('bucket.db', SQLITE_OPEN_READONLY, vfs.name);
    } catch (err) {
      throw toError(err, vfs, 'open');
    }
    const d = new BucketDatabase(sqlite3, db, vfs, reader);
    // Sorts and temporary b-trees stay in memory: the VFS has no temporary files.
    await d.exec('PRAGMA temp_store = MEMORY');
    // SQLite keeps its lock, and so its page cache, between statements: a warm query
    // crosses the VFS only for pages it lacks. Versions move in run() instead.
    await d.exec('PRAGMA locking_mode = EXCLUSIVE');
    return d;
  }

  /**
   * Runs `sql` (one or more statements) and returns the rows of the last one that has
   * rows. `T` types the rows (`db.query<{ id: number }>(…)`); nothing checks it at run time.
   */
  query<T extends object = Row>(sql: string, params?: Params, opts: QueryOptions = {}): Promise<T[]> {
    return this.serialize(() => this.run(sql, params, opts)) as Promise<T[]>;
  }

  /** Runs statements for their effect (pragmas); returns nothing. */
  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  stats(): DatabaseStats {
    return { total: this.reader.stats(), lastQuery: this.last };
  }

  /**
   * A hint before a statement that reads known rows of `table` by rowid: their leaves
   * are fetched together, one round trip instead of one per row (BucketReader.prefetchRows).
   * Resolves to the leaves fetched or found; never fails a query.
   */
  prefetchRows(table: string, rowids: number[]): Promise<number> {
    return this.serialize(async () => {
      await this.followHead();
      return this.reader.prefetchRows(table, rowids);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    for (const stmt of this.stmts.values()) await this.sqlite3.finalize(stmt);
    this.stmts.clear();
    await this.sqlite3.close(this.db);
    await this.reader.close();
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new BucketliteError('ERR_USAGE', 'the database is closed'));
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Between transactions, when HEAD is due, checks it; on a new version, lets SQLite's
   * lock go (locking_mode NORMAL takes effect at the end of the next access), so the
   * next statement locks again, the VFS pins the new version, and SQLite, seeing
   * another change counter on page 1, drops its page cache. Inside an explicit
   * transaction nothing moves: it keeps its version. A reader pinned to a version
   * (opened with `version` or `at`) is never due: it stays on its version for good.
   */
  private async followHead(): Promise<void> {
    if (!this.sqlite3.get_autocommit(this.db) || !this.reader.headDue()) return;
    if (!(await this.reader.refresh())) return;
    for (const sql of ['PRAGMA locking_mode = NORMAL', 'SELECT 1 FROM sqlite_schema LIMIT 1', 'PRAGMA locking_mode = EXCLUSIVE']) {
      for await (const stmt of this.sqlite3.statements(this.db, sql)) while ((await this.sqlite3.step(stmt)) === SQLITE_ROW);
    }
  }

  /**
   * Binds `params` to one statement. A surplus or missing value is a mistake, never a
   * NULL bound silently. Named values may be given with or without their prefix
   * ({ code } or { ':code' } for :code, @code or $code).
   */
  private bind(stmt: number, params: Params, used: Set<string | number>): void {
    const wanted = this.sqlite3.bind_parameter_count(stmt);
    if (wanted === 0) return;
    if (Array.isArray(params)) {
      if (params.length !== wanted) throw new BucketliteError('ERR_USAGE', `the statement takes ${wanted} parameter(s), ${params.length} given`, { op: 'query' });
      this.sqlite3.bind_collection(stmt, params as never);
      params.forEach((_, i) => used.add(i));
      return;
    }
    for (let i = 1; i <= wanted; i++) {
      const name = this.sqlite3.bind_parameter_name(stmt, i);
      if (!name || name.startsWith('?')) throw new BucketliteError('ERR_USAGE', `parameter ${i} is positional (?): pass an array of values, not an object`, { op: 'query' });
      const key = name in params ? name : name.slice(1) in params ? name.slice(1) : undefined;
      if (key === undefined) throw new BucketliteError('ERR_USAGE', `no value given for ${name}`, { op: 'query' });
      this.sqlite3.bind(stmt, i, params[key] as never);
      used.add(key);
    }
  }

  private async run(sql: string, params: Params | undefined, opts: QueryOptions): Promise<Row[]> {
    const before = this.reader.counters();
    const t0 = performance.now();
    this.vfs.lastError = null;
    this.reader.signal = opts.signal;
    let rows: Row[] = [];
    try {
      if (opts.signal?.aborted) throw new BucketliteError('ERR_ABORTED', 'aborted before it started', { op: 'query' });
      await this.followHead();
      const used = new Set<string | number>();
      for await (const stmt of this.prepared(sql)) {
        if (params !== undefined) this.bind(stmt, params, used);
        const out = await this.rowsOf(stmt);
        if (out) rows = out;
      }
      if (Array.isArray(params) && params.length > 0 && used.size === 0) throw new BucketliteError('ERR_USAGE', `${params.length} parameter(s) given, but the SQL takes none`, { op: 'query' });
      const unused = params && !Array.isArray(params) ? Object.keys(params).filter((k) => !used.has(k)) : [];
      if (unused.length) throw new BucketliteError('ERR_USAGE', `no parameter in the SQL is named ${unused.map((k) => JSON.stringify(k)).join(', ')}`, { op: 'query' });
    } catch (err) {
      throw toError(err, this.vfs, 'query', opts.signal);
    } finally {
      this.reader.signal = undefined;
      const after = this.reader.counters();
      this.last = {
        requests: after.requests - before.requests,
        bytes: after.bytes - before.bytes,
        blockCacheHits: after.blockCacheHits - before.blockCacheHits,
        blockCacheMisses: after.blockCacheMisses - before.blockCacheMisses,
        hotPageHits: after.hotPageHits - before.hotPageHits,
        ms: performance.now() - t0,
        rows: rows.length,
        version: this.reader.current.root.seq,
      };
    }
    return rows;
  }

  /** Steps a statement to its end; its rows, or null when it returns no columns. */
  private async rowsOf(stmt: number): Promise<Row[] | null> {
    const columns = this.sqlite3.column_names(stmt);
    const out: Row[] = [];
    while ((await this.sqlite3.step(stmt)) === SQLITE_ROW) {
      const values = this.sqlite3.row(stmt) as SqlValue[];
      const row: Row = {};
      columns.forEach((c, i) => { row[c] = values[i]; });
      out.push(row);
    }
    return columns.length ? out : null;
  }

  /**
   * The statements of `sql`, each prepared when the previous one has run (a later one
   * may depend on an earlier one). SQL that is one statement is kept prepared for the
   * next call (up to STATEMENT_CACHE of them): a warm query then costs no compilation.
   */
  private async *prepared(sql: string): AsyncGenerator<number> {
    const kept = this.stmts.get(sql);
    if (kept !== undefined) {
      this.stmts.delete(sql);
      this.stmts.set(sql, kept); // most recently used last
      try {
        yield kept;
      } finally {
        await this.sqlite3.reset(kept).catch(() => undefined); // its error, if any, was thrown by step
        this.sqlite3.clear_bindings(kept);
      }
      return;
    }
    const all: number[] = [];
    try {
      for await (const stmt of this.sqlite3.statements(this.db, sql, { unscoped: true })) {
        all.push(stmt);
        yield stmt;
      }
    } finally {
      if (all.length === 1 && !this.closed) {
        await this.sqlite3.reset(all[0]).catch(() => undefined);
        this.sqlite3.clear_bindings(all[0]);
        this.stmts.set(sql, all[0]);
        if (this.stmts.size > STATEMENT_CACHE) {
          const [oldest, stmt] = this.stmts.entries().next().value!;
          this.stmts.delete(oldest);
          await this.sqlite3.finalize(stmt);
        }
      } else {
        for (const s of all) await this.sqlite3.finalize(s);
      }
    }
  }
}

/** The VFS's own error (typed, naming key and range) beats SQLite's generic one. */
function toError(err: unknown, vfs: BucketVFS, op: string, signal?: AbortSignal): Error {
  if (signal?.aborted) return new BucketliteError('ERR_ABORTED', 'the query was aborted', { op, cause: signal.reason });
  if (vfs.lastError instanceof BucketliteError) return vfs.lastError;
  if (err instanceof BucketliteError) return err;
  const e = err as { code?: number; message?: string };
  return new BucketliteError('ERR_SQLITE', `SQLite: ${e?.message ?? err}${vfs.lastError ? ` (${(vfs.lastError as Error).message})` : ''}`, { op, cause: err });
}
