/**
 * What a checkpoint carries to the next one, in memory and in a small file beside the
 * database: the version it committed last (the root manifest hash) and the WAL position
 * that version's snapshot covered. Unread blocks may be taken only from that version:
 * when HEAD names anything else (another writer, a restore, a deleted and recreated
 * bucket), or the file belongs to another database (inode), the state is ignored and
 * every block is hashed. A damaged or foreign state file is never trusted.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { WalCursor } from './wal.js';

export interface CheckpointState {
  /** Root manifest hash of the version this checkpointer committed last. */
  manifest: string | null;
  /** WAL position covered by that version's snapshot. */
  wal: WalCursor | null;
}

interface StateFile {
  format: 'bucketlite-checkpoint-state';
  version: 1;
  target: string;
  db: { dev: string; ino: string };
  manifest: string;
  wal: WalCursor;
}

export function emptyState(): CheckpointState {
  return { manifest: null, wal: null };
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
    !!s.wal && u32(s.wal.salt1) && u32(s.wal.salt2) && Number.isSafeInteger(s.wal.frame) && s.wal.frame >= 0;
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
  return { manifest: doc.manifest, wal: { salt1: doc.wal.salt1, salt2: doc.wal.salt2, frame: doc.wal.frame } };
}

/** Saves the state (temp file + rename: a crash leaves the old state or the new one). */
export async function saveState(dbPath: string, target: string, state: CheckpointState): Promise<void> {
  const file = stateFilePath(dbPath, target);
  const id = await identity(dbPath);
  if (!state.manifest || !state.wal || !id) {
    await fs.rm(file, { force: true });
    return;
  }
  const doc: StateFile = { format: 'bucketlite-checkpoint-state', version: 1, target, db: id, manifest: state.manifest, wal: state.wal };
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(doc) + '\n');
  await fs.rename(tmp, file);
}
