/**
 * Site search: the index's schema and how a search runs on it. Browser-safe (no Node
 * imports): `bucketlite search` (Node) and `bucketlite/search` (the browser worker) both
 * call `runSearch` with their own way to run SQL, so they rank exactly alike.
 *
 * The index (one SQLite database, built by site/build.ts; docs/SITE-SEARCH.md):
 * - `terms`: per word and per prefix, the best sections with their scores (terms.ts,
 *   built by impact.ts): most searches read only these rows and their excerpt rows.
 * - `sections`: a page cut at its headings and then into chunks of at most CHUNK_CHARS,
 *   the text compressed (body.ts): a search reads only the rows of its results, and
 *   compressed rows of one page share few pages, so an excerpt costs half the
 *   bytes plain text would. Row id =
 *   page id × SECTIONS_PER_PAGE + chunk number, so a ranking groups chunks into pages
 *   from an index alone, without reading a row. Every chunk carries the page's
 *   title (a query may match the title and the body together), and each page has a
 *   title row (chunk TITLE_ROW: the title alone): the shortest document that holds the
 *   title's words, so bm25 ranks a page whose title is the query near the top without
 *   a lookup of its own (WordNet's noun "ocean" came 105th for `ocean` before).
 * - `search`: FTS5 over the sections' text (contentless: the text is stored once, in
 *   `sections`; excerpts come from there, never from FTS5's snippet()), porter
 *   stemming over unicode61, no prefix index (`terms` has every prefix of 3 to 8
 *   characters), ranked by bm25 with title above headings above body: what `terms`
 *   cannot answer exactly.
 * - `pages`: URL and digest of what was indexed, for incremental rebuilds.
 */
import { decodeBody, deflateText } from './body.js';
import { toHex } from '../format/binary.js';
import { decodePostings, encodePostings, escapeHtml, excerptOf, PREFIX_KEY_MAX, termId, tokens } from './terms.js';
import type { Postings } from './terms.js';

/**
 * PRAGMA user_version of a site index (no table of its own: every table's root page
 * travels in HEAD). Bumped when the schema changes; a builder meeting another version
 * rebuilds from scratch.
 */
export const SITE_SCHEMA_VERSION = 0x5e4c0009; // the high 16 bits mark a site index of any version (build.ts)
/** Site indexes of any schema version share these high bits of user_version. */
export const SITE_INDEX_TAG = 0x5e4c0000;

/** What a database's user_version says it is: this schema, another site index's, or no site index. */
export function siteIndexKind(userVersion: number): 'current' | 'other-version' | 'not-a-site-index' {
  if (userVersion === SITE_SCHEMA_VERSION) return 'current';
  return (userVersion & 0xffff0000) === SITE_INDEX_TAG ? 'other-version' : 'not-a-site-index';
}
/**
 * Why a database cannot be searched, from its user_version and what to call it (a
 * target without credentials): null for a site index of this schema. The CLI and the
 * browser's search() both refuse with these words.
 */
export function unsearchable(userVersion: number, target: string): string | null {
  const kind = siteIndexKind(userVersion);
  if (kind === 'not-a-site-index') return `search: ${target} holds a database that is not a site search index; build one with \`bucketlite site <site-dir> <target>\``;
  if (kind === 'other-version') return `search: ${target} holds a site index of another bucketlite version; build it again with \`bucketlite site <site-dir> <target>\``;
  return null;
}

/** Chunks per page in a section row id; a page's text past the last chunk is cut. */
export const SECTIONS_PER_PAGE = 4096;
/** The chunk number of a page's title row. */
export const TITLE_ROW = SECTIONS_PER_PAGE - 1;
/** Characters of text per chunk: compressed, under a 2 KiB page (build.ts SITE_PAGE_SIZE) for most text (a longer row overflows, which costs a read). */
export const CHUNK_CHARS = 3000;
/** bm25 weights of the columns title, heading, body (FTS5's rank, and the impact table's scores). */
export const RANK_WEIGHTS = [10, 4, 1] as const;
/** FTS5's rank: bm25 with RANK_WEIGHTS. */
export const RANK = `bm25(${RANK_WEIGHTS.map((w) => w.toFixed(1)).join(', ')})`;

/** FTS5's automerge for updates: an update adds a segment; merging pairs keeps the segments a search looks a term up in few. */
export const FTS5_AUTOMERGE = 2;

