/** Writing content-addressed objects: create-only, idempotent, counted. */
import { isCode } from '../errors.js';
import { cacheControlFor } from '../storage/types.js';
import type { BucketStore } from '../storage/types.js';

export interface WriteStats {
  objectsWritten: number;
  bytesWritten: number;
  keys: string[];
}

export function newWriteStats(): WriteStats {
  return { objectsWritten: 0, bytesWritten: 0, keys: [] };
}

/**
 * Puts an immutable object unless it already exists (same name = same content).
 * Returns true if it wrote. In a dry run it only asks whether the object exists, so the
 * prediction counts exactly what the real run would write.
 */
export async function putImmutable(store: BucketStore, key: string, body: Uint8Array, stats: WriteStats, dryRun: boolean): Promise<boolean> {
  if (dryRun) {
    if (await store.head(key)) return false;
  } else {
    try {
      await store.put(key, body, { ifNoneMatch: '*', cacheControl: cacheControlFor(key), contentType: 'application/octet-stream' });
    } catch (err) {
      if (isCode(err, 'ERR_PRECONDITION_FAILED')) return false;
      throw err;
    }
  }
  stats.objectsWritten++;
  stats.bytesWritten += body.length;
  stats.keys.push(key);
  return true;
}
