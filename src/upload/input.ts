/**
 * Opens the database file to publish and refuses what cannot be published as is: not a
 * SQLite file, a truncated one, or a live one whose latest commits sit in a hot
 * rollback journal or un-checkpointed WAL frames (publishing the main file alone
 * would publish a torn or stale state; that is `bucketlite checkpoint`'s job).
 */
import { promises as fs } from 'node:fs';
import { BucketliteError } from '../errors.js';
import { parseSqliteHeader, SQLITE_HEADER_BYTES } from '../sqlite/header.js';
import type { SqliteHeader } from '../sqlite/header.js';
import { isWalMagic, WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES } from '../sqlite/wal-format.js';

const JOURNAL_MAGIC = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

export interface FileIdentity {
  size: number;
  mtimeNs: bigint;
  ino: bigint;
  changeCounter: number;
}

/**
 * What an upload reads: one consistent state of a database. A file (`openFileSource`)
 * or a checkpoint's snapshot of a live database (src/checkpoint/live-snapshot.ts).
 */
export interface DatabaseSource {
  /** For messages. */
  readonly path: string;
  readonly header: SqliteHeader;
  readonly size: number;
  readonly pageCount: number;
  /** Fills `buf` with the bytes at `pos`. */
  read(buf: Uint8Array, pos: number): Promise<void>;
  /** Throws ERR_FILE_CHANGED when the bytes read may not be one state of the database. */
  checkUnchanged(): Promise<void>;
  close(): Promise<void>;
}

async function readAt(h: fs.FileHandle, length: number, position: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await h.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

export async function identify(h: fs.FileHandle, path: string): Promise<FileIdentity> {
  const st = await h.stat({ bigint: true });
  const head = await readAt(h, SQLITE_HEADER_BYTES, 0);
  const header = parseSqliteHeader(head, path);
  return { size: Number(st.size), mtimeNs: st.mtimeNs, ino: st.ino, changeCounter: header.changeCounter };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino && a.changeCounter === b.changeCounter;
}

/** A journal is hot when it exists, is non-empty and starts with the journal magic. */
async function checkJournal(dbPath: string): Promise<void> {
  const jpath = `${dbPath}-journal`;
  const h = await fs.open(jpath, 'r').catch(() => null);
  if (!h) return;
  try {
    const head = await readAt(h, 8, 0);
    if (head.length === 8 && JOURNAL_MAGIC.every((b, i) => head[i] === b)) {
      throw new BucketliteError(
        'ERR_LIVE_DATABASE',
        `${dbPath} has a hot rollback journal (${jpath}): a write was interrupted or is in progress. ` +
          'Open the database with sqlite3 once to roll it back, or publish it with `bucketlite checkpoint`',
        { op: 'check-input', path: jpath },
      );
    }
  } finally {
    await h.close();
  }
}

/**
 * WAL frames belong to the current WAL when their salts equal the WAL header's. If the
 * first frame matches, committed pages may live only in the WAL: refuse.
 */
async function checkWal(dbPath: string, pageSize: number): Promise<void> {
  const wpath = `${dbPath}-wal`;
  const h = await fs.open(wpath, 'r').catch(() => null);
  if (!h) return;
  try {
    const hdr = await readAt(h, WAL_HEADER_BYTES + WAL_FRAME_HEADER_BYTES, 0);
    if (hdr.length < WAL_HEADER_BYTES + WAL_FRAME_HEADER_BYTES) return; // no frames
    const v = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
    if (!isWalMagic(v.getUint32(0))) return;
    const saltsMatch = v.getUint32(16) === v.getUint32(WAL_HEADER_BYTES + 8) && v.getUint32(20) === v.getUint32(WAL_HEADER_BYTES + 12);
    if (saltsMatch) {
      throw new BucketliteError(
        'ERR_LIVE_DATABASE',
        `${dbPath} has WAL frames that may not be checkpointed (${wpath}, page size ${pageSize}). ` +
          "Run `sqlite3 DB 'PRAGMA wal_checkpoint(TRUNCATE)'` first, or publish it with `bucketlite checkpoint`",
        { op: 'check-input', path: wpath },
      );
    }
  } finally {
    await h.close();
  }
}

/**
 * The file to publish, opened and checked. Reads come from the file itself; the upload
 * calls `checkUnchanged` before it commits, so a file written meanwhile is never
 * published torn.
 */
export async function openFileSource(path: string): Promise<DatabaseSource> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new BucketliteError(code === 'ENOENT' ? 'ERR_NOT_FOUND' : 'ERR_IO', `cannot open ${path}`, { op: 'open', path, cause });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new BucketliteError('ERR_NOT_SQLITE', `${path} is not a regular file`, { op: 'open', path });
    const identity = await identify(handle, path);
    const header = parseSqliteHeader(await readAt(handle, SQLITE_HEADER_BYTES, 0), path);
    const pageCount = checkedPageCount(path, identity.size, header);
    await checkJournal(path);
    await checkWal(path, header.pageSize);
    return {
      path, header, size: identity.size, pageCount,
      read: (buf, pos) => readExactly(handle, buf, pos, path),
      async checkUnchanged() {
        const after = await identify(handle, path);
        if (sameIdentity(identity, after)) return;
        throw new BucketliteError(
          'ERR_FILE_CHANGED',
          `${path} changed while it was being uploaded (change counter ${identity.changeCounter}→${after.changeCounter}, ` +
            `size ${identity.size}→${after.size}); nothing was committed. Stop the writer or use \`bucketlite checkpoint\``,
          { op: 'upload', path },
        );
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The file's page count, refusing a size that is not whole pages or short of the header's count. */
export function checkedPageCount(path: string, size: number, header: SqliteHeader): number {
  if (size % header.pageSize !== 0) {
    throw new BucketliteError(
      'ERR_NOT_SQLITE',
      `${path} is ${size} bytes, not a multiple of its ${header.pageSize}-byte page size: the file is truncated or damaged`,
      { op: 'check-input', path },
    );
  }
  const pageCount = size / header.pageSize;
  if (header.pageCountValid && header.pageCount > pageCount) {
    throw new BucketliteError('ERR_NOT_SQLITE', `${path} holds ${pageCount} pages but its header says ${header.pageCount}: the file is truncated`, { op: 'check-input', path });
  }
  return pageCount;
}

/** Fills `buf` from `pos`; a file that ends early changed under the reader. */
export async function readExactly(h: fs.FileHandle, buf: Uint8Array, pos: number, path: string): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await h.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) throw new BucketliteError('ERR_FILE_CHANGED', `${path} shrank while it was read`, { op: 'read', path });
    done += bytesRead;
  }
}

export { readAt };