/** FTS5's tokenizer for the index, and for the stems of words (impact.ts, fts5Stems). */
export const TOKENIZE = 'porter unicode61 remove_diacritics 2';

/**
 * A temporary FTS5 table `temp.<words>` and its instance vocabulary `temp.<words>_v`:
 * each word inserted (rowid = its place) comes out as FTS5's own stem of it. The build
 * stems the site's words with it (impact.ts), a search its query's (fts5Stems).
 */
export function stemTables(words: string): string[] {
  return [
    `CREATE VIRTUAL TABLE IF NOT EXISTS temp.${words} USING fts5(w, tokenize='${TOKENIZE}')`,
    `CREATE VIRTUAL TABLE IF NOT EXISTS temp.${words}_v USING fts5vocab(temp, ${words}, instance)`,
  ];
}

/** The FTS5 table and its settings (also built on a thread of its own: fts-build.ts). */
export const SEARCH_SCHEMA = [
  // Contentless with deletes: the builder inserts each section's text and deletes by row id.
  `CREATE VIRTUAL TABLE search USING fts5(title, heading, body, content='', contentless_delete=1,
     tokenize='${TOKENIZE}')`,
  `INSERT INTO search(search, rank) VALUES('rank', '${RANK}')`,
  `INSERT INTO search(search, rank) VALUES('automerge', ${FTS5_AUTOMERGE})`,
];

export const SITE_SCHEMA = [
  `CREATE TABLE terms(id INTEGER PRIMARY KEY, data BLOB NOT NULL)`,
  `CREATE TABLE pages(url TEXT PRIMARY KEY, id INTEGER NOT NULL, digest TEXT NOT NULL, meta TEXT) WITHOUT ROWID`,
  ...SEARCH_SCHEMA,
  // body: the chunk's text compressed (body.ts), empty for a title row.
  `CREATE TABLE sections(id INTEGER PRIMARY KEY, title TEXT NOT NULL, heading TEXT NOT NULL, body BLOB NOT NULL, url TEXT NOT NULL, lead TEXT NOT NULL, scored INTEGER NOT NULL)`,
];

/**
 * Reader options for a search index. A search reads scattered pages (term rows, excerpt
 * rows, and for FTS5 bm25's %_docsize rows) and names the rows it reads (prefetchRows),
 * so sequential and sibling readahead only add bytes; the row readahead for %_docsize
 * stays on. The block hashes of `sections` and `terms` are fetched when the index opens,
 * each when it fits (all of a small site's: build.ts siteBlocksPerLeaf), so a search's
 * rows cost one request per run of blocks and no leaf round trip: a search is then two
 * round trips after open.
 */
export const SEARCH_READ_OPTIONS = { maxReadaheadBytes: 0, maxSiblingReadahead: 0, warmTables: ['sections', 'terms'] } as const;

export interface SearchOptions {
  /** Pages to return (default 10, at most 100). */
  limit?: number;
  /** Heading-level results per page (default 3). */
  subResults?: number;
}

export interface SubResult {
  url: string;
  title: string;
  /** HTML: the text escaped, matched words in <mark>. */
  excerpt: string;
}

export interface SearchResult extends SubResult {
  /** Higher is better: bm25 of the page's best section, plus half its second's and a quarter its third's. */
  score: number;
  sub: SubResult[];
}

/** Runs one statement and returns its rows (Node's BucketDatabase.query, the browser worker's). */
export type RunSql = (sql: string, params: (string | number)[]) => Promise<Record<string, unknown>[]>;

/** What a search needs of a database: Node's BucketDatabase and the browser's BrowserDatabase both fit. */
export interface SearchDb {
  query: RunSql;
  /** Fetches the leaves holding these rows at once, before the statement that reads them (optional). */
  prefetchRows?(table: string, rowids: number[]): Promise<unknown>;
}

/** Sections ranked before they are grouped into pages: enough for `limit` pages with sub-results. */
const CANDIDATES = 60;

/** Words of a query as the index sees them (terms.ts `tokens`), at most 16. */
export function queryWords(words: string): string[] {
  return tokens(words).slice(0, 16);
}

/** A title or a query, normalised the same way: equal keys are an exact title match. */
export function titleKey(s: string): string {
  return queryWords(s).join(' ');
}

/** Characters of a word being typed before it is searched as a prefix. */
export const MIN_PREFIX = 3;

