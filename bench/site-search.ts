/**
 * Static-site search: bucketlite (`buildSite` + `bucketlite/search`) against Pagefind 1.6.0
 * on the same built site (issue 14), in Debian's Chromium, cold, behind a simulated link.
 *
 *   npx tsc -p tsconfig.json
 *   node dist/bench/site-search.js [--corpus book|rustdoc] [--runs N] [--reuse]
 *
 * --corpus book (default): the Rust book from Debian's rust-doc (bench/site-corpus.ts);
 * rustdoc: the whole rust-doc HTML tree (~32k files, ~22k real pages). --runs: cold runs
 * per cell (default 5; medians). --reuse: keep indexes built by an earlier run (no build
 * numbers then; for development only). --build-runs N: builds of each index (default: --runs
 * for the book, 1 for rustdoc, whose builds take minutes); median wall time and peak RSS.
 *
 * What is measured (docs/SITE-SEARCH-BENCH.md says it in prose):
 *  - build: each indexer as its own process under /usr/bin/time (wall seconds, peak RSS);
 *    Pagefind: `node node_modules/pagefind/lib/runner/bin.cjs --site <dir> --output-path <out>`;
 *    ours: `buildSite(dir, new LocalDirStore(bucket))` (this file with --build-ours).
 *    Index size on disk: Pagefind's output with and without its UI files (pagefind-ui*,
 *    -modular-ui*, -component-ui*, -highlight*), and its index files alone; ours: the
 *    bucket directory and the SQLite file.
 *  - serving: one nginx root (pagefind/, bucket/, app/) with gzip for JS, CSS, JSON and
 *    wasm (what a static host does; the bucket's octet-stream objects and Pagefind's
 *    already-gzipped .pf_* and wasm files go out as they are), behind bench/link-proxy.ts
 *    at 50 ms per request and 20 Mbit/s, HTTP/1.1. Every request, byte and round trip is
 *    counted by the proxy (bytes = body bytes on the wire, compressed when gzipped), never
 *    by the page. Bytes are split by URL into code (.js, .mjs, .css, .wasm, Pagefind's
 *    wasm.*.pagefind) and index (everything else but the HTML page).
 *  - pages: Pagefind's is a plain HTML page that imports /pagefind/pagefind.js; ours is
 *    built by Vite (as a site with a bundler would ship it) and dynamically imports
 *    dist/worker/search.js (bucketlite/search), or, while that file does not exist, a
 *    stand-in made of bucketlite/browser's openDatabase and runSearch (reported).
 *  - cold runs, a new browser context each, two modes:
 *     preload: the engine is loaded when the page loads (Pagefind: import, options, init;
 *       ours: preload(bucketUrl)); then the first search is timed alone;
 *     lazy: nothing is loaded before the first search; the search call imports the engine.
 *    A search = Pagefind's search() plus data() of its top 5 results (the excerpts);
 *    ours: search(url, words, {limit: 5}). Time: performance.now() in the page from the
 *    call to all 5 results with excerpts.
 *  - typing (book): after a preload, each prefix of a word ("o", "ow", …) searched in turn,
 *    each awaited; per keystroke and for the whole word: requests, index bytes, time.
 *  - quality (book): every query of bench/site-queries.json in one browser context per
 *    engine; top-3 hit rate against the labels (URLs normalised to site-absolute paths,
 *    without #anchor). Our browser results are compared with runSearch in Node
 *    (openDatabase on the same bucket directory): mismatches are reported.
 *  - one-page edit (book): a copy of the site, both indexes built, one sentence added to
 *    ch04-01, both rebuilt; objects and bytes written, from a diff of each output
 *    directory (new or changed files) and, for ours, from the upload's own result too.
 * Prints markdown tables; writes .bench-data/site-search-<corpus>.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { countRoundTrips, startLinkProxy } from './link-proxy.js';
import type { LinkProxy, RequestRecord } from './link-proxy.js';
import { DATA, siteCorpus } from './site-corpus.js';
import { startNginx, CHROMIUM, CHROMIUM_ARGS } from '../test/servers.js';
import type { CorpusName } from './site-corpus.js';

/** The repository (set by the snapshot re-exec below; otherwise dist/bench/../..). */
const ROOT = process.env.SITE_BENCH_ROOT ?? path.resolve(import.meta.dirname, '..', '..');
/** The compiled tree this process runs from: the repository's dist/, or a snapshot of it. */
const DIST = path.resolve(import.meta.dirname, '..');
const PAGEFIND_BIN = path.join(ROOT, 'node_modules', 'pagefind', 'lib', 'runner', 'bin.cjs');
const LINK = { latencyMs: 50, mbps: 20 };
const TOP = 5;
const RUN_TIMEOUT_MS = 120_000;

const FIRST_QUERIES: Record<CorpusName, string[]> = {
  book: ['ownership', 'HashMap', 'borrow checker', 'lifetimes', 'closures'],
  rustdoc: ['vec', 'hashmap', 'iterator', 'from_str', 'thread spawn'],
};
const TYPED_WORDS = ['ownership', 'hashmap', 'borrow checker'];
const EDIT_PAGE = 'ch04-01-what-is-ownership.html';
const EDIT_SENTENCE = '<p>The site-search bench added this sentence to measure a one-page edit.</p>';

