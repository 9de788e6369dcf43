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

let book = false;
let bookNote: string | null = null;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed: apt-get install chromium (.ci/run does this)');
  mkdirSync(site, { recursive: true });
  // The first build on a machine indexes WordNet as a site (about a minute) and fetches
  // the Rust book (apt-get download rust-doc); later builds take both from the cache.
  const r = await buildDemoSite(site, db, { log: (line) => console.log(line) });
  book = r.book !== null;
  bookNote = r.bookNote;
  nginx = await startNginx(site);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}, 900_000);
afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
});

interface Net { bucket: string[]; search: string[] }

async function openPage(context: BrowserContext, query = ''): Promise<{ page: Page; net: Net }> {
  const page = await context.newPage();
  const net: Net = { bucket: [], search: [] };
  // Requests the workers make to the buckets (Range reads and HEAD).
  context.on('request', (r) => {
    if (r.url().includes('/bucket/')) net.bucket.push(r.url());
    if (r.url().includes('/search/')) net.search.push(r.url());
  });
  await page.goto(`${nginx.url}index.html${query}`);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
  expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
  return { page, net };
}

type ConnName = 'tables' | 'wordnet' | 'book';
interface StatsOf { stats(): Promise<{ total: { fetchesInFlight: number; cache: { pendingWrites?: number } } }> }

/**
 * Waits until one of the page's connections has nothing in flight: no block or manifest
 * fetch, no persistent-cache write. Twice, 300 ms apart: a readahead that has its leaf but
 * has not yet asked for its block shows as idle for a moment. Readahead and the search
 * box's warm-up run in the background after the page is ready; a test that counts
 * requests from some point on, or a revisit that expects them cached, waits for them.
 */
async function settle(page: Page, conn: ConnName): Promise<void> {
  const idle = () => page.waitForFunction(async (name) => {
    const b = (window as unknown as { bucketlite: { db: StatsOf; search: Record<string, StatsOf | null> } }).bucketlite;
    const db = name === 'tables' ? b.db : b.search[name];
    if (!db) throw new Error(`the page has no ${name} connection`);
    const { total } = await db.stats();
    return total.fetchesInFlight === 0 && (total.cache.pendingWrites ?? 0) === 0;
  }, conn, { timeout: 30_000 });
  await idle();
  await new Promise((r) => setTimeout(r, 300));
  await idle();
}

interface Hit { url: string; title: string; sub: { url: string }[] }

/** Types `text` key by key into <bucketlite-search> (as a person would), or sets it at once. */
async function search(page: Page, text: string, typed = false): Promise<Hit[]> {
  await page.fill('[data-testid=search] input', '');
  const before = await page.evaluate(() => Number(document.body.dataset.searched ?? 0));
  if (typed) await page.type('[data-testid=search] input', text, { delay: 20 });
  else await page.fill('[data-testid=search] input', text);
  await page.waitForFunction(({ b, t }) => Number(document.body.dataset.searched ?? 0) > b &&
    (window as unknown as { bucketlite: { box: { lastWords: string } } }).bucketlite.box.lastWords === t, { b: before, t: text }, { timeout: 60_000 });
  await page.waitForTimeout(300); // the log's last events arrive over a BroadcastChannel
  return page.evaluate(() => (window as unknown as { bucketlite: { box: { lastResults: Hit[] } } }).bucketlite.box.lastResults);
}

async function stat(page: Page, name: string): Promise<number> {
  return Number(await page.$eval(`[data-stat="${name}"]`, (e) => e.textContent?.replace(/[^\d.]/g, '')));
}