/** What the user typed, as words: the last one is a prefix while it is being typed (no trailing space). */
interface Typed { words: string[]; prefix: boolean }

function typed(words: string): Typed | null {
  const w = queryWords(words);
  let prefix = w.length > 0 && !/[\s\p{P}]$/u.test(words);
  // A word begun but shorter than MIN_PREFIX is left out; the words before it are whole.
  if (prefix && w[w.length - 1].length < MIN_PREFIX) { w.pop(); prefix = false; }
  return w.length ? { words: w, prefix } : null;
}

/** Whether `words` is enough to search (a word being typed counts from MIN_PREFIX characters). */
export function isSearchable(words: string): boolean {
  return typed(words) !== null;
}

/** Ranked sections, best first, and the stems to mark in their excerpts (null: FTS5 ranked; fts5Stems). */
interface Ranked { hits: { id: number; score: number }[]; stems: string[] | null }

/**
 * Ranks pages for `words`; [] when there is nothing to search yet. The impact table
 * answers when it can answer exactly (terms.ts); anything else goes to FTS5.
 */
export function runSearch(db: SearchDb | RunSql, words: string, opts: SearchOptions = {}): Promise<SearchResult[]> {
  return searchIn(INDEX_TABLES, db, words, opts);
}

/** The tables a search reads: the index's, or warmSearch's stand-ins. */
interface Tables { terms: string; sections: string }
const INDEX_TABLES: Tables = { terms: 'terms', sections: 'sections' };
const WARM_TABLES: Tables = { terms: 'temp.warm_terms', sections: 'temp.warm_sections' };

async function searchIn(tables: Tables, db: SearchDb | RunSql, words: string, opts: SearchOptions): Promise<SearchResult[]> {
  const { query: run, prefetchRows } = typeof db === 'function' ? { query: db, prefetchRows: undefined } : { query: (sql: string, p: (string | number)[]) => db.query(sql, p), prefetchRows: db.prefetchRows?.bind(db) };
  const t = typed(words);
  if (t === null) return [];
  const limit = Math.min(Math.max(1, opts.limit ?? 10), 100);
  const perPage = Math.max(0, opts.subResults ?? 3);
  const ranked = (await rankByTerms(run, prefetchRows, t, limit, tables.terms)) ?? (await rankByFts(run, t));
  const pages = groupByPage(ranked.hits, limit, perPage);
  if (pages.length === 0) return [];
  const ids = pages.flatMap((p) => p.sections);
  await prefetchRows?.(tables.sections, ids); // the excerpts' rows, in one round trip
  const stems = ranked.stems ?? (await fts5Stems(run, t));
  const rows: Record<string, unknown>[] = await Promise.all((await run(`SELECT id, url, title, heading, body, lead FROM ${tables.sections} WHERE id IN (${ids.join(',')})`, []))
    // A title row has no body to quote: its lead (the page's opening words) instead.
    .map(async (r) => ({ ...r, excerpt: String(r.lead) ? escapeHtml(String(r.lead)) : excerptOf(await decodeBody(r.body, Number(r.id)), stems) })));
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const key = titleKey(words);
  const shaped = pages.flatMap((p) => shape(p, byId));
  // An exact title match first (bm25 puts it near the top through its title row; this makes it first).
  return [...shaped.filter((r) => titleKey(r.title) === key), ...shaped.filter((r) => titleKey(r.title) !== key)];
}

/**
 * Runs a search end to end, once, on stand-ins of the index's two tables in TEMP (one
 * term row, one compressed section row): no page of the index is read. The first
 * search a page makes otherwise pays for compiling the code it runs, SQLite's wasm
 * functions (compiled on their first call) and the JS around them: in Chromium, about
 * 30 ms more than the next search (bench/site-search.ts, --first-only). The search box
 * runs it when it preloads (worker/search.ts). Best effort: a failure is only a slower
 * first search.
 */
