/**
 * `bucketlite site <site-dir> <target>`: index every built HTML page of a site into the
 * search database (schema in query.ts) and publish it with the normal upload.
 *
 * A re-run starts from the version the bucket holds (restored to a temporary file) and
 * changes only the pages whose extracted text changed, so SQLite rewrites only the pages
 * of the file that hold them and the upload publishes only those blocks. A fresh build
 * (empty bucket, another schema version, or `rebuild`) inserts pages in URL order, merges
 * the FTS5 index into one segment and VACUUMs, so each table lies contiguously.
 * Node only.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkSqlite, openSqlite } from '../node/better-sqlite.js';
import type { SqliteDatabase } from '../node/better-sqlite.js';
import { BucketliteError } from '../errors.js';
import { restore } from '../ops/restore.js';
import { loadRoot, readHead } from '../bucket/versions.js';
import { WARM_BYTES_MAX } from '../reader/reader.js';
import type { BucketStore } from '../storage/types.js';
import { upload } from '../upload/upload.js';
import type { UploadOptions, UploadResult } from '../upload/upload.js';
import { extractAll } from './extract-pool.js';
import { Collector, quantizedLength, writeTerms } from './impact.js';
import type { SectionCounts } from './impact.js';
import type { SitePage } from './extract.js';
import { preparePages, rowsOf } from './rows.js';
import type { Prepared } from './rows.js';
import { FTS_WORKER_MIN_PAGES, inThread, inWorker } from './fts-build.js';
import type { FtsSink } from './fts-build.js';
import { FTS5_AUTOMERGE, SEARCH_SCHEMA, SECTIONS_PER_PAGE, SITE_SCHEMA, SITE_SCHEMA_VERSION, TITLE_ROW, siteIndexKind } from './query.js';

export interface SiteOptions {
  /** CSS selector of the content root; default: data-pagefind-body, then main, [role=main], article, body. */
  selector?: string;
  /** Ignore what the bucket holds and build the index from scratch. */
  rebuild?: boolean;
  /** Upload options (block size 2 KiB unless given: see SITE_UPLOAD). */
  upload?: UploadOptions;
  onProgress?(p: { phase: 'restore' | 'index' | 'optimize' | 'upload'; pages: number }): void;
}

/**
 * The index's page size, and its block size. A search reads a few rows from scattered
 * pages: a compressed section row is about 400 bytes, a term row 180 (Rust book), so
 * most of each page read is other rows. 2 KiB pages halve that: the Rust book's first
 * searches read 16–38 KiB instead of 28–52 (Pagefind: 31–80) in the same 2 round trips,
 * rust-doc's 40–103 instead of 72–114 (docs/SITE-SEARCH-BENCH.md). Smaller pages would
 * split the larger term rows (up to 2 KiB) into overflow pages, each one more round
 * trip.
 */
export const SITE_PAGE_SIZE = 2048;

/**
 * A search reads scattered pages: blocks of one page fetch nothing extra. The interior
 * pages of the term table and of the sections travel in HEAD first: a search then reads
 * its term rows in one batch, then its excerpt rows. Leaves: see siteBlocksPerLeaf.
 */
export const SITE_UPLOAD: UploadOptions = { blockSize: SITE_PAGE_SIZE, blocksPerLeaf: 64, hotFirst: ['terms', 'sections'] };

/**
 * Blocks per manifest leaf for an index of `blocks` blocks, chosen at a fresh build
 * (an update keeps the bucket's). When all the index's block hashes fit what a reader
 * fetches at open (WARM_BYTES_MAX, 128 KiB: an index of 8 MiB, a site of a few hundred
 * pages), about 4 leaves: the search box fetches them at open (SEARCH_READ_OPTIONS),
 * a search waits for no leaf, and an edit rewrites at most those 4 (Rust book: 21
 * objects with 64-block leaves, docs/SITE-SEARCH.md). A larger index keeps 64-block
 * leaves (2 KiB): a search fetches the leaves of the blocks it reads, and a large leaf
 * would cost it its size.
 */
export function siteBlocksPerLeaf(blocks: number): number {
  if (blocks * 32 > WARM_BYTES_MAX) return 64;
  return Math.min(1024, Math.max(64, 2 ** Math.ceil(Math.log2(Math.ceil(blocks / 4)))));
}

export interface SiteResult {
  /** Pages indexed in the published version. */
  pages: number;
  added: number;
  changed: number;
  removed: number;
  /** HTML files not indexed: noindex, redirect stubs, or no content root. */
  skipped: number;
  /** True when the index was built from scratch. */
  fresh: boolean;
  dbBytes: number;
  upload: UploadResult;
  seconds: number;
}

