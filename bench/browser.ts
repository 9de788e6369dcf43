/**
 * Browser benchmark: bucketlite (B-tree-aware prefetch on, and off) against sql.js-httpvfs
 * 0.8.12 in the same Chromium, on three databases (WordNet + FTS5, a generated 1 GiB+ events
 * table, the machine's man pages + FTS5; see corpora.ts), cold, behind a simulated link:
 *  - every number of requests, body bytes, round trips and requests in flight is counted at
 *    the server by link-proxy.ts (reset before each measured run), never by a reader's own
 *    counters;
 *  - three links: 50 ms per request with no bandwidth limit (h1), 50 ms + 20 Mbit/s shared
 *    (h1-20mbit), both plain HTTP/1.1 where Chromium keeps its limit of 6 connections per
 *    host; and 50 ms over HTTP/2 with TLS (h2: the proxy's self-signed certificate, which
 *    the browser context is told to accept with ignoreHTTPSErrors). The page, its scripts
 *    and the bucket are all served through the proxy, so every request is same-origin (no
 *    CORS, and Resource Timing's nextHopProtocol shows, which bucketlite's fetch transport
 *    reads to raise its in-flight limit from 6 to 64 on h2). The protocol each worker's data
 *    requests used is read from Resource Timing in that worker after the run and reported;
 *  - three readers: bucketlite with its defaults (prefetch on), bucketlite opened with
 *    `prefetch: false` (everything else identical: only the pages SQLite asks for are
 *    fetched), and sql.js-httpvfs;
 *  - RT* per query: 1 (the HEAD request, which opens) + the sum of the depths (dbstat) of the
 *    B-trees on the query's dependency chain (BenchQuery.chain), the bound for a reader that
 *    fetches page by page;
 *  - waste of prefetch: the bytes bucketlite moved with prefetch on that the prefetch-off run
 *    of the same query (same link, same run index) never moved, in 16 KiB units
 *    (path:floor(offset / 16384), from each request's Range header and body bytes; an object
 *    read without a range is one unit), as a share of all bytes moved with prefetch on;
 *  - max in flight: the most requests between arrival and last byte at once, at the server;
 *  - time: performance.now() on the page around open + the first query, for all readers.
 *    Each reader's worker and wasm are started before the clock (bucketlite: a worker that
 *    answered 'ready', i.e. its SQLite wasm is loaded, as startWorker() does; sql.js-httpvfs:
 *    a worker whose sql.js wasm is compiled), so both are excluded;
 *  - cold: a new browser context per run, bucketlite's persistent cache off;
 *  - checked: every run's rows of every reader against better-sqlite3 on the same file;
 *  - lower bound (JSON only): distinct pages SQLite reads for open + query × page size.
 * Each database is published with the CLI (`bucketlite upload <db> <dir>`, default options)
 * and served with the raw file by nginx behind the proxy (sql.js-httpvfs: serverMode
 * full, requestChunkSize 4096). Median of BENCH_RUNS runs (default 3).
 *   npx tsc -p tsconfig.json; node dist/bench/browser.js
 * Environment: BENCH_RUNS=1; BENCH_CORPORA=wordnet,manpages (default all three);
 * BENCH_LINKS=h1,h2 (ids h1, h1-20mbit, h2 or full link names; default all three).
 * Prints a markdown table per link, writes .bench-data/browser-results.json (and every
 * request the proxy logged, per run, to .bench-data/browser-requests.json), and exits 1 if
 * any run's rows differed from better-sqlite3 or failed.
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
import type { LinkOptions, LinkProxy, LinkSummary, RequestRecord } from './link-proxy.js';
import { lowerBound, roundTripBound, treeDepths } from './lower-bound.js';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
interface Link { id: string; name: string; link: LinkOptions }
const ALL_LINKS: Link[] = [
  { id: 'h1', name: '50 ms per request, no bandwidth limit', link: { latencyMs: 50 } },
  { id: 'h1-20mbit', name: '50 ms per request, 20 Mbit/s', link: { latencyMs: 50, mbps: 20 } },
  { id: 'h2', name: '50 ms per request, HTTP/2 (TLS)', link: { latencyMs: 50, http2: true } },
];
/** BENCH_LINKS=h1,h2: links by id or full name (all by default). */
function chosenLinks(): Link[] {
  const wanted = process.env.BENCH_LINKS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!wanted?.length) return ALL_LINKS;
  return wanted.map((w) => {
    const l = ALL_LINKS.find((x) => x.id === w || x.name === w);
    if (!l) throw new Error(`BENCH_LINKS: no link ${JSON.stringify(w)} (ids: ${ALL_LINKS.map((x) => x.id).join(', ')})`);
    return l;
  });
}
const READERS = ['bucketlite', 'bucketlite, prefetch off', 'sql.js-httpvfs'] as const;
type Reader = typeof READERS[number];
/**
 * One query's run must finish in this time, or it counts as failed. Prefetch off reads one
 * 16 KiB block per round trip: COUNT(*) over the events index (103 MiB) is about 6,600 of
 * them one after the other, over 5 minutes at 50 ms.
 */
