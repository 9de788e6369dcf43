/**
 * Browser benchmark: bucketlite against sql.js-httpvfs 0.8.12 in the same Chromium, on
 * three databases (WordNet + FTS5, a generated 1 GiB+ events table, the machine's man
 * pages + FTS5; see corpora.ts), cold, behind a simulated link:
 *  - every number of requests, body bytes and round trips is counted at the server by
 *    link-proxy.ts (reset before each measured run), never by a reader's own counters;
 *  - two links: 50 ms per request with no bandwidth limit, and 50 ms + 20 Mbit/s shared;
 *    Chromium keeps its HTTP/1.1 limit of 6 connections per host;
 *  - time: performance.now() on the page around open + the first query, for both
 *    readers. Each reader's worker and wasm are started before the clock (bucketlite: a
 *    worker that answered 'ready', i.e. its SQLite wasm is loaded, as startWorker() does;
 *    sql.js-httpvfs: a worker whose sql.js wasm is compiled), so both are excluded;
 *  - cold: a new browser context per run, bucketlite's persistent cache off;
 *  - checked: every run's rows of both readers against better-sqlite3 on the same file;
 *  - lower bound: distinct pages SQLite reads for open + query × page size (lower-bound.ts).
 * Each database is published with the CLI (`bucketlite upload <db> <dir>`, default options)
 * and served with the raw file by nginx behind the proxy (sql.js-httpvfs: serverMode
 * full, requestChunkSize 4096). Median of BENCH_RUNS runs (default 3).
 *   npx tsc -p tsconfig.json; node dist/bench/browser.js
 * BENCH_CORPORA=wordnet,manpages runs only those. Prints a markdown table per link, writes .bench-data/browser-results.json, and exits 1
 * if any run's rows differed from better-sqlite3 or failed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { startNginx } from '../test/servers.js';
import { DATA, PAGE_SIZE, loadCorpora } from './corpora.js';
import type { BenchQuery, Corpus } from './corpora.js';
import { startLinkProxy } from './link-proxy.js';
import type { LinkOptions, LinkProxy, LinkSummary } from './link-proxy.js';
import { lowerBound } from './lower-bound.js';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LINKS: { name: string; link: LinkOptions }[] = [
  { name: '50 ms per request, no bandwidth limit', link: { latencyMs: 50 } },
  { name: '50 ms per request, 20 Mbit/s', link: { latencyMs: 50, mbps: 20 } },
];
const READERS = ['bucketlite', 'sql.js-httpvfs'] as const;
type Reader = typeof READERS[number];
/** One query's run must finish in this time, or it counts as failed. */
const RUN_TIMEOUT_MS = 300_000;

const work = path.join(DATA, 'browser');
const site = path.join(work, 'site');

// ---- publishing ------------------------------------------------------------------------------

/** Publishes with the project's CLI into a fresh directory: only its upload command is relied on. */
function publish(dbFile: string, bucketDir: string): number {
  rmSync(bucketDir, { recursive: true, force: true });
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'bucketlite.js'), 'upload', dbFile, bucketDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bucketlite upload ${dbFile} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return (Date.now() - t0) / 1000;
}

/** A tiny database whose throwaway open fills the browser cache with bucketlite's worker and wasm. */
function warmDb(): string {
  const file = path.join(work, 'warm.db');
  if (!existsSync(file)) {
    const db = new Database(file);
    db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
    db.close();
  }
  return file;
}

function publishAll(corpora: Corpus[]): void {
  mkdirSync(path.join(site, 'db'), { recursive: true });
  publish(warmDb(), path.join(site, 'bucket', 'warm'));
  for (const c of corpora) {
    const secs = publish(c.file, path.join(site, 'bucket', c.name));
    console.error(`published ${c.name} with bucketlite upload in ${secs.toFixed(0)} s`);
    // sql.js-httpvfs reads the database file itself.
    const link = path.join(site, 'db', `${c.name}.db`);
    rmSync(link, { force: true });
    symlinkSync(c.file, link);
  }
}

