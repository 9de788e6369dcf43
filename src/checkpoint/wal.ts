/**
 * Reading the WAL file's frame headers (https://www.sqlite.org/fileformat.html §4.1):
 * each frame names its page number, and the frames of one WAL generation carry the
 * header's salts. Frame contents are read only for the pages a checkpoint publishes.
 */
import { readSync } from 'node:fs';
import { BucketliteError } from '../errors.js';
import { isWalMagic, WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES } from '../sqlite/wal-format.js';

/**
 * A position in the WAL: the generation (salts) and the first frame not yet published.
 * `sealed` says the generation ended at `frame`, so the next one (salt1 + 1) continues
 * from its frame 0 with nothing lost between: 'restart' when this checkpointer restarted
 * the WAL itself (SQLite then makes the next writer start a new generation), 'held'
 * while its read transaction keeps the WAL from being reset (valid only while held).
 */
export interface WalCursor {
  salt1: number;
  salt2: number;
  frame: number;
  sealed?: 'held' | 'restart';
}

export interface WalHeader {
  pageSize: number;
  salt1: number;
  salt2: number;
}

export function readWalHeader(fd: number): WalHeader | null {
  const b = Buffer.alloc(WAL_HEADER_BYTES);
  if (readSync(fd, b, 0, b.length, 0) < b.length || !isWalMagic(b.readUInt32BE(0))) return null;
  return { pageSize: b.readUInt32BE(8) || 65536, salt1: b.readUInt32BE(16), salt2: b.readUInt32BE(20) };
}

export const frameOffset = (pageSize: number, frame: number) => WAL_HEADER_BYTES + frame * (WAL_FRAME_HEADER_BYTES + pageSize);

/**
 * The page of each frame in [from, to), checked to belong to generation `h`'s salts;
 * `onFrame(frame, page)` sees them in order. A frame of another generation is an error.
 */
export function scanFrames(fd: number, walPath: string, h: WalHeader, from: number, to: number, onFrame: (frame: number, page: number) => void): void {
  const b = Buffer.alloc(WAL_FRAME_HEADER_BYTES);
  for (let i = from; i < to; i++) {
    const at = frameOffset(h.pageSize, i);
    if (readSync(fd, b, 0, b.length, at) < b.length || b.readUInt32BE(8) !== h.salt1 || b.readUInt32BE(12) !== h.salt2) {
      throw new BucketliteError('ERR_FILE_CHANGED', `WAL frame ${i} of ${walPath} is not part of the generation being read (the WAL was reset under the checkpoint)`, { op: 'checkpoint', path: walPath });
    }
    onFrame(i, b.readUInt32BE(0));
  }
}

/**
 * Where the frames not yet published start in the generation `now`, or null when
 * frames may have been lost since `cursor` (no cursor, or the WAL was reset past it).
 */
export function firstUnpublished(cursor: WalCursor | null, now: { salt1: number; salt2: number; mxFrame: number }): number | null {
  if (!cursor) return null;
  if (now.salt1 === cursor.salt1 && now.salt2 === cursor.salt2) return cursor.frame <= now.mxFrame ? cursor.frame : null;
  // An empty WAL under the pin: the first generation after it cannot be reset while the
  // pin holds, whatever salts its writer picked (a new connection picks random ones).
  if (cursor.sealed === 'held' && cursor.frame === 0) return 0;
  if (cursor.sealed && now.salt1 === ((cursor.salt1 + 1) >>> 0)) return 0;
  return null;
}