const RUN_TIMEOUT_MS = 20 * 60_000;
/** Granularity at which the bytes of the prefetch-on and -off runs are compared (waste). */
const WASTE_UNIT = 16 * 1024;

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

/** Resource Timing's protocol of this global's entries whose URL contains `part`, distinct. */
const PROTOCOLS_OF = `(part) => [...new Set(performance.getEntriesByType('resource').filter((e) => e.name.includes(part)).map((e) => e.nextHopProtocol || '(none)'))]`;

/**
 * bucketlite's worker, plus an answer to the bench's question of which protocol the
 * worker's own fetches used (worker-core ignores the message: it has no id).
 */
const BL_WORKER = (worker: string) => `
import '${worker}';
const protocolsOf = ${PROTOCOLS_OF};
self.addEventListener('message', (e) => {
  if (e.data && e.data.op === 'bench-protocols') self.postMessage({ benchProtocols: protocolsOf(e.data.part) });
});
`;

const BL_PAGE = (client: string) => `
import { openDatabase } from '${client}';
// The same worker file for the throwaway open and the measured one, so the browser
// cache the first fills (worker script, wa-sqlite loader, wasm) is what the second reads.
const newWorker = () => new Worker(new URL('./bl-worker.js', import.meta.url), { type: 'module', name: 'bucketlite' });
const protocolsOf = ${PROTOCOLS_OF};
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
window.run = async (url, sql, params, options) => {
  const t0 = performance.now();
  const db = await openDatabase(url, { worker, persistentCache: 'none', ...options });
  const t1 = performance.now();
  const rows = await db.query(sql, params);
  const t2 = performance.now();
  return { rows, ms: t2 - t0, openMs: t1 - t0 };
};
window.protocols = async (part) => {
  const inWorker = await new Promise((resolve) => {
    const onMessage = (e) => {
      if (!e.data || !e.data.benchProtocols) return;
      worker.removeEventListener('message', onMessage);
      resolve(e.data.benchProtocols);
    };
    worker.addEventListener('message', onMessage);
    worker.postMessage({ op: 'bench-protocols', part });
  });
  return { page: performance.getEntriesByType('navigation').map((e) => e.nextHopProtocol), worker: inWorker };
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
window.protocols = async (part) => ({
  page: performance.getEntriesByType('navigation').map((e) => e.nextHopProtocol),
  worker: await remote.evalCode('return (' + ${JSON.stringify(PROTOCOLS_OF)} + ')(' + JSON.stringify(part) + ');'),
});
`;

const html = (script: string) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./${script}"></script>`;

