/**
 * A consistent copy of a live database, made by SQLite itself (the online backup API
 * through better-sqlite3), never by copying a file mid-write. The copy runs in one
 * backup step, i.e. one read transaction: in WAL mode the writer is not blocked at
 * all; in rollback mode it waits at most for the copy (about 1 s per GB here).
 */
import { promises as fs } from 'node:fs';
import Database from 'better-sqlite3';
import { BucketliteError } from '../errors.js';
import { parseSqliteHeader } from '../sqlite/header.js';

export interface SnapshotOptions {
  /** How long to wait for a lock held by the writer (ms). */
  busyTimeoutMs?: number;
}

async function checkIsSqlite(dbPath: string): Promise<void> {
  let h;
  try {
    h = await fs.open(dbPath, 'r');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new BucketliteError(code === 'ENOENT' ? 'ERR_NOT_FOUND' : 'ERR_IO', `cannot open ${dbPath}`, { op: 'checkpoint', path: dbPath, cause });
  }
  try {
    const head = new Uint8Array(100);
    const { bytesRead } = await h.read(head, 0, 100, 0);
    parseSqliteHeader(head.subarray(0, bytesRead), dbPath);
  } finally {
    await h.close();
  }
}

/** Writes a consistent copy of `dbPath` to `outPath` (replacing it). */
export async function snapshot(dbPath: string, outPath: string, opts: SnapshotOptions = {}): Promise<void> {
  await checkIsSqlite(dbPath);
  await fs.rm(outPath, { force: true });
  let src: Database.Database;
  try {
    src = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: opts.busyTimeoutMs ?? 5000 });
  } catch (cause) {
    throw new BucketliteError('ERR_IO', `cannot open ${dbPath} with SQLite: ${(cause as Error).message}`, { op: 'checkpoint', path: dbPath, cause });
  }
  try {
    // A read first: it waits out (busy timeout) or reports a lock, and proves SQLite can
    // read the file; the backup API itself treats a busy source as "nothing to copy".
    src.prepare('SELECT count(*) FROM sqlite_schema').get();
    // After the first (default-sized) step, copy everything left in one step: a single
    // read transaction, so a writer elsewhere cannot restart the copy forever.
    const done = await src.backup(outPath, { progress: () => 0x7fffffff });
    const st = await fs.stat(outPath).catch(() => null);
    if (!st || st.size === 0 || done.totalPages === 0) throw Object.assign(new Error('database is locked (backup copied nothing)'), { code: 'SQLITE_BUSY' });
  } catch (cause) {
    await fs.rm(outPath, { force: true });
    const msg = (cause as Error).message;
    if (/locked|busy/i.test(msg) || (cause as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new BucketliteError(
        'ERR_LIVE_DATABASE',
        `${dbPath} stayed locked for ${opts.busyTimeoutMs ?? 5000} ms: another process holds it (exclusive locking mode, or a long write transaction). ` +
          'Publish it when that process releases it, or raise --busy-timeout',
        { op: 'checkpoint', path: dbPath, cause },
      );
    }
    if (/not a database|malformed/i.test(msg)) {
      throw new BucketliteError('ERR_NOT_SQLITE', `${dbPath}: SQLite cannot read it: ${msg}`, { op: 'checkpoint', path: dbPath, cause });
    }
    throw new BucketliteError('ERR_IO', `snapshot of ${dbPath} failed: ${msg}`, { op: 'checkpoint', path: dbPath, cause });
  } finally {
    src.close();
  }
}
