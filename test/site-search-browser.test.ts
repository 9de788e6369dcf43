/**
 * The search web component (`<bucketlite-search>`, worker/search-element.ts) in real
 * headless Chromium (Debian's package, driven by playwright-core; never a downloaded
 * browser) against a site index built by buildSite and served by nginx.
 *
 * The page loads dist/worker/search-element.js with a plain <script type="module"> and
 * no bundler. Only the worker needs one (its graph imports wa-sqlite, lru-cache and
 * p-limit by bare name, which a worker cannot resolve), so the served tree is:
 *   /dist/worker/{search-element,search,client}.js   as tsc built them
 *   /dist/src/site/query.js                          as tsc built it
 *   /dist/worker/worker.js (+ chunks)                worker/worker.ts bundled by esbuild
 *   /dist/worker/wa-sqlite-{jspi,async}.wasm         beside it (new URL(…, import.meta.url))
 *   /search/                                         the bucket
 *   /ocean.html, …                                   the site's pages (links land there)
 * The ranking oracle is runSearch in Node on the same bucket (what `bucketlite search` runs).
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildSite } from '../src/site/build.js';
import { runSearch } from '../src/site/query.js';
import type { SearchResult } from '../src/site/query.js';
import { openDatabase } from '../src/node/open.js';
import type { BucketDatabase } from '../src/database.js';
import { LocalDirStore } from '../src/storage/local.js';
import { restore } from '../src/ops/restore.js';
import { upload } from '../src/upload/upload.js';
import Database from 'better-sqlite3';
import { startNginx, CHROMIUM, CHROMIUM_ARGS } from './servers.js';
import type { RunningServer } from './servers.js';
import { tempDir } from './helpers.js';

const REPO = path.resolve(import.meta.dirname, '..');
const DIST = existsSync(path.join(REPO, 'dist', 'worker')) ? path.join(REPO, 'dist') : path.resolve(REPO, '..', 'dist');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'site-search');
const WA_SQLITE = path.join(REPO, 'src', 'sqlite', 'wasm');
/** The UI JS budget of issue 14: what a page loads on the main thread, gzip -9. */
const UI_BUDGET = 30 * 1024;

const dir = tempDir('bl-site-search-');
const siteDir = path.join(dir, 'site');
const root = path.join(dir, 'root');
const bucketDir = path.join(root, 'search');
let nginx: RunningServer;
let browser: Browser;
let oracleDb: BucketDatabase;

/** Deterministic filler pages, so the index is larger than what HEAD carries and a search reads blocks. */
function writeFiller(to: string, pages: number): void {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const syllables = ['ka', 'lo', 'mi', 'ner', 'tu', 'vash', 'pel', 'dri', 'sor', 'quin', 'bal', 'fet', 'gro', 'hu', 'zan', 'wel'];
  const vocab = Array.from({ length: 3000 }, () => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => syllables[Math.floor(rand() * syllables.length)]).join(''));
  vocab.push('water', 'coast', 'island', 'wind', 'rock', 'current', 'ocean', 'tide', 'harbour');
  const sentence = () => Array.from({ length: 8 + Math.floor(rand() * 12) }, () => vocab[Math.floor(Math.pow(rand(), 1.6) * vocab.length)]).join(' ') + '.';
  mkdirSync(path.join(to, 'notes'), { recursive: true });
  for (let i = 0; i < pages; i++) {
    const sections = Array.from({ length: 3 }, (_, s) => `<h2 id="s${s}">${vocab[Math.floor(rand() * vocab.length)]} notes</h2><p>${Array.from({ length: 6 }, sentence).join(' ')}</p>`).join('\n');
    writeFileSync(path.join(to, 'notes', `n${i}.html`), `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Note ${i} | Field Notes</title></head><body><main><h1>Note ${i}</h1><p>${sentence()}</p>${sections}</main></body></html>`);
  }
}

/** Imports and exports from a built ES module, relative ones resolved to files; bare ones as given. */
function importsOf(file: string): { relative: string[]; bare: string[] } {
  const src = readFileSync(file, 'utf8');
  const relative: string[] = [];
  const bare: string[] = [];
  // Statements start a line in tsc's output (comments do not: they start with '*' or '//').
  for (const m of src.matchAll(/^\s*(?:import|export)\s*(?:[\w*{},\s$]*?\sfrom\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('.') || spec.startsWith('/')) relative.push(path.resolve(path.dirname(file), spec));
    else bare.push(spec);
  }
  return { relative, bare };
}

/** The entry and every module it imports, transitively (relative imports only). */
function moduleGraph(entry: string): { files: string[]; bare: string[] } {
  const seen = new Set<string>();
  const bare: string[] = [];
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const i = importsOf(f);
    bare.push(...i.bare);
    i.relative.forEach(walk);
  };
  walk(entry);
  return { files: [...seen], bare };
}

