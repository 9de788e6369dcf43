/**
 * Builds the impact table (format in terms.ts) from the index's sections. Node only.
 *
 * Words are spelled by `tokens` (what the browser can compute); their stems come from
 * FTS5's own porter tokenizer, so a word's row lists every section with any form of
 * it, as an FTS5 query for the word would match. Every build recomputes every row and
 * writes only rows whose bytes changed: an edit rewrites the rows of the words it
 * touches, not the table.
 */
import { inflateSync } from 'node:zlib';
import type { SqliteDatabase } from '../node/better-sqlite.js';
import { RANK_WEIGHTS, stemTables } from './query.js';
import { countWords, Vocabulary } from './rows.js';
import type { Counts, RowBatch } from './rows.js';
import { encodePostings, PREFIX_KEY_MAX, PREFIX_KEY_MIN, TERM_CAP, termId, union } from './terms.js';
import type { Postings, Top } from './terms.js';

const K1 = 1.2;
const B = 0.75;
/** The row of the frozen collection statistics (no word is empty). */
const STATS_ID = termId('');

/**
 * Collection statistics, frozen at a fresh build: rows, average length, and each stem's
 * document count. An update scores with them, so a changed page changes the rows of its
 * own words only (a new stem takes its count from the update).
 */
interface Stats { n: number; avgLength: number; df: Record<string, number> }

/** A section's length in tokens, the length its scores use (build.ts scoredLength), and (word index, weighted count) pairs (a word may have two: title and text). */
export interface SectionCounts extends Counts { id: number; scored: number }

/**
 * Every section's words with their weighted counts (title, heading, body weights as
 * bm25's). The builder adds the rows it writes as it writes them, counted where they
 * were made (rows.ts), so each text is tokenized once; `writeTerms` reads the rest (an
 * update's unchanged rows) from the database.
 */
export class Collector {
  private readonly vocab = new Vocabulary();
  readonly sections = new Map<number, SectionCounts>();
  /** Each batch vocabulary's words as indexes of this one. */
  private readonly adopted = new WeakMap<string[], Int32Array>();

  get words(): string[] { return this.vocab.words; }

  /** Tokenizes one row's title, heading and body. */
  add(id: number, title: string, heading: string, body: string, scored = 0): SectionCounts {
    return this.put(id, countWords(this.vocab, [title, heading, body], RANK_WEIGHTS), scored);
  }

  /** A page title's counts, to pass to addRow for each of the page's rows. */
  title(title: string): Counts {
    return countWords(this.vocab, [title], RANK_WEIGHTS.slice(0, 1));
  }

  /** Row r of `batch` (counted where it was made, rows.ts), with its page's `title` counts; `scored` may be set on the result. */
  addRow(id: number, title: Counts, batch: RowBatch, r: number): SectionCounts {
    const map = this.adopt(batch.vocab);
    const from = r === 0 ? 0 : batch.pairEnd[r - 1];
    const to = batch.pairEnd[r];
    const pairs = new Float64Array(title.pairs.length + to - from);
    pairs.set(title.pairs);
    for (let k = from, at = title.pairs.length; k < to; k += 2, at += 2) {
      pairs[at] = map[batch.pairs[k]];
      pairs[at + 1] = batch.pairs[k + 1];
    }
    return this.put(id, { length: title.length + batch.length[r], pairs }, 0);
  }

  private adopt(vocab: string[]): Int32Array {
    let map = this.adopted.get(vocab);
    if (!map) {
      map = Int32Array.from(vocab, (w) => this.vocab.id(w));
      this.adopted.set(vocab, map);
    }
    return map;
  }

  private put(id: number, c: Counts, scored: number): SectionCounts {
    const s = { id, length: c.length, scored, pairs: c.pairs };
    this.sections.set(id, s);
    return s;
  }
}

interface Collected { words: string[]; sections: SectionCounts[] }

