/**
 * Node reader benchmark. Prints figures; asserts nothing (rows are checked).
 *   node dist/bench/reader.js [--size-mb 1024]
 * The test corpus (WordNet + a generated table) published to a local bucket, served by
 * nginx, read through the link proxy at 50 ms per request, with no bandwidth limit and at
 * 20 Mbit/s. For each query, counted at the proxy: cold (a new connection: open + query)
 * round trips, requests, KiB, ms. Then warm: the same query repeated on the open
 * connection against better-sqlite3 on the file, median of many runs.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { buildCorpus, QUERIES } from '../demo-site/corpus.js';
import { startNginx } from '../test/servers.js';
import Database from 'better-sqlite3';
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
console.log(`# bucketlite reader bench: ${(statSync(db).size / 1048576).toFixed(0)} MiB database, ${up.hotPages} embedded pages, Node ${process.version}`);
const nginx = await startNginx(root);
const extra: Record<string, { sql: string; params?: (string | number)[] }> = {
  'cold rowid lookup': { sql: 'SELECT id, user_id FROM events WHERE id = ?', params: [Math.floor((sizeMb * 1048576) / 1100 / 3)] },
  'index lookup + row': { sql: 'SELECT id, kind FROM events WHERE user_id = ? LIMIT 1', params: [77777] },
};
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const local = new Database(db, { readonly: true });
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
let mismatches = 0;
try {
  for (const mbps of [0, 20]) {
    const proxy = await startLinkProxy(`${nginx.url}corpus/`, { latencyMs: 50, mbps: mbps || undefined });
    console.log(`\n## 50 ms per request, ${mbps ? `${mbps} Mbit/s` : 'no bandwidth limit'}; counted at the server; warm: median ms per query\n`);
    console.log('| query | cold RT | cold req | cold KiB | cold ms | warm ms | better-sqlite3 ms | warm ratio |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, q] of Object.entries({ ...extra, ...QUERIES })) {
      console.error(`  ${mbps} Mbit/s: ${name} …`);
      proxy.reset();
      const t0 = performance.now();
      const conn = await openDatabase(proxy.url);
      const rows = await conn.query(q.sql, q.params);
      const coldMs = performance.now() - t0;
      const cold = proxy.summary();
      const stmt = local.prepare(q.sql);
      const want = stmt.all(...(q.params ?? []));
      if (!same(rows, want)) { mismatches++; console.error(`ROWS DIFFER from better-sqlite3: ${name}`); }
      const warm: number[] = [];
      const base: number[] = [];
      // Warm means cached: a query that moved more than the block cache holds (64 MiB)
      // would fetch again. Up to 30 repeats, within about 2 s.
      const tw = performance.now();
      for (let i = 0; i < 30 && cold.bytes < 48 * 1048576 && performance.now() - tw < 2000; i++) {
        let t = performance.now();
        await conn.query(q.sql, q.params);
        warm.push(performance.now() - t);
        t = performance.now();
        stmt.all(...(q.params ?? []));
        base.push(performance.now() - t);
      }
      const w = warm.length ? `${median(warm).toFixed(3)} | ${median(base).toFixed(3)} | ${(median(warm) / median(base)).toFixed(1)}x` : 'n/a (more than the cache) | | ';
      console.log(`| ${name} | ${cold.roundTrips} | ${cold.requests} | ${(cold.bytes / 1024).toFixed(0)} | ${coldMs.toFixed(0)} | ${w} |`);
      await conn.close();
    }
    await proxy.close();
  }
  if (mismatches) { console.error(`${mismatches} queries returned rows that differ from better-sqlite3`); process.exitCode = 1; }
} finally {
  local.close();
  await nginx.stop();
}