export async function warmSearch(db: SearchDb): Promise<void> {
  const run = (sql: string) => db.query(sql, []);
  const id = SECTIONS_PER_PAGE + 1; // page 1, chunk 1
  // 'warm' is searched as a word being typed: its prefix row 'warm*' and its own row.
  const term = (key: string) => `(${termId(key)}, X'${toHex(encodePostings({ key, stem: 'warm', ids: [id, SECTIONS_PER_PAGE + TITLE_ROW], scores: [2, 1], capped: false, last: true }))}')`;
  const body = await deflateText('Warm: the search runs once on these rows when the page loads.');
  await run(`CREATE TEMP TABLE IF NOT EXISTS warm_terms(id INTEGER PRIMARY KEY, data BLOB NOT NULL)`);
  await run(`CREATE TEMP TABLE IF NOT EXISTS warm_sections(id INTEGER PRIMARY KEY, title TEXT NOT NULL, heading TEXT NOT NULL, body BLOB NOT NULL, url TEXT NOT NULL, lead TEXT NOT NULL, scored INTEGER NOT NULL)`);
  await run(`INSERT OR REPLACE INTO temp.warm_terms VALUES ${term('warm*')}, ${term('warm')}`);
  await run(`INSERT OR REPLACE INTO temp.warm_sections VALUES (${id}, 'Warm', 'Warm', X'${toHex(body)}', '/warm#warm', '', 1)`);
  await searchIn(WARM_TABLES, { query: db.query.bind(db) }, 'warm', { limit: 1 });
}

/**
 * From the impact table: each word's row (the last one's prefix row while it is typed),
 * sections holding every word scored by the sum of their scores; when those make fewer
 * than `limit` pages and a list was cut at TERM_CAP, sections holding some of the words
 * follow (fewer words, lower sums). A word being typed that is a word of the site
 * counts twice in the sections it is in: "ocean" before "oceanfront" while typing.
 * Null when the table cannot answer: a word it lacks (FTS5 may still match another
 * form of it), or a prefix longer than PREFIX_KEY_MAX that other words extend. Cut
 * lists bound a search's cost: sections holding every word beyond the TERM_CAP best
 * of each are not found (FTS5 would find them, at the cost of reading every match).
 */
async function rankByTerms(run: RunSql, prefetchRows: SearchDb['prefetchRows'], t: Typed, limit: number, terms: string): Promise<Ranked | null> {
  const last = t.words[t.words.length - 1];
  // A longer prefix is answered by its word's row when no other word starts with it.
  const longPrefix = t.prefix && last.length > PREFIX_KEY_MAX;
  const keys = t.words.map((w, i) => (t.prefix && !longPrefix && i === t.words.length - 1 ? `${w}*` : w));
  const typedWord = t.prefix && !longPrefix ? [last] : [];
  const ids = [...keys, ...typedWord].map(termId);
  await prefetchRows?.(terms, ids); // every word's row in one round trip
  let rows: Record<string, unknown>[];
  try {
    rows = await run(`SELECT data FROM ${terms} WHERE id IN (${ids.join(',')})`, []);
  } catch {
    return null; // an index without the table (built by an older release): FTS5 answers
  }
  const got = new Map(rows.map((r) => decodePostings(r.data as Uint8Array)).map((p) => [p.key, p]));
  const lists = keys.map((k) => got.get(k));
  if (lists.some((l) => l === undefined) || (longPrefix && !lists[lists.length - 1]!.last)) return null;
  const exact = typedWord.length ? got.get(last) : undefined;
  return { hits: combine(lists as Postings[], exact, limit), stems: lists.map((l) => l!.stem) };
}

/** Sections by how many lists hold them, then by the sum of their scores (see rankByTerms). */
function combine(lists: Postings[], exact: Postings | undefined, limit: number): { id: number; score: number }[] {
  const acc = new Map<number, { n: number; score: number }>();
  for (const l of [...lists, ...(exact ? [exact] : [])]) {
    const counts = l !== exact;
    l.ids.forEach((id, i) => {
      const a = acc.get(id) ?? acc.set(id, { n: 0, score: 0 }).get(id)!;
      a.score += l.scores[i];
      if (counts) a.n++;
    });
  }
  const all = [...acc].filter(([, a]) => a.n > 0).map(([id, a]) => ({ id, n: a.n, score: a.score }))
    .sort((a, b) => b.n - a.n || b.score - a.score || a.id - b.id);
  const full = all.filter((h) => h.n === lists.length);
  const pages = new Set(full.map((h) => Math.floor(h.id / SECTIONS_PER_PAGE))).size;
  const partial = pages < limit && lists.some((l) => l.capped) ? all.filter((h) => h.n < lists.length) : [];
  // Scores order pages later (groupByPage): partial matches stay below every full match.
  const floor = full.length ? Math.min(...full.map((h) => h.score)) : Infinity;
  return [...full, ...partial.map((h) => ({ ...h, score: Math.min(h.score, floor) * (h.n / lists.length) }))].map(({ id, score }) => ({ id, score }));
}

