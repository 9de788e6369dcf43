/**
 * Restores a version to a local file, byte for byte: blocks are fetched in coalesced
 * ranges, each checked against its hash, written to a temporary file beside the target,
 * fsynced, then renamed into place. An interrupted restore leaves no partial file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BucketliteError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { packKey } from '../format/keys.js';
import type { BlockRef } from '../format/manifest.js';
import { checkHash, findVersion, loadBlockTable } from '../bucket/versions.js';
import { coalesce } from '../bucket/ranges.js';
import type { BucketStore } from '../storage/types.js';

export interface RestoreResult {
  seq: number;
  manifest: string;
  path: string;
  bytes: number;
  requests: number;
  bytesFetched: number;
  seconds: number;
}

/** The temporary file beside `target`; its errors name the file asked for, not the temporary one. */
async function openOutput(tmp: string, target: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(tmp, 'wx');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const dir = path.dirname(target);
    if (code === 'ENOENT') throw new BucketliteError('ERR_NOT_FOUND', `restore: the directory ${dir} does not exist; create it, or give another path for ${path.basename(target)}`, { op: 'restore', path: target, cause });
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (cause as Error).message;
    throw new BucketliteError('ERR_IO', `restore: cannot write ${target}: ${why}`, { op: 'restore', path: target, cause });
  }
}

export async function restore(store: BucketStore, outPath: string, opts: { version?: string; concurrency?: number } = {}): Promise<RestoreResult> {
  const t0 = performance.now();
  const v = await findVersion(store, opts.version);
  const { blocks } = await loadBlockTable(store, v.root);
  const { blockSize, dbSize } = v.root;
  const target = path.resolve(outPath);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.bucketlite-${process.pid}-${randomBytes(4).toString('hex')}`);
  // One entry per distinct stored block, remembering every file position it fills.
  const byRef = new Map<string, BlockRef & { indexes: number[] }>();
  blocks.forEach((b, i) => {
    const k = `${b.pack}:${b.offset}`;
    const e = byRef.get(k);
    if (e) e.indexes.push(i);
    else byRef.set(k, { ...b, indexes: [i] });
  });
  const reads = coalesce([...byRef.values()], 16 << 20);
  const limit = pLimit(opts.concurrency ?? 4);
  let bytesFetched = 0;
  const h = await openOutput(tmp, target);
  try {
    await h.truncate(dbSize);
    await Promise.all(reads.map((r) => limit(async () => {
      const key = packKey(r.pack);
      const { body } = await store.get(key, { range: { offset: r.offset, length: r.length } });
      bytesFetched += body.length;
      for (const item of r.items) {
        const bytes = body.subarray(item.offset - r.offset, item.offset - r.offset + item.length);
        await checkHash(bytes, item.hash, key, { offset: item.offset, length: item.length });
        for (const i of item.indexes) await h.write(bytes, 0, bytes.length, i * blockSize);
      }
    })));
    await h.sync();
    await h.close();
    await fs.rename(tmp, target);
    const dir = await fs.open(path.dirname(target), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (err) {
    await h.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return {
    seq: v.root.seq, manifest: v.hash, path: target, bytes: dbSize,
    requests: reads.length, bytesFetched, seconds: (performance.now() - t0) / 1000,
  };
}
