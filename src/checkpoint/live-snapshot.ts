/**
 * One consistent state of a database another process keeps writing, read in place: no
 * copy. A read transaction pins the state. In WAL mode its pages are the newest WAL
 * frame of each page up to the pinned end, else the database file; SQLite never copies a
 * frame past a reader's end into the file, so neither source moves under us.
 *
 * The pinned end is found exactly: for a moment the write lock is taken (BEGIN
 * IMMEDIATE; the writer waits, at most for the busy timeout), the read transaction
 * starts, and the WAL index header says how many frames are committed. Then the lock is
 * released. The read transaction also keeps the WAL from being reset, so frames not yet
 * published are never lost while it is held (litestream holds one for the same reason).
 *
 * In rollback-journal mode the read transaction holds SQLite's shared lock, which blocks
 * the writer's commits: it is held only while the upload reads.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { BucketliteError } from '../errors.js';
import { openSqlite } from '../node/better-sqlite.js';
import type { SqliteDatabase } from '../node/better-sqlite.js';
import { parseSqliteHeader, SQLITE_HEADER_BYTES } from '../sqlite/header.js';
import { WAL_FRAME_HEADER_BYTES } from '../sqlite/wal-format.js';
import type { DatabaseSource } from '../upload/input.js';
import { stableFd } from './stable-fd.js';
import { readWalIndex } from './wal-index.js';
import { firstUnpublished, frameOffset, readWalHeader, scanFrames } from './wal.js';
import type { WalCursor, WalHeader } from './wal.js';

export interface LiveOptions {
  /** How long to wait for a lock held by the writer (ms). */
  busyTimeoutMs?: number;
}

/** What one snapshot knows about the change since the last published one. */
export interface Snapshot {
  source: DatabaseSource;
  /** The WAL position this state ends at (null in rollback-journal mode). */
  cursor: WalCursor | null;
  /** Pages of the frames since the given cursor; null when they cannot be known. */
  changed: Set<number> | null;
  /** Frames in the WAL now (0 in rollback-journal mode). */
  walFrames: number;
}

const PIN_SQL = 'SELECT count(*) FROM sqlite_schema';

/** The two connections of a checkpointer: `reader` pins states, `writer` takes the write lock and restarts the WAL. */
export class LiveDatabase {
  private readonly reader: SqliteDatabase;
  private readonly writer: SqliteDatabase | null;
  private pinned = false;
  readonly wal: boolean;

