/**
 * The child process of the load test (test/reliability.test.ts): N concurrent readers
 * (openDatabase over HTTP, one shared bounded MemoryBlockCache) query a bucket for a
 * fixed time while the parent samples this process's RSS from outside. Every row is
 * checked against better-sqlite3 reading the original database file.
 *
 * Run compiled (tsc puts it in dist/test/, next to the built src/ it imports):
 *   node --expose-gc dist/test/load-readers.js <bucket-url> <original.db> <readers> <run-ms> <cache-bytes>
 * stdout, one JSON object a line: {"phase":"opened"} once every connection is open,
 * {"phase":"ready"} after the warm-up (the query phase starts then), {"phase":"done"}
 * with the counts when the time is up. The process then waits for stdin to close (so
 * the parent can read its VmHWM while it is still alive), closes the connections and
 * exits.
 */
import Database from 'better-sqlite3';
import { MemoryBlockCache } from '../src/cache/memory.js';
import type { BucketDatabase, Row, SqlValue } from '../src/database.js';
import { openDatabase } from '../src/node/open.js';

const [url, dbFile, readersArg, runMsArg, cacheArg] = process.argv.slice(2);
const readerCount = Number(readersArg);
const runMs = Number(runMsArg);
const cache = new MemoryBlockCache(Number(cacheArg));

// The oracle: native SQLite on the file the bucket was uploaded from. Read-only, one
// connection, prepared statements reused: its memory is constant over the run.
const oracle = new Database(dbFile, { readonly: true, fileMustExist: true });
const maxId = (oracle.prepare('SELECT max(id) AS m FROM items').get() as { m: number }).m;

const QUERIES: { sql: string; params: (r: () => number) => SqlValue[] }[] = [
  // A point lookup with the whole row.
  { sql: 'SELECT id, name, body FROM items WHERE id = ?', params: (r) => [1 + (r() % maxId)] },
  // A short range of the table b-tree.
  { sql: 'SELECT id, name, substr(body, 1, 40) AS head FROM items WHERE id BETWEEN ? AND ? ORDER BY id', params: (r) => { const a = 1 + (r() % maxId); return [a, a + 24]; } },
  // The secondary index (about half the names exist).
  { sql: 'SELECT id, name FROM items WHERE name = ? ORDER BY id', params: (r) => [`name-${r() % 100000}`] },
  // An aggregate over a few hundred rows (a few dozen pages).
  { sql: 'SELECT count(*) AS n, sum(length(body)) AS s, min(name) AS lo FROM items WHERE id BETWEEN ? AND ?', params: (r) => { const a = 1 + (r() % maxId); return [a, a + 400]; } },
];
const expected = QUERIES.map((q) => oracle.prepare(q.sql));

function same(got: Row[], want: unknown[]): boolean {
  return JSON.stringify(got) === JSON.stringify(want);
}

function emit(o: object): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const readers: BucketDatabase[] = [];
for (let i = 0; i < readerCount; i++) readers.push(await openDatabase(url, { cache, headTtlMs: 1000 }));
emit({ phase: 'opened', readers: readers.length });

// Warm-up: each connection's own SQLite page cache (wa-sqlite's default cache_size,
// -2000: 2000 KiB, about 460 pages of 4 KiB, in its wasm heap) fills as it reads: RSS
// that still grew ~110 MiB over 20 s of random queries, stops at ~3.5 MiB a connection,
// and is no leak. One scan of 8,000 rows (about 670 pages: 12 rows a page) fills it
// now, before the query phase, so that phase's RSS is flat unless something leaks.
// Then each connection runs each query of the mix once, so that the first run of a
// statement (which may grow the wasm heap's malloc arena) is not in the query phase.
const WARM = 'SELECT count(*) AS n, sum(length(body)) AS s FROM items WHERE id BETWEEN ? AND ?';
const warmWant = oracle.prepare(WARM);
const warmErrors: string[] = [];
await Promise.all(readers.map(async (conn, i) => {
  const a = 1 + ((i * 7919) % maxId);
  let seed = 1_000_000 + i;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const steps: [string, SqlValue[], { all(...p: unknown[]): unknown[] }][] = [
    [WARM, [a, a + 8_000], warmWant],
    ...QUERIES.map((q, k): [string, SqlValue[], typeof warmWant] => [q.sql, q.params(rand), expected[k]]),
  ];
  for (const [sql, params, want] of steps) {
    try {
      const got = await conn.query(sql, params);
      if (!same(got, want.all(...params))) warmErrors.push(`warm-up: wrong result: ${sql} ${JSON.stringify(params)}`);
    } catch (err) {
      warmErrors.push(`warm-up: ${sql} ${JSON.stringify(params)}: ${(err as Error).message}`);
    }
  }
}));
// The parent measures retained memory, so garbage must not pass for it. V8 collects
// lazily: in this load its heap climbed from 220 to 500 MiB of garbage before one full
// collection (and ArrayBuffers awaiting collection swing RSS by ~100 MiB), which a
// 20 s window cannot tell from a leak. So: a full collection after the warm-up, then
// one every 2 s through the query phase; the parent compares the lowest RSS of each
// quarter, reached after a collection. Each is two gc() calls: after one, V8 kept the
// freed pages and its committed heap (and RSS) still rose ~60 MiB over the first 40 s;
// after two it stays flat. A leak is memory still referenced, which no collection
// frees; what this hides is only memory that waits for a collection.
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
let gcMs = 0;
const collect = () => { const t = performance.now(); gc(); gc(); gcMs += performance.now() - t; };
collect();
emit({ phase: 'ready', warmErrors });
const collector = setInterval(collect, 2000);

let queries = 0;
let rows = 0;
let errors = 0;
let mismatches = 0;
const samples: string[] = [];
const perSecond: number[] = [];
const t0 = Date.now();
const end = t0 + runMs;
let maxCacheBytes = 0;
await Promise.all(readers.map(async (conn, i) => {
  let seed = i + 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  while (Date.now() < end) {
    const k = rand() % QUERIES.length;
    const params = QUERIES[k].params(rand);
    try {
      const got = await conn.query(QUERIES[k].sql, params);
      const want = expected[k].all(...params);
      if (!same(got, want)) {
        mismatches++;
        if (samples.length < 5) samples.push(`mismatch: ${QUERIES[k].sql} ${JSON.stringify(params)}: got ${JSON.stringify(got).slice(0, 200)}, want ${JSON.stringify(want).slice(0, 200)}`);
      }
      rows += got.length;
    } catch (err) {
      errors++;
      if (samples.length < 5) samples.push(`error: ${QUERIES[k].sql} ${JSON.stringify(params)}: ${(err as Error).message}`);
    }
    queries++;
    const sec = Math.floor((Date.now() - t0) / 1000);
    perSecond[sec] = (perSecond[sec] ?? 0) + 1;
    maxCacheBytes = Math.max(maxCacheBytes, cache.stats().bytes);
  }
}));
clearInterval(collector);
const s = cache.stats();
emit({ phase: 'done', ms: Date.now() - t0, gcMs: Math.round(gcMs), queries, rows, errors, mismatches, samples, perSecond: Array.from(perSecond, (n) => n ?? 0), cache: { ...s, maxBytesSeen: maxCacheBytes } });

process.stdin.resume();
process.stdin.on('end', async () => {
  for (const r of readers) await r.close();
  oracle.close();
  process.exit(0);
});
