/**
 * Which pages changed since the last checkpoint, read from the WAL's frame headers
 * (https://www.sqlite.org/fileformat.html §4.1): each frame names its page number, and
 * frames of one WAL generation carry the header's salts. The answer must be a superset
 * of the pages that changed between two snapshots; when that cannot be known (no WAL,
 * the WAL was restarted and its old frames are gone), the caller rehashes everything.
 */
import { promises as fs } from 'node:fs';
import { isWalMagic, WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES } from '../sqlite/wal-format.js';

export interface WalCursor {
  salt1: number;
  salt2: number;
  /** Index of the first frame not yet accounted for. */
  frame: number;
}

export interface WalScan {
  /** Pages named by frames from the cursor to the end of the WAL. */
  pages: Set<number>;
  /** False when the cursor's WAL generation is gone (or there was no cursor/WAL). */
  continuous: boolean;
  /** Cursor just past the last commit frame seen: frames after it may be uncommitted. */
  committedEnd: WalCursor | null;
}

export async function scanWal(walPath: string, cursor: WalCursor | null): Promise<WalScan> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(walPath);
  } catch {
    return { pages: new Set(), continuous: false, committedEnd: null };
  }
  if (buf.length < WAL_HEADER_BYTES) return { pages: new Set(), continuous: false, committedEnd: null };
  if (!isWalMagic(buf.readUInt32BE(0))) return { pages: new Set(), continuous: false, committedEnd: null };
  const pageSize = buf.readUInt32BE(8) || 65536;
  const salt1 = buf.readUInt32BE(16);
  const salt2 = buf.readUInt32BE(20);
  const sameGeneration = cursor !== null && cursor.salt1 === salt1 && cursor.salt2 === salt2;
  const start = sameGeneration ? cursor.frame : 0;
  const pages = new Set<number>();
  let committed = sameGeneration ? cursor.frame : 0;
  const frameBytes = WAL_FRAME_HEADER_BYTES + pageSize;
  for (let i = start; WAL_HEADER_BYTES + (i + 1) * frameBytes <= buf.length; i++) {
    const at = WAL_HEADER_BYTES + i * frameBytes;
    if (buf.readUInt32BE(at + 8) !== salt1 || buf.readUInt32BE(at + 12) !== salt2) break; // stale frames of an older generation
    pages.add(buf.readUInt32BE(at));
    if (buf.readUInt32BE(at + 4) !== 0) committed = i + 1;
  }
  return { pages, continuous: sameGeneration, committedEnd: { salt1, salt2, frame: committed } };
}