  private constructor(readonly path: string, private readonly opts: LiveOptions) {
    this.reader = connect(path, opts, true);
    // Read-write only to restart the WAL; a read-only file is published without restarts.
    try {
      this.writer = connect(path, opts, false);
    } catch {
      this.writer = null;
    }
    try {
      this.wal = String(this.reader.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    } catch (cause) {
      this.close();
      throw sqliteError(path, opts, cause);
    }
  }

  static open(path: string, opts: LiveOptions = {}): LiveDatabase {
    checkIsSqlite(path);
    return new LiveDatabase(path, opts);
  }

  /**
   * Pins the database's current state (releasing the previous pin) and says which pages
   * changed since `since`.
   */
  snapshot(since: WalCursor | null): Snapshot {
    try {
      if (!this.wal) return this.plainSnapshot();
      if (!this.writer) throw new BucketliteError('ERR_IO', `${this.path} is in WAL mode and cannot be opened for writing: a checkpoint takes the write lock for a moment to find where the WAL ends`, { op: 'checkpoint', path: this.path });
      return this.walSnapshot(this.writer, since);
    } catch (cause) {
      this.unpin();
      throw cause instanceof BucketliteError ? cause : sqliteError(this.path, this.opts, cause);
    }
  }

  /** Rollback journal: the file under a shared lock; every page may have changed. */
  private plainSnapshot(): Snapshot {
    this.pin();
    const pageCount = Number(this.reader.pragma('page_count', { simple: true }));
    const pageSize = Number(this.reader.pragma('page_size', { simple: true }));
    return { source: this.source(pageCount, pageSize, new Map(), null), cursor: null, changed: null, walFrames: 0 };
  }

  private walSnapshot(writer: SqliteDatabase, since: WalCursor | null): Snapshot {
    writer.exec('BEGIN IMMEDIATE');
    try {
      this.pin(); // no commit can happen now: the pin is the newest state
      const idx = readWalIndex(`${this.path}-shm`);
      if (!idx) throw new BucketliteError('ERR_LIVE_DATABASE', `${this.path}: the WAL index (${this.path}-shm) cannot be read; is the database in exclusive locking mode?`, { op: 'checkpoint', path: this.path });
      const pageCount = Number(this.reader.pragma('page_count', { simple: true }));
      const pageSize = Number(this.reader.pragma('page_size', { simple: true }));
      const start = firstUnpublished(since, idx);
      const latest = new Map<number, number>(); // page → newest frame not yet in the database file
      const changed = start === null ? null : new Set<number>();
      let wal: WalHeader | null = null;
      if (idx.mxFrame > 0) {
        wal = this.walHeader(idx, pageSize);
        withFd(`${this.path}-wal`, (fd) => scanFrames(fd, `${this.path}-wal`, wal!, Math.min(start ?? idx.nBackfill, idx.nBackfill), idx.mxFrame, (f, p) => {
          if (f >= idx.nBackfill) latest.set(p, f);
          if (start !== null && f >= start) changed!.add(p);
        }));
      }
      // A pin taken when the whole WAL was in the file reads the file alone: the writer may
      // then reset the WAL, but only before it writes anything after this end.
      const cursor: WalCursor = { salt1: idx.salt1, salt2: idx.salt2, frame: idx.mxFrame, ...(idx.nBackfill === idx.mxFrame ? { sealed: 'held' as const } : {}) };
      return { source: this.source(pageCount, pageSize, latest, wal), cursor, changed, walFrames: idx.mxFrame };
    } finally {
      writer.exec('ROLLBACK');
    }
  }

  private walHeader(idx: { salt1: number; salt2: number }, pageSize: number): WalHeader {
    const h = withFd(`${this.path}-wal`, readWalHeader);
    if (!h || h.salt1 !== idx.salt1 || h.salt2 !== idx.salt2 || h.pageSize !== pageSize) {
      throw new BucketliteError('ERR_FILE_CHANGED', `${this.path}-wal does not match its WAL index; the WAL was replaced while it was read`, { op: 'checkpoint', path: `${this.path}-wal` });
    }
    return h;
  }

  /**
   * Restarts the WAL so it stops growing, when nothing blocks that (the writer and other
   * readers get `busyMs`). The pin is released for it. Frames committed after `cursor`
   * are read before the new generation overwrites them; returns their pages and the
   * sealed cursor, or null when the WAL was not restarted (nothing is lost then: the
   * cursor stays valid) — or 'lost' when frames were overwritten before they were read.
   */
  restartWal(cursor: WalCursor, busyMs = 100): { cursor: WalCursor; pages: Set<number> } | null | 'lost' {
    if (!this.writer || !this.wal) return null;
    this.unpin();
    try {
      this.writer.pragma(`busy_timeout = ${busyMs}`);
      const [r] = this.writer.pragma('wal_checkpoint(RESTART)') as { busy: number; log: number; checkpointed: number }[];
      if (r.busy !== 0 || r.log !== r.checkpointed || r.log < cursor.frame) return null;
      const pages = new Set<number>();
      const pageSize = Number(this.writer.pragma('page_size', { simple: true }));
      try {
        withFd(`${this.path}-wal`, (fd) => scanFrames(fd, `${this.path}-wal`, { pageSize, salt1: cursor.salt1, salt2: cursor.salt2 }, cursor.frame, r.log, (_, p) => pages.add(p)));
      } catch {
        return 'lost';
      }
      return { cursor: { salt1: cursor.salt1, salt2: cursor.salt2, frame: r.log, sealed: 'restart' }, pages };
    } finally {
      this.writer.pragma(`busy_timeout = ${this.opts.busyTimeoutMs ?? 5000}`);
      this.pin();
    }
  }

  /** A DatabaseSource over the pinned state: WAL frames from `latest`, the rest from the file. */
  private source(pageCount: number, pageSize: number, latest: Map<number, number>, wal: WalHeader | null): DatabaseSource {
    const dbFd = stableFd(this.path);
    const walFd = latest.size ? openSync(`${this.path}-wal`, 'r') : null;
    const path = this.path;
    const readPage = (buf: Uint8Array, pgno: number) => {
      const f = latest.get(pgno);
      const got = f === undefined ? readSync(dbFd, buf, 0, pageSize, (pgno - 1) * pageSize) : readSync(walFd!, buf, 0, pageSize, frameOffset(pageSize, f) + WAL_FRAME_HEADER_BYTES);
      if (got !== pageSize) throw new BucketliteError('ERR_FILE_CHANGED', `${path}: page ${pgno} is short (${got} of ${pageSize} bytes)`, { op: 'read', path });
    };
    const read = async (buf: Uint8Array, pos: number) => {
      // Runs of pages in the file are read at once; pages in the WAL one by one.
      for (let off = 0; off < buf.length; ) {
        const pgno = (pos + off) / pageSize + 1;
        let n = 1;
        if (!latest.has(pgno)) while (off + n * pageSize < buf.length && !latest.has(pgno + n)) n++;
        if (n === 1) readPage(buf.subarray(off, off + pageSize), pgno);
        else if (readSync(dbFd, buf, off, n * pageSize, pos + off) !== n * pageSize) throw new BucketliteError('ERR_FILE_CHANGED', `${path} shrank while it was read`, { op: 'read', path });
        off += n * pageSize;
      }
    };
    const first = new Uint8Array(pageSize);
    readPage(first, 1);
    const header = parseSqliteHeader(first.subarray(0, SQLITE_HEADER_BYTES), path);
    return {
      path, header, size: pageCount * pageSize, pageCount, read,
      checkUnchanged: async () => {
        // The pin makes a reset impossible; this catches a WAL file replaced behind SQLite's back.
        const now = wal && withFd(`${path}-wal`, readWalHeader);
        if (wal && (!now || now.salt1 !== wal.salt1 || now.salt2 !== wal.salt2)) {
          throw new BucketliteError('ERR_FILE_CHANGED', `${path}-wal was reset while the checkpoint read it; nothing was committed`, { op: 'checkpoint', path });
        }
      },
      close: async () => {
        if (walFd !== null) closeSync(walFd); // SQLite takes no locks on the WAL file itself
      },
    };
  }

  private pin(): void {
    this.unpin();
    this.reader.exec('BEGIN');
    this.reader.prepare(PIN_SQL).get();
    this.pinned = true;
  }

  /** Releases the pinned state (in rollback-journal mode, the writer's shared lock). */
  unpin(): void {
    if (this.pinned && this.reader.inTransaction) this.reader.exec('COMMIT');
    this.pinned = false;
  }

  close(): void {
    this.unpin();
    this.reader.close();
    this.writer?.close();
  }
}

function withFd<T>(file: string, f: (fd: number) => T): T {
  const fd = openSync(file, 'r');
  try {
    return f(fd);
  } finally {
    closeSync(fd);
  }
}

function connect(path: string, opts: LiveOptions, readonly: boolean): SqliteDatabase {
  try {
    return openSqlite('checkpoint', path, { readonly, fileMustExist: true, timeout: opts.busyTimeoutMs ?? 5000 });
  } catch (cause) {
    if (cause instanceof BucketliteError) throw cause;
    throw new BucketliteError('ERR_IO', `cannot open ${path} with SQLite: ${(cause as Error).message}`, { op: 'checkpoint', path, cause });
  }
}

function checkIsSqlite(path: string): void {
  let fd: number;
  try {
    if (!statSync(path).isFile()) throw new BucketliteError('ERR_NOT_SQLITE', `${path} is not a regular file`, { op: 'checkpoint', path });
    fd = stableFd(path);
  } catch (cause) {
    if (cause instanceof BucketliteError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    throw new BucketliteError(code === 'ENOENT' ? 'ERR_NOT_FOUND' : 'ERR_IO', `cannot open ${path}`, { op: 'checkpoint', path, cause });
  }
  const head = new Uint8Array(100);
  parseSqliteHeader(head.subarray(0, readSync(fd, head, 0, 100, 0)), path);
}

/** SQLite's errors as bucketlite's: a lock held too long, a file SQLite cannot read. */
function sqliteError(path: string, opts: LiveOptions, cause: unknown): BucketliteError {
  const msg = (cause as Error).message;
  if (/locked|busy/i.test(msg) || (cause as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
    return new BucketliteError(
      'ERR_LIVE_DATABASE',
      `${path} stayed locked for ${opts.busyTimeoutMs ?? 5000} ms: another process holds it (exclusive locking mode, or a long write transaction). ` +
        'Publish it when that process releases it, or raise --busy-timeout',
      { op: 'checkpoint', path, cause },
    );
  }
  if (/not a database|malformed/i.test(msg)) return new BucketliteError('ERR_NOT_SQLITE', `${path}: SQLite cannot read it: ${msg}`, { op: 'checkpoint', path, cause });
  return new BucketliteError('ERR_IO', `snapshot of ${path} failed: ${msg}`, { op: 'checkpoint', path, cause });
}