// ---- the two pages ---------------------------------------------------------------------------

const BL_PAGE = (client: string, worker: string) => `
import { openDatabase } from '${client}';
// The same worker file for the throwaway open and the measured one, so the browser
// cache the first fills (worker script, wa-sqlite loader, wasm) is what the second reads.
const newWorker = () => new Worker(new URL('${worker}', import.meta.url), { type: 'module', name: 'bucketlite' });
let worker;
window.prepare = async (warmUrl) => {
  const warm = await openDatabase(warmUrl, { worker: newWorker(), persistentCache: 'none' });
  await warm.query('SELECT x FROM t');
  await warm.close();
  worker = newWorker();
  // Started, and its SQLite wasm loaded ('ready' answers when it is).
  await new Promise((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage({ id: 0, op: 'ready' });
  });
};
window.run = async (url, sql, params) => {
  const t0 = performance.now();
  const db = await openDatabase(url, { worker, persistentCache: 'none' });
  const t1 = performance.now();
  const rows = await db.query(sql, params);
  const t2 = performance.now();
  return { rows, ms: t2 - t0, openMs: t1 - t0 };
};
`;

const HV_PAGE = `
import * as Comlink from 'comlink';
// What sql.js-httpvfs's createDbWorker does, split so the worker and its wasm start
// before the clock: its worker hands the database back as a MessagePort.
Comlink.transferHandlers.set('WORKERSQLPROXIES', {
  canHandle: () => false,
  serialize() { throw new Error('not sent from here'); },
  deserialize: (port) => { port.start(); return Comlink.wrap(port); },
});
const wasmUrl = new URL('httpvfs/sql-wasm.wasm', location.href).href;
let remote;
window.prepare = async () => {
  remote = Comlink.wrap(new Worker(new URL('httpvfs/sqlite.worker.js', location.href).href));
  // The worker's own init() (fetch + compile sql.js), kept where SplitFileHttpDatabase
  // looks for it first (this.sqljs), through the worker's evalCode.
  await remote.evalCode('mod.sqljs = init(' + JSON.stringify(wasmUrl) + '); await mod.sqljs;');
};
window.run = async (url, sql, params) => {
  const t0 = performance.now();
  const db = await remote.SplitFileHttpDatabase(wasmUrl, [{ from: 'inline', config: { serverMode: 'full', url, requestChunkSize: 4096 } }], undefined, Infinity);
  const t1 = performance.now();
  const rows = await db.query(sql, params);
  const t2 = performance.now();
  return { rows, ms: t2 - t0, openMs: t1 - t0 };
};
`;

const html = (script: string) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./${script}"></script>`;

/** Builds both pages with Vite (as an app using bucketlite/browser would) into site/app. */
async function buildPages(): Promise<void> {
  const src = path.join(work, 'app-src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(path.join(src, 'public', 'httpvfs'), { recursive: true });
  const rel = (f: string) => path.relative(src, path.join(ROOT, 'dist', 'worker', f)).split(path.sep).join('/');
  writeFileSync(path.join(src, 'bl.js'), BL_PAGE(rel('client.js'), rel('worker.js')));
  writeFileSync(path.join(src, 'hv.js'), HV_PAGE);
  writeFileSync(path.join(src, 'bl.html'), html('bl.js'));
  writeFileSync(path.join(src, 'hv.html'), html('hv.js'));
  const httpvfs = path.dirname(require.resolve('sql.js-httpvfs/dist/index.js'));
  for (const f of ['sqlite.worker.js', 'sql-wasm.wasm']) copyFileSync(path.join(httpvfs, f), path.join(src, 'public', 'httpvfs', f));
  await build({
    root: src, base: './', logLevel: 'warn', configFile: false,
    build: { outDir: path.join(site, 'app'), emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0,
      rollupOptions: { input: { bl: path.join(src, 'bl.html'), hv: path.join(src, 'hv.html') } } },
    worker: { format: 'es' },
  });
}

// ---- one run ---------------------------------------------------------------------------------

interface Run {
  ms: number; openMs: number; requests: number; bytes: number; roundTrips: number;
  /** Requests outside the database's URLs during the measured window (should be 0). */
  otherRequests: number;
  ok: boolean; error?: string;
}

type PageFns = { prepare(warm: string): Promise<void>; run(url: string, sql: string, params: unknown[]): Promise<{ rows: unknown[]; ms: number; openMs: number }> };

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms); })])
    .finally(() => clearTimeout(timer));
}