async function sql(page: Page, text: string): Promise<void> {
  await page.fill('[data-testid=sql]', text);
  const before = await page.$eval('#sql-out', (e) => (e as HTMLElement).dataset.done ?? '');
  await page.click('[data-testid=run]');
  await page.waitForFunction((b) => ((document.getElementById('sql-out') as HTMLElement).dataset.done ?? '') !== b, before, { timeout: 60_000 });
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

const GLOSS_SEARCH = 'SELECT rowid AS id FROM glosses WHERE glosses MATCH ? ORDER BY rank LIMIT 20';
const ftsOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu)!.map((w) => `"${w}"*`).join(' AND ');
type Run = (sql: string, p?: unknown[]) => Promise<{ rows?: { id: number }[]; error?: { message: string } }>;
const runIds = (page: Page, text: string) => page.evaluate(async ([s, q]) => {
  const r = await (window as unknown as { bucketlite: { run: Run } }).bucketlite.run(s, [q]);
  if (!r.rows) throw new Error(`the query failed: ${JSON.stringify(r.error)}`);
  return r.rows.map((x) => String(x.id));
}, [GLOSS_SEARCH, ftsOf(text)] as const);

describe('the demo site in Chromium', () => {
  it('WordNet as a site: the exact title ranks first for "ocean"; the stats panel sums every keystroke; the waterfall draws one bar per request', async () => {
    const context = await browser.newContext();
    const { page, net } = await openPage(context, '?tab=wordnet');
    // The box's warm-up (manifest leaves fetched after open) belongs to the page load, not to this search.
    await settle(page, 'wordnet');
    const mark = net.search.length;
    const hits = await search(page, 'ocean', true);
    expect(hits[0].url).toBe('/o/ocean.html'); // was 105th in the gloss search
    expect(hits[0].title).toBe('ocean');
    // Summed over the keystrokes' queries (a cold index: each keystroke read something).
    expect(await stat(page, 'keystrokes')).toBeGreaterThan(1);
    expect(await stat(page, 'requests')).toBeGreaterThan(0);
    expect(await stat(page, 'bytes')).toBeGreaterThan(0);
    expect(await stat(page, 'round trips')).toBeGreaterThan(0);
    expect(await stat(page, 'cache hits') + await stat(page, 'cache misses')).toBeGreaterThan(0);
    // One bar per request of this search, each request as the browser saw it.
    const readBars = () => page.$$eval('#waterfall .bar', (gs) => gs.map((g) => ({ kind: g.getAttribute('data-kind'), range: g.getAttribute('data-range'), bytes: Number(g.getAttribute('data-bytes')), start: Number(g.getAttribute('data-start')), end: Number(g.getAttribute('data-end')) })));
    const seen = net.search.slice(mark).filter((u) => u.includes('/search/wordnet/'));
    // A bar is drawn when its request's body has ended and the worker's log event has
    // crossed a BroadcastChannel: on a loaded machine the last one may lag the results.
    await expect.poll(async () => (await readBars()).filter((b) => b.kind === 'network').length, { timeout: 10_000 }).toBe(seen.length);
    const bars = await readBars();
    const network = bars.filter((b) => b.kind === 'network');
    expect(network.length).toBe(await stat(page, 'requests'));
    expect(await page.$$eval('#waterfall svg rect.recv', (r) => r.length)).toBe(bars.length);
    for (const b of network) {
      expect(b.end).toBeGreaterThanOrEqual(b.start);
      expect(b.bytes).toBeGreaterThan(0);
    }
    expect(network.some((b) => /^bytes=\d+-\d+$/.test(b.range ?? ''))).toBe(true);
    await context.close();
  });

  it('searches the Rust book (Debian\'s rust-doc) with results that open its pages', async () => {
    // Never skipped: without the book (no apt-get, no package lists) this test fails and says why.
    expect(book, `the demo has no Rust book: ${bookNote}`).toBe(true);
    const context = await browser.newContext();
    const { page } = await openPage(context, '?tab=book');
    const hits = await search(page, 'borrow checker', true);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.some((h) => h.sub.length > 0)).toBe(true);
    const href = await page.$eval('[data-testid=search] a', (a) => (a as HTMLAnchorElement).getAttribute('href'));
    expect(href).toMatch(/^rust-book\/.+\.html/);
    expect(existsSync(path.join(site, href!.replace(/#.*$/, '')))).toBe(true);
    expect(await page.$$eval('#waterfall .bar', (b) => b.length)).toBe(await page.$eval('#waterfall', (w) => Number((w as HTMLElement).dataset.bars)));
    await context.close();
  });

  it('the WordNet tables from the persistent cache: a reload repeats a query with no block requests, only HEAD', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context);
    const ids = await runIds(page, 'volcanic rock');
    expect(ids).toEqual(expectedIds('volcanic rock'));
    expect(ids.length).toBeGreaterThan(0);
    // The persistent tier is written behind the reads, and readahead may still be fetching
    // after the rows are in (a block, or first the manifest leaf that locates it): a revisit
    // can only find what was fetched and written before the page went away.
    await settle(page, 'tables');
    await page.close();
    const again = await openPage(context);
    expect(await runIds(again.page, 'volcanic rock')).toEqual(ids);
    const blockRequests = again.net.bucket.filter((u) => !u.endsWith('/HEAD'));
    expect(blockRequests, JSON.stringify(again.net.bucket)).toEqual([]);
    expect(again.net.bucket.filter((u) => u.endsWith('/HEAD'))).toHaveLength(1);
    await context.close();
  });

  it('a new version published while the page is open is seen by the next query', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context, '?ttl=0');
    expect(await runIds(page, 'zyzzyva')).toEqual([]); // not a WordNet word until the new version adds it
    const v2 = path.join(dir, 'wordnet-v2.db');
    copyFileSync(db, v2);
    const d = new Database(v2);
    d.prepare("INSERT INTO glosses(rowid, words, gloss) VALUES (999999, 'bucketlite', 'a zyzzyva-friendly database in a bucket')").run();
    d.close();
    const r = await upload(v2, new LocalDirStore(path.join(site, 'bucket')));
    expect(r.committed).toBe(true);
    expect(await runIds(page, 'zyzzyva')).toContain('999999');
    await sql(page, "SELECT words FROM glosses WHERE rowid = 999999");
    expect(await page.$eval('[data-stat=sql-version]', (e) => e.textContent)).toBe(String(r.seq));
    // Put the original database back for the other tests.
    await upload(db, new LocalDirStore(path.join(site, 'bucket')));
    await context.close();
  });

  it('SQL console errors are SQLite\'s own message', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context);
    await sql(page, 'SELEC 1');
    expect(await page.textContent('[data-testid=sql-error]')).toBe('near "SELEC": syntax error');
    await sql(page, 'SELECT nope FROM synsets');
    expect(await page.textContent('[data-testid=sql-error]')).toBe('no such column: nope');
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
      return { ticks, maxGap, ms: performance.now() - t0, text: out.querySelector('table')?.textContent ?? out.textContent };
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
      const { page } = await openPage(context, `?build=${build}&cache=none&tab=wordnet`);
      expect(await page.textContent('[data-testid=status]')).toContain(`${build.toUpperCase()} build`);
      expect(await runIds(page, 'river bank')).toEqual(expectedIds('river bank'));
      expect((await search(page, 'ocean'))[0].url).toBe('/o/ocean.html');
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

  it('errors in plain words, controls disabled: a bucket that is not there', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${nginx.url}index.html?bucket=${encodeURIComponent(`${nginx.url}nothing/`)}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'error', null, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=status]')).toMatch(/not where this page expected it/);
    expect(await page.isDisabled('[data-testid=run]')).toBe(true);
    expect(await page.isDisabled('[data-testid=sql]')).toBe(true);
    expect(await page.textContent('[data-testid=sql-note]')).toMatch(/cannot be opened: The database is not where this page expected it/);
    // The search index of the tab is not there either: the search box is inert, and says why.
    await page.goto(`${nginx.url}index.html?tab=wordnet&wordnet=${encodeURIComponent(`${nginx.url}nothing-either/`)}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'error', null, { timeout: 60_000 });
    expect(await page.$eval('[data-testid=search]', (e) => (e as HTMLElement).inert)).toBe(true);
    expect(await page.textContent('[data-testid=tab-note]')).toMatch(/WordNet index cannot be opened: The database is not where/);
    expect(await page.isDisabled('[data-testid=run]')).toBe(false); // the tables opened
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
