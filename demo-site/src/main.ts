/**
 * The demo: search WordNet's glosses as you type with FTS5, in a Web Worker, over HTTP
 * Range requests to a static bucket; per-query network stats; a SQL console.
 * URL parameters: ?bucket=<url> (default ./bucket/), ?build=jspi|asyncify,
 * ?cache=cache-storage|opfs|none, ?ttl=<ms> (HEAD re-check interval), ?timeout=<ms> (per
 * HTTP attempt), ?retries=<n>.
 */
import { openDatabase } from '../../dist/worker/client.js';
import type { BrowserDatabase } from '../../dist/worker/client.js';

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const input = $<HTMLInputElement>('q');
const results = $('results');
const statsEl = $('stats');

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Turns typed words into an FTS5 query of prefix terms; no FTS5 syntax gets through. */
export function ftsQuery(text: string): string | null {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu);
  return words?.length ? words.map((w) => `"${w}"*`).join(' AND ') : null;
}

function plainError(err: unknown): string {
  const e = err as { code?: string; message?: string };
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
    ERR_ABORTED: 'Cancelled.',
  };
  return `${known[e?.code ?? ''] ?? 'Something went wrong.'} (${e?.message ?? err})`;
}

function showStats(db: BrowserDatabase, rows: number): void {
  const s = db.lastQuery;
  if (!s) return;
  const items: [string, string][] = [
    ['rows', String(rows)], ['time', `${s.ms.toFixed(1)} ms`], ['requests', String(s.requests)],
    ['bytes', `${(s.bytes / 1024).toFixed(1)} KiB`],
    ['cache hits', String(s.blockCacheHits)], ['cache misses', String(s.blockCacheMisses)],
    ['embedded-page hits', String(s.hotPageHits)], ['build', db.info.build], ['version', String(s.version)],
  ];
  statsEl.innerHTML = items.map(([k, v]) => `<dt>${k}</dt><dd data-stat="${k}">${escapeHtml(v)}</dd>`).join('');
}

const SEARCH = `SELECT rowid AS id, words, snippet(glosses, 1, char(2), char(3), '…', 16) AS snip
  FROM glosses WHERE glosses MATCH ? ORDER BY rank LIMIT 20`;

async function main(): Promise<void> {
  const bucket = params.get('bucket') ?? new URL('bucket/', location.href).href;
  const db = await openDatabase(bucket, {
    build: (params.get('build') as 'jspi' | 'asyncify' | null) ?? 'auto',
    persistentCache: (params.get('cache') as 'opfs' | 'cache-storage' | 'none' | null) ?? 'cache-storage',
    headTtlMs: params.has('ttl') ? Number(params.get('ttl')) : 5000,
    ...(params.has('timeout') ? { timeoutMs: Number(params.get('timeout')) } : {}),
    ...(params.has('retries') ? { retries: Number(params.get('retries')) } : {}),
  });
  // For tests and benchmarks: the connection, when it became ready (ms since navigation),
  // and run(): rows of a statement, or its error with the words this page would show.
  (window as unknown as { bucketlite: unknown }).bucketlite = {
    db,
    readyAt: performance.now(),
    run: (sql: string, params?: (string | number | null)[]) => db.query(sql, params).then((rows) => ({ rows }), (err) => ({ error: errorInfo(err) })),
  };
  status.textContent = `Ready: version ${db.info.version}, ${db.info.build.toUpperCase()} build, persistent cache: ${db.info.persistentCache}.`;
  document.body.dataset.ready = 'true';

  let current: AbortController | null = null;
  let seq = 0;
  const search = async () => {
    const q = ftsQuery(input.value);
    current?.abort();
    if (!q) { results.innerHTML = ''; return; }
    const mine = ++seq;
    current = new AbortController();
    try {
      const rows = await db.query(SEARCH, [q], { signal: current.signal });
      if (mine !== seq) return;
      results.innerHTML = rows.length
        ? rows.map((r) => `<li data-id="${r.id}"><span class="words">${escapeHtml(String(r.words))}</span> — ${escapeHtml(String(r.snip)).replace(/\x02/g, '<mark>').replace(/\x03/g, '</mark>')}</li>`).join('')
        : '<li class="none">No matches.</li>';
      showStats(db, rows.length);
      document.body.dataset.searched = String(mine);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_ABORTED') return;
      results.innerHTML = `<li class="error">${escapeHtml(plainError(err))}</li>`;
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 60); });
  if (input.value) void search();

  const out = $('sql-out');
  $('run').addEventListener('click', async () => {
    out.textContent = 'Running…';
    try {
      const rows = await db.query($<HTMLTextAreaElement>('sql').value);
      const cols = rows.length ? Object.keys(rows[0]) : [];
      out.innerHTML = rows.length
        ? `<table><tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>${rows.slice(0, 200).map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(String(r[c]))}</td>`).join('')}</tr>`).join('')}</table>${rows.length > 200 ? `<p>… ${rows.length} rows</p>` : ''}`
        : 'No rows.';
      showStats(db, rows.length);
      out.dataset.done = String(Date.now());
    } catch (err) {
      out.innerHTML = `<p class="error">${escapeHtml(plainError(err))}</p>`;
      out.dataset.done = String(Date.now());
    }
  });
}

function errorInfo(err: unknown): { code: string; message: string; plain: string } {
  const e = err as { code?: string; message?: string };
  return { code: e?.code ?? 'ERR_UNKNOWN', message: e?.message ?? String(err), plain: plainError(err) };
}

main().catch((err) => {
  (window as unknown as { bucketlite: unknown }).bucketlite = { openError: errorInfo(err) }; // for tests
  status.textContent = plainError(err);
  status.className = 'error';
  document.body.dataset.ready = 'error';
});