export async function buildSite(siteDir: string, store: BucketStore, opts: SiteOptions = {}): Promise<SiteResult> {
  const t0 = performance.now();
  checkSqlite('site');
  const files = await listHtml(siteDir);
  // A build that will be fresh makes every page's rows, on the extraction threads; an
  // update makes only the rows of the pages that changed, here.
  const fresh = opts.rebuild || !(await readHead(store));
  const pages = await readPages(siteDir, files, opts, fresh);
  return publishPages(pages, store, opts, { skipped: files.length - pages.length, t0 });
}

/**
 * The index of pages that did not come from HTML files (records a program generates,
 * WordNet in the demo), published as `buildSite` publishes a site's: same schema,
 * ranking and incremental updates. URLs must be unique.
 */
export async function buildSiteFromPages(pages: SitePage[], store: BucketStore, opts: SiteOptions = {}): Promise<SiteResult> {
  const t0 = performance.now();
  checkSqlite('site');
  const urls = new Set<string>();
  for (const p of pages) {
    if (urls.has(p.url)) throw new BucketliteError('ERR_USAGE', `site: two pages have the URL ${p.url}`, { op: 'site' });
    urls.add(p.url);
  }
  return publishPages(preparePages(pages, false).map((p) => withDigest(p!)), store, opts, { skipped: 0, t0 });
}

