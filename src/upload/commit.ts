/**
 * Upload step 6, the commit point: HEAD is swapped conditionally on the ETag read when
 * the upload started (docs/FORMAT.md §Commit protocol).
 */
import { BucketliteError, isCode } from '../errors.js';
import { HEAD_KEY } from '../format/constants.js';
import { putHead, readHead } from '../bucket/versions.js';
import type { HeadState, Version } from '../bucket/versions.js';
import type { BucketStore } from '../storage/types.js';

/** Thrown when only a gc fence moved HEAD: the upload runs again after the gc. */
export class FencedOut extends Error {}

/**
 * Swaps HEAD from `cur` (null: the bucket's first version) to `headBytes`. A lost race
 * is ERR_CONFLICT and nothing of this upload is visible.
 */
export async function swapHead(store: BucketStore, cur: (Version & HeadState) | null, headBytes: Uint8Array): Promise<void> {
  try {
    await putHead(store, headBytes, cur ? { ifMatch: cur.etag } : { ifNoneMatch: '*' });
  } catch (err) {
    if (!isCode(err, 'ERR_PRECONDITION_FAILED')) throw err;
    if (cur && (await readHead(store))?.head.root === cur.hash) throw new FencedOut();
    throw new BucketliteError(
      'ERR_CONFLICT',
      `another writer committed to ${store.name} while this upload ran (this one was based on ` +
        `${cur ? `version ${cur.root.seq}` : 'an empty bucket'}); nothing of this upload is visible. Run the upload again`,
      { op: 'commit', key: HEAD_KEY, status: 412, cause: err },
    );
  }
}
