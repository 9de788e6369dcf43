/**
 * Checkpoint benchmark (checkpoint issue). Prints figures; asserts nothing.
 *   node dist/bench/checkpoint.js [--seconds 20] [--rate 20] [--interval-ms 1000]
 * A writer commits `rate` transactions a second (5 rows of 1 KB) to a WAL database
 * while `watch` publishes it to a local directory and a following reader (HEAD TTL
 * 250 ms) polls for the newest row. Reports publish lag (writer commit → visible to the
 * reader) and bytes per commit.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { watch } from '../src/checkpoint/checkpoint.js';
import type { CheckpointResult } from '../src/checkpoint/checkpoint.js';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i > 0 ? process.argv[i + 1] : dflt);
};
const seconds = arg('seconds', '20');
const rate = arg('rate', '20');
const intervalMs = arg('interval-ms', '1000');
const ttl = 250;
const work = path.resolve('.bench-data', 'checkpoint');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const dbPath = path.join(work, 'live.db');
const target = path.join(work, 'bucket');

const w = new Database(dbPath);
w.pragma('journal_mode = WAL');
w.exec('CREATE TABLE log(n INTEGER PRIMARY KEY, at REAL, payload TEXT)');
// Some history so the database is not trivially small: 20 MB.
w.exec("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) INSERT INTO log(at, payload) SELECT 0, printf('%.1000c', 'h') FROM c");
const ins = w.prepare('INSERT INTO log(at, payload) VALUES (?, ?)');
const committedAt = new Map<number, number>();
let last = 20000;
const writeTx = w.transaction(() => {
  for (let i = 0; i < 5; i++) ins.run(Date.now(), 'p'.repeat(1000));
  last += 5;
});

const ac = new AbortController();
const commits: CheckpointResult[] = [];
const watching = watch(dbPath, new LocalDirStore(target), { intervalMs, debounceMs: 100, signal: ac.signal, onCommit: (r) => commits.push(r) });
const writer = setInterval(() => { writeTx(); committedAt.set(last, performance.now()); }, 1000 / rate);

while (commits.length === 0) await new Promise((r) => setTimeout(r, 50));
const reader = await openDatabase(target, { headTtlMs: ttl });
const lags: number[] = [];
let seen = 0;
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  const [{ n }] = await reader.query('SELECT max(n) AS n FROM log');
  const now = performance.now();
  for (let k = seen + 5; k <= (n as number); k += 5) {
    const t = committedAt.get(k);
    if (t !== undefined && k > 20000) lags.push(now - t);
  }
  seen = Math.max(seen, n as number);
  await new Promise((r) => setTimeout(r, 20));
}
clearInterval(writer);
ac.abort();
await watching;
await reader.close();
w.close();
lags.sort((a, b) => a - b);
const q = (f: number) => lags[Math.min(lags.length - 1, Math.floor(f * lags.length))] ?? NaN;
const pub = commits.slice(1).filter((c) => !c.unchanged);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(`# checkpoint bench: ${rate} tx/s × 5 rows × 1 KB into a ${((last * 1.05) / 1000).toFixed(0)} MB WAL database, watch interval ${intervalMs} ms, reader HEAD TTL ${ttl} ms, ${seconds} s`);
console.log(`commits: ${pub.length}; incremental (WAL-guided hashing): ${pub.filter((c) => c.incremental).length}`);
console.log(`publish lag, writer commit → visible to the reader: p50 ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, max ${q(1).toFixed(0)} ms (${lags.length} samples)`);
console.log(`per commit: ${avg(pub.map((c) => c.blocksNew)).toFixed(1)} new blocks, ${(avg(pub.map((c) => c.bytesWritten)) / 1024).toFixed(0)} KiB written, ${avg(pub.map((c) => c.objectsWritten)).toFixed(1)} objects, ` +
  `${avg(pub.map((c) => c.blocksTotal - c.blocksReused)).toFixed(1)} of ${avg(pub.map((c) => c.blocksTotal)).toFixed(0)} blocks hashed, snapshot ${(avg(pub.map((c) => c.snapshotSeconds)) * 1000).toFixed(0)} ms, commit ${(avg(pub.map((c) => c.seconds)) * 1000).toFixed(0)} ms`);
