/**
 * The demo: site search as you type over two indexes built by `bucketlite site` (the
 * Rust book, and WordNet as one page per lemma), ranked by the shared `runSearch`, in a
 * Web Worker, over HTTP Range requests to static buckets. Per search (all the queries of
 * its keystrokes): summed reader stats and a request waterfall. A SQL console on the
 * WordNet tables or either index.
 * URL parameters: ?tab=book|wordnet, ?q=<words>, ?book=<url>, ?wordnet=<url> (search
 * buckets), ?bucket=<url> (the SQL console's WordNet tables, default ./bucket/),
 * ?build=jspi|asyncify, ?cache=cache-storage|opfs|none, ?ttl=<ms> (HEAD re-check
 * interval), ?timeout=<ms> (per HTTP attempt), ?retries=<n>.
 */
import { openDatabase } from '../../dist/worker/client.js';
import type { BrowserDatabase } from '../../dist/worker/client.js';
import { preload } from '../../dist/worker/search.js';
import '../../dist/worker/search-element.js';
import type { BucketliteSearchElement, SearchEventDetail } from '../../dist/worker/search-element.js';
import type { ReaderStats } from '../../dist/src/reader/reader.js';
import { isSearchable } from '../../dist/src/site/query.js';
import type { LogEvent } from './demo-worker.js';
// The demo's worker (bucketlite's, plus the request log) as a URL: for the SQL console's
// connection and for <bucketlite-search worker="…">.
import demoWorkerUrl from './demo-worker.ts?worker&url';

type ConnName = 'tables' | 'wordnet' | 'book';

interface Conn {
  name: ConnName;
  label: string;
  url: string;
  db: BrowserDatabase | null;
  error: ErrorInfo | null;
  opened: Promise<BrowserDatabase | null>;
  /** Requests and block-cache reads the connection's worker made, oldest first. */
  log: LogEvent[];
}

interface ErrorInfo { code: string; message: string; plain: string }

interface DemoConfig {
  book: { bucket: string; pages: number; site: string; name: string } | null;
  bookNote: string | null;
  wordnet: { bucket: string; pages: number };
}

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const box = $<BucketliteSearchElement>('q');
box.setAttribute('worker', demoWorkerUrl);
const statsEl = $('stats');
const waterfallEl = $('waterfall');
const tabNote = $('tab-note');
const sqlNote = $('sql-note');
const now = () => performance.timeOrigin + performance.now();

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function plainError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const sqlite = sqliteMessage(err);
  if (sqlite !== null) return sqlite;
  const missingPart = e?.code === 'ERR_NOT_FOUND' && /packs\/|manifests\//.test(e?.message ?? '');
  const known: Record<string, string> = {
    ERR_NOT_FOUND: missingPart
      ? 'Part of the database is missing from the bucket (deleted, or collected by gc while this page used it).'
      : 'The database is not where this page expected it (no HEAD at the bucket URL).',
    ERR_BAD_RESPONSE: 'The server answered in a way bucketlite cannot use (it must support byte ranges and not compress).',
    ERR_HASH_MISMATCH: 'Some data did not match its checksum, so it was not used.',
    ERR_HTTP: 'The server returned an error.',
    ERR_IO: 'The connection to the server kept breaking.',
    ERR_TIMEOUT: 'The server did not answer in time.',
    ERR_BAD_HEAD: 'The bucket\'s HEAD file is damaged, so no version could be read.',
    ERR_BAD_MANIFEST: 'The bucket\'s manifest is damaged, so this version cannot be read.',
    ERR_UNSUPPORTED_VERSION: 'The bucket was written by a newer bucketlite: this page needs an update.',
    ERR_WORKER: 'The database worker failed to start.',
    ERR_ABORTED: 'Cancelled.',
  };
  return `${known[e?.code ?? ''] ?? 'Something went wrong.'} (${e?.message ?? err})`;
}

/**
 * SQLite's own words for a failed statement. The worker passes bucketlite's ERR_SQLITE
 * message, "SQLite: <sqlite3_errmsg> (op=query cause=<result code>)": the message is
 * SQLite's, between the prefix and bucketlite's details.
 */
function sqliteMessage(err: unknown): string | null {
  const e = err as { code?: string; message?: string };
  if (e?.code !== 'ERR_SQLITE' || typeof e.message !== 'string') return null;
  return e.message.replace(/^SQLite: /, '').replace(/ \((?:op|cause)=[^()]*\)$/, '');
}

