/**
 * Reader benchmark (reader issue). Prints figures; asserts nothing.
 *   node dist/bench/reader.js [--size-mb 1024]
 * The test corpus (WordNet + a generated table) published to a local bucket, served by
 * nginx, read through a latency-adding proxy at 0 ms and 50 ms per request. For each
 * query: cold (a new connection: open + query) and warm (the same query again):
 * sequential round trips, requests, KiB, ms.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { buildCorpus, QUERIES } from '../demo-site/corpus.js';
import { startNginx } from '../test/servers.js';
import { startLinkProxy } from './link-proxy.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sizeMb = Number(arg('size-mb', '1024'));
const work = path.resolve('.bench-data');
const db = path.join(work, `corpus-${sizeMb}m.db`);
const root = path.join(work, 'reader-buckets');
mkdirSync(work, { recursive: true });
if (!existsSync(db)) {
  console.error(`building ${db} …`);
  buildCorpus(db, { bigMb: sizeMb });
}
rmSync(root, { recursive: true, force: true });
const up = await upload(db, new LocalDirStore(path.join(root, 'corpus')));
console.log(`# bucketlite reader bench: ${(statSync(db).size / 1048576).toFixed(0)} MiB database, ${up.hotPages} hot pages, Node ${process.version}`);
const nginx = await startNginx(root);
const extra: Record<string, { sql: string; params?: (string | number)[] }> = {
  'cold rowid lookup': { sql: 'SELECT id, user_id FROM events WHERE id = ?', params: [Math.floor((sizeMb * 1048576) / 1100 / 3)] },
  'index lookup + row': { sql: 'SELECT id, kind FROM events WHERE user_id = ? LIMIT 1', params: [77777] },
};
try {
  for (const delay of [0, 50]) {
    const proxy = await startLinkProxy(`${nginx.url}corpus/`, { latencyMs: delay });
    console.log(`\n## ${delay} ms added per request\n`);
    console.log('| query | cold RT | cold req | cold KiB | cold ms | warm RT | warm req | warm KiB | warm ms |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const [name, q] of Object.entries({ ...extra, ...QUERIES })) {
      console.error(`  ${delay} ms: ${name} …`);
      const t0 = performance.now();
      const conn = await openDatabase(proxy.url);
      await conn.query(q.sql, q.params);
      const cold = conn.stats().total;
      const coldMs = performance.now() - t0;
      await conn.query(q.sql, q.params);
      const warm = conn.stats().lastQuery!;
      console.log(`| ${name} | ${cold.roundTrips} | ${cold.requests} | ${(cold.bytes / 1024).toFixed(0)} | ${coldMs.toFixed(0)} | ` +
        `${warm.roundTrips} | ${warm.requests} | ${(warm.bytes / 1024).toFixed(0)} | ${warm.ms.toFixed(0)} |`);
      await conn.close();
    }
    await proxy.close();
  }
} finally {
  await nginx.stop();
}
