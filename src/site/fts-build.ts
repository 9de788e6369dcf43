/**
 * The FTS5 half of a fresh site build, on a thread of its own. Inserting every
 * section's text into FTS5 is the largest single step of a big build (rust-doc: 14 of
 * 49 s), and nothing else needs it until the end: so a worker thread builds the FTS5
 * table in a database file of its own while this thread writes the sections and the
 * term table; then its shadow tables are copied into the index (FTS5 keeps all of its
 * state in them). Updates, small sites, and runs from TypeScript sources (no bundled
 * worker) insert on this thread. Node only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BucketliteError } from '../errors.js';
import type { SqliteDatabase } from '../node/better-sqlite.js';

/** One section row's text for FTS5: rowid, title, heading, body. */
export type FtsRow = [number, string, string, string];

/** Where a build sends FTS5 rows; `finish` resolves once they are in the index's `search` table. */
export interface FtsSink {
  add(row: FtsRow): void;
  /** Copies a worker's table in (no-op in thread). The caller reopens its connection after it: FTS5 caches its structure per connection. */
  finish(db: SqliteDatabase): Promise<void>;
  /** Stops a worker (a build that failed must not leave a thread keeping the process alive). */
  close(): Promise<void>;
}

/** FTS5's shadow tables of `search` (contentless, with deletes), all of its state. */
const SHADOW = ['search_data', 'search_idx', 'search_docsize'];
/** Rows per message: big enough that messages cost little, small enough to overlap. */
const BATCH = 2000;
/** Pages below which a worker is not worth starting. */
export const FTS_WORKER_MIN_PAGES = 200;

export interface FtsTask { type: 'open'; path: string; schema: string[] }
export type FtsMessage = FtsTask | { type: 'rows'; rows: FtsRow[] } | { type: 'end' };
export type FtsReply = { done: true } | { error: string };

export function inThread(db: SqliteDatabase): FtsSink {
  const ins = db.prepare('INSERT INTO search(rowid, title, heading, body) VALUES (?, ?, ?, ?)');
  return { add: (row) => ins.run(...row), finish: async () => undefined, close: async () => undefined };
}

/**
 * A worker building FTS5 in `path` with `schema` (the statements that create `search`
 * and its settings), or null when the bundled worker script is not there.
 */
export function inWorker(path: string, schema: string[]): FtsSink | null {
  const script = new URL('./fts-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(script))) return null;
  const worker = new Worker(script);
  let failed: Error | null = null;
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (r: FtsReply) => ('error' in r ? reject(new Error(r.error)) : resolve()));
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the FTS5 worker exited with code ${code}`)));
  });
  done.catch((err: Error) => { failed = err; });
  worker.postMessage({ type: 'open', path, schema } satisfies FtsMessage);
  let rows: FtsRow[] = [];
  const flush = () => {
    if (rows.length) worker.postMessage({ type: 'rows', rows } satisfies FtsMessage);
    rows = [];
  };
  return {
    add(row) {
      if (failed) throw failed;
      rows.push(row);
      if (rows.length >= BATCH) flush();
    },
    async finish(db) {
      flush();
      worker.postMessage({ type: 'end' } satisfies FtsMessage);
      try {
        await done;
      } catch (cause) {
        throw new BucketliteError('ERR_INTERNAL', `site: building the FTS5 index failed: ${(cause as Error).message}`, { op: 'site', cause });
      } finally {
        await worker.terminate();
      }
      db.prepare('ATTACH DATABASE ? AS fts').run(path);
      db.unsafeMode(true); // SQLite's defensive mode guards shadow tables against writes like these
      try {
        db.transaction(() => {
          for (const t of SHADOW) db.exec(`DELETE FROM main.${t}; INSERT INTO main.${t} SELECT * FROM fts.${t}`);
        })();
      } finally {
        db.unsafeMode(false);
        db.exec('DETACH DATABASE fts');
      }
    },
    async close() {
      await worker.terminate();
    },
  };
}