async function publishPages(pages: Extracted[], store: BucketStore, opts: SiteOptions, run: { skipped: number; t0: number }): Promise<SiteResult> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bucketlite-site-'));
  try {
    const dbPath = path.join(work, 'site.db');
    const fresh = opts.rebuild || !(await restorePrevious(store, dbPath, opts)) || !worthUpdating(dbPath, pages);
    if (fresh) await fs.rm(dbPath, { force: true });
    const open = () => {
      const d = openSqlite('site', dbPath);
      // A private copy that a failed build throws away: no journal, no syncs, a large cache.
      d.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144');
      return d;
    };
    let db = open();
    let fts: FtsSink | null = null;
    try {
      if (fresh) createSchema(db);
      // A fresh build merges FTS5's segments once, at the end ('optimize'), not while inserting.
      if (fresh) db.exec(AUTOMERGE_OFF);
      opts.onProgress?.({ phase: 'index', pages: pages.length });
      fts = (fresh && pages.length >= FTS_WORKER_MIN_PAGES && inWorker(path.join(work, 'fts.db'), [...SEARCH_SCHEMA, AUTOMERGE_OFF])) || inThread(db);
      const collector = new Collector();
      const diff = applyPages(db, pages, collector, fts);
      writeTerms(db, fresh, collector);
      await fts.finish(db);
      db.close();
      db = open(); // FTS5 caches its structure per connection: read the copied one afresh
      if (fresh) {
        opts.onProgress?.({ phase: 'optimize', pages: pages.length });
        db.exec(`INSERT INTO search(search) VALUES('optimize'); INSERT INTO search(search, rank) VALUES('automerge', ${FTS5_AUTOMERGE})`);
        db.exec('VACUUM');
      }
      const hotBudget = searchPathBytes(db);
      db.close();
      opts.onProgress?.({ phase: 'upload', pages: pages.length });
      const blocksPerLeaf = (!fresh && (await bucketBlocksPerLeaf(store))) || siteBlocksPerLeaf(Math.ceil((await fs.stat(dbPath)).size / SITE_PAGE_SIZE));
      const up = await upload(dbPath, store, { ...SITE_UPLOAD, blocksPerLeaf, hotBudget, ...opts.upload });
      const dbBytes = (await fs.stat(dbPath)).size;
      return { pages: pages.length, ...diff, skipped: run.skipped, fresh, dbBytes, upload: up, seconds: (performance.now() - run.t0) / 1000 };
    } finally {
      await fts?.close();
      if (db.open) db.close();
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * The pages a search reads before its own leaves: page 1 (the schema), and the interior
 * pages of the term table and of the sections. HEAD carries these and nothing more:
 * every other embedded page would cost every reader bytes at open for a tree only the
 * FTS5 fallback reads.
 */
function searchPathBytes(db: SqliteDatabase): number {
  const first = SITE_UPLOAD.hotFirst ?? [];
  const { bytes } = db.prepare(`SELECT sum(pgsize) AS bytes FROM dbstat WHERE name = 'sqlite_schema' OR (name IN (${first.map(() => '?').join(',')}) AND pagetype = 'internal')`)
    .get(...first) as { bytes: number };
  return bytes;
}

/** The leaf size of the bucket's current version (an update keeps it: other leaves would all be new). */
async function bucketBlocksPerLeaf(store: BucketStore): Promise<number | undefined> {
  const head = await readHead(store);
  return head ? (await loadRoot(store, head.head.root, head.head.inline)).blocksPerLeaf : undefined;
}

/** Every .html file under `dir` (not in dot-directories), relative, sorted: a build is deterministic. */
export async function listHtml(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  } catch (cause) {
    throw new BucketliteError('ERR_USAGE', `site: cannot read the site directory ${dir}: ${(cause as Error).message}`, { op: 'site', path: dir, cause });
  }
  const files = entries
    .filter((e) => e.isFile() && /\.html?$/i.test(e.name))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .filter((rel) => !rel.split(path.sep).some((part) => part.startsWith('.')))
    .sort();
  if (files.length === 0) throw new BucketliteError('ERR_USAGE', `site: no .html files under ${dir}`, { op: 'site', path: dir });
  return files;
}

/**
 * The bucket's current index into `dbPath`; false when the bucket is empty or holds a
 * site index of another schema version or page size (then built afresh). A bucket
 * that holds some other database is refused: publishing a search index over it would
 * replace it.
 */
async function restorePrevious(store: BucketStore, dbPath: string, opts: SiteOptions): Promise<boolean> {
  if (!(await readHead(store))) return false;
  opts.onProgress?.({ phase: 'restore', pages: 0 });
  await restore(store, dbPath);
  const db = openSqlite('site', dbPath, { readonly: true });
  let version: number;
  let pageSize: number;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
    pageSize = db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
  const kind = siteIndexKind(version);
  // An index of another page size (earlier builds used 4 KiB) stays searchable, but an
  // update cannot change its page size: it is built again.
  if (kind === 'current' && pageSize === SITE_PAGE_SIZE) return true;
  await fs.rm(dbPath, { force: true });
  if (kind !== 'not-a-site-index') return false;
  throw new BucketliteError('ERR_USAGE', `site: ${store.name} holds a database that is not a site search index; publish the index to another target, or pass --rebuild to replace it`, { op: 'site' });
}

/**
 * Pages an update may change before a fresh build is better: FTS5 appends a segment and
 * delete markers for changed pages, so an update that touches much of the site makes a
 * larger, slower index than a rebuild, and publishes nearly as much.
 */
const UPDATE_MAX_SHARE = 0.1;

function worthUpdating(dbPath: string, pages: Extracted[]): boolean {
  const db = openSqlite('site', dbPath, { readonly: true });
  try {
    const old = new Map((db.prepare('SELECT url, digest FROM pages').all() as { url: string; digest: string }[]).map((r) => [r.url, r.digest]));
    const kept = pages.filter((p) => old.get(p.page.url) === p.digest).length;
    const touched = pages.length - kept + (old.size - kept);
    return touched <= Math.max(1, UPDATE_MAX_SHARE * Math.max(old.size, pages.length));
  } finally {
    db.close();
  }
}

const AUTOMERGE_OFF = `INSERT INTO search(search, rank) VALUES('automerge', 0)`;

function createSchema(db: SqliteDatabase): void {
  db.pragma(`page_size = ${SITE_PAGE_SIZE}`);
  db.exec(SITE_SCHEMA.join(';\n'));
  db.pragma(`user_version = ${SITE_SCHEMA_VERSION}`);
}

/** A page to index, with its digest: what was indexed of it (an update rewrites a page only when this changes). */
interface Extracted extends Prepared { digest: string }

async function readPages(siteDir: string, files: string[], opts: SiteOptions, rows: boolean): Promise<Extracted[]> {
  let got = await extractAll(siteDir, files, { selector: opts.selector }, rows);
  // A Pagefind site marks its content: then only such pages, and only inside the mark (a second pass).
  if (got.pagefindBody) got = await extractAll(siteDir, files, { selector: opts.selector, pagefindBody: true }, rows);
  const pages = got.pages.filter((p): p is Prepared => p !== null);
  stripSiteName(pages.map((p) => p.page));
  return pages.map(withDigest);
}

/** The digest comes last: the site's name is cut from titles once all are known. */
function withDigest(p: Prepared): Extracted {
  return { ...p, digest: createHash('sha256').update(JSON.stringify([p.page.title, p.contentHash])).digest('hex') };
}

/** A site's name after its pages' titles in <title>: "Intro - My Book", "Intro | Docs". */
const TITLE_SEPARATOR = /\s+[-|–—·:]\s+/g;

/** [title without the suffix, suffix] at the last separator; null without one. */
function splitTitle(title: string): [string, string] | null {
  const last = [...title.matchAll(TITLE_SEPARATOR)].pop();
  if (!last || last.index === 0) return null;
  return [title.slice(0, last.index), title.slice(last.index + last[0].length)];
}

/**
 * A suffix most titles share ("… - The Rust Programming Language") is the site's name,
 * not the page's: it would match every page and crowd result lists. Removed when at
 * least half the pages (and 3) carry it.
 */
export function stripSiteName(pages: SitePage[]): void {
  const counts = new Map<string, number>();
  for (const p of pages) {
    const suffix = splitTitle(p.title)?.[1];
    if (suffix) counts.set(suffix, (counts.get(suffix) ?? 0) + 1);
  }
  const [name, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  if (n < 3 || n * 2 < pages.length) return;
  for (const p of pages) {
    const split = splitTitle(p.title);
    if (split?.[1] === name) p.title = split[0];
  }
}

/** Brings the database to exactly `pages`: unchanged pages are not touched. */
function applyPages(db: SqliteDatabase, pages: Extracted[], collector: Collector, fts: FtsSink): { added: number; changed: number; removed: number } {
  const existing = new Map((db.prepare('SELECT id, url, digest FROM pages').all() as { id: number; url: string; digest: string }[]).map((r) => [r.url, r]));
  let next = ((db.prepare('SELECT max(id) AS m FROM pages').get() as { m: number | null }).m ?? 0) + 1;
  const del = {
    sections: db.prepare('DELETE FROM sections WHERE id BETWEEN ? AND ?'),
    search: db.prepare('DELETE FROM search WHERE rowid = ?'),
    page: db.prepare('DELETE FROM pages WHERE url = ?'),
  };
  const ins = {
    page: db.prepare('INSERT INTO pages(url, id, digest, meta) VALUES (?, ?, ?, ?)'),
    section: db.prepare('INSERT INTO sections(id, title, heading, body, url, lead, scored) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    scored: db.prepare('SELECT id, scored FROM sections WHERE id BETWEEN ? AND ?'),
  };
  const range = (id: number) => [id * SECTIONS_PER_PAGE, id * SECTIONS_PER_PAGE + SECTIONS_PER_PAGE - 1];
  const remove = (url: string, id: number): Map<number, number> => {
    const scored = new Map((ins.scored.all(...range(id)) as { id: number; scored: number }[]).map((r) => [r.id, r.scored]));
    for (const rowid of scored.keys()) del.search.run(rowid); // FTS5 is contentless: each row by its id
    del.sections.run(...range(id));
    del.page.run(url);
    return scored;
  };
  const add = (id: number, e: Extracted, was = new Map<number, number>()) => {
    const { page, digest } = e;
    const { batch: b, first, end } = e.rows ?? rowsOf(page);
    e.rows = undefined; // in the table now: let the batch go with its last page
    ins.page.run(page.url, id, digest, Object.keys(page.meta).length ? JSON.stringify(page.meta) : null);
    const title = collector.title(page.title);
    const put = (rowid: number, counted: SectionCounts, heading: string, stored: Uint8Array, url: string, body: string, lead: string) => {
      counted.scored = scoredLength(counted.length, was.get(rowid));
      ins.section.run(rowid, page.title, heading, stored, url, lead, counted.scored);
      fts.add([rowid, page.title, heading, body]);
    };
    for (let r = first; r < end; r++) {
      const rowid = id * SECTIONS_PER_PAGE + b.chunk[r];
      const stored = b.stored.subarray(r === 0 ? 0 : b.storedEnd[r - 1], b.storedEnd[r]);
      put(rowid, collector.addRow(rowid, title, b, r), b.heading[r], stored, b.url[r], b.body[r], '');
    }
    // Always a title row: it ranks the page by its title, and its lead quotes the page.
    const rowid = id * SECTIONS_PER_PAGE + TITLE_ROW;
    put(rowid, collector.add(rowid, page.title, '', ''), '', new Uint8Array(0), page.url, '', e.lead);
  };
  const counts = { added: 0, changed: 0, removed: 0 };
  db.transaction(() => {
    const seen = new Set<string>();
    for (const e of pages) {
      seen.add(e.page.url);
      const old = existing.get(e.page.url);
      if (old?.digest === e.digest) continue;
      const was = old ? remove(old.url, old.id) : undefined;
      if (old) counts.changed++; else counts.added++;
      add(old?.id ?? next++, e, was);
    }
    for (const [url, old] of existing) if (!seen.has(url)) { remove(url, old.id); counts.removed++; }
  })();
  return counts;
}

/**
 * The length (in words) a row's scores use: rounded (quantizedLength), and kept from the
 * row's previous version while within LENGTH_SLACK of it. A sentence added to a chunk
 * then leaves the scores of all its other words, and their term rows, as they were.
 */
function scoredLength(words: number, was: number | undefined): number {
  return was !== undefined && Math.abs(words - was) <= LENGTH_SLACK * was ? was : quantizedLength(words);
}

const LENGTH_SLACK = 0.15;