/** Waits (up to 5 s) until no response is still in flight, so late prefetches are counted whole. */
async function settled(proxy: LinkProxy): Promise<LinkSummary> {
  for (let i = 0; i < 50 && proxy.summary().detail.some((r) => r.lastByte === Infinity); i++) await new Promise((r) => setTimeout(r, 100));
  return proxy.summary();
}

async function runOnce(browser: Browser, proxy: LinkProxy, reader: Reader, corpus: Corpus, q: BenchQuery, expected: string): Promise<Run> {
  const origin = proxy.url;
  const [page, dataPath] = reader === 'bucketlite' ? ['app/bl.html', `/bucket/${corpus.name}/`] : ['app/hv.html', `/db/${corpus.name}.db`];
  const ctx = await browser.newContext();
  try {
    const p = await ctx.newPage();
    await p.goto(origin + page);
    await p.evaluate((warm) => (window as unknown as PageFns).prepare(warm), `${origin}bucket/warm/`);
    proxy.reset();
    const r = await withTimeout(p.evaluate(([url, sql, params]) => (window as unknown as PageFns).run(url as string, sql as string, params as unknown[]),
      [origin + dataPath.slice(1), q.sql, q.params] as const), RUN_TIMEOUT_MS, `${reader} ${corpus.name} ${q.name}`);
    const all = await settled(proxy);
    const data = proxy.summary((rec) => rec.path.startsWith(dataPath));
    const ok = JSON.stringify(r.rows) === expected;
    return {
      ms: r.ms, openMs: r.openMs, requests: data.requests, bytes: data.bytes, roundTrips: data.roundTrips,
      otherRequests: all.requests - data.requests, ok, ...(ok ? {} : { error: `rows differ: ${JSON.stringify(r.rows).slice(0, 300)} vs better-sqlite3 ${expected.slice(0, 300)}` }),
    };
  } catch (err) {
    return { ms: NaN, openMs: NaN, requests: NaN, bytes: NaN, roundTrips: NaN, otherRequests: 0, ok: false, error: String((err as Error)?.message ?? err) };
  } finally {
    await ctx.close();
  }
}

// ---- the whole bench ---------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

interface Summary { ms: number; requests: number; kib: number; roundTrips: number }
const summarize = (runs: Run[]): Summary => ({
  ms: median(runs.map((r) => r.ms)), requests: median(runs.map((r) => r.requests)),
  kib: median(runs.map((r) => r.bytes)) / 1024, roundTrips: median(runs.map((r) => r.roundTrips)),
});
const cell = (s: Summary) => `${s.ms.toFixed(0)} · ${s.requests} · ${s.kib.toFixed(0)} · ${s.roundTrips}`;

interface QueryResult {
  corpus: string; query: string; sql: string; params: unknown[]; lowerBound: { pages: number; kib: number };
  runs: Record<Reader, Run[]>; median: Record<Reader, Summary>;
}

