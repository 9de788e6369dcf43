/**
 * What a checkpoint carries to the next one, in memory and in a small file beside the
 * database: the version it committed last (the root manifest hash), the WAL position
 * that version's state ended at, and the pages changed since then whose WAL frames are
 * gone (the checkpointer restarted the WAL). Unread blocks may be taken only from that
 * version: when HEAD names anything else (another writer, a restore, a deleted and
 * recreated bucket), or the file belongs to another database (inode), the state is
 * ignored and every block is hashed. A damaged or foreign state file is never trusted.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BaseTable } from '../upload/upload.js';
import type { WalCursor } from './wal.js';

export interface CheckpointState {
  /** Root manifest hash of the version this checkpointer committed last. */
  manifest: string | null;
  /** WAL position that version's state ended at. */
  wal: WalCursor | null;
  /** Pages changed since that version that the WAL no longer names. */
  pending: Set<number>;
  /** That version's block table (memory only: a restarted checkpointer loads it from the bucket). */
  table?: BaseTable;
}

interface StateFile {
  format: 'bucketlite-checkpoint-state';
  version: 1;
  target: string;
  db: { dev: string; ino: string };
  manifest: string;
  wal: WalCursor;
  pending?: number[];
}

export function emptyState(): CheckpointState {
  return { manifest: null, wal: null, pending: new Set() };
}

/** One state file per database and target: `.<db>.bucketlite-<target hash>.json`. */
export function stateFilePath(dbPath: string, target: string): string {
  const tag = createHash('sha256').update(target).digest('hex').slice(0, 12);
  return path.join(path.dirname(path.resolve(dbPath)), `.${path.basename(dbPath)}.bucketlite-${tag}.json`);
}

async function identity(dbPath: string): Promise<{ dev: string; ino: string } | null> {
  const st = await fs.stat(dbPath, { bigint: true }).catch(() => null);
  return st ? { dev: String(st.dev), ino: String(st.ino) } : null;
}

const u32 = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff;

function isStateFile(d: unknown, target: string): d is StateFile {
  const s = d as Partial<StateFile> | null;
  return !!s && s.format === 'bucketlite-checkpoint-state' && s.version === 1 && s.target === target &&
    typeof s.manifest === 'string' && /^[0-9a-f]{64}$/.test(s.manifest) &&
    !!s.db && typeof s.db.dev === 'string' && typeof s.db.ino === 'string' &&
    !!s.wal && u32(s.wal.salt1) && u32(s.wal.salt2) && Number.isSafeInteger(s.wal.frame) && s.wal.frame >= 0 &&
    (s.wal.sealed === undefined || s.wal.sealed === 'restart') &&
    (s.pending === undefined || (Array.isArray(s.pending) && s.pending.every((p) => u32(p) && p > 0)));
}

/** The saved state, or an empty one when there is none or it does not match this database and target. */
export async function loadState(dbPath: string, target: string): Promise<CheckpointState> {
  let doc: unknown;
  try {
    doc = JSON.parse(await fs.readFile(stateFilePath(dbPath, target), 'utf8'));
  } catch {
    return emptyState();
  }
  const id = await identity(dbPath);
  if (!isStateFile(doc, target) || !id || id.dev !== doc.db.dev || id.ino !== doc.db.ino) return emptyState();
  const { salt1, salt2, frame, sealed } = doc.wal;
  return { manifest: doc.manifest, wal: { salt1, salt2, frame, ...(sealed ? { sealed } : {}) }, pending: new Set(doc.pending ?? []) };
}

/**
 * Saves the state (temp file + rename: a crash leaves the old state or the new one). A
 * cursor sealed only by a read transaction this process holds is saved unsealed: once the
 * process is gone, nothing keeps the writer from adding frames before a reset.
 */
export async function saveState(dbPath: string, target: string, state: CheckpointState): Promise<void> {
  const file = stateFilePath(dbPath, target);
  const id = await identity(dbPath);
  if (!state.manifest || !state.wal || !id) {
    await fs.rm(file, { force: true });
    return;
  }
  const { salt1, salt2, frame, sealed } = state.wal;
  const wal: WalCursor = { salt1, salt2, frame, ...(sealed === 'restart' ? { sealed } : {}) };
  const doc: StateFile = { format: 'bucketlite-checkpoint-state', version: 1, target, db: id, manifest: state.manifest, wal, pending: [...state.pending] };
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(doc) + '\n');
  await fs.rename(tmp, file);
}
