/**
 * The 100-byte SQLite database header (https://www.sqlite.org/fileformat.html §1.3).
 * Only what bucketlite needs: is this SQLite, its page size, journal mode and change
 * counter (which moves on every committed write, so it tells a reader or the uploader
 * that the file changed).
 */
import { BucketliteError } from '../errors.js';

export const SQLITE_MAGIC = 'SQLite format 3\0';
export const SQLITE_HEADER_BYTES = 100;

/** Whether `head` starts like a SQLite database file (its first 16 bytes are the magic). */
export function hasSqliteMagic(head: Uint8Array): boolean {
  return head.length >= SQLITE_MAGIC.length && [...SQLITE_MAGIC].every((c, i) => head[i] === c.charCodeAt(0));
}

export interface SqliteHeader {
  pageSize: number;
  /** Bytes at the end of each page reserved for extensions (e.g. checksums). */
  reserved: number;
  /** 1 = rollback journal (legacy), 2 = WAL. */
  writeVersion: number;
  readVersion: number;
  changeCounter: number;
  /** In-header page count; only trustworthy when `pageCountValid`. */
  pageCount: number;
  pageCountValid: boolean;
}

export function parseSqliteHeader(bytes: Uint8Array, path?: string): SqliteHeader {
  const fail = (why: string): never => {
    throw new BucketliteError('ERR_NOT_SQLITE', `not a SQLite database: ${why}`, { op: 'read-header', path });
  };
  if (bytes.length === 0) fail('the file is empty');
  if (bytes.length < SQLITE_HEADER_BYTES) fail(`the file is ${bytes.length} bytes, shorter than the 100-byte header`);
  for (let i = 0; i < SQLITE_MAGIC.length; i++) {
    if (bytes[i] !== SQLITE_MAGIC.charCodeAt(i)) fail('the first 16 bytes are not "SQLite format 3\\0"');
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, SQLITE_HEADER_BYTES);
  const raw = v.getUint16(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) fail(`page size ${raw} is invalid`);
  const writeVersion = v.getUint8(18);
  const readVersion = v.getUint8(19);
  if (writeVersion < 1 || writeVersion > 2 || readVersion < 1 || readVersion > 2) {
    fail(`file format versions ${writeVersion}/${readVersion} are not 1 (rollback) or 2 (WAL)`);
  }
  const reserved = v.getUint8(20);
  if (pageSize - reserved < 480) fail(`reserved space ${reserved} leaves too little of a ${pageSize}-byte page`);
  const changeCounter = v.getUint32(24);
  return {
    pageSize, reserved, writeVersion, readVersion, changeCounter,
    pageCount: v.getUint32(28),
    pageCountValid: v.getUint32(92) === changeCounter,
  };
}
