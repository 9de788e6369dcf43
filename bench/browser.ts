/**
 * Browser benchmark (browser issue): the same WordNet database and queries, in the same
 * Chromium, through bucketlite (demo site, worker, 64 KiB blocks) and through
 * sql.js-httpvfs 0.8.12 (the database file served as one file, 4 KiB chunks), behind
 * a latency proxy at 0 and 50 ms per request. Each run is a fresh browser context
 * (cold caches). Prints requests, KiB, round trips and ms per query, and the first
 * query's time including worker start. Asserts nothing.
 *   node dist/bench/browser.js
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import { buildDemoSite } from '../demo-site/build.js';
import { startNginx } from '../test/servers.js';
import { startLinkProxy } from './link-proxy.js';

const require = createRequire(import.meta.url);
const work = path.resolve('.bench-data', 'browser');
const site = path.join(work, 'site');
const db = path.join(path.resolve('.bench-data'), 'wordnet.db');
mkdirSync(work, { recursive: true });
await buildDemoSite(site, db);
// sql.js-httpvfs serves the same file as is; its worker and wasm beside a tiny page.
copyFileSync(db, path.join(site, 'wordnet.db'));
const httpvfs = path.dirname(require.resolve('sql.js-httpvfs/dist/index.js'));
mkdirSync(path.join(site, 'httpvfs'), { recursive: true });
for (const f of ['index.js', 'sqlite.worker.js', 'sql-wasm.wasm']) copyFileSync(path.join(httpvfs, f), path.join(site, 'httpvfs', f));
writeFileSync(path.join(site, 'httpvfs.html'), `<!doctype html><meta charset="utf-8"><script src="httpvfs/index.js"></script><script>
window.run = async (sql) => {
  const t0 = performance.now();
  const w = await createDbWorker([{ from: 'inline', config: { serverMode: 'full', url: new URL('wordnet.db', location.href).href, requestChunkSize: 4096 } }],
    new URL('httpvfs/sqlite.worker.js', location.href).href, new URL('httpvfs/sql-wasm.wasm', location.href).href);
  const t1 = performance.now();
  const rows = await w.db.query(sql);
  const t2 = performance.now();
  return { rows: rows.length, first: t2 - t0, open: t1 - t0, query: t2 - t1 };
};</script>`);

const QUERIES: Record<string, string> = {
  'FTS5 top-10': "SELECT rowid FROM glosses WHERE glosses MATCH 'volcanic AND rock' ORDER BY rank LIMIT 10",
  'FTS5 prefix top-10': "SELECT rowid FROM glosses WHERE glosses MATCH '\"volc\"* AND \"roc\"*' ORDER BY rank LIMIT 10",
  'rowid lookup': 'SELECT * FROM synsets WHERE id = 54321',
  'index lookup + row': "SELECT s.gloss FROM words w JOIN synsets s ON s.id = w.synset_id WHERE w.word = 'granite' LIMIT 1",
};

const nginx = await startNginx(site);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
function countRequests(context: BrowserContext, match: (u: string) => boolean): { n: number; bytes: number } {
  const c = { n: 0, bytes: 0 };
  context.on('requestfinished', async (r) => {
    if (!match(r.url())) return;
    c.n++;
    c.bytes += (await r.sizes().catch(() => ({ responseBodySize: 0 }))).responseBodySize;
  });
  return c;
}
try {
  for (const delay of [0, 50]) {
    const proxy = await startLinkProxy(nginx.url, { latencyMs: delay });
    console.log(`\n## ${delay} ms added per request (cold: a new browser context per run)\n`);
    console.log('| query | system | requests | KiB | round trips | query ms | first query incl. worker start, ms |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, sql] of Object.entries(QUERIES)) {
      {
        const ctx = await browser.newContext();
        const count = countRequests(ctx, (u) => u.includes('/bucket/'));
        const page = await ctx.newPage();
        const t0 = Date.now();
        await page.goto(`${proxy.url}index.html?cache=none`);
        await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
        const r = await page.evaluate(async (q) => {
          const b = (window as unknown as { bucketlite: { db: { query(s: string): Promise<unknown[]>; lastQuery: { ms: number }; stats(): Promise<{ total: { roundTrips: number } }> }; readyAt: number } }).bucketlite;
          const rows = await b.db.query(q);
          const s = await b.db.stats();
          return { rows: rows.length, ms: b.db.lastQuery.ms, readyAt: b.readyAt, roundTrips: s.total.roundTrips };
        }, sql);
        const first = r.readyAt + r.ms;
        await page.waitForTimeout(50);
        console.log(`| ${name} | bucketlite | ${count.n} | ${(count.bytes / 1024).toFixed(0)} | ${r.roundTrips} | ${r.ms.toFixed(0)} | ${first.toFixed(0)} (page ${Date.now() - t0}) |`);
        await ctx.close();
      }
      {
        const ctx = await browser.newContext();
        const count = countRequests(ctx, (u) => u.endsWith('/wordnet.db'));
        const page = await ctx.newPage();
        await page.goto(`${proxy.url}httpvfs.html`);
        const r = await page.evaluate((q) => (window as unknown as { run(q: string): Promise<{ rows: number; first: number; query: number }> }).run(q), sql);
        await page.waitForTimeout(50);
        // sql.js-httpvfs reads synchronously, one request at a time: round trips = requests.
        console.log(`| ${name} | sql.js-httpvfs | ${count.n} | ${(count.bytes / 1024).toFixed(0)} | ${count.n} | ${r.query.toFixed(0)} | ${r.first.toFixed(0)} |`);
        await ctx.close();
      }
    }
    await proxy.close();
  }
  // Which persistent cache: the same cold query, then a reload (a revisit) served from it.
  console.log('\n## persistent block cache: revisit after a reload (0 ms added)\n');
  console.log('| cache | cold query ms | revisit: open (ready) ms | revisit query ms | revisit bucket requests |');
  console.log('|---|---|---|---|---|');
  for (const cache of ['cache-storage', 'opfs', 'none']) {
    const ctx = await browser.newContext();
    const count = countRequests(ctx, (u) => u.includes('/bucket/'));
    const page = await ctx.newPage();
    const q = QUERIES['FTS5 prefix top-10'];
    const runQuery = () => page.evaluate(async (sql) => {
      const b = (window as unknown as { bucketlite: { db: { query(s: string): Promise<unknown[]>; lastQuery: { ms: number } }; readyAt: number } }).bucketlite;
      await b.db.query(sql);
      return { ms: b.db.lastQuery.ms, readyAt: b.readyAt };
    }, q);
    await page.goto(`${nginx.url}index.html?cache=${cache}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    const cold = await runQuery();
    await page.waitForTimeout(300);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    const before = count.n;
    const warm = await runQuery();
    await page.waitForTimeout(50);
    console.log(`| ${cache} | ${cold.ms.toFixed(0)} | ${warm.readyAt.toFixed(0)} | ${warm.ms.toFixed(0)} | ${count.n - before} after open |`);
    await ctx.close();
  }
} finally {
  await browser.close();
  await nginx.stop();
}