const gz = (f: string) => gzipSync(readFileSync(f), { level: 9 }).length;

function page(name: string, attrs: string): void {
  writeFileSync(path.join(root, name), `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>search test</title>
<script type="module" src="/dist/worker/search-element.js"></script></head>
<body>
<bucketlite-search ${attrs}></bucketlite-search>
<script type="module">
  window.searchEvents = [];
  window.renders = [];
  document.addEventListener('bucketlite-search', (e) => window.searchEvents.push({ words: e.detail.words, urls: e.detail.results.map((r) => r.url) }));
  await customElements.whenDefined('bucketlite-search');
  const list = document.querySelector('bucketlite-search').shadowRoot.querySelector('[role=listbox]');
  // Every rendering of the list, in order: stale results must never follow newer ones.
  new MutationObserver(() => window.renders.push([...list.querySelectorAll('[role=option]:not(.sub) a')].map((a) => new URL(a.href).pathname))).observe(list, { childList: true });
  document.body.dataset.ready = 'true';
</script>
</body></html>`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed: apt-get install chromium (.ci/run does this)');
  for (const f of ['search-element.js', 'search.js', 'client.js']) {
    if (!existsSync(path.join(DIST, 'worker', f))) throw new Error(`dist/worker/${f} is missing: run npm run build first`);
  }
  cpSync(FIXTURE, siteDir, { recursive: true });
  writeFiller(siteDir, 400);
  await buildSite(siteDir, new LocalDirStore(bucketDir));
  cpSync(siteDir, root, { recursive: true });

  // The main-thread modules exactly as built, then the worker bundled beside them.
  const out = path.join(root, 'dist');
  for (const f of moduleGraph(path.join(DIST, 'worker', 'search-element.js')).files) {
    const to = path.join(out, path.relative(DIST, f));
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(f, to);
  }
  const { build } = await import('esbuild');
  await build({
    entryPoints: [path.join(REPO, 'worker', 'worker.ts')], bundle: true, splitting: true, format: 'esm', platform: 'browser',
    target: 'es2022', minify: true, outdir: path.join(out, 'worker'), entryNames: '[name]', logLevel: 'warning',
  });
  for (const w of ['wa-sqlite-jspi.wasm', 'wa-sqlite-async.wasm']) copyFileSync(path.join(WA_SQLITE, w), path.join(out, 'worker', w));

  page('index.html', 'bucket="search/" placeholder="Search the notes"');
  page('bad.html', 'bucket="nothing/"');
  nginx = await startNginx(root);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  oracleDb = await openDatabase(bucketDir);
}, 120_000);

afterAll(async () => {
  await oracleDb?.close();
  await browser?.close();
  await nginx?.stop();
});

/** The CLI's ranking: runSearch in Node on the same bucket. */
function oracle(words: string, limit = 5): Promise<SearchResult[]> {
  return runSearch((sql, params) => oracleDb.query(sql, params), words, { limit });
}

async function openPage(context: BrowserContext, base = nginx.url, name = 'index.html'): Promise<Page> {
  const p = await context.newPage();
  await p.goto(`${base}${name}`);
  await p.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
  return p;
}

const input = (p: Page) => p.locator('bucketlite-search input');

/** Waits for the component's search event for `words`, then returns what it renders. */
async function resultsFor(p: Page, words: string): Promise<{ urls: string[]; subs: string[][] }> {
  await p.waitForFunction((w) => (window as unknown as { searchEvents: { words: string }[] }).searchEvents.some((e) => e.words === w), words, { timeout: 30_000 });
  return p.evaluate(() => {
    const list = document.querySelector('bucketlite-search')!.shadowRoot!.querySelector('[role=listbox]')!;
    const urls: string[] = [];
    const subs: string[][] = [];
    for (const li of Array.from(list.querySelectorAll('[role=option]'))) {
      const href = new URL(li.querySelector('a')!.href);
      if (li.classList.contains('sub')) subs[subs.length - 1].push(href.pathname + href.hash);
      else { urls.push(href.pathname); subs.push([]); }
    }
    return { urls, subs };
  });
}