type Engine = 'pagefind' | 'bucketlite';
const ENGINES: Engine[] = ['pagefind', 'bucketlite'];
type Mode = 'preload' | 'lazy';

// ---- small helpers -------------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const kib = (b: number) => (Number.isFinite(b) ? (b / 1024).toFixed(1) : '–');
const mib = (b: number) => (b / 1024 / 1024).toFixed(2);
const n0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');

/** Site-absolute path of a result URL: no origin, no query or #anchor, index.html as its directory. */
export function normUrl(u: string): string {
  let p = u;
  try { p = new URL(u, 'http://x/').pathname; } catch { /* keep as is */ }
  try { p = decodeURI(p); } catch { /* keep as is */ }
  return p.replace(/\/index\.html?$/i, '/');
}

function isCode(p: string): boolean {
  const u = p.split('?')[0];
  return /\.(m?js|css|wasm)$/i.test(u) || /\/wasm\.[^/]*\.pagefind$/.test(u);
}
const isPage = (p: string) => /\.html?(\?|$)/i.test(p) || p.endsWith('/app/');

interface Window { requests: number; bytes: number; roundTrips: number; codeBytes: number; codeRequests: number; indexBytes: number; indexRequests: number; paths: string[] }
function windowOf(records: RequestRecord[]): Window {
  const code = records.filter((r) => isCode(r.path));
  const index = records.filter((r) => !isCode(r.path) && !isPage(r.path));
  const sum = (rs: RequestRecord[]) => rs.reduce((n, r) => n + r.bytes, 0);
  return {
    requests: records.length, bytes: sum(records), roundTrips: countRoundTrips(records),
    codeBytes: sum(code), codeRequests: code.length, indexBytes: sum(index), indexRequests: index.length,
    paths: records.map((r) => `${r.path}${r.range ? ` ${r.range}` : ''} ${r.bytes}`),
  };
}

function dirFiles(dir: string): Map<string, { size: number; hash: string }> {
  const out = new Map<string, { size: number; hash: string }>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const f = path.join(e.parentPath, e.name);
    const buf = readFileSync(f);
    out.set(path.relative(dir, f), { size: buf.length, hash: createHash('sha256').update(buf).digest('hex') });
  }
  return out;
}
const dirBytes = (dir: string, keep: (rel: string) => boolean = () => true) => {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const f = path.join(e.parentPath, e.name);
    if (keep(path.relative(dir, f))) n += statSync(f).size;
  }
  return n;
};
const countFiles = (dir: string, keep: (rel: string) => boolean = () => true) =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && keep(path.relative(dir, path.join(e.parentPath, e.name)))).length;

/** New or changed files of `after` against `before` (written by a rebuild), and files gone. */
function diffDirs(before: Map<string, { size: number; hash: string }>, after: Map<string, { size: number; hash: string }>) {
  const written = [...after].filter(([k, v]) => before.get(k)?.hash !== v.hash);
  return {
    objects: written.length, bytes: written.reduce((n, [, v]) => n + v.size, 0),
    added: written.filter(([k]) => !before.has(k)).length,
    changed: written.filter(([k]) => before.has(k)).length,
    removed: [...before.keys()].filter((k) => !after.has(k)).length,
    files: written.map(([k, v]) => `${k} ${v.size}`),
  };
}

const PF_UI = /^pagefind-(ui|modular-ui|component-ui|highlight)\./;
const PF_INDEX = /(\.pf_(meta|index|fragment|filter)$|pagefind-entry\.json$)/;

// ---- building ------------------------------------------------------------------------------------

interface BuildStats { seconds: number; peakRssMiB: number | null; detail: Record<string, unknown> }

/** Runs a command under /usr/bin/time -f %M (peak RSS, KiB) when it exists; wall time around it. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; peakRssMiB: number | null; stdout: string } {
  const hasTime = existsSync('/usr/bin/time');
  const rssFile = path.join(mkdtempSync(path.join(tmpdir(), 'bl-sitebench-')), 'rss');
  const t0 = performance.now();
  const r = hasTime
    ? spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, cmd, ...args], { encoding: 'utf8', env, maxBuffer: 64 << 20 })
    : spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  const rss = hasTime && existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
  rmSync(path.dirname(rssFile), { recursive: true, force: true });
  return { seconds, peakRssMiB: Number.isFinite(rss) ? rss / 1024 : null, stdout: r.stdout };
}

function buildPagefind(site: string, out: string): BuildStats {
  const r = timed(process.execPath, [PAGEFIND_BIN, '--site', site, '--output-path', out]);
  const pages = /Indexed (\d+) pages/.exec(r.stdout)?.[1];
  const words = /Indexed (\d+) words/.exec(r.stdout)?.[1];
  const own = /Finished in ([\d.]+) seconds/.exec(r.stdout)?.[1];
  return { seconds: r.seconds, peakRssMiB: r.peakRssMiB, detail: { pages: Number(pages), words: Number(words), reportedSeconds: Number(own) } };
}

function buildOurs(site: string, bucket: string): BuildStats {
  const r = timed(process.execPath, [path.join(DIST, 'bench', 'site-search.js'), '--build-ours', site, bucket]);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  return { seconds: r.seconds, peakRssMiB: r.peakRssMiB, detail: res };
}

/** --build-ours <site> <bucket>: one buildSite in this process; prints its result as JSON. */
async function buildOursChild(site: string, bucket: string): Promise<void> {
  const { buildSite } = await import('../src/site/build.js');
  const { LocalDirStore } = await import('../src/storage/local.js');
  const r = await buildSite(site, new LocalDirStore(bucket));
  const { keysWritten, ...up } = r.upload;
  console.log(JSON.stringify({ ...r, upload: { ...up, keysWritten: keysWritten.length, keys: keysWritten } }));
}

