// A writer for checkpoint tests: appends transactions of 1–5 rows to `log` in WAL
// mode as fast as it can (with a tiny pause), forever, until killed. Each row names
// its transaction and the transaction's size, so a reader can tell a torn one.
//   node test/writer.mjs <db> [payload-bytes]
import Database from 'better-sqlite3';

const [file, payloadArg] = process.argv.slice(2);
const payload = 'x'.repeat(Number(payloadArg ?? 500));
const db = new Database(file, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.exec('CREATE TABLE IF NOT EXISTS log(n INTEGER PRIMARY KEY, txn INTEGER NOT NULL, size INTEGER NOT NULL, payload TEXT NOT NULL)');
const ins = db.prepare('INSERT INTO log(n, txn, size, payload) VALUES (?, ?, ?, ?)');
let n = db.prepare('SELECT coalesce(max(n), 0) AS n FROM log').get().n;
let txn = db.prepare('SELECT coalesce(max(txn), 0) AS t FROM log').get().t;
const write = db.transaction((k) => {
  txn++;
  for (let i = 0; i < k; i++) ins.run(++n, txn, k, payload + n);
});
process.on('SIGTERM', () => { db.close(); process.exit(0); });
for (;;) {
  write(1 + (txn % 5));
  const until = Date.now() + 2;
  while (Date.now() < until) { /* a short pause between transactions */ }
  if (txn % 50 === 0) await new Promise((r) => setTimeout(r, 5));
}