/** From FTS5: the best CANDIDATES sections by bm25. */
async function rankByFts(run: RunSql, t: Typed): Promise<Ranked> {
  const rows = await run(`SELECT rowid AS id, rank FROM search WHERE search MATCH ? ORDER BY rank LIMIT ${CANDIDATES}`, [ftsMatch(t)]);
  return { hits: rows.map((r) => ({ id: Number(r.id), score: -Number(r.rank) })), stems: null };
}

/**
 * What to mark when FTS5 ranked (the index has no row for some word): each word's stem
 * as FTS5's porter tokenizer makes it, through a temporary FTS5 table of this connection
 * and its vocabulary (no stemmer of our own to drift from SQLite's), and the prefix
 * being typed. Excerpts mark words that start with one of these; the words as typed
 * if the temporary table cannot be made.
 */
async function fts5Stems(run: RunSql, t: Typed): Promise<string[]> {
  const whole = t.prefix ? t.words.slice(0, -1) : t.words;
  const stems = [...whole];
  if (whole.length) {
    try {
      for (const sql of stemTables('query_words')) await run(sql, []);
      await run(`DELETE FROM temp.query_words`, []);
      await run(`INSERT INTO temp.query_words(rowid, w) VALUES ${whole.map((_, i) => `(${i + 1}, ?)`).join(', ')}`, whole);
      for (const r of await run(`SELECT term, doc FROM temp.query_words_v`, [])) stems[Number(r.doc) - 1] = String(r.term);
    } catch {
      // marks the words as typed
    }
  }
  return t.prefix ? [...stems, t.words[t.words.length - 1]] : stems;
}

/** The FTS5 query: every word must match, the last as a prefix while it is being typed. */
function ftsMatch(t: Typed): string {
  return t.words.map((w, i) => `"${w}"${t.prefix && i === t.words.length - 1 ? '*' : ''}`).join(' ');
}

interface PageHit {
  page: number;
  score: number;
  /** Section row ids, best first; the first gives the page's excerpt. */
  sections: number[];
}

/** Sections of a page that add to its score (with halving weights). */
const PAGE_EVIDENCE = 3;

/**
 * Pages in rank order, each with its best sections. A page's title row ranks it but
 * has no text to quote: its excerpt comes from its best other matching chunk, or else
 * from the title row's lead (the page's opening words).
 */
function groupByPage(ranked: { id: number; score: number }[], limit: number, perPage: number): PageHit[] {
  const hits = new Map<number, PageHit & { matched: number }>();
  for (const { id, score } of ranked) {
    const page = Math.floor(id / SECTIONS_PER_PAGE);
    const hit = hits.get(page) ?? hits.set(page, { page, score: 0, sections: [], matched: 0 }).get(page)!;
    // A page's score: its best section's, plus half its second's and a quarter its third's.
    // A page that treats the subject at length outranks a stub that only names it.
    if (hit.matched < PAGE_EVIDENCE) hit.score += score / 2 ** hit.matched;
    hit.matched++;
    if (id % SECTIONS_PER_PAGE !== TITLE_ROW && hit.sections.length <= perPage) hit.sections.push(id);
  }
  const pages = [...hits.values()].sort((a, b) => b.score - a.score || a.page - b.page).slice(0, limit);
  for (const hit of pages) if (hit.sections.length === 0) hit.sections.push(hit.page * SECTIONS_PER_PAGE + TITLE_ROW);
  return pages;
}

function shape(p: PageHit, rows: Map<number, Record<string, unknown>>): SearchResult[] {
  const best = rows.get(p.sections[0]);
  if (!best) return [];
  const url = String(best.url).replace(/#.*$/, '');
  const seen = new Set<string>();
  const sub: SubResult[] = [];
  for (const id of p.sections) {
    const r = rows.get(id);
    if (!r || !String(r.url).includes('#') || seen.has(String(r.url))) continue;
    seen.add(String(r.url));
    sub.push({ url: String(r.url), title: String(r.heading), excerpt: String(r.excerpt) });
  }
  return [{ url, title: String(best.title), excerpt: String(best.excerpt), score: round(p.score), sub }];
}

/** Six significant digits: bm25 scores of a tiny site are near zero, not zero. */
const round = (n: number) => Number(n.toPrecision(6));