const events = (p: Page) => p.evaluate(() => (window as unknown as { searchEvents: { words: string; urls: string[] }[] }).searchEvents);
const attr = (p: Page, name: string) => input(p).getAttribute(name);

describe('<bucketlite-search> in Chromium over nginx', () => {
  it('the UI JS (search-element.js and what it imports) is at most 30 KiB gzipped and needs no bundler', () => {
    const { files, bare } = moduleGraph(path.join(DIST, 'worker', 'search-element.js'));
    const names = files.map((f) => path.relative(DIST, f)).sort();
    expect(names).toEqual(expect.arrayContaining(['worker/search-element.js', 'worker/search.js', 'worker/client.js', 'src/site/query.js']));
    expect(bare, 'a bare import cannot load from a plain <script type="module">').toEqual([]);
    const total = files.reduce((n, f) => n + gz(f), 0);
    expect(total).toBeLessThanOrEqual(UI_BUDGET);
  });

  it('typing key by key shows the CLI ranking for the final words; an exact title ranks first', async () => {
    const context = await browser.newContext();
    const p = await openPage(context);
    await input(p).pressSequentially('ocean', { delay: 25 });
    const shown = await resultsFor(p, 'ocean');
    const expected = await oracle('ocean');
    expect(shown.urls).toEqual(expected.map((r) => r.url));
    expect(shown.urls[0]).toBe('/ocean.html'); // titled exactly "Ocean"; moved.html (noindex) is not there
    expect(shown.urls).not.toContain('/moved.html');
    expect(shown.subs).toEqual(expected.map((r) => r.sub.map((s) => s.url)));

    await input(p).pressSequentially(' cur', { delay: 25 });
    const typed = await resultsFor(p, 'ocean cur');
    expect(typed.urls).toEqual((await oracle('ocean cur')).map((r) => r.url));
    expect(typed.urls[0]).toBe('/ocean.html');
    // Searches completed in typing order: each event's words a prefix of the next one's.
    const seen = (await events(p)).map((e) => e.words);
    for (let i = 1; i < seen.length; i++) expect('ocean cur'.startsWith(seen[i - 1]) && seen[i].startsWith(seen[i - 1])).toBe(true);
    expect(await p.locator('bucketlite-search [role=status]').textContent()).toBe(`${typed.urls.length} result${typed.urls.length === 1 ? '' : 's'}`);
    // lastResults is the shape `bucketlite search --json` prints.
    const last = await p.evaluate(() => (document.querySelector('bucketlite-search') as unknown as { lastResults: unknown }).lastResults);
    expect(last).toEqual(await oracle('ocean cur'));

    await input(p).fill('zzqx');
    await resultsFor(p, 'zzqx');
    expect(await p.locator('bucketlite-search [role=status]').textContent()).toBe('No results for “zzqx”');
    expect(await attr(p, 'aria-expanded')).toBe('false');
    await context.close();
  });

  it('search() from bucketlite/search returns the CLI ranking; an aborted signal rejects with an AbortError', async () => {
    const context = await browser.newContext();
    const p = await openPage(context);
    // A string, not a function: the test runner's transform would rewrite a dynamic import().
    const r = await p.evaluate(`(async () => {
      const m = await import('/dist/worker/search.js');
      const results = await m.search('search/', 'volcanic rock', { limit: 3 });
      // No row for the word: FTS5 ranks, and the excerpts mark its stem as FTS5 makes it.
      const stemmed = await m.search('search/', 'installs ', { limit: 3 });
      const ac = new AbortController();
      ac.abort();
      const aborted = await m.search('search/', 'ocean', { signal: ac.signal }).then(() => 'resolved', (e) => e.name);
      return { results, stemmed, aborted };
    })()`) as { results: SearchResult[]; stemmed: SearchResult[]; aborted: string };
    expect(r.results).toEqual(await oracle('volcanic rock', 3));
    expect(r.results[0].url).toBe('/volcano.html');
    expect(r.stemmed).toEqual(await oracle('installs ', 3));
    expect(r.stemmed[0].sub.map((s) => s.excerpt).join(' ')).toContain('<mark>Install</mark> with brew');
    expect(r.aborted).toBe('AbortError');
    await context.close();
  });

  it('heading sub-results: links with #anchors, highlighted excerpts', async () => {
    const context = await browser.newContext();
    const p = await openPage(context);
    await input(p).fill('tides');
    const shown = await resultsFor(p, 'tides');
    const expected = await oracle('tides');
    expect(shown.urls).toEqual(expected.map((r) => r.url));
    expect(shown.subs).toEqual(expected.map((r) => r.sub.map((s) => s.url)));
    expect(shown.subs[shown.urls.indexOf('/ocean.html')]).toContain('/ocean.html#tides');
    const sub = p.locator('bucketlite-search li.sub', { has: p.locator('a[href="/ocean.html#tides"]') });
    expect(await sub.getAttribute('role')).toBe('option');
    expect(await sub.locator('[part=title]').textContent()).toBe('Tides');
    expect((await sub.locator('mark').first().textContent())?.toLowerCase()).toBe('tides');
    // Excerpts are escaped text with only <mark> as markup.
    const markup = await p.evaluate(() => Array.from(document.querySelector('bucketlite-search')!.shadowRoot!.querySelectorAll('[part=excerpt] *')).map((e) => e.tagName));
    expect(new Set(markup)).toEqual(new Set(['MARK']));
    await context.close();
  });

  it('keyboard: the combobox pattern over results and sub-results; Enter follows the link, Escape closes then clears', async () => {
    const context = await browser.newContext();
    const p = await openPage(context);
    expect(await attr(p, 'role')).toBe('combobox');
    expect(await attr(p, 'aria-autocomplete')).toBe('list');
    const listId = await attr(p, 'aria-controls');
    expect(await p.locator(`bucketlite-search #${listId}`).getAttribute('role')).toBe('listbox');
    await input(p).fill('ocean');
    const shown = await resultsFor(p, 'ocean');
    const optionIds = await p.locator('bucketlite-search [role=option]').evaluateAll((lis) => lis.map((li) => li.id));
    expect(optionIds.length).toBe(shown.urls.length + shown.subs.flat().length);
    expect(await attr(p, 'aria-expanded')).toBe('true');
    expect(await attr(p, 'aria-activedescendant')).toBeNull();

    const active = async () => {
      const id = await attr(p, 'aria-activedescendant');
      const selected = await p.locator('bucketlite-search [role=option][aria-selected=true]').evaluateAll((lis) => lis.map((li) => li.id));
      expect(selected).toEqual(id ? [id] : []);
      return id;
    };
    await input(p).press('ArrowDown');
    expect(await active()).toBe(optionIds[0]);
    await input(p).press('ArrowDown'); // the first page's first heading: sub-results are options too
    expect(await active()).toBe(optionIds[1]);
    expect(await p.locator(`bucketlite-search #${optionIds[1]}`).getAttribute('class')).toBe('sub');
    await input(p).press('ArrowUp');
    await input(p).press('ArrowUp'); // wraps to the last option
    expect(await active()).toBe(optionIds[optionIds.length - 1]);
    await input(p).press('ArrowDown'); // and back to the first
    expect(await active()).toBe(optionIds[0]);
    // Home/End stay in the text.
    await input(p).press('Home');
    expect(await input(p).evaluate((i: HTMLInputElement) => i.selectionStart)).toBe(0);
    expect(await active()).toBe(optionIds[0]);

    // Escape closes the list; a second Escape clears the input.
    await input(p).press('Escape');
    expect(await attr(p, 'aria-expanded')).toBe('false');
    expect(await active()).toBeNull();
    expect(await input(p).inputValue()).toBe('ocean');
    await input(p).press('Escape');
    expect(await input(p).inputValue()).toBe('');

    // Enter on a sub-result goes to its anchor.
    await input(p).fill('tides');
    const tides = await resultsFor(p, 'tides');
    const target = tides.subs[tides.urls.indexOf('/ocean.html')].indexOf('/ocean.html#tides');
    const ids = await p.locator('bucketlite-search [role=option]').evaluateAll((lis) => lis.map((li) => [li.id, new URL(li.querySelector('a')!.href).pathname + new URL(li.querySelector('a')!.href).hash]));
    const index = ids.findIndex(([, href]) => href === '/ocean.html#tides');
    expect(target).toBeGreaterThanOrEqual(0);
    for (let i = 0; i <= index; i++) await input(p).press('ArrowDown');
    expect(await active()).toBe(ids[index][0]);
    await Promise.all([p.waitForURL(`${nginx.url}ocean.html#tides`), input(p).press('Enter')]);
    expect(new URL(p.url()).hash).toBe('#tides');

    // Enter with no active option does nothing.
    const q = await openPage(context);
    await input(q).fill('ocean');
    await resultsFor(q, 'ocean');
    await input(q).press('Enter');
    await q.waitForTimeout(200);
    expect(q.url()).toBe(`${nginx.url}index.html`);
    await context.close();
  });

  it('a stale query is cancelled: its results never render, the last event is for the last words', async () => {
    // A proxy in front of nginx delays bucket reads while `slowMs` is set.
    let slowMs = 0;
    let delayed = 0;
    const target = new URL(nginx.url);
    const proxy = http.createServer((req, res) => {
      const forward = () => {
        const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      };
      if (slowMs > 0 && req.url?.startsWith('/search/')) {
        delayed++;
        setTimeout(forward, slowMs);
      } else forward();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`;
    const context = await browser.newContext();
    try {
      const p = await openPage(context, base);
      await p.waitForFunction(() => document.querySelector('bucketlite-search')!.dataset.state === 'ready', null, { timeout: 30_000 });
      slowMs = 1500;
      await input(p).fill('lighthouse keepers');
      await expect.poll(() => delayed, { timeout: 10_000 }).toBeGreaterThan(0); // the first query waits on the network
      slowMs = 0;
      await input(p).fill('pumice');
      const shown = await resultsFor(p, 'pumice');
      expect(shown.urls).toEqual((await oracle('pumice')).map((r) => r.url));
      await p.waitForTimeout(2500); // past the delayed responses: a stale query would have finished by now
      expect((await events(p)).map((e) => e.words)).toEqual(['pumice']);
      const renders = await p.evaluate(() => (window as unknown as { renders: string[][] }).renders);
      const last = renders.at(-1);
      expect(last).toEqual(shown.urls);
      expect(renders.flat()).not.toContain('/lighthouse.html');
      expect((await resultsFor(p, 'pumice')).urls).toEqual(shown.urls);
    } finally {
      await context.close();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('an index of another schema, or a database that is no site index: search() refuses with the CLI\'s words (ERR_USAGE)', async () => {
    // The same index marked as schema 8 (its term ids mean something else there), and a plain database.
    const file = path.join(dir, 'as-schema-8.db');
    await restore(new LocalDirStore(bucketDir), file);
    const d = new Database(file);
    d.pragma(`user_version = ${0x5e4c0008}`);
    d.close();
    await upload(file, new LocalDirStore(path.join(root, 'old-search')));
    const plain = path.join(dir, 'plain.db');
    const q = new Database(plain);
    q.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes(text) VALUES (\'ocean\')');
    q.close();
    await upload(plain, new LocalDirStore(path.join(root, 'plain')));
    const context = await browser.newContext();
    const p = await openPage(context);
    const got = await p.evaluate(`(async () => {
      const m = await import('/dist/worker/search.js');
      const why = (url) => m.search(url, 'ocean').then(() => 'resolved', (e) => ({ code: e.code, message: e.message }));
      return { old: await why('old-search/'), plain: await why('plain/') };
    })()`) as Record<string, { code: string; message: string }>;
    expect(got.old).toEqual({ code: 'ERR_USAGE', message: `search: ${nginx.url}old-search/ holds a site index of another bucketlite version; build it again with \`bucketlite site <site-dir> <target>\`` });
    expect(got.plain).toEqual({ code: 'ERR_USAGE', message: `search: ${nginx.url}plain/ holds a database that is not a site search index; build one with \`bucketlite site <site-dir> <target>\`` });
    await context.close();
  });

  it('an unreachable bucket flags the control with a clear message; the input stays usable', async () => {
    const context = await browser.newContext();
    const p = await openPage(context, nginx.url, 'bad.html');
    await p.waitForFunction(() => document.querySelector('bucketlite-search')!.dataset.state === 'error', null, { timeout: 30_000 });
    expect(await attr(p, 'aria-invalid')).toBe('true');
    const status = p.locator('bucketlite-search [role=status]');
    expect(await status.getAttribute('aria-live')).toBe('polite');
    expect(await status.textContent()).toMatch(/^Search is unavailable: .+/);
    expect(await input(p).isEditable()).toBe(true);
    await input(p).fill('ocean');
    await p.waitForTimeout(300);
    expect(await p.evaluate(() => document.querySelector('bucketlite-search')!.dataset.state)).toBe('error');
    expect(await events(p)).toEqual([]);
    console.log(`unreachable bucket: ${await status.textContent()}`);
    await context.close();
  });
});
