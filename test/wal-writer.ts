/**
 * An application writing a WAL database from its own process, with its connection kept
 * open the whole time (what `bucketlite checkpoint` publishes in real use). Driven by
 * JSON lines on stdin, one reply line per command on stdout:
 *   {"cmd":"fill","mb":N}                 table t(id, v) of about N MB (rows of 1000 bytes)
 *   {"cmd":"update","rows":N}             one transaction updating N random rows of t
 *   {"cmd":"insert","rows":N}             one transaction appending N rows to t
 *   {"cmd":"delete","rows":N}             one transaction deleting N random rows of t
 *   {"cmd":"rate","tps":R,"seconds":S}    R transactions a second for S seconds into log(n, at):
 *                                         replies with each commit's wall-clock time
 *   {"cmd":"checkpoint","mode":"TRUNCATE"} the application's own wal_checkpoint
 *   {"cmd":"pragma","sql":"wal_autocheckpoint = 10"}
 *   {"cmd":"quit"}
 * Usage: node dist/test/wal-writer.js <db> [seed]
 */
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';

const db = new Database(process.argv[2]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.exec('CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE IF NOT EXISTS log(n INTEGER PRIMARY KEY, at REAL)');

// Each process its own sequence, so a second writer does not repeat the first one's rows.
let seed = Number(process.argv[3] ?? process.pid) >>> 0;
// (Math.imul: a plain multiply passes 2^53 and falls into a short cycle.)
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const maxId = () => (db.prepare('SELECT coalesce(max(id), 0) AS m FROM t').get() as { m: number }).m;
const row = () => rand().toString(36).slice(2).repeat(100).slice(0, 1000);

function fill(mb: number): void {
  const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
  const batch = db.transaction((n: number) => { for (let i = 0; i < n; i++) ins.run(row()); });
  for (let left = mb * 1000; left > 0; left -= 20_000) batch(Math.min(20_000, left));
}

function rate(tps: number, seconds: number): Promise<number[]> {
  const ins = db.prepare('INSERT INTO log(at) VALUES (?)');
  const times: number[] = [];
  const end = Date.now() + seconds * 1000;
  return new Promise((resolve) => {
    const tick = () => {
      if (Date.now() >= end) return resolve(times);
      const at = Date.now();
      ins.run(at);
      times.push(at);
      setTimeout(tick, Math.max(0, at + 1000 / tps - Date.now()));
    };
    tick();
  });
}

const handlers: Record<string, (c: Record<string, unknown>) => unknown> = {
  fill: (c) => fill(Number(c.mb)),
  update: (c) => db.transaction(() => {
    const m = maxId();
    const up = db.prepare('UPDATE t SET v = ? WHERE id = ?');
    for (let i = 0; i < Number(c.rows); i++) up.run(row(), 1 + Math.floor(rand() * m));
  })(),
  insert: (c) => db.transaction(() => {
    const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
    for (let i = 0; i < Number(c.rows); i++) ins.run(row());
  })(),
  delete: (c) => db.transaction(() => {
    const m = maxId();
    const del = db.prepare('DELETE FROM t WHERE id = ?');
    for (let i = 0; i < Number(c.rows); i++) del.run(1 + Math.floor(rand() * m));
  })(),
  rate: (c) => rate(Number(c.tps), Number(c.seconds)),
  checkpoint: (c) => db.pragma(`wal_checkpoint(${String(c.mode ?? 'PASSIVE')})`),
  pragma: (c) => db.pragma(String(c.sql)),
  quit: () => { db.close(); process.exit(0); },
};

const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  queue = queue.then(async () => {
    const c = JSON.parse(line) as Record<string, unknown>;
    try {
      const result = await handlers[String(c.cmd)](c);
      process.stdout.write(JSON.stringify({ ok: true, at: Date.now(), result: result ?? null }) + '\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ ok: false, error: (err as Error).message }) + '\n');
    }
  });
});
rl.on('close', () => db.close());
