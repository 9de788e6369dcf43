/**
 * S3 upload benchmark (S3 issue) against Ceph radosgw on loopback (memstore OSD).
 * Prints figures; asserts nothing.   node dist/bench/s3.js [--size-mb 1024]
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { S3Store } from '../src/storage/s3.js';
import { upload } from '../src/upload/upload.js';
import { startRadosgw } from '../test/radosgw.js';

const i = process.argv.indexOf('--size-mb');
const sizeMb = Number(i > 0 ? process.argv[i + 1] : 1024);
const db = path.resolve('.bench-data', `bench-${sizeMb}m.db`);
if (!existsSync(db)) throw new Error(`run bench/upload.js --size-mb ${sizeMb} first (it generates ${db})`);
const rgw = await startRadosgw();
try {
  const store = new S3Store({ bucket: 'bench', prefix: 'db/', endpoint: rgw.endpoint, client: { credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } } });
  await (await store.sdkClient()).send(new CreateBucketCommand({ Bucket: 'bench' }));
  const counts: Record<string, number> = {};
  for (const m of ['get', 'head', 'put', 'list', 'delete'] as const) {
    const orig = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[m].bind(store);
    (store as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => { counts[m] = (counts[m] ?? 0) + 1; return orig(...a); };
  }
  const size = statSync(db).size;
  const fresh = await upload(db, store, { concurrency: 8 });
  console.log(`# bucketlite S3 bench: ${(size / 1048576).toFixed(0)} MiB database to radosgw (loopback, memstore OSD), Node ${process.version}`);
  console.log(`fresh upload: ${fresh.seconds.toFixed(2)} s, ${(size / 1e6 / fresh.seconds).toFixed(0)} MB/s; ${fresh.objectsWritten} objects, ${(fresh.bytesWritten / 1048576).toFixed(0)} MiB; requests ${JSON.stringify(counts)}`);
  for (const k of Object.keys(counts)) delete counts[k];
  const d = new Database(db);
  d.prepare('UPDATE events SET kind = ? WHERE id = ?').run(`changed-${Date.now()}`, Math.floor(size / 1100 / 2));
  d.close();
  const inc = await upload(db, store);
  console.log(`one-row change: ${inc.seconds.toFixed(2)} s; ${inc.blocksNew} new blocks, ${inc.objectsWritten} objects, ${(inc.bytesWritten / 1024).toFixed(0)} KiB written; requests ${JSON.stringify(counts)}`);
} finally {
  await rgw.stop();
}
