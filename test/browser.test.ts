/**
 * End to end in real headless Chromium (Debian's package, driven by playwright-core;
 * never a downloaded browser) against the demo site served by nginx.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import Database from 'better-sqlite3';
import { buildDemoSite } from '../demo-site/build.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { startNginx } from './servers.js';
import type { RunningServer } from './servers.js';
import { tempDir } from './helpers.js';

const dir = tempDir('bl-browser-');
const site = path.join(dir, 'site');
const db = path.join(dir, 'wordnet.db');
let nginx: RunningServer;
let browser: Browser;

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed: apt-get install chromium (.ci/run does this)');
  mkdirSync(site, { recursive: true });
  await buildDemoSite(site, db);
  nginx = await startNginx(site);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
});

interface Net { bucket: string[] }

async function openPage(context: BrowserContext, query = ''): Promise<{ page: Page; net: Net }> {
  const page = await context.newPage();
  const net: Net = { bucket: [] };
  // Requests the worker makes to the bucket (Range reads and HEAD).
  context.on('request', (r) => { if (r.url().includes('/bucket/')) net.bucket.push(r.url()); });
  await page.goto(`${nginx.url}index.html${query}`);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
  expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
  return { page, net };
}

/** Types `text` key by key (as a person would), or sets it at once (one query, deterministic). */
async function search(page: Page, text: string, typed = false): Promise<string[]> {
  const before = await page.evaluate(() => Number(document.body.dataset.searched ?? 0));
  await page.fill('[data-testid=search]', '');
  if (typed) await page.type('[data-testid=search]', text, { delay: 20 });
  else await page.fill('[data-testid=search]', text);
  await page.waitForFunction((b) => Number(document.body.dataset.searched ?? 0) > b, before, { timeout: 60_000 });
  await page.waitForTimeout(150); // let a last keystroke's query settle
  await page.waitForFunction(() => !document.querySelector('#results')?.textContent?.includes('Running'), null);
  return page.$$eval('[data-testid=results] li', (lis) => lis.map((li) => li.getAttribute('data-id') ?? li.textContent ?? ''));
}

async function stat(page: Page, name: string): Promise<number> {
  return Number(await page.$eval(`[data-stat="${name}"]`, (e) => e.textContent?.replace(/[^\d.]/g, '')));
}

function expectedIds(text: string): string[] {
  const d = new Database(db, { readonly: true });
  try {
    const q = text.toLowerCase().match(/[\p{L}\p{N}]+/gu)!.map((w) => `"${w}"*`).join(' AND ');
    return (d.prepare('SELECT rowid AS id FROM glosses WHERE glosses MATCH ? ORDER BY rank LIMIT 20').all(q) as { id: number }[]).map((r) => String(r.id));
  } finally {
    d.close();
  }
}

