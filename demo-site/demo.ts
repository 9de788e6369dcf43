/**
 * The main job until the browser demo exists: build a sample database, publish it to a
 * local bucket directory with the uploader, serve the directory, print the URL.
 *   npm run demo            (PORT=8080 by default; PORT=0 picks a free port)
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { info } from '../src/ops/info.js';
import { serveDirectory } from '../src/serve/server.js';

const here = path.resolve(import.meta.dirname, '..', '..', 'demo-site');
const dbPath = path.join(here, 'sample.db');
const bucket = path.join(here, 'bucket');

function buildSample(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = delete');
  db.exec(`
    CREATE TABLE cities(id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL, population INTEGER NOT NULL);
    CREATE INDEX cities_country ON cities(country, population);
    CREATE VIRTUAL TABLE notes USING fts5(title, body);
  `);
  const syll = ['ka', 'lo', 'ri', 'man', 'tor', 'vel', 'sa', 'ne', 'dor', 'bri', 'ul', 'en', 'grad', 'ville', 'burg', 'ton'];
  const words = ['harbor', 'river', 'market', 'bridge', 'castle', 'garden', 'museum', 'station', 'library', 'square', 'tower', 'valley'];
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const city = db.prepare('INSERT INTO cities(name, country, population) VALUES (?, ?, ?)');
  const note = db.prepare('INSERT INTO notes(title, body) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 200_000; i++) {
      const name = Array.from({ length: 2 + rnd(3) }, () => syll[rnd(syll.length)]).join('');
      city.run(name[0].toUpperCase() + name.slice(1), `C${rnd(200)}`, 1000 + rnd(5_000_000));
    }
    for (let i = 0; i < 50_000; i++) {
      const body = Array.from({ length: 30 + rnd(40) }, () => words[rnd(words.length)]).join(' ');
      note.run(`Note ${i}`, body);
    }
  })();
  db.close();
}

if (!existsSync(dbPath)) {
  console.log(`building ${dbPath} …`);
  mkdirSync(here, { recursive: true });
  buildSample(dbPath);
}
const store = new LocalDirStore(bucket);
const r = await upload(dbPath, store);
console.log(r.unchanged ? `bucket already holds version ${r.seq}` : `published version ${r.seq}: ${r.blocksNew}/${r.blocksTotal} blocks new, ${r.objectsWritten} objects written`);
const i = await info(store);
writeFileSync(path.join(bucket, 'index.html'), `<!doctype html><meta charset="utf-8"><title>bucketlite demo bucket</title>
<h1>bucketlite demo bucket</h1><p>Version ${i.seq}, ${(i.dbSize / 1048576).toFixed(1)} MiB in ${i.blocks} blocks of ${i.blockSize / 1024} KiB, ${i.packs} packs.</p>
<p><a href="HEAD">HEAD</a> names the current manifest. Query it with <code>bucketlite query</code> (reader issue) or restore it with <code>npx bucketlite restore ${bucket} copy.db</code>.</p>`);
const port = Number(process.env.PORT ?? 8080);
const server = await serveDirectory(bucket, { port }).catch(() => serveDirectory(bucket, { port: 0 }));
console.log(`serving ${bucket}\n  ${server.url}\n  ${server.url}HEAD\nCtrl-C to stop.`);
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