function indexSizes(pfOut: string, bucket: string, dbBytes: number) {
  return {
    pagefind: {
      totalBytes: dirBytes(pfOut), files: countFiles(pfOut),
      withoutUiBytes: dirBytes(pfOut, (f) => !PF_UI.test(f)), withoutUiFiles: countFiles(pfOut, (f) => !PF_UI.test(f)),
      indexBytes: dirBytes(pfOut, (f) => PF_INDEX.test(f)), indexFiles: countFiles(pfOut, (f) => PF_INDEX.test(f)),
    },
    bucketlite: { bucketBytes: dirBytes(bucket), bucketFiles: countFiles(bucket), dbBytes },
  };
}

// ---- serving ---------------------------------------------------------------------------------------

const PF_PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,"><title>pagefind</title>
<script type="module">
let pf;
const load = async () => {
  pf = await import('/pagefind/pagefind.js');
  await pf.options({ basePath: '/pagefind/', baseUrl: '/' });
  await pf.init();
};
window.benchLoad = async () => { const t0 = performance.now(); await load(); return performance.now() - t0; };
window.benchSearch = async (q, n) => {
  const t0 = performance.now();
  if (!pf) await load();
  const r = await pf.search(q);
  const results = r ? await Promise.all(r.results.slice(0, n).map((x) => x.data())) : [];
  const ms = performance.now() - t0;
  return { ms, total: r ? r.results.length : 0, results: results.map((d) => ({ url: d.url, title: d.meta && d.meta.title, excerpt: d.excerpt })) };
};
window.benchReady = true;
</script>`;

const BL_PAGE_JS = (lib: string) => `
const url = new URL('/bucket/', location.href).href;
let mod;
const load = () => import(${JSON.stringify(lib)});
window.benchLoad = async () => { const t0 = performance.now(); mod = await load(); await mod.preload(url); return performance.now() - t0; };
window.benchSearch = async (q, n) => {
  const t0 = performance.now();
  if (!mod) mod = await load();
  const results = await mod.search(url, q, { limit: n });
  const ms = performance.now() - t0;
  return { ms, total: results.length, results };
};
window.benchReady = true;
`;

/** While dist/worker/search.js does not exist: bucketlite/browser's openDatabase and the shared runSearch. */
const SHIM_JS = (client: string, query: string) => `
import { openDatabase } from ${JSON.stringify(client)};
import { runSearch } from ${JSON.stringify(query)};
const dbs = new Map();
export function preload(url) {
  if (!dbs.has(url)) dbs.set(url, openDatabase(url));
  return dbs.get(url);
}
export async function search(url, words, opts = {}) {
  const db = await preload(url);
  return runSearch((sql, params) => db.query(sql, params, { signal: opts.signal }), words, { limit: opts.limit });
}
`;

async function buildPages(work: string, root: string): Promise<{ lib: string }> {
  const src = path.join(work, 'app-src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  const distSearch = path.join(DIST, 'worker', 'search.js');
  const rel = (f: string) => './' + path.relative(src, f).split(path.sep).join('/');
  let lib: string;
  if (existsSync(distSearch)) {
    lib = 'dist/worker/search.js (bucketlite/search)';
    writeFileSync(path.join(src, 'bl.js'), BL_PAGE_JS(rel(distSearch)));
  } else {
    lib = 'stand-in: bucketlite/browser openDatabase + runSearch (dist/worker/search.js not built yet)';
    writeFileSync(path.join(src, 'shim.js'), SHIM_JS(rel(path.join(DIST, 'worker', 'client.js')), rel(path.join(DIST, 'src', 'site', 'query.js'))));
    writeFileSync(path.join(src, 'bl.js'), BL_PAGE_JS('./shim.js'));
  }
  writeFileSync(path.join(src, 'bl.html'), '<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,"><title>bucketlite</title><script type="module" src="./bl.js"></script>');
  await build({
    root: src, base: '/app/', logLevel: 'warn', configFile: false,
    build: { outDir: path.join(root, 'app'), emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0,
      rollupOptions: { input: { bl: path.join(src, 'bl.html') } } },
    worker: { format: 'es' },
  });
  writeFileSync(path.join(root, 'app', 'pf.html'), PF_PAGE);
  return { lib };
}

// ---- browser runs ------------------------------------------------------------------------------------

interface SearchAnswer { ms: number; total: number; results: { url: string; title?: string; excerpt?: string; score?: number; sub?: unknown[] }[] }
type BenchWindow = { benchLoad(): Promise<number>; benchSearch(q: string, n: number): Promise<SearchAnswer>; benchReady?: boolean };

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms); })])
    .finally(() => clearTimeout(timer));
}

/** Waits until nothing is in flight and no request arrived for `quietMs`; returns the log length. */
async function settle(proxy: LinkProxy, quietMs = 300): Promise<number> {
  let last = -1;
  let since = performance.now();
  for (let i = 0; i < 200; i++) {
    const d = proxy.summary().detail;
    const busy = d.some((r) => r.lastByte === Infinity);
    if (d.length !== last || busy) { last = d.length; since = performance.now(); }
    else if (performance.now() - since >= quietMs) return d.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  return proxy.summary().detail.length;
}

const slice = (proxy: LinkProxy, from: number, to?: number) => proxy.summary().detail.slice(from, to);

async function openPage(browser: Browser, proxy: LinkProxy, engine: Engine): Promise<{ page: Page; close(): Promise<void> }> {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(`page error (${engine}): ${e.message}`));
  await page.goto(`${proxy.url}app/${engine === 'pagefind' ? 'pf' : 'bl'}.html`);
  await page.waitForFunction(() => (window as unknown as BenchWindow).benchReady === true, null, { timeout: 30_000 });
  return { page, close: () => ctx.close() };
}

const benchLoad = (page: Page) => withTimeout(page.evaluate(() => (window as unknown as BenchWindow).benchLoad()), RUN_TIMEOUT_MS, 'load');
const benchSearch = (page: Page, q: string, n = TOP) =>
  withTimeout(page.evaluate(([q2, n2]) => (window as unknown as BenchWindow).benchSearch(q2 as string, n2 as number), [q, n] as const), RUN_TIMEOUT_MS, `search ${q}`);

interface ColdRun { ok: boolean; error?: string; pageLoad: Window; load?: Window & { ms: number }; search: Window & { ms: number }; urls: string[] }

async function coldRun(browser: Browser, proxy: LinkProxy, engine: Engine, mode: Mode, q: string): Promise<ColdRun> {
  proxy.reset();
  const { page, close } = await openPage(browser, proxy, engine);
  try {
    const a = await settle(proxy);
    const pageLoad = windowOf(slice(proxy, 0, a));
    let load: ColdRun['load'];
    let from = a;
    if (mode === 'preload') {
      const ms = await benchLoad(page);
      const b = await settle(proxy);
      load = { ms, ...windowOf(slice(proxy, a, b)) };
      from = b;
    }
    const r = await benchSearch(page, q);
    const c = await settle(proxy);
    return { ok: true, pageLoad, load, search: { ms: r.ms, ...windowOf(slice(proxy, from, c)) }, urls: r.results.map((x) => normUrl(x.url)) };
  } catch (err) {
    const empty = windowOf([]);
    return { ok: false, error: String((err as Error)?.message ?? err), pageLoad: empty, search: { ms: NaN, ...empty }, urls: [] };
  } finally {
    await close();
  }
}

interface Keystroke { q: string; ms: number; requests: number; indexBytes: number; codeBytes: number; bytes: number; roundTrips: number; results: number }
async function typingRun(browser: Browser, proxy: LinkProxy, engine: Engine, word: string): Promise<{ ok: boolean; error?: string; keys: Keystroke[] }> {
  proxy.reset();
  const { page, close } = await openPage(browser, proxy, engine);
  const keys: Keystroke[] = [];
  try {
    await settle(proxy);
    await benchLoad(page);
    let from = await settle(proxy);
    for (let i = 1; i <= word.length; i++) {
      const q = word.slice(0, i);
      const r = await benchSearch(page, q);
      const to = await settle(proxy, 150);
      const w = windowOf(slice(proxy, from, to));
      from = to;
      keys.push({ q, ms: r.ms, requests: w.requests, indexBytes: w.indexBytes, codeBytes: w.codeBytes, bytes: w.bytes, roundTrips: w.roundTrips, results: r.results.length });
    }
    return { ok: true, keys };
  } catch (err) {
    return { ok: false, error: String((err as Error)?.message ?? err), keys };
  } finally {
    await close();
  }
}

interface QueryFile { queries: { q: string; kind: string; right: string[] }[] }

async function qualityRun(browser: Browser, proxy: LinkProxy, engine: Engine, queries: string[]): Promise<Map<string, SearchAnswer['results']>> {
  const { page, close } = await openPage(browser, proxy, engine);
  const out = new Map<string, SearchAnswer['results']>();
  try {
    await benchLoad(page);
    for (const q of queries) out.set(q, (await benchSearch(page, q)).results);
  } finally {
    await close();
  }
  return out;
}

/** Our ranking in Node (runSearch over openDatabase on the bucket directory), for the same queries. */
async function nodeRanking(bucket: string, queries: string[]): Promise<Map<string, unknown[]>> {
  const { openDatabase } = await import('../src/node/open.js');
  const { runSearch } = await import('../src/site/query.js');
  const db = await openDatabase(bucket);
  const out = new Map<string, unknown[]>();
  try {
    for (const q of queries) out.set(q, await runSearch((sql, params) => db.query(sql, params) as Promise<Record<string, unknown>[]>, q, { limit: TOP }));
  } finally {
    await db.close();
  }
  return out;
}

// ---- one-page edit -----------------------------------------------------------------------------------

async function editBench(site: string, work: string) {
  const dir = path.join(work, 'edit');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const copy = path.join(dir, 'site');
  cpSync(site, copy, { recursive: true, dereference: false });
  const pfOut = path.join(dir, 'pagefind');
  const bucket = path.join(dir, 'bucket');
  buildPagefind(copy, pfOut);
  buildOurs(copy, bucket);
  const pfBefore = dirFiles(pfOut);
  const blBefore = dirFiles(bucket);
  const file = path.join(copy, EDIT_PAGE);
  const html = readFileSync(file, 'utf8');
  // After the first heading inside <main> (mdBook's page title is an h2 there).
  const m = /<\/h[1-6]>/.exec(html.slice(html.indexOf('<main')));
  if (!m || html.indexOf('<main') < 0) throw new Error(`edit: no heading inside <main> in ${file}`);
  const at = html.indexOf('<main') + m.index + m[0].length;
  writeFileSync(file, html.slice(0, at) + '\n' + EDIT_SENTENCE + html.slice(at));
  const pfBuild = buildPagefind(copy, pfOut);
  const blBuild = buildOurs(copy, bucket);
  const up = (blBuild.detail.upload ?? {}) as Record<string, unknown>;
  return {
    page: EDIT_PAGE, sentence: EDIT_SENTENCE,
    pagefind: { ...diffDirs(pfBefore, dirFiles(pfOut)), seconds: pfBuild.seconds },
    bucketlite: {
      ...diffDirs(blBefore, dirFiles(bucket)), seconds: blBuild.seconds,
      upload: { objectsWritten: up.objectsWritten, bytesWritten: up.bytesWritten, keys: up.keys, blocksNew: up.blocksNew, incremental: up.incremental },
      site: { added: blBuild.detail.added, changed: blBuild.detail.changed, removed: blBuild.detail.removed, fresh: blBuild.detail.fresh },
    },
  };
}

// ---- the whole bench -----------------------------------------------------------------------------------

function args() {
  const a = process.argv.slice(2);
  const get = (name: string) => { const i = a.indexOf(name); return i >= 0 ? a[i + 1] : undefined; };
  const corpus = (get('--corpus') ?? 'book') as CorpusName;
  if (corpus !== 'book' && corpus !== 'rustdoc') throw new Error(`--corpus book|rustdoc, not ${corpus}`);
  const runs = Number(get('--runs') ?? 5);
  if (!(runs >= 1)) throw new Error('--runs N (N >= 1)');
  const buildRuns = Number(get('--build-runs') ?? (corpus === 'book' ? runs : 1));
  if (!(buildRuns >= 1)) throw new Error('--build-runs N (N >= 1)');
  // --only first: only the first searches with the engine preloaded; --only typing: only
  // the typing runs. No lazy mode, quality or edit: a quick look while working on one.
  const only = get('--only');
  if (only !== undefined && only !== 'first' && only !== 'typing') throw new Error(`--only first|typing, not ${only}`);
  return { corpus, runs, buildRuns, reuse: a.includes('--reuse'), only };
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'worker', 'cli'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head} (+ uncommitted changes in src/worker/cli)` : head;
  } catch { return 'unknown'; }
}