async function main(): Promise<void> {
  const started = Date.now();
  mkdirSync(work, { recursive: true });
  // BENCH_CORPORA=wordnet,events limits a run to some corpora (all three by default).
  const only = process.env.BENCH_CORPORA?.split(',');
  const corpora = loadCorpora().filter((c) => !only || only.includes(c.name));
  const lb = new Map<BenchQuery, number>();
  const expected = new Map<BenchQuery, string>();
  for (const c of corpora) {
    const oracle = new Database(c.file, { readonly: true });
    for (const q of c.queries) {
      lb.set(q, lowerBound(c.file, q.sql, q.params, PAGE_SIZE).pages);
      expected.set(q, JSON.stringify(oracle.prepare(q.sql).all(...q.params)));
    }
    oracle.close();
  }
  publishAll(corpora);
  await buildPages();
  const nginx = await startNginx(site);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const results: Record<string, QueryResult[]> = {};
  let failures = 0;
  try {
    for (const { name, link } of LINKS) {
      const proxy = await startLinkProxy(nginx.url, link);
      results[name] = [];
      try {
        for (const c of corpora) {
          for (const q of c.queries) {
            const runs: Record<Reader, Run[]> = { bucketlite: [], 'sql.js-httpvfs': [] };
            // Readers alternate run by run, so a slow moment of the machine hits both.
            for (let i = 0; i < RUNS; i++) {
              for (const reader of READERS) {
                const r = await runOnce(browser, proxy, reader, c, q, expected.get(q)!);
                if (!r.ok) {
                  failures++;
                  console.error(`\n!!! MISMATCH/FAILURE: ${reader}, ${c.name}: ${q.name}, ${name}, run ${i + 1}: ${r.error}\n`);
                }
                if (r.otherRequests) console.error(`note: ${r.otherRequests} request(s) outside the database during ${reader} ${c.name}: ${q.name}`);
                runs[reader].push(r);
              }
            }
            const pages = lb.get(q)!;
            results[name].push({
              corpus: c.name, query: q.name, sql: q.sql, params: q.params, lowerBound: { pages, kib: (pages * PAGE_SIZE) / 1024 },
              runs, median: { bucketlite: summarize(runs.bucketlite), 'sql.js-httpvfs': summarize(runs['sql.js-httpvfs']) },
            });
            console.error(`done: ${name}: ${c.name}: ${q.name}`);
          }
        }
      } finally {
        await proxy.close();
      }
    }
  } finally {
    await browser.close();
    await nginx.stop();
  }
  printReport(corpora, results);
  const secs = (Date.now() - started) / 1000;
  writeFileSync(path.join(DATA, 'browser-results.json'), JSON.stringify({ runs: RUNS, seconds: secs, failures, links: LINKS, results }, null, 1));
  console.log(`\n${RUNS} runs per cell; whole bench ${secs.toFixed(0)} s; JSON in .bench-data/browser-results.json`);
  if (failures) {
    console.log(`\n!!! ${failures} run(s) returned rows that differ from better-sqlite3, or failed: see above.`);
    process.exitCode = 1;
  }
}

function printReport(corpora: Corpus[], results: Record<string, QueryResult[]>): void {
  console.log('\nQueries (parameters drawn from the data with a seeded PRNG):\n');
  for (const c of corpora) for (const q of c.queries) console.log(`- ${c.name}: ${q.name}: \`${q.sql}\` with ${JSON.stringify(q.params)}`);
  for (const [name, rows] of Object.entries(results)) {
    console.log(`\n## ${name}\n`);
    console.log('Cold (new browser context per run). ms = performance.now() on the page around open + first query, worker start excluded for both');
    console.log('(both workers load their wasm before the clock).');
    console.log('req, KiB, RT (round trips) counted at the server. LB = distinct pages SQLite reads (open + query) × 4 KiB. Medians.\n');
    console.log('| query | LB KiB | bucketlite ms · req · KiB · RT | sql.js-httpvfs ms · req · KiB · RT | time ratio (bucketlite/httpvfs) |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) {
      const bl = r.median.bucketlite;
      const hv = r.median['sql.js-httpvfs'];
      console.log(`| ${r.corpus}: ${r.query} | ${r.lowerBound.kib.toFixed(0)} | ${cell(bl)} | ${cell(hv)} | ${(bl.ms / hv.ms).toFixed(2)} |`);
    }
  }
}

await main();
