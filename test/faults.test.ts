/**
 * The fault matrix: queries through a hostile server, one fault on one kind of object at
 * a time (pack Range reads; manifest objects and HEAD, both fetched whole), in Node and
 * in Chromium (the demo page's worker). Every cell is checked against better-sqlite3
 * reading the same database file: the rows in full, or an error of an expected code
 * that names the object it touched. Never a wrong row; no hang (every wait has a
 * deadline); retries bounded.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { BucketliteError } from '../src/errors.js';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { startFaultServer, startNginx } from './servers.js';
import type { Fault, FaultTarget, RunningServer } from './servers.js';
import { makeDb, tempDir } from './helpers.js';

const dir = tempDir('bl-faults-');

type Want = 'rows' | string[];
type Target = Exclude<FaultTarget, 'all'>;

/**
 * What each fault must end in, per target: the right rows, or one of these error codes.
 * HEAD and manifests are fetched whole (no Range); packs with Range.
 */
const MATRIX: [Fault, Record<Target, Want>][] = [
  //                           packs (Range)               manifests (whole GET)       HEAD (whole GET)
  ['none',                  { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['latency-jitter',        { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['slow',                  { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['etag-changes',          { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['503-once',              { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['429-retry-after-once',  { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['stall-once',            { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  // A cut body is retried (and, with resumption, continued from the first missing byte).
  ['reset-mid-body-once',   { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['reset-every-other',     { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  // Blocks and manifest objects are named by their hash: one refetch on a mismatch. A HEAD
  // that does not decode or whose inline root fails its hash is fetched once more too.
  ['corrupt-once',          { packs: 'rows',               manifests: 'rows',               HEAD: 'rows' }],
  ['503-always',            { packs: ['ERR_HTTP'],         manifests: ['ERR_HTTP'],         HEAD: ['ERR_HTTP'] }],
  // Every answer cut at half: progress shrinks to nothing, so it ends in an error.
  ['reset-mid-body',        { packs: ['ERR_IO', 'ERR_BAD_RESPONSE'], manifests: ['ERR_IO', 'ERR_BAD_RESPONSE'], HEAD: ['ERR_IO', 'ERR_BAD_RESPONSE'] }],
  ['stall',                 { packs: ['ERR_TIMEOUT'],      manifests: ['ERR_TIMEOUT'],      HEAD: ['ERR_TIMEOUT'] }],
  // Whole objects are asked for without Range: a server that ignores Range changes nothing.
  ['ignore-range',          { packs: ['ERR_BAD_RESPONSE'], manifests: 'rows',               HEAD: 'rows' }],
  // Ranged: other bytes than asked for. Whole: a 206 part to a request for the whole object.
  ['wrong-content-range',   { packs: ['ERR_BAD_RESPONSE'], manifests: ['ERR_HTTP', 'ERR_BAD_RESPONSE'], HEAD: ['ERR_HTTP', 'ERR_BAD_RESPONSE'] }],
  // 7 bytes short with a matching Content-Length: the length check (ranged), the hash
  // (manifests) or the JSON parser (HEAD) must catch it.
  ['short-body',            { packs: ['ERR_BAD_RESPONSE'], manifests: ['ERR_HASH_MISMATCH'], HEAD: ['ERR_BAD_HEAD'] }],
  ['gzip',                  { packs: ['ERR_BAD_RESPONSE'], manifests: ['ERR_BAD_RESPONSE'], HEAD: ['ERR_BAD_RESPONSE'] }],
  ['corrupt',               { packs: ['ERR_HASH_MISMATCH'], manifests: ['ERR_HASH_MISMATCH'], HEAD: ['ERR_BAD_HEAD'] }],
  ['404',                   { packs: ['ERR_NOT_FOUND'],    manifests: ['ERR_NOT_FOUND'],    HEAD: ['ERR_NOT_FOUND'] }],
];

/**
 * Where a browser differs: Chromium fails a gzip-encoded 206 itself
 * (net::ERR_CONTENT_DECODING_FAILED), so fetch only says "Failed to fetch" and the reader
 * can tell nothing but an I/O error after its retries. (A gzipped 200 it decodes, and the
 * reader sees the Content-Encoding header and refuses it.)
 */
const CHROMIUM: Partial<Record<`${Fault} on ${Target}`, Want>> = {
  'gzip on packs': ['ERR_IO'],
};

/** 'all': rows only if every kind of object gives rows; else an error any of them may give. */
function want(fault: Fault, target: FaultTarget, runtime: 'node' | 'chromium' = 'node'): Want {
  const row = { ...MATRIX.find(([f]) => f === fault)![1] };
  if (runtime === 'chromium') for (const t of Object.keys(row) as Target[]) row[t] = CHROMIUM[`${fault} on ${t}`] ?? row[t];
  if (target !== 'all') return row[target];
  const ws = Object.values(row);
  return ws.every((w) => w === 'rows') ? 'rows' : [...new Set(ws.flatMap((w) => (w === 'rows' ? [] : w)))];
}

/** The error names an object of the faulted kind. */
const KEY_OF: Record<FaultTarget, RegExp> = {
  packs: /key=packs\/[0-9a-f]{64}/,
  manifests: /key=manifests\/[0-9a-f]{64}/,
  HEAD: /key=HEAD\b/,
  all: /key=(HEAD\b|packs\/|manifests\/)/,
};

/** Runs `p` with a deadline: a hang fails the cell instead of the whole run. */
async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`HANG: ${what} not settled after ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

function oracle(db: string, queries: { sql: string; params?: unknown[] }[]): unknown[][] {
  const d = new Database(db, { readonly: true });
  try {
    return queries.map((q) => d.prepare(q.sql).all(...(q.params ?? [])));
  } finally {
    d.close();
  }
}

const table = (rows: string[]) => ['| fault | target | outcome | retries | HTTP requests | ms |', '|---|---|---|---|---|---|', ...rows].join('\n');

describe('fault matrix in Node', () => {
  const db = path.join(dir, 'corpus.db');
  const bucket = path.join(dir, 'bucket');
  const QUERIES = [
    { sql: 'SELECT id, name, body FROM items WHERE id IN (5, 1500, 7999) ORDER BY id' },
    { sql: 'SELECT count(*) AS n, sum(length(body)) AS bytes FROM items' },
    { sql: "SELECT name, count(*) AS n FROM items WHERE name LIKE 'name-1%' GROUP BY name ORDER BY n DESC, name LIMIT 5" },
  ];
  let expected: unknown[][];
  let faulty: Awaited<ReturnType<typeof startFaultServer>>;
  const cells: string[] = [];
  const RETRIES = 3;
  let baselineRequests = 0;

  beforeAll(async () => {
    makeDb(db, { rows: 8000 });
    // Small leaves and fanout: several manifest objects (interior nodes and leaves).
    await upload(db, new LocalDirStore(bucket), { blockSize: 16384, blocksPerLeaf: 16, fanout: 4 });
    expected = oracle(db, QUERIES);
    faulty = await startFaultServer(bucket);
  });
  afterAll(async () => {
    await faulty?.stop();
    console.log(`fault matrix (Node):\n${table(cells)}`);
  });

  for (const target of ['packs', 'manifests', 'HEAD', 'all'] as const) {
    for (const [fault] of MATRIX) {
      it(`${fault} on ${target}`, async () => {
        faulty.target = target;
        faulty.fault = fault;
        const before = faulty.totalRequests;
        let retries = 0;
        const t0 = performance.now();
        let outcome = 'rows';
        try {
          await deadline((async () => {
            // headTtlMs 0: HEAD is fetched again before every query, not only at open.
            const conn = await openDatabase(faulty.url, { headTtlMs: 0, http: { retries: RETRIES, backoffMs: 1, maxBackoffMs: 5, timeoutMs: 400, onRetry: () => { retries++; } } });
            try {
              for (let i = 0; i < QUERIES.length; i++) {
                const rows = await conn.query(QUERIES[i].sql);
                expect(rows, `query ${i} under ${fault} on ${target}`).toEqual(expected[i]); // never a wrong row
              }
            } finally {
              await conn.close();
            }
          })(), 30_000, `${fault} on ${target}`);
        } catch (err) {
          if (!(err instanceof BucketliteError)) throw err; // a wrong row, or a hang
          outcome = err.code;
          expect(err.message, `${fault} on ${target}`).toMatch(KEY_OF[target]); // names what it touched
        }
        const requests = faulty.totalRequests - before;
        if (fault === 'none' && target === 'packs') baselineRequests = requests;
        const ms = performance.now() - t0;
        cells.push(`| ${fault} | ${target} | ${outcome} | ${retries} | ${requests} | ${ms.toFixed(0)} |`);
        const w = want(fault, target);
        if (w === 'rows') expect(outcome, `${fault} on ${target}`).toBe('rows');
        else expect(w, `${fault} on ${target}: got ${outcome}`).toContain(outcome);
        // Bounded: no retry storm, whatever the fault.
        expect(requests).toBeLessThanOrEqual(Math.max(40, baselineRequests) * 20);
      });
    }
  }
});

describe('fault matrix in Chromium', () => {
  const site = path.join(dir, 'site');
  const db = path.join(dir, 'wordnet.db');
  const QUERIES: { name: string; sql: string; params?: (string | number)[] }[] = [
    {
      name: 'fts5',
      sql: "SELECT rowid, words, round(bm25(glosses), 6) AS score, snippet(glosses, 1, '[', ']', '…', 8) AS snip FROM glosses WHERE glosses MATCH ? ORDER BY rank LIMIT 10",
      params: ['"volcan"* AND "rock"*'],
    },
    { name: 'point', sql: 'SELECT id, pos, gloss FROM synsets WHERE id = ?', params: [54321] },
    { name: 'index+join', sql: "SELECT w.id, w.word, s.pos, s.gloss FROM words w JOIN synsets s ON s.id = w.synset_id WHERE w.word = 'bank' ORDER BY w.id" },
    { name: 'aggregate', sql: 'SELECT pos, count(*) AS n, sum(length(gloss)) AS chars, min(id) AS first FROM synsets GROUP BY pos ORDER BY pos' },
  ];
  let expected: unknown[][];
  let faulty: Awaited<ReturnType<typeof startFaultServer>>;
  let nginx: RunningServer;
  let browser: Browser;
  const cells: string[] = [];

  beforeAll(async () => {
    const { buildDemoSite } = await import('../demo-site/build.js');
    await buildDemoSite(site, db);
    expected = oracle(db, QUERIES);
    expect(expected.every((r) => r.length > 0)).toBe(true);
    faulty = await startFaultServer(path.join(site, 'bucket'));
    nginx = await startNginx(site);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });
  afterAll(async () => {
    console.log(`fault matrix (Chromium, demo page worker, WordNet):\n${table(cells)}`);
    await browser?.close();
    await nginx?.stop();
    await faulty?.stop();
  });

  type ErrorInfo = { code: string; message: string; plain: string };
  type Hook = { openError?: ErrorInfo; run(sql: string, params?: unknown[]): Promise<{ rows?: unknown[]; error?: ErrorInfo }> };

  for (const target of ['packs', 'manifests', 'HEAD'] as const) {
    it(`every fault on ${target}: the rows better-sqlite3 returns, or an error in plain words`, async () => {
      for (const [fault] of MATRIX) {
        faulty.target = target;
        faulty.fault = fault;
        const before = faulty.totalRequests;
        const t0 = performance.now();
        const context = await browser.newContext();
        let outcome = 'rows';
        let shown = '';
        const wrong: string[] = [];
        try {
          const page = await context.newPage();
          // No persistent cache, HEAD re-read before every query, 1 s per attempt, 3 retries.
          await page.goto(`${nginx.url}index.html?cache=none&ttl=0&timeout=1000&retries=3&bucket=${encodeURIComponent(faulty.url)}`);
          await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
          const openError = await page.evaluate(() => (window as unknown as { bucketlite: Hook }).bucketlite.openError);
          let error: ErrorInfo | undefined = openError;
          if (openError) {
            expect.soft(await page.textContent('#status'), `${fault} on ${target}: the page shows it`).toContain(openError.plain);
          } else {
            for (let i = 0; i < QUERIES.length && !error; i++) {
              const q = QUERIES[i];
              const r = await deadline(
                page.evaluate(([sql, params]) => (window as unknown as { bucketlite: Hook }).bucketlite.run(sql, params), [q.sql, q.params ?? []] as const),
                60_000, `${q.name} under ${fault} on ${target}`,
              );
              if (r.error) {
                error = r.error;
              } else if (!isDeepStrictEqual(r.rows, expected[i])) {
                wrong.push(q.name);
                expect.soft(r.rows, `${q.name} under ${fault} on ${target}: rows in full`).toEqual(expected[i]); // never a wrong row
              }
            }
          }
          if (error) {
            outcome = error.code;
            shown = error.plain;
            expect.soft(error.message, `${fault} on ${target}: names the object`).toMatch(KEY_OF[target]);
            expect.soft(error.plain, `${fault} on ${target}: plain words, then the details`).toMatch(/^[A-Z].*?\. \(.+\)$/s);
          }
        } finally {
          await context.close();
        }
        if (wrong.length) outcome = `WRONG ROWS (${wrong.join(', ')})${outcome === 'rows' ? '' : `, then ${outcome}`}`;
        const requests = faulty.totalRequests - before;
        const ms = performance.now() - t0;
        cells.push(`| ${fault} | ${target} | ${outcome}${shown ? `: ${shown.slice(0, 90)}` : ''} | - | ${requests} | ${ms.toFixed(0)} |`);
        const w = want(fault, target, 'chromium');
        if (w === 'rows') expect.soft(outcome, `${fault} on ${target}`).toBe('rows');
        else expect.soft(w, `${fault} on ${target}: got ${outcome}`).toContain(outcome);
      }
    });
  }
});