type Summary = { ms: number; requests: number; roundTrips: number; kib: number; indexKib: number; codeKib: number };
const summarize = (ws: (Window & { ms: number })[]): Summary => ({
  ms: median(ws.map((w) => w.ms)), requests: median(ws.map((w) => w.requests)), roundTrips: median(ws.map((w) => w.roundTrips)),
  kib: median(ws.map((w) => w.bytes)) / 1024, indexKib: median(ws.map((w) => w.indexBytes)) / 1024, codeKib: median(ws.map((w) => w.codeBytes)) / 1024,
});

async function main(): Promise<void> {
  const started = Date.now();
  const { corpus, runs, buildRuns, reuse, only } = args();
  const c = siteCorpus(corpus);
  const work = path.join(DATA, 'site-search', corpus);
  const root = path.join(work, 'root');
  const pfOut = path.join(root, 'pagefind');
  const bucket = path.join(root, 'bucket');
  mkdirSync(root, { recursive: true });
  const load = (await import('node:os')).loadavg();
  const commit = gitCommit();
  console.error(`site-search bench: corpus ${corpus} (${c.dir}), ${runs} run(s), commit ${commit}, load ${load.map((x) => x.toFixed(2)).join(' ')}`);

  // Build both indexes from the same directory.
  let builds: Record<Engine, BuildStats> | null = null;
  if (!reuse || !existsSync(path.join(pfOut, 'pagefind.js')) || !existsSync(path.join(bucket, 'HEAD'))) {
    rmSync(pfOut, { recursive: true, force: true });
    rmSync(bucket, { recursive: true, force: true });
    // The first build of each is the one served; further builds (alternating, into scratch
    // directories) only give the median wall time and peak RSS.
    const pfRuns: BuildStats[] = [];
    const blRuns: BuildStats[] = [];
    for (let i = 0; i < buildRuns; i++) {
      const scratch = path.join(work, 'build-scratch');
      rmSync(scratch, { recursive: true, force: true });
      pfRuns.push(buildPagefind(c.dir, i === 0 ? pfOut : path.join(scratch, 'pagefind')));
      blRuns.push(buildOurs(c.dir, i === 0 ? bucket : path.join(scratch, 'bucket')));
      rmSync(scratch, { recursive: true, force: true });
      console.error(`build ${i + 1}/${buildRuns}: pagefind ${pfRuns[i].seconds.toFixed(2)} s, bucketlite ${blRuns[i].seconds.toFixed(2)} s`);
    }
    const med = (rs: BuildStats[]): BuildStats => ({
      seconds: median(rs.map((r) => r.seconds)), peakRssMiB: median(rs.map((r) => r.peakRssMiB ?? NaN)),
      detail: { ...rs[0].detail, runs: rs.map((r) => ({ seconds: r.seconds, peakRssMiB: r.peakRssMiB })) },
    });
    builds = { pagefind: med(pfRuns), bucketlite: med(blRuns) };
    writeFileSync(path.join(work, 'build.json'), JSON.stringify(builds));
  } else if (existsSync(path.join(work, 'build.json'))) {
    builds = JSON.parse(readFileSync(path.join(work, 'build.json'), 'utf8')) as Record<Engine, BuildStats>;
  }
  const dbBytes = Number(builds?.bucketlite.detail.dbBytes ?? NaN);
  const sizes = indexSizes(pfOut, bucket, dbBytes);

  const { lib } = await buildPages(work, root);
  const nginx = await startNginx(root, { gzip: true });
  const proxy = await startLinkProxy(nginx.url, LINK);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const firstQueries = FIRST_QUERIES[corpus];
  const cold: Record<string, ColdRun[]> = {};
  const typing: Record<string, { ok: boolean; error?: string; keys: Keystroke[] }[]> = {};
  let quality: unknown = null;
  let failures = 0;
  try {
    // Cold first searches: engines and modes alternate run by run, so a slow moment hits all.
    for (let i = 0; i < (only === 'typing' ? 0 : runs); i++) {
      for (const q of firstQueries) {
        for (const mode of (only ? ['preload'] : ['preload', 'lazy']) as Mode[]) {
          for (const engine of ENGINES) {
            const r = await coldRun(browser, proxy, engine, mode, q);
            if (!r.ok) { failures++; console.error(`!!! ${engine} ${mode} ${q}: ${r.error}`); }
            (cold[`${engine}|${mode}|${q}`] ??= []).push(r);
          }
        }
      }
      console.error(`cold run ${i + 1}/${runs} done (${((Date.now() - started) / 60_000).toFixed(1)} min)`);
    }
    if (corpus === 'book' && only !== 'first') {
      for (let i = 0; i < runs; i++) {
        for (const word of TYPED_WORDS) {
          for (const engine of ENGINES) {
            const r = await typingRun(browser, proxy, engine, word);
            if (!r.ok) { failures++; console.error(`!!! typing ${engine} ${word}: ${r.error}`); }
            (typing[`${engine}|${word}`] ??= []).push(r);
          }
        }
      }
      console.error(`typing done (${((Date.now() - started) / 60_000).toFixed(1)} min)`);
    }
    // Quality on the labelled set (book); for rustdoc only the Node/browser agreement on the first queries.
    const labelled = corpus === 'book' && !only ? (JSON.parse(readFileSync(path.join(ROOT, 'bench', 'site-queries.json'), 'utf8')) as QueryFile).queries : [];
    const qs = corpus === 'book' && !only ? labelled.map((q) => q.q) : only === 'typing' ? [] : firstQueries;
    const pf = await qualityRun(browser, proxy, 'pagefind', qs);
    const bl = await qualityRun(browser, proxy, 'bucketlite', qs);
    const node = await nodeRanking(bucket, qs);
    const mismatches: { q: string; browser: string[]; node: string[]; sameUrls: boolean }[] = [];
    for (const q of qs) {
      const b = bl.get(q) ?? [];
      const n = (node.get(q) ?? []) as SearchAnswer['results'];
      if (JSON.stringify(b) !== JSON.stringify(n)) {
        mismatches.push({ q, browser: b.map((x) => x.url), node: n.map((x) => x.url), sameUrls: JSON.stringify(b.map((x) => x.url)) === JSON.stringify(n.map((x) => x.url)) });
      }
    }
    const perQuery = labelled.map((l) => {
      const right = new Set(l.right);
      const rank = (rs: SearchAnswer['results']) => { const i = rs.map((x) => normUrl(x.url)).findIndex((u) => right.has(u)); return i < 0 ? null : i + 1; };
      return {
        q: l.q, kind: l.kind, right: l.right,
        pagefind: { rank: rank(pf.get(l.q) ?? []), top: (pf.get(l.q) ?? []).map((x) => normUrl(x.url)) },
        bucketlite: { rank: rank(bl.get(l.q) ?? []), top: (bl.get(l.q) ?? []).map((x) => normUrl(x.url)) },
      };
    });
    const hit = (e: Engine) => perQuery.filter((p) => p[e].rank !== null && p[e].rank! <= 3).length;
    const hit1 = (e: Engine) => perQuery.filter((p) => p[e].rank === 1).length;
    quality = {
      queries: perQuery.length,
      top3: { pagefind: hit('pagefind'), bucketlite: hit('bucketlite') },
      top1: { pagefind: hit1('pagefind'), bucketlite: hit1('bucketlite') },
      byKind: Object.fromEntries([...new Set(perQuery.map((p) => p.kind))].map((k) => {
        const ps = perQuery.filter((p) => p.kind === k);
        return [k, { n: ps.length, pagefind: ps.filter((p) => p.pagefind.rank !== null && p.pagefind.rank <= 3).length, bucketlite: ps.filter((p) => p.bucketlite.rank !== null && p.bucketlite.rank <= 3).length }];
      })),
      nodeBrowser: { compared: qs.length, mismatches },
      perQuery,
      firstQueriesTop: corpus === 'rustdoc' ? Object.fromEntries(qs.map((q) => [q, { pagefind: (pf.get(q) ?? []).map((x) => normUrl(x.url)), bucketlite: (bl.get(q) ?? []).map((x) => normUrl(x.url)) }])) : undefined,
    };
  } finally {
    await browser.close();
    await proxy.close();
    await nginx.stop();
  }
  let edit: unknown = null;
  if (corpus === 'book' && !only) {
    try { edit = await editBench(c.dir, work); } catch (err) { failures++; edit = { error: String((err as Error)?.message ?? err) }; console.error(`!!! edit: ${(err as Error).message}`); }
  }

  const result = {
    corpus, site: c.dir, source: c.source, runs, commit, distSnapshot: process.env.SITE_BENCH_SNAPSHOT, date: new Date().toISOString(), loadavgAtStart: load,
    link: LINK, searchLib: lib, builds, sizes, edit, quality, failures,
    cold: Object.fromEntries(Object.entries(cold).map(([k, rs]) => [k, {
      pageLoad: summarize(rs.map((r) => ({ ms: NaN, ...r.pageLoad }))),
      load: rs[0]?.load ? summarize(rs.map((r) => r.load!)) : null,
      search: summarize(rs.map((r) => r.search)),
      urls: rs[0]?.urls, runs: rs,
    }])),
    typing: Object.fromEntries(Object.entries(typing).map(([k, rs]) => [k, {
      perKey: rs[0]?.keys.map((key, j) => ({
        q: key.q, ms: median(rs.map((r) => r.keys[j]?.ms)), requests: median(rs.map((r) => r.keys[j]?.requests)),
        indexBytes: median(rs.map((r) => r.keys[j]?.indexBytes)), codeBytes: median(rs.map((r) => r.keys[j]?.codeBytes)),
        roundTrips: median(rs.map((r) => r.keys[j]?.roundTrips)), results: rs[0].keys[j].results,
      })),
      total: {
        ms: median(rs.map((r) => r.keys.reduce((n, x) => n + x.ms, 0))), requests: median(rs.map((r) => r.keys.reduce((n, x) => n + x.requests, 0))),
        indexBytes: median(rs.map((r) => r.keys.reduce((n, x) => n + x.indexBytes, 0))), codeBytes: median(rs.map((r) => r.keys.reduce((n, x) => n + x.codeBytes, 0))),
      },
      runs: rs,
    }])),
    seconds: (Date.now() - started) / 1000,
  };
  writeFileSync(path.join(DATA, `site-search-${corpus}.json`), JSON.stringify(result, null, 1));
  console.log(report(result));
  if (failures) { console.log(`\n!!! ${failures} run(s) failed: see stderr.`); process.exitCode = 1; }
}

