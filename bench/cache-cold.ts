/**
 * Does the persistent block cache cost a cold query? The same cold query (a fresh
 * browser context each run) with no persistent cache, Cache Storage and OPFS, on the
 * demo's WordNet bucket behind the link proxy (50 ms, 20 Mbit/s). Prints the median
 * query time of 5 runs and the server-counted requests and bytes; every run's rows are
 * checked against better-sqlite3 on the same file (a mismatch stops the bench).
 *   node dist/bench/cache-cold.js
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import { buildDemoSite } from '../demo-site/build.js';
import { startNginx } from '../test/servers.js';
import { startLinkProxy } from './link-proxy.js';

const site = path.resolve('.bench-data', 'cache-cold', 'site');
const dbFile = path.resolve('.bench-data', 'wordnet.db');
await buildDemoSite(site, dbFile);
const oracle = new Database(dbFile, { readonly: true });
const QUERIES: Record<string, string> = {
  'count(*) over synsets': 'SELECT count(*) FROM synsets',
  'FTS5 top-10': "SELECT rowid FROM glosses WHERE glosses MATCH 'volcanic AND rock' ORDER BY rank LIMIT 10",
};
const RUNS = 5;
const nginx = await startNginx(site);
const proxy = await startLinkProxy(nginx.url, { latencyMs: 50, mbps: 20 });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  console.log('| query | persistent cache | median query ms | requests | KiB (at the server) |');
  console.log('|---|---|---|---|---|');
  for (const [name, sql] of Object.entries(QUERIES)) {
    for (const cache of ['none', 'cache-storage', 'opfs']) {
      const ms: number[] = [];
      let requests = 0;
      let bytes = 0;
      for (let run = 0; run < RUNS; run++) {
        const ctx = await browser.newContext();
        const page = await ctx.newPage();
        await page.goto(`${proxy.url}index.html?cache=${cache}`);
        await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
        proxy.reset();
        const r = await page.evaluate(async (q) => {
          const b = (window as unknown as { bucketlite: { db: { query(s: string): Promise<unknown[]>; lastQuery: { ms: number } } } }).bucketlite;
          const rows = await b.db.query(q);
          return { rows, ms: b.db.lastQuery.ms };
        }, sql);
        if (JSON.stringify(r.rows) !== JSON.stringify(oracle.prepare(sql).all())) throw new Error(`${name} with ${cache}: rows differ from better-sqlite3`);
        const s = proxy.summary();
        ms.push(r.ms);
        requests = s.requests;
        bytes = s.bytes;
        await ctx.close();
      }
      console.log(`| ${name} | ${cache} | ${median(ms).toFixed(0)} | ${requests} | ${(bytes / 1024).toFixed(0)} |`);
    }
  }
} finally {
  await browser.close();
  await proxy.close();
  await nginx.stop();
  oracle.close();
}
