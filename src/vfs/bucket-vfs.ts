/**
 * A read-only wa-sqlite VFS over a BucketReader (FacadeVFS: the j* methods receive
 * JavaScript values). Nothing throws across the VFS boundary: every failure becomes a
 * SQLite result code, and the error itself is kept as the last error (SQLite fetches
 * it through xGetLastError; the database layer rethrows it typed).
 *
 * A read transaction starts when SQLite takes a SHARED lock: that is where the reader
 * may move to a new version, and the version stays pinned until the lock is dropped.
 * Page 1 is presented as a rollback-journal database whose change counter is the
 * version's `changeCounter` (unique per version within a reader), so SQLite (a) never
 * looks for a WAL and (b) drops its page cache whenever the version changes, even for
 * files published from WAL mode whose change counter does not move, and for a bucket
 * published again from scratch whose sequence numbers restart.
 */
import { FacadeVFS } from '#sqlite-wasm/FacadeVFS.js';
import * as VFS from '#sqlite-wasm/sqlite-constants.js';
import type { BucketReader, Version } from '../reader/reader.js';

interface OpenFile {
  lock: number;
  version: Version | null;
}

export class BucketVFS extends FacadeVFS {
  private readonly files = new Map<number, OpenFile>();
  lastError: unknown = null;

  constructor(name: string, module: unknown, private readonly reader: BucketReader) {
    super(name, module);
  }

  private fail(err: unknown, code: number): number {
    this.lastError = err;
    return code;
  }

  jOpen(_filename: string | null, fileId: number, flags: number, pOutFlags: DataView): number {
    if (!(flags & VFS.SQLITE_OPEN_MAIN_DB)) {
      return this.fail(new Error('a bucketlite database is read-only: no journal, WAL or temporary files'), VFS.SQLITE_CANTOPEN);
    }
    this.files.set(fileId, { lock: VFS.SQLITE_LOCK_NONE, version: null });
    pOutFlags.setInt32(0, VFS.SQLITE_OPEN_READONLY | VFS.SQLITE_OPEN_MAIN_DB, true);
    return VFS.SQLITE_OK;
  }

  jClose(fileId: number): number {
    this.files.delete(fileId);
    return VFS.SQLITE_OK;
  }

  private version(fileId: number): Version {
    return this.files.get(fileId)?.version ?? this.reader.current;
  }

  async jRead(fileId: number, pData: Uint8Array, iOffset: number): Promise<number> {
    try {
      const v = this.version(fileId);
      const n = await this.reader.read(v, iOffset, pData);
      if (iOffset < 100) presentHeader(pData, iOffset, v.changeCounter);
      if (n < pData.length) {
        pData.fill(0, n); // SQLite requires zero-filled short reads
        return VFS.SQLITE_IOERR_SHORT_READ;
      }
      return VFS.SQLITE_OK;
    } catch (err) {
      return this.fail(err, VFS.SQLITE_IOERR_READ);
    }
  }

  jWrite(): number {
    return this.fail(new Error('a bucketlite database is read-only'), VFS.SQLITE_READONLY);
  }

  jTruncate(): number {
    return this.fail(new Error('a bucketlite database is read-only'), VFS.SQLITE_READONLY);
  }

  jSync(): number {
    return VFS.SQLITE_OK;
  }

  jFileSize(fileId: number, pSize64: DataView): number {
    pSize64.setBigInt64(0, BigInt(this.version(fileId).root.dbSize), true);
    return VFS.SQLITE_OK;
  }

  async jLock(fileId: number, lockType: number): Promise<number> {
    const f = this.files.get(fileId);
    if (!f) return VFS.SQLITE_IOERR_LOCK;
    if (f.lock === VFS.SQLITE_LOCK_NONE && lockType >= VFS.SQLITE_LOCK_SHARED) {
      try {
        f.version = await this.reader.beginRead();
      } catch (err) {
        return this.fail(err, VFS.SQLITE_IOERR_LOCK);
      }
    }
    if (lockType > VFS.SQLITE_LOCK_SHARED) return this.fail(new Error('a bucketlite database is read-only'), VFS.SQLITE_READONLY);
    f.lock = lockType;
    return VFS.SQLITE_OK;
  }

  jUnlock(fileId: number, lockType: number): number {
    const f = this.files.get(fileId);
    if (f) {
      f.lock = lockType;
      if (lockType === VFS.SQLITE_LOCK_NONE) f.version = null;
    }
    return VFS.SQLITE_OK;
  }

  jCheckReservedLock(_fileId: number, pResOut: DataView): number {
    pResOut.setInt32(0, 0, true);
    return VFS.SQLITE_OK;
  }

  jAccess(_filename: string, _flags: number, pResOut: DataView): number {
    // Only the main database exists: no hot journal, no WAL.
    pResOut.setInt32(0, 0, true);
    return VFS.SQLITE_OK;
  }

  jDeviceCharacteristics(): number {
    return 0;
  }

  jGetLastError(zBuf: Uint8Array): number {
    if (this.lastError) {
      const msg = this.lastError instanceof Error ? this.lastError.message : String(this.lastError);
      const { written } = new TextEncoder().encodeInto(msg, zBuf.subarray(0, zBuf.length - 1));
      zBuf[written] = 0;
    }
    return VFS.SQLITE_OK;
  }
}

/**
 * Rewrites the database header as SQLite should see it (only in the output buffer;
 * stored bytes are verified before this): file format 1/1 (rollback journal), change
 * counter = the version's counter, and "version-valid-for" kept consistent with it.
 */
export function presentHeader(buf: Uint8Array, offset: number, seq: number): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = (pos: number) => pos - offset;
  const inBuf = (pos: number, n: number) => at(pos) >= 0 && at(pos) + n <= buf.length;
  // Writes go through the DataView: wa-sqlite passes a proxy that re-attaches to wasm
  // memory after growth, and it has no indexed setter (buf[i] = x would be lost).
  if (inBuf(18, 2)) { view.setUint8(at(18), 1); view.setUint8(at(19), 1); }
  if (inBuf(24, 4) && inBuf(92, 4)) {
    const valid = view.getUint32(at(24)) === view.getUint32(at(92));
    view.setUint32(at(24), seq >>> 0);
    view.setUint32(at(92), valid ? seq >>> 0 : (seq ^ 1) >>> 0);
  } else if (inBuf(24, 4)) {
    view.setUint32(at(24), seq >>> 0);
  }
}
