/**
 * Site search: the index's schema and how a search runs on it. Browser-safe (no Node
 * imports): `bucketlite search` (Node) and `bucketlite/search` (the browser worker) both
 * call `runSearch` with their own way to run SQL, so they rank exactly alike.
 *
 * The index (one SQLite database, built by site/build.ts):
 * - `sections`: a page cut at its headings and then into chunks of at most CHUNK_CHARS,
 *   so no row overflows a page and an excerpt reads one short row. Row id =
 *   page id × SECTIONS_PER_PAGE + chunk number, so a ranking groups chunks into pages
 *   from the FTS5 index alone, without reading a row. Every chunk carries the page's
 *   title (a query may match the title and the body together), and each page has a
 *   title row (chunk TITLE_ROW: the title alone): the shortest document that holds the
 *   title's words, so bm25 ranks a page whose title is the query near the top without
 *   a lookup of its own (WordNet's noun "ocean" came 105th for `ocean` before).
 * - `search`: FTS5 over sections (external content: the text is stored once), porter
 *   stemming over unicode61, a prefix index of 3 characters for search as you type,
 *   ranked by bm25 with title above headings above body.
 * - `pages`: URL and digest of what was indexed, for incremental rebuilds.
 * Small tables are created first so a fresh build (VACUUM copies tables in creation
 * order) keeps what every edit touches near the start of the file: an edit then
 * changes few blocks and few manifest leaves.
 */

/**
 * PRAGMA user_version of a site index (no table of its own: every table's root page
 * travels in HEAD). Bumped when the schema changes; a builder meeting another version
 * rebuilds from scratch.
 */
export const SITE_SCHEMA_VERSION = 0x5e4c0003; // the high 16 bits mark a site index of any version (build.ts)
/** Chunks per page in a section row id; a page's text past the last chunk is cut. */
export const SECTIONS_PER_PAGE = 4096;
/** The chunk number of a page's title row. */
export const TITLE_ROW = SECTIONS_PER_PAGE - 1;
/** Characters of text per chunk: under a 4 KiB page in UTF-8 for most text (a longer row overflows, which costs a read). */
export const CHUNK_CHARS = 3000;
/** bm25 weights of the FTS5 columns title, heading, body, url (url is not indexed). */
export const RANK = 'bm25(10.0, 4.0, 1.0, 0.0)';

export const SITE_SCHEMA = [
  `CREATE TABLE pages(url TEXT PRIMARY KEY, id INTEGER NOT NULL, digest TEXT NOT NULL, meta TEXT) WITHOUT ROWID`,
  `CREATE VIRTUAL TABLE search USING fts5(title, heading, body, url UNINDEXED, content='sections', content_rowid='id',
     tokenize='porter unicode61 remove_diacritics 2', prefix='3')`,
  `INSERT INTO search(search, rank) VALUES('rank', '${RANK}')`,
  // An update adds a segment; merging pairs keeps the segments a search looks a term up in few.
  `INSERT INTO search(search, rank) VALUES('automerge', 2)`,
  `CREATE TABLE sections(id INTEGER PRIMARY KEY, title TEXT NOT NULL, heading TEXT NOT NULL, body TEXT NOT NULL, url TEXT NOT NULL)`,
  `CREATE TRIGGER sections_ai AFTER INSERT ON sections BEGIN
     INSERT INTO search(rowid, title, heading, body, url) VALUES (new.id, new.title, new.heading, new.body, new.url); END`,
  `CREATE TRIGGER sections_ad AFTER DELETE ON sections BEGIN
     INSERT INTO search(search, rowid, title, heading, body, url) VALUES ('delete', old.id, old.title, old.heading, old.body, old.url); END`,
];

/**
 * Reader options for a search index: a search reads scattered pages (term lookups,
 * bm25's %_docsize rows, excerpt rows), so sequential readahead only adds bytes; the
 * row readahead for %_docsize and the excerpt rows' prefetch stay on.
 */
export const SEARCH_READ_OPTIONS = { maxReadaheadBytes: 0 } as const;

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
  /** Higher is better: the best section's bm25 score, negated. */
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
const MARK_OPEN = '\uE000';
const MARK_CLOSE = '\uE001';
/** Private-use marks survive FTS5's snippet untouched; they become <mark> after escaping. */
const SNIPPET = `snippet(search, 2, char(57344), char(57345), '…', 24)`;

/** Words of a query as the index sees them: NFKC, lower case, letters and digits. */
export function queryWords(words: string): string[] {
  return words.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu)?.slice(0, 16) ?? [];
}

