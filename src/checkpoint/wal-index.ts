/**
 * The WAL index header in the `-shm` file (https://www.sqlite.org/walformat.html §2.1):
 * how many frames of the WAL are committed (mxFrame), the database size then, the WAL
 * generation's salts, and how much of the WAL has been copied into the database file
 * (nBackfill). Read only while a checkpoint holds the write lock, so it is stable.
 */
import { readSync } from 'node:fs';
import { stableFd } from './stable-fd.js';

export interface WalIndexHeader {
  /** Committed frames in the WAL (frames 0 .. mxFrame-1). */
  mxFrame: number;
  /** Database size in pages after the last committed frame. */
  nPage: number;
  salt1: number;
  salt2: number;
  /** Frames already copied into the database file. */
  nBackfill: number;
}

const HDR = 48;
const WAL_INDEX_VERSION = 3007000;

/** The header, or null when there is no usable `-shm` (no WAL, or exclusive locking mode). */
export function readWalIndex(shmPath: string): WalIndexHeader | null {
  let fd: number;
  try {
    fd = stableFd(shmPath);
  } catch {
    return null;
  }
  {
    const b = Buffer.alloc(2 * HDR + 4);
    if (readSync(fd, b, 0, b.length, 0) < b.length) return null;
    // Two copies of the header, equal when no writer is between its two writes; native byte order.
    if (!b.subarray(0, HDR).equals(b.subarray(HDR, 2 * HDR))) return null;
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    if (u32(0) !== WAL_INDEX_VERSION || b[12] !== 1) return null;
    // The salts are the WAL header's bytes, copied as they are (big-endian).
    return { mxFrame: u32(16), nPage: u32(20), salt1: b.readUInt32BE(32), salt2: b.readUInt32BE(36), nBackfill: u32(2 * HDR) };
  }
}
