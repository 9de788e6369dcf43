/** Worker thread of fts-build.ts: builds the site index's FTS5 table in a file of its own. */
import { parentPort } from 'node:worker_threads';
import { openSqlite } from '../node/better-sqlite.js';
import type { SqliteDatabase } from '../node/better-sqlite.js';
import type { FtsMessage, FtsReply, FtsRow } from './fts-build.js';

let db: SqliteDatabase | null = null;
let insert: ((rows: FtsRow[]) => void) | null = null;

function handle(m: FtsMessage): FtsReply | null {
  switch (m.type) {
    case 'open': {
      db = openSqlite('site', m.path);
      db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144');
      for (const sql of m.schema) db.exec(sql);
      const ins = db.prepare('INSERT INTO search(rowid, title, heading, body) VALUES (?, ?, ?, ?)');
      insert = db.transaction((rows: FtsRow[]) => { for (const r of rows) ins.run(...r); });
      return null;
    }
    case 'rows':
      insert!(m.rows);
      return null;
    case 'end':
      db!.exec(`INSERT INTO search(search) VALUES('optimize')`);
      db!.close();
      return { done: true };
  }
}

parentPort!.on('message', (m: FtsMessage) => {
  try {
    const reply = handle(m);
    if (reply) parentPort!.postMessage(reply);
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message } satisfies FtsReply);
  }
});