describe('the demo site in Chromium', () => {
  it('search as you type returns what SQLite returns; a reload repeats it with no block requests (persistent cache), only HEAD', async () => {
    const context = await browser.newContext();
    const { page, net } = await openPage(context);
    const ids = await search(page, 'volcanic rock', true);
    expect(ids).toEqual(expectedIds('volcanic rock'));
    expect(await search(page, 'volcanic rock')).toEqual(ids);
    expect(ids.length).toBeGreaterThan(0);
    expect(await page.$eval('[data-testid=results] li mark', (m) => m.textContent?.toLowerCase())).toMatch(/^(volcanic|rock)/);
    expect(await stat(page, 'requests')).toBeGreaterThanOrEqual(0);

    // The query once more from a cold SQLite cache (the reload), as the revisit will run
    // it: the readahead a cold run does is timing-independent, while the typed queries
    // above were cut short at moments that vary with the machine's load.
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    expect(await search(page, 'volcanic rock')).toEqual(ids);
    // The persistent tier is written behind the reads; a revisit can only find what was
    // written before the page went away.
    await page.waitForFunction(async () => {
      const b = (window as unknown as { bucketlite: { db: { stats(): Promise<{ total: { cache: { pendingWrites?: number } } }> } } }).bucketlite;
      return ((await b.db.stats()).total.cache.pendingWrites ?? 0) === 0;
    }, null, { timeout: 30_000 });
    net.bucket.length = 0;
    // The reload's own open happened before the reset above for part of it; count from a fresh page instead.
    await page.close();
    const again = await openPage(context);
    expect(await search(again.page, 'volcanic rock')).toEqual(ids);
    const blockRequests = again.net.bucket.filter((u) => !u.endsWith('/HEAD'));
    expect(blockRequests, JSON.stringify(again.net.bucket)).toEqual([]);
    expect(await stat(again.page, 'requests')).toBe(0);
    expect(await stat(again.page, 'cache misses')).toBe(0);
    expect(again.net.bucket.filter((u) => u.endsWith('/HEAD'))).toHaveLength(1);
    await context.close();
  });

  it('a new version published while the page is open is seen by the next query', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context, '?ttl=0');
    expect(await search(page, 'zyzzyva')).toHaveLength(1);
    const v2 = path.join(dir, 'wordnet-v2.db');
    copyFileSync(db, v2);
    const d = new Database(v2);
    d.prepare("INSERT INTO glosses(rowid, words, gloss) VALUES (999999, 'bucketlite', 'a zyzzyva-friendly database in a bucket')").run();
    d.close();
    const r = await upload(v2, new LocalDirStore(path.join(site, 'bucket')));
    expect(r.committed).toBe(true);
    const ids = await search(page, 'zyzzyva');
    expect(ids).toContain('999999');
    expect(await page.$eval('[data-stat=version]', (e) => e.textContent)).toBe(String(r.seq));
    // Put the original database back for the other tests.
    await upload(db, new LocalDirStore(path.join(site, 'bucket')));
    await context.close();
  });

  it('the main thread stays responsive during a long query (timers keep firing)', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context, '?cache=none');
    await page.fill('[data-testid=sql]', "SELECT count(*) AS n FROM glosses WHERE gloss LIKE '%zq%' OR words LIKE '%qz%' OR gloss GLOB '*x*y*z*'");
    const result = await page.evaluate(async () => {
      let ticks = 0;
      let maxGap = 0;
      let last = performance.now();
      const timer = setInterval(() => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now; ticks++; }, 10);
      const out = document.getElementById('sql-out')!;
      const before = out.dataset.done;
      const t0 = performance.now();
      (document.getElementById('run') as HTMLButtonElement).click();
      while (out.dataset.done === before) await new Promise((r) => setTimeout(r, 5));
      clearInterval(timer);
      return { ticks, maxGap, ms: performance.now() - t0, text: out.textContent };
    });
    expect(result.text).toMatch(/^n\d+$/);
    expect(result.ms).toBeGreaterThan(100); // it was a long query …
    expect(result.ticks).toBeGreaterThan(result.ms / 10 / 3); // … and the 10 ms timer kept firing
    expect(result.maxGap).toBeLessThan(250);
    await context.close();
  });

  for (const build of ['jspi', 'asyncify'] as const) {
    it(`the ${build.toUpperCase()} build runs the search and the SQL console`, async () => {
      const context = await browser.newContext();
      const { page } = await openPage(context, `?build=${build}&cache=none`);
      expect(await page.textContent('[data-testid=status]')).toContain(`${build.toUpperCase()} build`);
      expect(await search(page, 'river bank')).toEqual(expectedIds('river bank'));
      await page.fill('[data-testid=sql]', 'SELECT count(*) AS n FROM synsets');
      await page.click('[data-testid=run]');
      await page.waitForFunction(() => document.querySelector('#sql-out table'));
      expect(Number(await page.textContent('#sql-out td'))).toBeGreaterThan(100_000);
      await context.close();
    });
  }

  it('an AbortSignal cancels a running query in the worker; the next query runs', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context, '?cache=none');
    const r = await page.evaluate(async () => {
      const db = (window as unknown as { bucketlite: { db: { query(s: string, p?: unknown[], o?: { signal?: AbortSignal }): Promise<{ n: number }[]> } } }).bucketlite.db;
      const ac = new AbortController();
      const running = db.query("SELECT count(*) AS n FROM glosses_content WHERE c1 LIKE '%qqq%'", [], { signal: ac.signal });
      setTimeout(() => ac.abort(), 5);
      const code = await running.then(() => 'finished', (e: { code?: string }) => e.code);
      const after = await db.query('SELECT count(*) AS n FROM synsets');
      return { code, n: after[0].n };
    });
    expect(r.code).toBe('ERR_ABORTED');
    expect(r.n).toBeGreaterThan(100_000);
    await context.close();
  });

  it('errors in plain words: a bucket that is not there', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${nginx.url}index.html?bucket=${encodeURIComponent(`${nginx.url}nothing/`)}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'error', null, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=status]')).toMatch(/not where this page expected it/);
    await context.close();
  });

  it('bucketlite/browser-inline bundles with esbuild with no configuration at all', async () => {
    const { build } = await import('esbuild');
    const app = path.join(site, 'esbuild-app');
    mkdirSync(app, { recursive: true });
    const entry = path.join(dir, 'app.ts');
    const client = path.resolve(import.meta.dirname, '..', 'dist', 'worker', 'client-inline.js');
    const { writeFileSync } = await import('node:fs');
    // startWorker: the worker and its wasm first (at page load), the database later.
    writeFileSync(entry, `import { openDatabase, startWorker } from ${JSON.stringify(client)};
      const worker = await startWorker();
      const db = await openDatabase(new URL('../bucket/', location.href).href, { persistentCache: 'none', worker });
      const rows = await db.query('SELECT count(*) AS n FROM synsets');
      (window as any).result = { n: rows[0].n, build: db.info.build };`);
    await build({ entryPoints: [entry], bundle: true, format: 'esm', outfile: path.join(app, 'app.js'), logLevel: 'warning' });
    writeFileSync(path.join(app, 'index.html'), '<!doctype html><script type="module" src="app.js"></script>');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${nginx.url}esbuild-app/index.html`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 60_000 });
    const result = await page.evaluate(() => (window as unknown as { result: { n: number; build: string } }).result);
    expect(result.n).toBeGreaterThan(100_000);
    expect(result.build).toBe('jspi');
    const js = readFileSync(path.join(app, 'app.js'));
    console.log(`esbuild, zero-config (worker + both wasm builds inlined): ${(js.length / 1024).toFixed(0)} KiB, ${(gzipSync(js, { level: 9 }).length / 1024).toFixed(0)} KiB gzipped`);
    await context.close();
  });

  it('reports the worker bundle size (JS + wasm, gzipped)', () => {
    const assets = path.join(site, 'assets');
    const size = (re: RegExp) => readdirSync(assets).filter((f) => re.test(f)).map((f) => {
      const b = readFileSync(path.join(assets, f));
      return { f, raw: statSync(path.join(assets, f)).size, gz: gzipSync(b, { level: 9 }).length };
    });
    const worker = size(/^worker-.*\.js$/);
    const jspi = [...size(/^wa-sqlite-jspi-.*\.(js|wasm)$/)];
    const asyncify = [...size(/^wa-sqlite-async-.*\.(js|wasm)$/)];
    const sum = (xs: { gz: number }[]) => xs.reduce((a, b) => a + b.gz, 0);
    console.log(`bundle (gzip -9): worker ${(sum(worker) / 1024).toFixed(0)} KiB; + JSPI wa-sqlite ${(sum(jspi) / 1024).toFixed(0)} KiB = ${((sum(worker) + sum(jspi)) / 1024).toFixed(0)} KiB; ` +
      `+ Asyncify wa-sqlite ${(sum(asyncify) / 1024).toFixed(0)} KiB = ${((sum(worker) + sum(asyncify)) / 1024).toFixed(0)} KiB`);
    expect(worker).toHaveLength(1);
    expect(jspi.length).toBe(2);
    // The worker never carries a cloud SDK or Node-only code.
    const code = readFileSync(path.join(assets, worker[0].f), 'utf8');
    expect(code).not.toMatch(/@aws-sdk|google-cloud|undici|node:fs/);
  });
});