export function writeTerms(db: SqliteDatabase, fresh: boolean, collector = new Collector()): { rows: number; written: number } {
  const collected = collect(db, collector);
  const stemOf = stems(db, collected.words);
  const byStem = postingsByStem(collected, stemOf);
  const stats = (!fresh && storedStats(db)) || statsOf(collected, byStem);
  const rows = new Map<number, Uint8Array>();
  rows.set(STATS_ID, new TextEncoder().encode(JSON.stringify(stats)));
  const keyOf = new Map<number, string>([[STATS_ID, '']]);
  const put = (key: string, p: Omit<Postings, 'key'>) => {
    const id = termId(key);
    // Two keys that hash alike (rare: 37 bits within keys that begin alike): the first in
    // code-unit order keeps the row, the other misses and goes to FTS5 (a reader checks
    // the key), the same in every build.
    const held = keyOf.get(id);
    if (held !== undefined && held < key) return;
    keyOf.set(id, key);
    rows.set(id, encodePostings({ ...p, key }));
  };
  const top = new Map<string, Top>();
  for (const [stem, list] of byStem) top.set(stem, topOf(list, stats, stats.df[stem] ?? list.ids.length));
  const extended = extendedWords(collected.words);
  collected.words.forEach((w, i) => {
    const t = top.get(stemOf[i])!;
    put(w, { ...t, stem: stemOf[i], last: !extended.has(w) });
  });
  for (const [prefix, t] of prefixTops(collected.words, stemOf, top)) put(`${prefix}*`, { ...t, stem: prefix });
  return { rows: rows.size, written: store(db, rows) };
}

/** The collector's rows and every other row of the sections table, in row id order. */
function collect(db: SqliteDatabase, c: Collector): Collected {
  const { n } = db.prepare('SELECT count(*) AS n FROM sections').get() as { n: number };
  if (c.sections.size < n) {
    const it = db.prepare('SELECT id, title, heading, body, scored FROM sections ORDER BY id').iterate() as IterableIterator<{ id: number; title: string; heading: string; body: Uint8Array; scored: number }>;
    for (const row of it) {
      if (!c.sections.has(row.id)) c.add(row.id, row.title, row.heading, row.body.length ? inflateSync(row.body).toString('utf8') : '', row.scored);
    }
  }
  return { words: c.words, sections: [...c.sections.values()].sort((a, b) => a.id - b.id) };
}

function statsOf(c: Collected, byStem: Map<string, StemList>): Stats {
  const total = c.sections.reduce((a, s) => a + s.length, 0);
  const df: Record<string, number> = {};
  for (const [stem, l] of byStem) df[stem] = l.ids.length;
  return { n: c.sections.length, avgLength: c.sections.length ? total / c.sections.length : 1, df };
}

function storedStats(db: SqliteDatabase): Stats | null {
  const row = db.prepare('SELECT data FROM terms WHERE id = ?').get(STATS_ID) as { data: Uint8Array } | undefined;
  return row ? (JSON.parse(new TextDecoder().decode(row.data)) as Stats) : null;
}

/** FTS5's porter stem of each word, through a temporary FTS5 table and its instance vocabulary. */
function stems(db: SqliteDatabase, words: string[]): string[] {
  for (const sql of stemTables('stem_words')) db.exec(sql);
  try {
    const ins = db.prepare('INSERT INTO temp.stem_words(rowid, w) VALUES (?, ?)');
    db.transaction(() => words.forEach((w, i) => ins.run(i + 1, w)))();
    const out = words.slice();
    for (const r of db.prepare('SELECT term, doc FROM temp.stem_words_v WHERE "offset" = 0').iterate() as IterableIterator<{ term: string; doc: number }>) {
      out[r.doc - 1] = r.term;
    }
    return out;
  } finally {
    db.exec('DROP TABLE temp.stem_words_v; DROP TABLE temp.stem_words');
  }
}

/**
 * A section's length as scores see it: rounded to a step of 1/8 of a power of two (at
 * most 6 % off). bm25's length term changes smoothly, so ranking hardly moves; with the
 * slack build.ts allows an edited row, an edit rewrites the term rows of the words it
 * adds or removes, not those of every word of the section.
 */
export function quantizedLength(n: number): number {
  if (n < 16) return n;
  const step = 2 ** (Math.floor(Math.log2(n)) - 3);
  return Math.round(n / step) * step;
}

interface StemList { ids: number[]; tf: number[]; length: number[] }