// ---- the report ------------------------------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function report(r: any): string {
  const L: string[] = [];
  const s = r.sizes;
  L.push(`### Site search: ${r.corpus} (commit ${r.commit}, ${r.runs} cold run(s) per cell, medians; ${r.date.slice(0, 16)}Z, load average at start ${r.loadavgAtStart.map((x: number) => x.toFixed(2)).join(' ')})`);
  L.push('', `Compiled tree: dist/ as copied at ${r.distSnapshot}. Site: ${r.site} (${r.source}). Link: ${r.link.latencyMs} ms per request, ${r.link.mbps} Mbit/s, HTTP/1.1; counted at the link proxy. Our search library: ${r.searchLib}.`, '');
  L.push('| | Pagefind 1.6.0 | bucketlite |', '|---|---|---|');
  if (r.builds) {
    const b = r.builds;
    L.push(`| build, wall s (median of ${b.pagefind.detail.runs?.length ?? 1}) | ${b.pagefind.seconds.toFixed(2)} | ${b.bucketlite.seconds.toFixed(2)} |`);
    L.push(`| build, peak RSS MiB | ${n0(b.pagefind.peakRssMiB ?? NaN)} | ${n0(b.bucketlite.peakRssMiB ?? NaN)} |`);
    L.push(`| pages indexed | ${b.pagefind.detail.pages} | ${b.bucketlite.detail.pages} (${b.bucketlite.detail.skipped} skipped: noindex, redirect stubs) |`);
  }
  L.push(`| index on disk | ${mib(s.pagefind.indexBytes)} MiB in ${s.pagefind.indexFiles} files (index files); ${mib(s.pagefind.withoutUiBytes)} MiB / ${s.pagefind.withoutUiFiles} files with engine JS+wasm; ${mib(s.pagefind.totalBytes)} MiB / ${s.pagefind.files} files with the UI files | ${mib(s.bucketlite.bucketBytes)} MiB in ${s.bucketlite.bucketFiles} files (SQLite file ${mib(s.bucketlite.dbBytes)} MiB) |`);
  if (r.edit && !r.edit.error) {
    const e = r.edit;
    L.push(`| one-page edit (${e.page}): objects / KiB written | ${e.pagefind.objects} / ${kib(e.pagefind.bytes)} (${e.pagefind.added} new, ${e.pagefind.changed} rewritten, ${e.pagefind.removed} removed) | ${e.bucketlite.objects} / ${kib(e.bucketlite.bytes)} (upload says ${e.bucketlite.upload.objectsWritten} / ${kib(e.bucketlite.upload.bytesWritten)}; incremental ${e.bucketlite.upload.incremental}) |`);
  }
  if (r.quality?.queries) {
    const q = r.quality;
    L.push(`| quality: right page in top 3 (of ${q.queries}) | ${q.top3.pagefind} (${(100 * q.top3.pagefind / q.queries).toFixed(0)} %) | ${q.top3.bucketlite} (${(100 * q.top3.bucketlite / q.queries).toFixed(0)} %) |`);
    L.push(`| quality: right page first | ${q.top1.pagefind} | ${q.top1.bucketlite} |`);
  }
  if (r.quality) L.push(`| bucketlite browser vs Node (runSearch) | | ${r.quality.nodeBrowser.mismatches.length} mismatches in ${r.quality.nodeBrowser.compared} queries |`);
  L.push('');
  const queries = [...new Set(Object.keys(r.cold).map((k) => k.split('|')[2]))];
  for (const mode of ['preload', 'lazy']) {
    L.push(mode === 'preload'
      ? '**Engine loaded at page load, then the first search** (search = Pagefind search() + data() of the top 5; ours search(url, words, {limit: 5})). Load columns: what loading the engine cost before any search.'
      : '**Nothing loaded before the first search** (the search call imports and starts the engine): everything is in the search columns.');
    L.push('', '| query | engine | load: req / KiB code / KiB index / ms | search: ms | requests | round trips | index KiB | code KiB | total KiB | results |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const q of queries) {
      for (const e of ENGINES) {
        const c = r.cold[`${e}|${mode}|${q}`];
        if (!c) continue;
        const ld = c.load ? `${n0(c.load.requests)} / ${c.load.codeKib.toFixed(1)} / ${c.load.indexKib.toFixed(1)} / ${n0(c.load.ms)}` : '–';
        L.push(`| ${q} | ${e} | ${ld} | ${n0(c.search.ms)} | ${n0(c.search.requests)} | ${n0(c.search.roundTrips)} | ${c.search.indexKib.toFixed(1)} | ${c.search.codeKib.toFixed(1)} | ${c.search.kib.toFixed(1)} | ${c.urls?.length ?? '–'} |`);
      }
    }
    L.push('');
  }
  if (Object.keys(r.typing).length) {
    L.push('**Typing** (after the engine loaded at page load; each prefix searched in turn, awaited): per keystroke requests / index KiB / ms, then the word\'s total.', '');
    for (const [k, t] of Object.entries(r.typing) as [string, any][]) {
      const [e, word] = k.split('|');
      const keys = (t.perKey ?? []).map((x: any) => `${JSON.stringify(x.q)} ${n0(x.requests)}/${kib(x.indexBytes)}/${n0(x.ms)}`).join(', ');
      L.push(`- ${word}, ${e}: total ${n0(t.total.requests)} requests, ${kib(t.total.indexBytes)} KiB index, ${kib(t.total.codeBytes)} KiB code, ${n0(t.total.ms)} ms. Keys: ${keys}`);
    }
    L.push('');
  }
  return L.join('\n');
}

/**
 * Other engineers rebuild dist/ while a run takes minutes: a run first copies the compiled
 * tree (dist/src, dist/worker, dist/bench, dist/test) to .bench-data/site-search/dist-snapshot
 * and runs from there, so the page, the builds and the Node ranking all use one version.
 */
function snapshotAndRun(): void {
  const snap = path.join(DATA, 'site-search', 'dist-snapshot');
  rmSync(snap, { recursive: true, force: true });
  for (const d of ['src', 'worker', 'bench', 'test']) cpSync(path.join(DIST, d), path.join(snap, 'dist', d), { recursive: true });
  const r = spawnSync(process.execPath, [path.join(snap, 'dist', 'bench', 'site-search.js'), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, SITE_BENCH_ROOT: ROOT, SITE_BENCH_SNAPSHOT: new Date().toISOString() },
  });
  process.exitCode = r.status ?? 1;
}

if (process.argv[2] === '--build-ours') await buildOursChild(process.argv[3], process.argv[4]);
else if (!process.env.SITE_BENCH_SNAPSHOT) snapshotAndRun();
else await main();
