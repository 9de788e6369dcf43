/**
 * Builds the demo site into `outDir`, plain static files any static host can serve:
 *   index.html, assets/        the Vite app (its own worker and the wasm)
 *   bucket/                    WordNet as tables (synsets, words, glosses FTS5): the SQL console
 *   search/book/               site-search index of the Rust book (`bucketlite site`)
 *   search/wordnet/            site-search index of WordNet, one page per lemma
 *   rust-book/                 the Rust book's HTML, so search results open real pages
 *   demo.json                  which indexes exist (the book is optional)
 * The Rust book comes from Debian's rust-doc package (`apt-get download`, then
 * `dpkg-deb`), fetched once into node_modules/.cache/bucketlite-demo/; when it cannot be
 * fetched (no apt, no package lists, offline) the demo says so in one line and serves
 * WordNet only. The two site indexes are built once into that cache and linked into
 * `outDir` (the WordNet one, about 150,000 pages, takes a while the first time).
 * BUCKETLITE_DEMO_BOOK=<dir> uses an extracted copy of the book instead of the package.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'vite';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import type { UploadResult } from '../src/upload/upload.js';
import { buildSite, buildSiteFromPages } from '../src/site/build.js';
import type { SiteResult } from '../src/site/build.js';
import { SITE_SCHEMA_VERSION } from '../src/site/query.js';
import { buildCorpus } from './corpus.js';
import { wordnetPages } from './wordnet-pages.js';

/** demo-site/ in the repository, whether this runs from source or from dist/. */
export const DEMO_ROOT = existsSync(path.join(import.meta.dirname, 'index.html'))
  ? import.meta.dirname
  : path.resolve(import.meta.dirname, '..', '..', 'demo-site');

export const CACHE_DIR = path.resolve(DEMO_ROOT, '..', 'node_modules', '.cache', 'bucketlite-demo');

/** Bump when the generated pages change: cached indexes of another stamp are rebuilt. */
const WORDNET_PAGES_VERSION = 2;

export interface SiteIndexInfo { pages: number; fromCache: boolean; seconds: number }

export interface DemoBuildResult {
  /** The WordNet tables database published to bucket/. */
  tables: UploadResult;
  wordnet: SiteIndexInfo;
  /** Null when the Rust book could not be had; then `bookNote` says why. */
  book: SiteIndexInfo | null;
  bookNote: string | null;
}

