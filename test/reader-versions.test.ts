/**
 * SQLite keeps or drops its page cache by the change counter the VFS presents on page 1.
 * That counter must change whenever the content does, including when a bucket is
 * deleted and published again from scratch (its versions restart at 1).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { startNginx } from './servers.js';
import type { RunningServer } from './servers.js';
import { makeDb, tempDir } from './helpers.js';

const dir = tempDir('bl-reader-versions-');
let nginx: RunningServer | undefined;
afterAll(async () => { await nginx?.stop(); });

const SQL = 'SELECT id, name, body FROM items ORDER BY id';
function oracle(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try { return db.prepare(SQL).all(); } finally { db.close(); }
}

describe('a long-lived reader and a bucket published again from scratch', () => {
  it('the next transaction returns the new rows, not pages cached from the old bucket', async () => {
    const a = path.join(dir, 'a.db');
    const b = path.join(dir, 'b.db');
    makeDb(a, { rows: 300 });
    makeDb(b, { rows: 300 });
    const d = new Database(b);
    d.exec("UPDATE items SET body = 'republished ' || id"); // same shape, other content
    d.close();
    const bucket = path.join(dir, 'bucket');
    expect((await upload(a, new LocalDirStore(bucket))).seq).toBe(1);
    nginx = await startNginx(dir);
    const conn = await openDatabase(`${nginx.url}bucket/`, { headTtlMs: 0 });
    try {
      expect(await conn.query(SQL)).toEqual(oracle(a)); // every page now in SQLite's cache
      rmSync(bucket, { recursive: true, force: true });
      expect((await upload(b, new LocalDirStore(bucket))).seq).toBe(1); // versions restart at 1
      const rows = await conn.query(SQL);
      expect(rows.filter((r) => String(r.body).startsWith('republished')).length).toBe(300);
      expect(rows).toEqual(oracle(b));
    } finally {
      await conn.close();
    }
  });
});