/** Builds both pages with Vite (as an app using bucketlite/browser would) into site/app. */
async function buildPages(): Promise<void> {
  const src = path.join(work, 'app-src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(path.join(src, 'public', 'httpvfs'), { recursive: true });
  const rel = (f: string) => path.relative(src, path.join(ROOT, 'dist', 'worker', f)).split(path.sep).join('/');
  writeFileSync(path.join(src, 'bl.js'), BL_PAGE(rel('client.js')));
  writeFileSync(path.join(src, 'bl-worker.js'), BL_WORKER(rel('worker.js')));
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

// ---- counting at the server --------------------------------------------------------------------

/** The most requests in flight at once (between arrival and last byte); one ending as another arrives is not overlap. */
export function maxInFlight(records: readonly RequestRecord[]): number {
  const events: [number, number][] = [];
  for (const r of records) events.push([r.arrival, 1], [r.lastByte, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // ends before arrivals at the same time
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

/**
 * Bytes moved per 16 KiB unit (`path:floor(offset / 16384)`), from each request's Range
 * header (`bytes=a-b`) and its body bytes; a response without a range (manifests, HEAD)
 * is one unit, its path.
 */
export function bytesByUnit(records: readonly RequestRecord[]): Map<string, number> {
  const units = new Map<string, number>();
  const add = (unit: string, n: number) => units.set(unit, (units.get(unit) ?? 0) + n);
  for (const r of records) {
    if (!r.bytes) continue;
    const m = r.status === 206 ? /^bytes=(\d+)-(\d*)$/.exec(r.range ?? '') : null;
    if (!m) {
      add(r.path, r.bytes);
      continue;
    }
    const end = Number(m[1]) + r.bytes;
    for (let at = Number(m[1]); at < end;) {
      const unit = Math.floor(at / WASTE_UNIT);
      const next = Math.min(end, (unit + 1) * WASTE_UNIT);
      add(`${r.path}:${unit}`, next - at);
      at = next;
    }
  }
  return units;
}

/** Bytes of the prefetch-on run in units the prefetch-off run never moved. */
export function waste(on: readonly RequestRecord[], off: readonly RequestRecord[]): { bytes: number; of: number; percent: number } {
  const offUnits = bytesByUnit(off);
  let bytes = 0;
  let of = 0;
  for (const [unit, n] of bytesByUnit(on)) {
    of += n;
    if (!offUnits.has(unit)) bytes += n;
  }
  return { bytes, of, percent: of ? (100 * bytes) / of : 0 };
}

// ---- one run ---------------------------------------------------------------------------------

interface Run {
  ms: number; openMs: number; requests: number; bytes: number; roundTrips: number;
  /** The most of this run's database requests in flight at once, at the server. */
  maxInFlight: number;
  /** Requests outside the database's URLs during the measured window (should be 0). */
  otherRequests: number;
  /** Resource Timing's nextHopProtocol: the page's navigation, the worker's database requests. */
  protocols?: { page: string[]; worker: string[] };
  ok: boolean; error?: string;
}

type PageFns = {
  prepare(warm: string): Promise<void>;
  run(url: string, sql: string, params: unknown[], options: Record<string, unknown>): Promise<{ rows: unknown[]; ms: number; openMs: number }>;
  protocols(part: string): Promise<{ page: string[]; worker: string[] }>;
};

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

async function runOnce(browser: Browser, proxy: LinkProxy, reader: Reader, corpus: Corpus, q: BenchQuery, expected: string): Promise<{ run: Run; log: RequestRecord[] }> {
  const origin = proxy.url;
  const bl = reader !== 'sql.js-httpvfs';
  const [page, dataPath] = bl ? ['app/bl.html', `/bucket/${corpus.name}/`] : ['app/hv.html', `/db/${corpus.name}.db`];
  const options = reader === 'bucketlite, prefetch off' ? { prefetch: false } : {};
  // The HTTP/2 link's certificate is self-signed: this context accepts it.
  const ctx = await browser.newContext({ ignoreHTTPSErrors: origin.startsWith('https:') });
  try {
    const p = await ctx.newPage();
    await p.goto(origin + page);
    await p.evaluate((warm) => (window as unknown as PageFns).prepare(warm), `${origin}bucket/warm/`);
    proxy.reset();
    const r = await withTimeout(p.evaluate(([url, sql, params, opts]) => (window as unknown as PageFns).run(url as string, sql as string, params as unknown[], opts as Record<string, unknown>),
      [origin + dataPath.slice(1), q.sql, q.params, options] as const), RUN_TIMEOUT_MS, `${reader} ${corpus.name} ${q.name}`);
    const all = await settled(proxy);
    const data = proxy.summary((rec) => rec.path.startsWith(dataPath));
    const protocols = await withTimeout(p.evaluate((part) => (window as unknown as PageFns).protocols(part), dataPath), 10_000, 'protocols')
      .catch((err: unknown) => ({ page: [], worker: [`(could not ask: ${String((err as Error)?.message ?? err)})`] }));
    const ok = JSON.stringify(r.rows) === expected;
    return {
      run: {
        ms: r.ms, openMs: r.openMs, requests: data.requests, bytes: data.bytes, roundTrips: data.roundTrips, maxInFlight: maxInFlight(data.detail),
        otherRequests: all.requests - data.requests, protocols, ok,
        ...(ok ? {} : { error: `rows differ: ${JSON.stringify(r.rows).slice(0, 300)} vs better-sqlite3 ${expected.slice(0, 300)}` }),
      },
      log: data.detail,
    };
  } catch (err) {
    return {
      run: { ms: NaN, openMs: NaN, requests: NaN, bytes: NaN, roundTrips: NaN, maxInFlight: NaN, otherRequests: 0, ok: false, error: String((err as Error)?.message ?? err) },
      log: [],
    };
  } finally {
    await ctx.close();
  }
}

// ---- the whole bench ---------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

interface Summary { ms: number; requests: number; kib: number; roundTrips: number; maxInFlight: number }
const summarize = (runs: Run[]): Summary => ({
  ms: median(runs.map((r) => r.ms)), requests: median(runs.map((r) => r.requests)),
  kib: median(runs.map((r) => r.bytes)) / 1024, roundTrips: median(runs.map((r) => r.roundTrips)),
  maxInFlight: median(runs.map((r) => r.maxInFlight)),
});

interface Waste { bytes: number; of: number; percent: number }

interface QueryResult {
  corpus: string; query: string; sql: string; params: unknown[];
  /** B-trees on the dependency chain, their depths, and RT* = 1 + the sum. */
  chain: { name: string; depth: number }[]; rtStar: number;
  lowerBound: { pages: number; kib: number };
  runs: Record<Reader, Run[]>; median: Record<Reader, Summary>;
  /** Per run index: bucketlite's bytes with prefetch on in 16 KiB units the prefetch-off run never moved. */
  waste: (Waste | null)[]; wastePercent: number;
}

/** A compact request log: [method, path, range, status, bytes, arrival, firstByte, lastByte, aborted]. */
const compact = (log: RequestRecord[]) => log.map((r) => [r.method, r.path, r.range ?? null, r.status, r.bytes,
  +r.arrival.toFixed(1), Number.isFinite(r.firstByte) ? +r.firstByte.toFixed(1) : null, Number.isFinite(r.lastByte) ? +r.lastByte.toFixed(1) : null, r.aborted ? 1 : 0]);

async function main(): Promise<void> {
  const started = Date.now();
  const links = chosenLinks();
  mkdirSync(work, { recursive: true });
  // BENCH_CORPORA=wordnet,events limits a run to some corpora (all three by default).
  const only = process.env.BENCH_CORPORA?.split(',');
  const corpora = loadCorpora().filter((c) => !only || only.includes(c.name));
  const lb = new Map<BenchQuery, number>();
  const expected = new Map<BenchQuery, string>();
  const chains = new Map<BenchQuery, { chain: { name: string; depth: number }[]; rtStar: number }>();
  for (const c of corpora) {
    const depths = treeDepths(c.file);
    const oracle = new Database(c.file, { readonly: true });
    for (const q of c.queries) {
      lb.set(q, lowerBound(c.file, q.sql, q.params, PAGE_SIZE).pages);
      expected.set(q, JSON.stringify(oracle.prepare(q.sql).all(...q.params)));
      chains.set(q, { chain: q.chain.map((name) => ({ name, depth: depths.get(name)! })), rtStar: roundTripBound(depths, q.chain) });
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
  const requestLogs: Record<string, Record<string, Record<Reader, unknown[][][]>>> = {};
  let failures = 0;
  try {
    for (const { name, link } of links) {
      const proxy = await startLinkProxy(nginx.url, link);
      results[name] = [];
      requestLogs[name] = {};
      try {
        for (const c of corpora) {
          for (const q of c.queries) {
            const runs: Record<Reader, Run[]> = { bucketlite: [], 'bucketlite, prefetch off': [], 'sql.js-httpvfs': [] };
            const logs: Record<Reader, RequestRecord[][]> = { bucketlite: [], 'bucketlite, prefetch off': [], 'sql.js-httpvfs': [] };
            // Readers alternate run by run, so a slow moment of the machine hits all of them.
            for (let i = 0; i < RUNS; i++) {
              for (const reader of READERS) {
                const { run: r, log } = await runOnce(browser, proxy, reader, c, q, expected.get(q)!);
                if (!r.ok) {
                  failures++;
                  console.error(`\n!!! MISMATCH/FAILURE: ${reader}, ${c.name}: ${q.name}, ${name}, run ${i + 1}: ${r.error}\n`);
                }
                if (r.otherRequests) console.error(`note: ${r.otherRequests} request(s) outside the database during ${reader} ${c.name}: ${q.name}`);
                runs[reader].push(r);
                logs[reader].push(log);
              }
            }
            // Prefetch on against off of the same run index (same link, same query).
            const wastes = runs.bucketlite.map((on, i) => (on.ok && runs['bucketlite, prefetch off'][i].ok
              ? waste(logs.bucketlite[i], logs['bucketlite, prefetch off'][i]) : null));
            const pages = lb.get(q)!;
            results[name].push({
              corpus: c.name, query: q.name, sql: q.sql, params: q.params, ...chains.get(q)!,
              lowerBound: { pages, kib: (pages * PAGE_SIZE) / 1024 },
              runs,
              median: {
                bucketlite: summarize(runs.bucketlite), 'bucketlite, prefetch off': summarize(runs['bucketlite, prefetch off']),
                'sql.js-httpvfs': summarize(runs['sql.js-httpvfs']),
              },
              waste: wastes, wastePercent: median(wastes.map((w) => w?.percent ?? NaN)),
            });
            requestLogs[name][`${c.name}: ${q.name}`] = Object.fromEntries(READERS.map((r) => [r, logs[r].map(compact)])) as Record<Reader, unknown[][][]>;
            console.error(`done: ${name}: ${c.name}: ${q.name} (${((Date.now() - started) / 60_000).toFixed(1)} min)`);
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
  writeFileSync(path.join(DATA, 'browser-results.json'), JSON.stringify({ runs: RUNS, seconds: secs, failures, links, wasteUnitBytes: WASTE_UNIT, results }, null, 1));
  writeFileSync(path.join(DATA, 'browser-requests.json'), JSON.stringify({
    fields: ['method', 'path', 'range', 'status', 'bytes', 'arrival', 'firstByte', 'lastByte', 'aborted'], logs: requestLogs,
  }));
  console.log(`\n${RUNS} run(s) per cell; whole bench ${secs.toFixed(0)} s; JSON in .bench-data/browser-results.json (request logs: .bench-data/browser-requests.json)`);
  if (failures) {
    console.log(`\n!!! ${failures} run(s) returned rows that differ from better-sqlite3, or failed: see above.`);
    process.exitCode = 1;
  }
}

const n0 = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(0));

function printReport(corpora: Corpus[], results: Record<string, QueryResult[]>): void {
  console.log('\nQueries (parameters drawn from the data with a seeded PRNG):\n');
  for (const c of corpora) for (const q of c.queries) console.log(`- ${c.name}: ${q.name}: \`${q.sql}\` with ${JSON.stringify(q.params)}; chain ${q.chain.join(' → ')}`);
  for (const [name, rows] of Object.entries(results)) {
    console.log(`\n## ${name}\n`);
    console.log('Cold (new browser context per run). RT (round trips), requests, KiB and max in flight counted at the server (the link proxy). Medians.');
    console.log('RT* = 1 (HEAD) + the sum of the B-tree depths on the query\'s dependency chain. on / off: bucketlite with prefetch on (default) / `prefetch: false`.');
    console.log('waste % = bytes moved with prefetch on in 16 KiB units the prefetch-off run never moved / all bytes moved with prefetch on.');
    console.log('ms = performance.now() on the page around open + first query, worker and wasm start excluded for all readers.\n');
    console.log('| query | RT* | bucketlite RT on / off | requests on / off | KiB on / off | waste % | ms on / off | sql.js-httpvfs RT | sql.js-httpvfs KiB | sql.js-httpvfs ms | max in flight (bucketlite on) |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const on = r.median.bucketlite;
      const off = r.median['bucketlite, prefetch off'];
      const hv = r.median['sql.js-httpvfs'];
      console.log(`| ${r.corpus}: ${r.query} | ${r.rtStar} | ${n0(on.roundTrips)} / ${n0(off.roundTrips)} | ${n0(on.requests)} / ${n0(off.requests)} | ${n0(on.kib)} / ${n0(off.kib)} | ${n0(r.wastePercent)} | ${n0(on.ms)} / ${n0(off.ms)} | ${n0(hv.roundTrips)} | ${n0(hv.kib)} | ${n0(hv.ms)} | ${n0(on.maxInFlight)} |`);
    }
    // What Chromium negotiated, from Resource Timing in the page and in each reader's worker.
    const seen = (reader: Reader, where: 'page' | 'worker') => [...new Set(rows.flatMap((r) => r.runs[reader].flatMap((run) => run.protocols?.[where] ?? [])))].join(', ') || '(none)';
    console.log(`\nProtocols (Resource Timing nextHopProtocol): page ${seen('bucketlite', 'page')}; bucketlite worker's database requests: ${seen('bucketlite', 'worker')}` +
      ` (prefetch off: ${seen('bucketlite, prefetch off', 'worker')}); sql.js-httpvfs worker's: ${seen('sql.js-httpvfs', 'worker')}.`);
    const mif = (reader: Reader) => Math.max(...rows.flatMap((r) => r.runs[reader].map((run) => run.maxInFlight)).filter((x) => !Number.isNaN(x)));
    console.log(`Most requests in flight at once in any run: bucketlite ${mif('bucketlite')}, prefetch off ${mif('bucketlite, prefetch off')}, sql.js-httpvfs ${mif('sql.js-httpvfs')}.`);
  }
}

await main();