export interface DemoBuildOptions {
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export async function buildDemoSite(outDir: string, dbPath = path.join(DEMO_ROOT, 'wordnet.db'), opts: DemoBuildOptions = {}): Promise<DemoBuildResult> {
  const log = opts.log ?? (() => undefined);
  await build({
    root: DEMO_ROOT,
    base: './',
    logLevel: 'warn',
    configFile: false,
    build: { outDir, emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
    worker: { format: 'es' },
  });
  if (!existsSync(dbPath)) {
    log('building the WordNet tables database …');
    buildCorpus(dbPath, { bigMb: 0 });
  }
  // A search database: a larger hot-page budget makes the FTS5 lookup tables (%_idx,
  // %_docsize for bm25) arrive with the first request instead of one round trip each.
  const tables = await upload(dbPath, new LocalDirStore(path.join(outDir, 'bucket')), { hotBudget: 2 * 1024 * 1024 });

  mkdirSync(CACHE_DIR, { recursive: true });
  const builder = builderStamp();
  const wordnet = await cachedIndex(`wordnet-v${WORDNET_PAGES_VERSION}-${builder}`, path.join(outDir, 'search', 'wordnet'), (store) => {
    log('indexing WordNet as a site, one page per lemma (once) …');
    return buildSiteFromPages(wordnetPages(), store, { rebuild: true });
  });

  let book: SiteIndexInfo | null = null;
  const found = rustBook(log);
  if (found.dir) {
    const bookDir = found.dir;
    book = await cachedIndex(`book-${found.key}-${builder}`, path.join(outDir, 'search', 'book'), (store) => {
      log('indexing the Rust book …');
      return buildSite(bookDir, store, { rebuild: true });
    });
    linkTree(bookDir, path.join(outDir, 'rust-book'));
  } else {
    log(found.note!);
  }
  writeFileSync(path.join(outDir, 'demo.json'), JSON.stringify({
    book: book ? { bucket: 'search/book/', pages: book.pages, site: 'rust-book/', name: 'The Rust Programming Language' } : null,
    bookNote: found.note,
    wordnet: { bucket: 'search/wordnet/', pages: wordnet.pages },
  }, null, 2));
  return { tables, wordnet, book, bookNote: found.note };
}

/** The index builder's version: its schema and a digest of its code (a changed builder rebuilds the cached indexes). */
function builderStamp(): string {
  const h = createHash('sha256');
  const dir = path.resolve(import.meta.dirname, '..', 'src', 'site');
  for (const f of readdirSync(dir).filter((n) => /\.(js|ts)$/.test(n) && !n.endsWith('.d.ts')).sort()) h.update(readFileSync(path.join(dir, f)));
  return `s${SITE_SCHEMA_VERSION}-${h.digest('hex').slice(0, 12)}`;
}

/**
 * A site index built once into the cache (under `key`) by `build`, and linked into
 * `target`. Test files build the demo at the same time: each builds into its own
 * temporary directory, and the first rename wins.
 */
async function cachedIndex(key: string, target: string, build: (store: LocalDirStore) => Promise<SiteResult>): Promise<SiteIndexInfo> {
  const dir = path.join(CACHE_DIR, 'index', key);
  const done = `${dir}.json`;
  let built = false;
  if (!(existsSync(done) && existsSync(path.join(dir, 'HEAD')))) {
    const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      const r = await build(new LocalDirStore(tmp));
      const info: SiteIndexInfo = { pages: r.pages, fromCache: false, seconds: r.seconds };
      try {
        renameSync(tmp, dir);
        writeFileSync(done, JSON.stringify(info));
        built = true;
      } catch {
        // Another build of the same key got there first: use it.
      }
      if (!existsSync(done)) writeFileSync(done, JSON.stringify(info));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const info = { ...(JSON.parse(readFileSync(done, 'utf8')) as SiteIndexInfo), fromCache: !built };
  linkTree(dir, target);
  return info;
}

/** Hard links (copies across file systems) of every file under `from` into `to`. */
function linkTree(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) linkTree(a, b);
    else if (e.isFile()) {
      try {
        linkSync(a, b);
      } catch {
        copyFileSync(a, b);
      }
    }
  }
}

const BOOK_IN_PACKAGE = './usr/share/doc/rust-doc/html/book';

/** The Rust book's built HTML: from BUCKETLITE_DEMO_BOOK, the cache, or Debian's rust-doc package. */
function rustBook(log: (line: string) => void): { dir: string | null; key: string; note: string | null } {
  const given = process.env.BUCKETLITE_DEMO_BOOK;
  if (given) {
    return existsSync(path.join(given, 'index.html'))
      ? { dir: given, key: 'env', note: null }
      : { dir: null, key: '', note: `BUCKETLITE_DEMO_BOOK=${given} holds no index.html: serving WordNet only.` };
  }
  const debs = path.join(CACHE_DIR, 'debs');
  const extracted = (deb: string) => path.join(CACHE_DIR, 'rust-doc', deb.replace(/\.deb$/, ''));
  const have = () => (existsSync(debs) ? readdirSync(debs).filter((f) => /^rust-doc_.*\.deb$/.test(f)).sort() : []);
  let deb = have().pop();
  if (!deb) {
    log('fetching the Rust book: apt-get download rust-doc (17 MB, once) …');
    // Into a directory of its own, then renamed: a half-written .deb is never seen.
    const tmp = path.join(CACHE_DIR, `debs.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(tmp, { recursive: true });
    mkdirSync(debs, { recursive: true });
    const r = spawnSync('apt-get', ['download', '-qq', 'rust-doc'], { cwd: tmp, encoding: 'utf8', timeout: 300_000 });
    for (const f of readdirSync(tmp)) if (f.endsWith('.deb')) renameSync(path.join(tmp, f), path.join(debs, f));
    rmSync(tmp, { recursive: true, force: true });
    deb = have().pop();
    if (!deb) {
      const why = r.error ? (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'apt-get is not installed' : r.error.message
        : (r.stderr.split('\n').find((l) => l.startsWith('E:')) ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`).trim();
      return { dir: null, key: '', note: `The Rust book is not available (apt-get download rust-doc: ${why}): serving WordNet only.` };
    }
  }
  const root = extracted(deb);
  const book = path.join(root, BOOK_IN_PACKAGE);
  if (!existsSync(path.join(book, 'index.html'))) {
    // Into a directory of its own, then renamed: test files build the demo at the same time.
    const tmp = `${root}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    mkdirSync(tmp, { recursive: true });
    // Only the book, out of the package's 580 MB of HTML.
    const r = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "$3/*"', 'sh', path.join(debs, deb), tmp, BOOK_IN_PACKAGE], { encoding: 'utf8', timeout: 300_000 });
    const ok = r.status === 0 && existsSync(path.join(tmp, BOOK_IN_PACKAGE, 'index.html'));
    if (ok) {
      try {
        renameSync(tmp, root);
      } catch {
        // Another build unpacked it first.
      }
    }
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(book, 'index.html'))) {
      const why = r.error?.message ?? (r.stderr.trim().split('\n').pop() || `exit ${r.status}`);
      return { dir: null, key: '', note: `The Rust book is not available (cannot unpack ${deb}: ${why}): serving WordNet only.` };
    }
  }
  return { dir: book, key: deb.replace(/\.deb$/, '').replace(/[^\w.+-]/g, '_'), note: null };
}