function errorInfo(err: unknown): ErrorInfo {
  const e = err as { code?: string; message?: string };
  return { code: e?.code ?? 'ERR_UNKNOWN', message: e?.message ?? String(err), plain: plainError(err) };
}

const openOptions = {
  build: (params.get('build') as 'jspi' | 'asyncify' | null) ?? 'auto',
  persistentCache: (params.get('cache') as 'opfs' | 'cache-storage' | 'none' | null) ?? 'cache-storage',
  headTtlMs: params.has('ttl') ? Number(params.get('ttl')) : 5000,
  ...(params.has('timeout') ? { timeoutMs: Number(params.get('timeout')) } : {}),
  ...(params.has('retries') ? { retries: Number(params.get('retries')) } : {}),
} as const;

/** Request logs of every demo worker, by the bucket URL it opened. */
const logs = new BroadcastChannel('bucketlite-demo-log');
logs.onmessage = (e: MessageEvent<LogEvent>) => {
  const conn = Object.values(conns).find((c) => c!.url === e.data.bucket);
  if (!conn) return;
  conn.log.push(e.data);
  if (conn.log.length > 20_000) conn.log.splice(0, 10_000);
  if (session?.conn === conn) scheduleWaterfall();
};

/**
 * A connection in the demo's worker (bucketlite's worker plus a request log). Search
 * indexes open through bucketlite/search's preload, so <bucketlite-search> uses the same
 * database (one per bucket URL, page-wide) with these options.
 */
function connect(name: ConnName, label: string, url: string, forSearch: boolean): Conn {
  const conn: Conn = { name, label, url: new URL(url, document.baseURI).href, db: null, error: null, opened: Promise.resolve(null), log: [] };
  let opening: Promise<BrowserDatabase>;
  if (forSearch) opening = preload(conn.url, { ...openOptions, workerUrl: demoWorkerUrl });
  else {
    const worker = new Worker(demoWorkerUrl, { type: 'module', name: `bucketlite-${name}` });
    opening = openDatabase(conn.url, { ...openOptions, worker }).catch((err: unknown) => { worker.terminate(); throw err; });
  }
  conn.opened = opening.then(
    (db) => { conn.db = db; return db; },
    (err) => { conn.error = errorInfo(err); return null; },
  );
  return conn;
}

// ---- search, summed per search -------------------------------------------------------

interface Query { text: string; at: number; ms?: number; pages?: number; aborted?: boolean }

interface Session {
  conn: Conn;
  start: number;
  base: Promise<ReaderStats | null>;
  queries: Query[];
  firstResultMs?: number;
  lastText: string;
  total?: ReaderStats;
}

let session: Session | null = null;
let tab: 'book' | 'wordnet' = 'wordnet';
const conns: Partial<Record<ConnName, Conn>> = {};
let config: DemoConfig = { book: null, bookNote: null, wordnet: { bucket: 'search/wordnet/', pages: 0 } };

/** A search goes on while the text is edited; it starts over when the box is cleared or a new word replaces the old one. */
function sessionFor(conn: Conn, text: string): Session {
  const s = session;
  const continues = s && s.conn === conn && text !== '' && s.lastText !== '' && text[0].toLowerCase() === s.lastText[0].toLowerCase();
  if (!continues) {
    session = { conn, start: now(), base: conn.db!.stats().then((r) => r.total, () => null), queries: [], lastText: text };
    renderStats();
    renderWaterfall();
  }
  session!.lastText = text;
  return session!;
}

let searched = 0;

/** A keystroke the element will search for (it searches from 2 characters on, after its debounce). */
function onKeystroke(): void {
  const conn = conns[tab];
  if (!conn?.db) return;
  const text = box.value;
  const s = sessionFor(conn, text);
  if (!isSearchable(text)) return;
  for (const q of s.queries) if (q.ms === undefined) q.aborted = true; // a newer keystroke cancels it
  s.queries.push({ text, at: now() });
  renderStats();
}