function postingsByStem(c: Collected, stemOf: string[]): Map<string, StemList> {
  const out = new Map<string, StemList>();
  for (const s of c.sections) {
    const perStem = new Map<string, number>();
    for (let k = 0; k < s.pairs.length; k += 2) {
      const stem = stemOf[s.pairs[k]];
      perStem.set(stem, (perStem.get(stem) ?? 0) + s.pairs[k + 1]);
    }
    for (const [stem, tf] of perStem) {
      const l = out.get(stem) ?? out.set(stem, { ids: [], tf: [], length: [] }).get(stem)!;
      l.ids.push(s.id);
      l.tf.push(tf);
      l.length.push(s.scored);
    }
  }
  return out;
}

function topOf(l: StemList, st: Stats, df: number): Top {
  let idf = Math.log((st.n - df + 0.5) / (df + 0.5));
  if (!(idf > 0)) idf = 1e-6;
  const scores = l.tf.map((tf, i) => (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * l.length[i]) / st.avgLength)));
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || l.ids[a] - l.ids[b]).slice(0, TERM_CAP);
  return { capped: l.ids.length > TERM_CAP, ids: order.map((i) => l.ids[i]), scores: order.map((i) => scores[i]) };
}

/** Words that another word starts with. */
function extendedWords(words: string[]): Set<string> {
  const sorted = words.slice().sort();
  return new Set(sorted.filter((w, i) => i + 1 < sorted.length && sorted[i + 1].startsWith(w)));
}

/**
 * Each prefix with a row of its own, with its sections (terms.ts union over the stems of
 * the words that start with it), longest prefixes first: a shorter prefix's list is the
 * union of its one-longer prefixes' lists and of the words equal to it. Exact: a
 * section in the best TERM_CAP of a union is in the best TERM_CAP of the part holding
 * its best score (the order is total), and `capped` carries over. A 3-letter prefix
 * then merges a few dozen lists, not one per word under it (thousands on rust-doc).
 */
function prefixTops(words: string[], stemOf: string[], top: Map<string, Top>): Map<string, Top> {
  const direct = new Map<string, Set<string>>(); // at PREFIX_KEY_MAX every word it starts; below, the words equal to it
  const children = new Map<string, Set<string>>();
  const add = <T>(m: Map<string, Set<T>>, k: string, v: T) => (m.get(k) ?? m.set(k, new Set()).get(k)!).add(v);
  const all = new Set<string>();
  words.forEach((w, i) => {
    if (w.length >= PREFIX_KEY_MIN) add(direct, w.slice(0, PREFIX_KEY_MAX), stemOf[i]);
    for (let len = PREFIX_KEY_MIN; len <= Math.min(PREFIX_KEY_MAX, w.length); len++) {
      const p = w.slice(0, len);
      all.add(p);
      if (len > PREFIX_KEY_MIN) add(children, p.slice(0, -1), p);
    }
  });
  const out = new Map<string, Top>();
  for (const p of [...all].sort((a, b) => b.length - a.length)) {
    const parts = [...(direct.get(p) ?? [])].map((s) => top.get(s)!);
    for (const c of children.get(p) ?? []) parts.push(out.get(c)!);
    out.set(p, union(parts));
  }
  return out;
}

/** Writes rows whose bytes changed, deletes rows no longer made; returns rows written. */
function store(db: SqliteDatabase, rows: Map<number, Uint8Array>): number {
  const old = new Map((db.prepare('SELECT id, data FROM terms').all() as { id: number; data: Uint8Array }[]).map((r) => [r.id, r.data]));
  const put = db.prepare('INSERT OR REPLACE INTO terms(id, data) VALUES (?, ?)');
  const del = db.prepare('DELETE FROM terms WHERE id = ?');
  let written = 0;
  db.transaction(() => {
    for (const id of [...rows.keys()].sort((a, b) => a - b)) {
      const bytes = rows.get(id)!;
      const was = old.get(id);
      if (was && Buffer.from(was).equals(bytes)) continue;
      put.run(id, bytes);
      written++;
    }
    for (const id of old.keys()) if (!rows.has(id)) del.run(id);
  })();
  return written;
}
