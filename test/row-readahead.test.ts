import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { indexLeafRowids, readSchema, tableChildFor, tableOfIndex } from '../src/sqlite/records.js';
import { RowReadahead } from '../src/reader/row-readahead.js';
import { tempDir } from './helpers.js';

const dir = tempDir('bl-rows-');

/** A table with an index whose entries point at rows spread over the whole table. */
function build(): { file: Buffer; page: (n: number) => Uint8Array; db: Database.Database } {
  const f = path.join(dir, 'rows.db');
  const db = new Database(f);
  db.pragma('page_size = 4096');
  db.exec('CREATE TABLE ev(id INTEGER PRIMARY KEY, user INT, body TEXT); CREATE INDEX ev_user ON ev(user)');
  const ins = db.prepare('INSERT INTO ev(user, body) VALUES (?, ?)');
  db.transaction(() => { for (let i = 0; i < 20_000; i++) ins.run((i * 7919) % 500, 'x'.repeat(150)); })();
  db.close();
  const file = readFileSync(f);
  return { file, page: (n) => file.subarray((n - 1) * 4096, n * 4096), db: new Database(f, { readonly: true }) };
}

describe('reading pages for readahead (src/sqlite/records.ts), checked against SQLite itself', () => {
  const { page, db } = build();
  const roots = Object.fromEntries((db.prepare('SELECT name, rootpage FROM sqlite_schema').all() as { name: string; rootpage: number }[]).map((r) => [r.name, r.rootpage]));
  const leaf = (name: string) => (db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' LIMIT 1 OFFSET 3").get(name) as { pageno: number }).pageno;

  it('the schema: each index maps to its table root', () => {
    const schema = readSchema(page, 4096);
    expect(schema.map((e) => [e.name, e.rootpage])).toEqual(expect.arrayContaining([['ev', roots.ev], ['ev_user', roots.ev_user]]));
    expect(tableOfIndex(schema).get(roots.ev_user)).toBe(roots.ev);
  });
  it('an index leaf names the rowids SQLite stores in it, in order', () => {
    const pg = leaf('ev_user');
    const got = indexLeafRowids(page(pg), pg, 4096);
    const users = db.prepare('SELECT user, id FROM ev INDEXED BY ev_user ORDER BY user, id').all() as { user: number; id: number }[];
    const at = users.findIndex((u) => u.id === got[0]);
    expect(got.length).toBeGreaterThan(50);
    expect(got).toEqual(users.slice(at, at + got.length).map((u) => u.id));
  });
  it('descending the table by rowid reaches the leaf dbstat says holds it', () => {
    for (const rowid of [1, 777, 12_345, 20_000]) {
      let pg = roots.ev;
      for (;;) {
        const c = tableChildFor(page(pg), pg, rowid);
        if (c === 'leaf') break;
        pg = c;
      }
      const cells = (db.prepare('SELECT ncell FROM dbstat WHERE name = ? AND pageno = ?').get('ev', pg) as { ncell: number }).ncell;
      expect(cells).toBeGreaterThan(0);
      // The leaf holds the row: its cells' rowids (table leaf cells: payload size, rowid) include it.
      const p = page(pg);
      const n = (p[3] << 8) | p[4];
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        let off = (p[8 + 2 * i] << 8) | p[9 + 2 * i];
        while (p[off] & 0x80) off++;
        off++;
        let v = 0;
        while (p[off] & 0x80) v = v * 128 + (p[off++] & 0x7f);
        ids.push(v * 128 + p[off]);
      }
      expect(ids).toContain(rowid);
    }
  });
});

describe('index-to-row readahead policy', () => {
  /** A fake table: row r lives on leaf 1000 + floor(r / 10); nothing is "local" unless `local` says so. */
  function harness() {
    const fetched: number[] = [];
    const local = new Set<number>();
    const ra = new RowReadahead(async (_t, rowid, fetch) => {
      if (fetch) { fetched.push(rowid); return 1000 + Math.floor(rowid / 10); }
      return local.has(rowid) ? 1000 + Math.floor(rowid / 10) : null;
    }, 16);
    return { ra, fetched, local };
  }
  const rowids = Array.from({ length: 60 }, (_, i) => i * 37); // one row per table leaf, spread out
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('after two rows looked up through one index leaf, the next rows are located ahead, in doubling windows', async () => {
    const { ra, fetched, local } = harness();
    ra.onIndexLeaf(5, 2, rowids);
    for (let k = 0; k < 30; k++) {
      local.add(rowids[k]); // SQLite read this row's path itself
      await ra.onTableLeaf(2, 1000 + Math.floor(rowids[k] / 10));
      await settle();
      if (k === 0) expect(fetched).toEqual([]); // one row is no evidence
    }
    expect(fetched.length).toBeGreaterThan(20);
    expect(new Set(fetched).size).toBe(fetched.length); // each row located once
    expect(Math.max(...fetched)).toBeLessThanOrEqual(rowids[30 + 16]); // never more than a window ahead
    expect(ra.stats.windows).toBeGreaterThan(2);
  });
  it('FTS5 doclists: two doclists stepping through the same leaves are both followed, each up to its end', async () => {
    const { ra, fetched, local } = harness();
    // Two doclists (a null between them) whose rows share table leaves: related terms.
    const a = Array.from({ length: 12 }, (_, i) => 100 + i * 10);
    const b = a.map((r) => r + 1);
    ra.onIndexLeaf(5, 2, [...a, null, ...b]);
    for (const r of [...a, ...b]) local.add(r); // every leaf known by number (the tree's upper levels are at hand)
    for (const k of [0, 1, 2]) {
      await ra.onTableLeaf(2, 1000 + Math.floor(a[k] / 10));
      await settle();
    }
    expect(fetched.length).toBeGreaterThanOrEqual(8); // a window in each doclist
    expect(fetched.every((r) => a.slice(2).includes(r) || b.slice(2).includes(r))).toBe(true); // ahead of the walk, in the two doclists
    expect(fetched).not.toContain(b[0]); // nothing behind, nothing across the end of a doclist
  });
  it('a point lookup (one row), another table, or a backward walk: nothing, or the rows behind', async () => {
    const one = harness();
    one.ra.onIndexLeaf(5, 2, rowids);
    one.local.add(rowids[10]);
    await one.ra.onTableLeaf(2, 1000 + Math.floor(rowids[10] / 10));
    await one.ra.onTableLeaf(3, 1000 + Math.floor(rowids[11] / 10)); // another table
    await settle();
    expect(one.fetched).toEqual([]);
    const back = harness();
    back.ra.onIndexLeaf(5, 2, rowids);
    for (const k of [40, 39, 38]) {
      back.local.add(rowids[k]);
      await back.ra.onTableLeaf(2, 1000 + Math.floor(rowids[k] / 10));
    }
    await settle();
    expect(back.fetched.length).toBeGreaterThan(0);
    expect(back.fetched.every((r) => r < rowids[39])).toBe(true); // only rows behind the walk
  });
});