/** A title or a query, normalised the same way: equal keys are an exact title match. */
export function titleKey(s: string): string {
  return queryWords(s).join(' ');
}

/** Characters of a word being typed before it is searched as a prefix. */
export const MIN_PREFIX = 3;

/**
 * The FTS5 query for what the user typed: every word must match, the last one as a
 * prefix while it is being typed (no trailing space), from MIN_PREFIX characters on:
 * shorter prefixes match much of a site, and bm25 reads a row size for every match.
 * Null when nothing is searchable yet.
 */
export function ftsQuery(words: string): string | null {
  const w = queryWords(words);
  const typing = w.length > 0 && !/[\s\p{P}]$/u.test(words);
  if (typing && w[w.length - 1].length < MIN_PREFIX) w.pop();
  if (w.length === 0) return null;
  return w.map((t, i) => `"${t}"${typing && i === w.length - 1 ? '*' : ''}`).join(' ');
}

/** Ranks pages for `words`; [] when there is nothing to search yet. */
export async function runSearch(db: SearchDb | RunSql, words: string, opts: SearchOptions = {}): Promise<SearchResult[]> {
  const { query: run, prefetchRows } = typeof db === 'function' ? { query: db, prefetchRows: undefined } : { query: (sql: string, p: (string | number)[]) => db.query(sql, p), prefetchRows: db.prefetchRows?.bind(db) };
  const match = ftsQuery(words);
  if (match === null) return [];
  const limit = Math.min(Math.max(1, opts.limit ?? 10), 100);
  const perPage = Math.max(0, opts.subResults ?? 3);
  const ranked = await run(`SELECT rowid AS id, rank FROM search WHERE search MATCH ? ORDER BY rank LIMIT ${CANDIDATES}`, [match]);
  const pages = groupByPage(ranked as { id: number; rank: number }[], limit, perPage);
  if (pages.length === 0) return [];
  const ids = pages.flatMap((p) => p.sections);
  await prefetchRows?.('sections', ids); // the excerpts' rows, in one round trip
  // A row that does not match (a page's first chunk standing in for its title row) still
  // comes back: snippet() then gives its opening words.
  const rows = await run(
    `SELECT id, url, title, heading, coalesce((SELECT ${SNIPPET} FROM search WHERE search MATCH ?1 AND rowid = s.id), substr(body, 1, 160)) AS excerpt
     FROM sections s WHERE id IN (${ids.join(',')})`,
    [match],
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const key = titleKey(words);
  const shaped = pages.flatMap((p) => shape(p, byId));
  // An exact title match first (bm25 puts it near the top through its title row; this makes it first).
  return [...shaped.filter((r) => titleKey(r.title) === key), ...shaped.filter((r) => titleKey(r.title) !== key)];
}

interface PageHit {
  page: number;
  score: number;
  /** Section row ids, best first; the first gives the page's excerpt. */
  sections: number[];
}

/**
 * Pages in rank order, each with its best sections. A page's title row ranks it but
 * has no text to quote: its excerpt comes from its best other matching chunk, or else
 * from its first chunk.
 */
function groupByPage(ranked: { id: number; rank: number }[], limit: number, perPage: number): PageHit[] {
  const hits = new Map<number, PageHit>();
  for (const { id, rank } of ranked) {
    const page = Math.floor(id / SECTIONS_PER_PAGE);
    const hit = hits.get(page) ?? hits.set(page, { page, score: -rank, sections: [] }).get(page)!;
    if (id % SECTIONS_PER_PAGE !== TITLE_ROW && hit.sections.length <= perPage) hit.sections.push(id);
  }
  const pages = [...hits.values()].slice(0, limit);
  for (const hit of pages) if (hit.sections.length === 0) hit.sections.push(hit.page * SECTIONS_PER_PAGE);
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
    sub.push({ url: String(r.url), title: String(r.heading), excerpt: excerptHtml(String(r.excerpt)) });
  }
  return [{ url, title: String(best.title), excerpt: excerptHtml(String(best.excerpt)), score: round(p.score), sub }];
}

/** Six significant digits: bm25 scores of a tiny site are near zero, not zero. */
const round = (n: number) => Number(n.toPrecision(6));

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** FTS5's snippet with the private-use marks: escaped text, matches in <mark>. */
export function excerptHtml(snippet: string): string {
  return snippet.replace(/[&<>"']/g, (c) => ESCAPES[c])
    .replaceAll(MARK_OPEN, '<mark>').replaceAll(MARK_CLOSE, '</mark>');
}
