import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { fts5LeafDoclists, isFts5LeafId } from '../src/sqlite/fts5.js';

/** Words with a skewed frequency, from a seeded generator: some terms' doclists span many leaves. */
function buildFts(rows: number): Database.Database {
  const db = new Database(':memory:');
  db.exec('CREATE VIRTUAL TABLE t USING fts5(body)');
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const words = Array.from({ length: 3000 }, (_, i) => `w${i.toString(36)}`);
  const insert = db.prepare('INSERT INTO t(rowid, body) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) {
      const n = 3 + Math.floor(rand() * 30);
      insert.run(i * 3, Array.from({ length: n }, () => words[Math.floor(words.length * rand() ** 3)]).join(' '));
    }
  })();
  db.exec("INSERT INTO t(t) VALUES ('optimize')"); // one segment: each term's doclist is one run of leaves
  return db;
}

describe('FTS5 leaf doclists', () => {
  it('decoding every leaf of a real FTS5 index gives exactly the rowids SQLite matches for every term', () => {
    const db = buildFts(6000);
    const leaves = (db.prepare('SELECT id, block FROM t_data ORDER BY id').all() as { id: number; block: Buffer }[]).filter((r) => isFts5LeafId(r.id));
    expect(leaves.length).toBeGreaterThan(50);
    const byTerm = new Map<string, number[]>();
    let last = '';
    for (const { block } of leaves) {
      for (const d of fts5LeafDoclists(new Uint8Array(block))) {
        if (d.term) last = Buffer.from(d.term).toString('utf8');
        byTerm.set(last, [...(byTerm.get(last) ?? []), ...d.rowids]);
      }
    }
    db.exec("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')");
    const oracle = new Map<string, number[]>();
    for (const { term, doc } of db.prepare('SELECT DISTINCT term, doc FROM v ORDER BY term, doc').all() as { term: string; doc: number }[]) {
      oracle.set(`0${term}`, [...(oracle.get(`0${term}`) ?? []), doc]);
    }
    expect(byTerm.size).toBe(oracle.size);
    for (const [term, docs] of oracle) expect(byTerm.get(term), term).toEqual(docs);
    const longest = Math.max(...[...oracle.values()].map((d) => d.length));
    expect(longest).toBeGreaterThan(2000); // some doclists span several leaves
    db.close();
  });

  it('the structure record, the averages and damaged bytes give nothing', () => {
    const db = buildFts(200);
    expect(isFts5LeafId(1)).toBe(false);
    expect(isFts5LeafId(10)).toBe(false);
    const { block } = db.prepare('SELECT block FROM t_data WHERE id = 10').get() as { block: Buffer };
    expect(fts5LeafDoclists(new Uint8Array(block)).flatMap((d) => d.rowids).length).toBeLessThan(50);
    expect(fts5LeafDoclists(new Uint8Array([0, 0]))).toEqual([]);
    expect(fts5LeafDoclists(new Uint8Array([0, 9, 0, 5, 1]))).toEqual([]); // first rowid past the footer
    expect(fts5LeafDoclists(new Uint8Array([0, 0, 0, 6, 0, 0, 0x7f]))).toEqual([]); // a term offset past the footer
    db.close();
  });
});