/** The element finished a search: its results are on screen. */
function onSearched(detail: SearchEventDetail): void {
  const s = session;
  if (!s) return;
  const q = [...s.queries].reverse().find((x) => x.text === detail.words) ?? s.queries[s.queries.length - 1];
  if (q) { q.ms = detail.ms; q.pages = detail.results.length; q.aborted = false; }
  s.firstResultMs ??= now() - s.start;
  fixLinks();
  void updateStats(s).then(() => { document.body.dataset.searched = String(++searched); });
}

/**
 * Result links: the book's pages are served under rust-book/, WordNet's lemma pages are
 * not served at all (a link searches the lemma instead). The element links to the URL
 * the index holds, so the demo rewrites its (open) shadow tree after each search.
 */
function fixLinks(): void {
  for (const a of box.shadowRoot?.querySelectorAll<HTMLAnchorElement>('a[href]') ?? []) {
    const url = a.getAttribute('href') ?? '';
    if (!url.startsWith('/')) continue;
    a.href = tab === 'book' && config.book ? config.book.site + url.slice(1) : `?tab=wordnet&q=${encodeURIComponent(lemmaOf(url))}`;
  }
}

const lemmaOf = (url: string) => decodeURIComponent(decodeURIComponent(url.replace(/^.*\//, '').replace(/\.html(#.*)?$/, ''))).replace(/_/g, ' ');

// ---- stats and the waterfall ---------------------------------------------------------

function sessionEvents(s: Session): LogEvent[] {
  return s.conn.log.filter((e) => e.start >= s.start).sort((a, b) => a.start - b.start || a.id - b.id);
}

/** Waves of requests: a request that starts after one of the current wave ended waited for it. */
function roundTrips(events: LogEvent[]): number {
  let trips = 0;
  let waveEnd = -Infinity; // the earliest end in the current wave
  for (const e of events) {
    if (e.kind !== 'network') continue;
    if (e.start >= waveEnd) { trips++; waveEnd = e.end ?? Infinity; } else waveEnd = Math.min(waveEnd, e.end ?? Infinity);
  }
  return trips;
}

async function updateStats(s: Session): Promise<void> {
  const db = s.conn.db;
  if (!db) return;
  const [base, now_] = await Promise.all([s.base, db.stats().then((r) => r.total)]);
  if (session !== s) return;
  s.total = base ? diff(now_, base) : now_;
  renderStats();
  renderWaterfall();
}

function diff(a: ReaderStats, b: ReaderStats): ReaderStats {
  return { ...a, requests: a.requests - b.requests, bytes: a.bytes - b.bytes, blockCacheHits: a.blockCacheHits - b.blockCacheHits,
    blockCacheMisses: a.blockCacheMisses - b.blockCacheMisses, hotPageHits: a.hotPageHits - b.hotPageHits, blocksFetched: a.blocksFetched - b.blocksFetched };
}

function renderStats(): void {
  const s = session;
  if (!s) { statsEl.innerHTML = ''; return; }
  const t = s.total;
  const done = s.queries.filter((q) => q.ms !== undefined);
  const last = done[done.length - 1];
  const events = sessionEvents(s);
  const items: [string, string][] = [
    ['index', s.conn.label],
    ['keystrokes', String(s.queries.length)], ['cancelled', String(s.queries.filter((q) => q.aborted).length)],
    ['requests', String(t?.requests ?? 0)], ['bytes', `${((t?.bytes ?? 0) / 1024).toFixed(1)} KiB`],
    ['round trips', String(roundTrips(events))],
    ['cache hits', String(t?.blockCacheHits ?? 0)], ['cache misses', String(t?.blockCacheMisses ?? 0)],
    ['embedded-page hits', String(t?.hotPageHits ?? 0)],
    ['first result', s.firstResultMs === undefined ? '–' : `${s.firstResultMs.toFixed(0)} ms`],
    ['last query', last ? `${last.ms!.toFixed(1)} ms` : '–'],
    ['build', s.conn.db?.info.build ?? ''], ['version', String(t?.version ?? s.conn.db?.info.version ?? '')],
  ];
  statsEl.innerHTML = items.map(([k, v]) => `<dt>${k}</dt><dd data-stat="${k}">${escapeHtml(v)}</dd>`).join('');
}

let waterfallQueued = false;
function scheduleWaterfall(): void {
  if (waterfallQueued) return;
  waterfallQueued = true;
  requestAnimationFrame(() => { waterfallQueued = false; renderWaterfall(); });
}

const kib = (n: number) => (n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

function objectName(url: string): string {
  const p = new URL(url).pathname.split('/');
  const last = p[p.length - 1];
  if (url.startsWith('https://bucketlite.invalid/blocks/')) return `block ${last.slice(0, 6)}`;
  const dir = p[p.length - 2];
  if (dir === 'packs') return `pack ${last.slice(0, 6)}`;
  if (dir === 'manifests') return `manifest ${last.slice(0, 6)}`;
  return last;
}

function rangeLabel(e: LogEvent): string {
  if (e.kind === 'cache') return 'block cache';
  if (e.method === 'HEAD') return 'HEAD';
  const m = e.range?.match(/bytes=(\d+)-(\d+)/);
  return m ? `${m[1]}–${m[2]}` : 'whole';
}

/** The search's requests as bars on one time axis: waiting (light), receiving (dark), block-cache reads (green). */
function renderWaterfall(): void {
  const s = session;
  if (!s) return;
  const events = sessionEvents(s);
  if (events.length === 0) {
    waterfallEl.innerHTML = `<p class="note">${s.queries.length ? 'No requests: every page came from memory.' : 'Type to search: every request of the search shows here.'}</p>`;
    waterfallEl.dataset.bars = '0';
    return;
  }
  const t0 = s.start;
  const tEnd = Math.max(now() - 1, ...events.map((e) => e.end ?? e.start), ...s.queries.map((q) => q.at + (q.ms ?? 0)));
  const span = Math.max(tEnd - t0, 1);
  const W = 600, LABEL = 190, SIZE = 56, ROW = 14, TOP = 18;
  const plot = W - LABEL - SIZE;
  const x = (t: number) => LABEL + ((t - t0) / span) * plot;
  const H = TOP + events.length * ROW + 6;
  const step = niceStep(span / 5);
  const ticks: string[] = [];
  for (let v = 0; v <= span; v += step) {
    ticks.push(`<line x1="${x(t0 + v)}" y1="${TOP - 4}" x2="${x(t0 + v)}" y2="${H}" class="tick"/><text x="${x(t0 + v)}" y="${TOP - 7}" class="axis">${v.toFixed(0)} ms</text>`);
  }
  const keys = s.queries.map((q, i) => `<line x1="${x(q.at)}" y1="${TOP - 4}" x2="${x(q.at)}" y2="${H}" class="key${q.aborted ? ' aborted' : ''}"><title>keystroke ${i + 1}: “${escapeHtml(q.text)}”${q.aborted ? ' (cancelled)' : q.ms !== undefined ? ` ${q.ms.toFixed(0)} ms` : ''}</title></line>`);
  const bars = events.map((e, i) => {
    const y = TOP + i * ROW;
    const end = e.end ?? tEnd;
    const x0 = x(e.start), x1 = Math.max(x(end), x0 + 1.5), xf = e.firstByte ? Math.min(x(e.firstByte), x1) : x0;
    const label = `${objectName(e.url)} ${rangeLabel(e)}`;
    const tip = `${e.method} ${e.url}${e.range ? ` ${e.range}` : ''}\n${e.kind === 'cache' ? 'persistent block cache' : `network, status ${e.status ?? '–'}`}${e.error ? ` (${e.error})` : ''}\n${kib(e.bytes ?? 0)}, ${(e.start - t0).toFixed(1)}–${(end - t0).toFixed(1)} ms`;
    return `<g class="bar ${e.kind}${e.error ? ' failed' : ''}" data-kind="${e.kind}" data-range="${escapeHtml(e.range ?? '')}" data-bytes="${e.bytes ?? 0}" data-start="${(e.start - t0).toFixed(1)}" data-end="${(end - t0).toFixed(1)}">` +
      `<title>${escapeHtml(tip)}</title>` +
      `<text x="${LABEL - 4}" y="${y + 10}" class="label">${escapeHtml(label)}</text>` +
      (e.kind === 'network' && xf > x0 ? `<rect x="${x0}" y="${y + 2}" width="${xf - x0}" height="${ROW - 4}" class="wait"/>` : '') +
      `<rect x="${xf}" y="${y + 2}" width="${Math.max(x1 - xf, 1.5)}" height="${ROW - 4}" class="recv"/>` +
      `<text x="${W - SIZE + 4}" y="${y + 10}" class="size">${kib(e.bytes ?? 0)}</text></g>`;
  });
  const network = events.filter((e) => e.kind === 'network');
  const bytes = network.reduce((a, e) => a + (e.bytes ?? 0), 0);
  waterfallEl.dataset.bars = String(events.length);
  waterfallEl.innerHTML = `<p class="summary" data-testid="waterfall-summary">${network.length} network request${network.length === 1 ? '' : 's'} (${kib(bytes)}), ` +
    `${events.length - network.length} block${events.length - network.length === 1 ? '' : 's'} from the persistent cache, ${roundTrips(events)} round trip${roundTrips(events) === 1 ? '' : 's'}, over ${span.toFixed(0)} ms</p>` +
    `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Request waterfall of the current search">${ticks.join('')}${keys.join('')}${bars.join('')}</svg>` +
    `<p class="legend"><span class="sw wait"></span>waiting <span class="sw recv"></span>receiving <span class="sw cache"></span>block cache <span class="sw key"></span>keystroke</p>`;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= raw) ?? 10 * p;
}

// ---- tabs, console, start ------------------------------------------------------------

function showTab(name: 'book' | 'wordnet'): void {
  tab = name;
  for (const b of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  const conn = conns[name];
  session = null;
  statsEl.innerHTML = '';
  waterfallEl.innerHTML = '<p class="note">Type to search: every request of the search shows here.</p>';
  box.setAttribute('placeholder', name === 'book' ? 'Search the Rust book — try “borrow checker” or “trait objects”' : `Search ${config.wordnet.pages ? config.wordnet.pages.toLocaleString('en') : ''} WordNet lemmas — try “ocean” or “volcanic rock”`);
  // Disabled (inert) until the tab's index is open; the element opens it through preload.
  const usable = !!conn?.db;
  box.inert = !usable;
  box.setAttribute('aria-disabled', String(!usable));
  box.dataset.disabled = String(!usable);
  if (conn && box.getAttribute('bucket') !== conn.url) box.setAttribute('bucket', conn.url);
  if (!conn) {
    tabNote.textContent = name === 'book' ? config.bookNote ?? 'The Rust book index was not built.' : 'No WordNet index.';
    tabNote.className = 'note error';
    return;
  }
  if (conn.error) {
    tabNote.textContent = `The ${conn.label} index cannot be opened: ${conn.error.plain}`;
    tabNote.className = 'note error';
    return;
  }
  if (!conn.db) {
    tabNote.textContent = `Opening the ${conn.label} index…`;
    tabNote.className = 'note';
    return;
  }
  tabNote.textContent = `${conn.label}: version ${conn.db.info.version}, ${conn.db.info.build.toUpperCase()} build.`;
  tabNote.className = 'note';
}

function setupConsole(): void {
  const out = $('sql-out');
  const select = $<HTMLSelectElement>('sql-db');
  const sql = $<HTMLTextAreaElement>('sql');
  const run = $<HTMLButtonElement>('run');
  const refresh = () => {
    const conn = conns[select.value as ConnName];
    const ok = !!conn?.db;
    sql.disabled = run.disabled = !ok;
    sqlNote.className = ok ? 'note' : 'note error';
    sqlNote.textContent = ok ? '' : !conn ? 'This index was not built.' : conn.error ? `The ${conn.label} database cannot be opened: ${conn.error.plain}` : `Opening the ${conn.label} database…`;
  };
  for (const o of select.options) if (!conns[o.value as ConnName]) o.disabled = true;
  select.addEventListener('change', refresh);
  refresh();
  for (const c of Object.values(conns)) void c!.opened.then(refresh);
  run.addEventListener('click', async () => {
    const db = conns[select.value as ConnName]?.db;
    if (!db) return;
    out.textContent = 'Running…';
    try {
      const rows = await db.query(sql.value);
      const cols = rows.length ? Object.keys(rows[0]) : [];
      const s = db.lastQuery;
      out.innerHTML = (rows.length
        ? `<table><tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>${rows.slice(0, 200).map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(String(r[c]))}</td>`).join('')}</tr>`).join('')}</table>${rows.length > 200 ? `<p>… ${rows.length} rows</p>` : ''}`
        : 'No rows.') +
        (s ? `<p class="qstats">${rows.length} rows · <span data-stat="sql-ms">${s.ms.toFixed(1)}</span> ms · <span data-stat="sql-requests">${s.requests}</span> requests · ${kib(s.bytes)} · ${s.blockCacheHits} cache hits · version <span data-stat="sql-version">${s.version}</span></p>` : '');
    } catch (err) {
      out.innerHTML = `<p class="error" data-testid="sql-error">${escapeHtml(plainError(err))}</p>`;
    }
    out.dataset.done = String(Date.now());
  });
}

async function main(): Promise<void> {
  config = await fetch('demo.json').then((r) => (r.ok ? r.json() as Promise<DemoConfig> : config), () => config);
  const wordnetUrl = params.get('wordnet') ?? config.wordnet.bucket;
  const bookUrl = params.get('book') ?? config.book?.bucket;
  conns.tables = connect('tables', 'WordNet tables', params.get('bucket') ?? 'bucket/', false);
  conns.wordnet = connect('wordnet', 'WordNet', wordnetUrl, true);
  if (bookUrl) conns.book = connect('book', 'Rust book', bookUrl, true);
  const bookBtn = $<HTMLButtonElement>('tab-book');
  if (config.book) bookBtn.textContent = `The Rust book (${config.book.pages} pages)`;
  if (!bookUrl) { bookBtn.disabled = true; bookBtn.title = config.bookNote ?? ''; }
  $('tab-wordnet').textContent = `WordNet${config.wordnet.pages ? ` (${config.wordnet.pages.toLocaleString('en')} lemmas)` : ''}`;
  for (const b of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) b.addEventListener('click', () => { showTab(b.dataset.tab as 'book' | 'wordnet'); box.shadowRoot?.querySelector('input')?.focus(); });
  const wanted = params.get('tab');
  tab = wanted === 'book' || wanted === 'wordnet' ? wanted : conns.book ? 'book' : 'wordnet';
  showTab(tab);
  setupConsole();
  box.addEventListener('input', onKeystroke);
  box.addEventListener('bucketlite-search', (e) => onSearched((e as CustomEvent<SearchEventDetail>).detail));
  box.addEventListener('bucketlite-search-error', () => { document.body.dataset.searched = String(++searched); });
  for (const c of Object.values(conns)) void c!.opened.then(() => { if (c!.name === tab) showTab(tab); });

  const all = Object.values(conns) as Conn[];
  await Promise.all(all.map((c) => c.opened));
  // For tests and benchmarks: the connections, when they became ready (ms since navigation),
  // and run(): rows of a statement on the WordNet tables, or its error with the words this page would show.
  const tables = conns.tables!;
  (window as unknown as { bucketlite: unknown }).bucketlite = {
    db: tables.db,
    search: { wordnet: conns.wordnet?.db ?? null, book: conns.book?.db ?? null },
    box,
    logs: Object.fromEntries(all.map((c) => [c.name, c.log])),
    openError: tables.error ?? conns[tab]?.error ?? null,
    readyAt: performance.now(),
    run: (sql: string, p?: (string | number | null)[]) => tables.db
      ? tables.db.query(sql, p).then((rows) => ({ rows }), (err) => ({ error: errorInfo(err) }))
      : Promise.resolve({ error: tables.error }),
  };
  const failed = all.filter((c) => c.error);
  const first = all.find((c) => c.db)?.db;
  status.textContent = [
    ...all.filter((c) => c.db).map((c) => `${c.label} v${c.db!.info.version}`),
    ...(first ? [`${first.info.build.toUpperCase()} build, persistent cache: ${first.info.persistentCache}`] : []),
  ].join(' · ') + (failed.length ? `. Cannot open: ${failed.map((c) => `${c.label} — ${c.error!.plain}`).join('; ')}` : '.');
  status.className = failed.length ? 'error' : '';
  if (!config.book && config.bookNote) status.textContent += ` ${config.bookNote}`;
  document.body.dataset.ready = failed.length ? 'error' : 'true';
  const q = params.get('q');
  const field = box.shadowRoot?.querySelector('input');
  if (q && field && !box.inert) {
    field.value = q;
    field.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
  }
}

main().catch((err) => {
  (window as unknown as { bucketlite: unknown }).bucketlite = { openError: errorInfo(err) }; // for tests
  status.textContent = plainError(err);
  status.className = 'error';
  document.body.dataset.ready = 'error';
});
