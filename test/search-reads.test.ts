/**
 * What a site search reads, counted at the server: a link proxy (50 ms per request,
 * 20 Mbit/s, HTTP/1.1 with 6 requests in flight, as a browser meets a static host) in
 * front of nginx serving a site index. The oracle for which objects open must fetch is
 * SQLite's own dbstat on the published file; results are checked against FTS5 in
 * site-build.test.ts.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/node/open.js';
import { restore } from '../src/ops/restore.js';
import { upload } from '../src/upload/upload.js';
import { LocalDirStore } from '../src/storage/local.js';
import { buildSiteFromPages } from '../src/site/build.js';
import { loadRoot, readHead } from '../src/bucket/versions.js';
import { locateBlock } from '../src/format/manifest.js';
import { WARM_BYTES_MAX } from '../src/reader/reader.js';
import { runSearch, SEARCH_READ_OPTIONS, warmSearch } from '../src/site/query.js';
import type { SitePage } from '../src/site/extract.js';
import { synsetsOf } from '../demo-site/corpus.js';
import { startLinkProxy } from '../bench/link-proxy.js';
import type { LinkProxy, RequestRecord } from '../bench/link-proxy.js';
import { startNginx } from './servers.js';
import type { RunningServer } from './servers.js';
import { tempDir } from './helpers.js';

const dir = tempDir('bl-search-reads-');
let nginx: RunningServer;

/** WordNet nouns in file order, one page per synset (not chosen for the test). */
function pages(n: number): SitePage[] {
  const out: SitePage[] = [];
  for (const { offset, words, gloss } of synsetsOf('noun')) {
    if (out.length >= n) break;
    const [definition, ...examples] = gloss.split('; ');
    out.push({
      url: `/n${offset}.html`, title: words[0], meta: {},
      sections: [
        { anchor: null, heading: '', level: 0, text: words.join(', ') },
        { anchor: 'definition', heading: 'Definition', level: 2, text: definition },
        { anchor: 'examples', heading: 'Examples', level: 2, text: examples.join(' ') || 'none' },
      ],
    });
  }
  return out;
}

/**
 * Queries from the corpus itself, not picked by hand: the long words of a few pages'
 * definitions, as one word, two words, and a prefix being typed (no trailing space).
 */
function queries(): string[] {
  const long = (i: number) => corpus[i].sections[1].text.split(/\W+/).filter((w) => w.length >= 6);
  return [`${long(100)[0]} `, `${long(1000)[0]} ${long(1000)[1]} `, long(2000)[0].slice(0, 5), `${long(2500)[0]} ${long(2500)[1]}`];
}

const manifests = (rs: RequestRecord[]) => rs.filter((r) => r.path.includes('/manifests/'));

const corpus = pages(3000);

beforeAll(async () => { nginx = await startNginx(dir); });
afterAll(async () => { await nginx?.stop(); });

/** The leaf size of a bucket's current version, from its root. */
async function blocksPerLeaf(bucket: string): Promise<number> {
  const store = new LocalDirStore(bucket);
  const head = (await readHead(store))!;
  return (await loadRoot(store, head.head.root, head.head.inline)).blocksPerLeaf;
}

/**
 * The manifest leaves a reader opened with SEARCH_READ_OPTIONS should fetch at open, by
 * SQLite's own account of where each warm table's B-tree pages are (dbstat: interior
 * and leaf pages, in blocks of their size), each table when its leaves fit the budget.
 */
async function expectedWarmLeaves(bucket: string, perLeaf: number): Promise<Set<number>> {
  const out = new Set<number>();
  for (const table of SEARCH_READ_OPTIONS.warmTables) {
    const leaves = new Set([...(await pagesOf(bucket, table, ['internal', 'leaf']))].map((pg) => Math.floor((pg - 1) / perLeaf)));
    if (leaves.size * perLeaf * 32 <= WARM_BYTES_MAX) leaves.forEach((l) => out.add(l));
  }
  return out;
}

describe.each([
  { leaves: 'sized by the builder (all of this index\'s hashes fit the warm budget)', name: 'sized', upload: undefined },
  { leaves: 'of 64 blocks (a larger site\'s)', name: 'small-leaves', upload: { blocksPerLeaf: 64 } },
])('a site search with manifest leaves $leaves, counted at the server', ({ name, upload }) => {
  const bucket = path.join(dir, name);
  let link: LinkProxy;
  beforeAll(async () => {
    mkdirSync(bucket, { recursive: true });
    await buildSiteFromPages(corpus, new LocalDirStore(bucket), { upload });
    link = await startLinkProxy(`${nginx.url}${name}/`, { latencyMs: 50, mbps: 20 });
  }, 120_000);
  afterAll(async () => { await link?.close(); });

  /** Until the link has been quiet for 300 ms: what a step started is counted in that step. */
  async function settle(): Promise<void> {
    for (let seen = -1; ;) {
      await new Promise((r) => setTimeout(r, 300));
      const now = link.summary().requests;
      if (now === seen && link.summary().detail.every((r) => r.lastByte !== Infinity)) return;
      seen = now;
    }
  }

  it('open fetches HEAD and the block hashes of the warm tables: exactly the manifest leaves SQLite\'s dbstat places their pages in', async () => {
    const perLeaf = await blocksPerLeaf(bucket);
    if (upload) expect(perLeaf).toBe(64);
    else expect(perLeaf).toBeGreaterThan(64);
    const leaves = await expectedWarmLeaves(bucket, perLeaf);
    expect(leaves.size).toBeGreaterThan(1);
    if (!upload) expect(leaves.size).toBeLessThanOrEqual(4); // the builder's promise: about 4 leaves, all fetched at open

    link.reset();
    const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, concurrency: 6 });
    try {
      await settle();
      const open = link.summary().detail;
      expect(open.filter((r) => r.path.endsWith('/HEAD'))).toHaveLength(1);
      expect(manifests(open)).toHaveLength(leaves.size);
      expect(open).toHaveLength(1 + leaves.size);
    } finally {
      await reader.close();
    }
  });

  it('a search after open: two round trips, no block-hash request, nothing read after the results', async () => {
    const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, concurrency: 6 });
    try {
      await settle();
      for (const words of queries()) {
        link.reset();
        const results = await runSearch(reader, words, { limit: 5 });
        const during = link.summary();
        await settle();
        expect(results.length, words).toBeGreaterThan(0);
        expect(link.summary().requests, words).toBe(during.requests); // no readahead after the results
        expect(during.roundTrips, words).toBeLessThanOrEqual(2);
        expect(manifests(during.detail), words).toEqual([]); // every leaf a search needs came at open
      }
    } finally {
      await reader.close();
    }
  });

  it('typing a word key by key reads its term rows from a few pages: keys that begin alike are neighbours (termId)', async () => {
    // A word of the corpus, not picked by hand: the first of 9 letters or more in page 1200's definition.
    const word = corpus.slice(1200).flatMap((p) => p.sections[1].text.toLowerCase().split(/[^a-z]+/)).find((w) => w.length >= 9)!;
    const termPages = await pagesOf(bucket, 'terms');
    const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, concurrency: 6 });
    try {
      await settle();
      link.reset();
      for (let n = 3; n <= word.length; n++) await runSearch(reader, word.slice(0, n), { limit: 5 });
      const read = (await pagesRead(bucket, link.summary().detail)).filter((pg) => termPages.has(pg));
      // Each keystroke looks up its prefix row and the typed word's row (termId keys), up to 2 × 7
      // rows for a 9-letter word; hashed anywhere in the table they would lie on about as many pages.
      expect(read.length, `${word}: term pages ${read.join(' ')}`).toBeLessThanOrEqual(3);
      expect(termPages.size).toBeGreaterThan(50);
    } finally {
      await reader.close();
    }
  });

  it('the search box\'s warm-up (warmSearch) reads nothing from the bucket, and searches after it rank as on a connection without it', async () => {
    const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, concurrency: 6 });
    const plain = await openDatabase(bucket, SEARCH_READ_OPTIONS);
    try {
      await settle();
      link.reset();
      await warmSearch(reader);
      await warmSearch(reader); // again, as a second preload of the page would
      await settle();
      expect(link.summary().detail).toEqual([]);
      for (const words of [...queries(), 'warm', 'warm ']) {
        expect(await runSearch(reader, words, { limit: 5 }), words).toEqual(await runSearch(plain, words, { limit: 5 }));
      }
    } finally {
      await reader.close();
      await plain.close();
    }
  });
});

describe('a one-page edit of a small site', () => {
  it('publishes at most 6 objects and the HEAD: the pack of what changed and the few manifest leaves the builder sized', async () => {
    const bucket = path.join(dir, 'edited');
    const store = new LocalDirStore(bucket);
    await buildSiteFromPages(corpus, store);
    const before = new Set(listing(bucket));
    const edited = corpus.map((p, i) => (i !== 1500 ? p : { ...p, sections: [...p.sections, { anchor: 'note', heading: 'Note', level: 2, text: 'A quixotic zeppelin passes over the harbour.' }] }));
    const r = await buildSiteFromPages(edited, store);
    expect(r).toMatchObject({ changed: 1, fresh: false });
    const written = listing(bucket).filter((k) => !before.has(k) || k === 'HEAD');
    expect(written.filter((k) => k.startsWith('packs/'))).toHaveLength(1);
    expect(written.length, written.join(' ')).toBeLessThanOrEqual(7);
    const reader = await openDatabase(bucket, SEARCH_READ_OPTIONS);
    try {
      expect((await runSearch(reader, 'quixotic zeppelin ')).map((x) => x.url)).toEqual([corpus[1500].url]);
    } finally {
      await reader.close();
    }
  });
});

/** The pages of a table (of these dbstat page types) in a bucket's current version, by SQLite's dbstat on the restored file. */
async function pagesOf(bucket: string, table: string, types = ['internal', 'leaf', 'overflow']): Promise<Set<number>> {
  const file = path.join(dir, `${path.basename(bucket)}-pages.db`);
  await restore(new LocalDirStore(bucket), file);
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype IN (${types.map(() => '?').join(', ')})`).all(table, ...types) as { pageno: number }[];
    return new Set(rows.map((r) => r.pageno));
  } finally {
    db.close();
  }
}

/** The database pages that pack Range requests fetched (pages in blocks of their size), by the root's run table. */
async function pagesRead(bucket: string, records: RequestRecord[]): Promise<number[]> {
  const store = new LocalDirStore(bucket);
  const root = await loadRoot(store, (await readHead(store))!.head.root, (await readHead(store))!.head.inline);
  const blockAt = new Map<string, number>();
  for (let i = 0; i < Math.ceil(root.dbSize / root.blockSize); i++) {
    const at = locateBlock(root, i);
    blockAt.set(`${at.pack}@${at.offset}`, i);
  }
  const pages = new Set<number>();
  for (const r of records.filter((x) => x.path.includes('/packs/') && x.range)) {
    const pack = r.path.replace(/^.*\/packs\//, '');
    const [from, to] = r.range!.replace('bytes=', '').split('-').map(Number);
    for (let off = from; off <= to; off += root.blockSize) pages.add(blockAt.get(`${pack}@${off}`)! + 1);
  }
  return [...pages].sort((a, b) => a - b);
}

/** Object keys of a bucket directory, HEAD included. */
function listing(bucket: string): string[] {
  return readdirSync(bucket, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => path.relative(bucket, path.join(e.parentPath, e.name)));
}

describe('a deep manifest tree (16-block leaves, 4 per node)', () => {
  const bucket = path.join(dir, 'deep');
  beforeAll(async () => {
    mkdirSync(bucket, { recursive: true });
    await buildSiteFromPages(corpus, new LocalDirStore(bucket), { upload: { blocksPerLeaf: 16, fanout: 4 } });
  }, 120_000);
  /** What a manifest request fetched, by the magic of the object in the bucket directory. */
  const kind = (r: RequestRecord) => readFileSync(path.join(bucket, r.path.replace(/^.*\/manifests\//, 'manifests/'))).subarray(0, 4).toString('latin1');

  it('warm tables whose leaves exceed warmBytes get the nodes above them at open: a search then fetches leaves beside blocks, never a node', async () => {
    const link = await startLinkProxy(`${nginx.url}deep/`, { latencyMs: 50, mbps: 20 });
    // 4 KiB: fewer hashes than either warm table has; their nodes (128 bytes each) fit.
    const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, warmBytes: 4096, concurrency: 6 });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const open = manifests(link.summary().detail);
      expect(open.length).toBeGreaterThan(2);
      expect(new Set(open.map(kind))).toEqual(new Set(['BLND']));
      for (const words of queries()) {
        link.reset();
        expect((await runSearch(reader, words, { limit: 5 })).length, words).toBeGreaterThan(0);
        const fetched = manifests(link.summary().detail);
        expect(fetched.length, words).toBeGreaterThan(0);
        expect(fetched.filter((r) => kind(r) !== 'BLLF').map((r) => r.path), words).toEqual([]);
      }
    } finally {
      await reader.close();
      await link.close();
    }
  });

  it('nothing warmed: each manifest object is fetched once: leaves read at once share the request for the node above them', async () => {
    const link = await startLinkProxy(`${nginx.url}deep/`, { latencyMs: 50, mbps: 20 });
    const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, warmTables: [], concurrency: 6 });
    try {
      for (const words of queries()) {
        link.reset();
        expect((await runSearch(reader, words, { limit: 5 })).length, words).toBeGreaterThan(0);
        const objects = manifests(link.summary().detail).map((r) => r.path);
        expect(objects.length, words).toBeGreaterThan(0);
        expect(objects.filter((p, i) => objects.indexOf(p) !== i), words).toEqual([]);
      }
    } finally {
      await reader.close();
      await link.close();
    }
  });
});

describe('rows in more pages than there are connections', () => {
  // One 1,500-byte row per 2 KiB page: row i lies on a page of its own, in row order.
  const bucket = path.join(dir, 'scattered');
  beforeAll(async () => {
    mkdirSync(bucket, { recursive: true });
    const file = path.join(dir, 'scattered.db');
    const db = new Database(file);
    db.pragma('page_size = 2048');
    db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    const ins = db.prepare('INSERT INTO t VALUES (?, randomblob(1500))');
    db.transaction(() => { for (let i = 1; i <= 200; i++) ins.run(i); })();
    db.close();
    await upload(file, new LocalDirStore(bucket), { blockSize: 2048 });
  });

  it('8 rows 3 pages apart over 6 connections: one round trip, the nearest reads joined (fitReads)', async () => {
    const link = await startLinkProxy(`${nginx.url}scattered/`, { latencyMs: 50, mbps: 20 });
    const rows = [40, 43, 46, 49, 52, 55, 58, 61];
    /** What prefetching the rows fetched, on a reader opened with `opts` whose table leaf came at open. */
    const fetchRows = async (opts: { maxJoinBytes?: number }) => {
      const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, warmTables: ['t'], concurrency: 6, ...opts });
      try {
        await new Promise((r) => setTimeout(r, 1000));
        link.reset();
        expect(await reader.prefetchRows('t', rows)).toBe(8);
        const s = link.summary();
        expect((await reader.query(`SELECT count(*) AS n FROM t WHERE id IN (${rows.join(',')})`))[0]).toEqual({ n: 8 });
        expect(link.summary().requests).toBe(s.requests); // every row came in that round trip
        return s;
      } finally {
        await reader.close();
      }
    };
    try {
      const joined = await fetchRows({});
      expect(joined.roundTrips).toBe(1);
      expect(joined.requests).toBeLessThanOrEqual(6);
      // What joining cost: the pages between the rows, no more.
      expect((await pagesRead(bucket, joined.detail)).length).toBeLessThanOrEqual(8 + 2 * 7);
      // Joining turned off: the 7th and 8th reads wait for a connection.
      expect(await fetchRows({ maxJoinBytes: 0 })).toMatchObject({ requests: 8, roundTrips: 2 });
    } finally {
      await link.close();
    }
  });
});

describe('an index of 4 KiB pages (built before SITE_PAGE_SIZE was 2 KiB)', () => {
  it('is still searched, and the next build makes it afresh in 2 KiB pages', async () => {
    const bucket = path.join(dir, 'old-pages');
    const store = new LocalDirStore(bucket);
    const some = corpus.slice(0, 300);
    await buildSiteFromPages(some, store);
    const file = path.join(dir, 'old-pages.db');
    await restore(store, file);
    const db = new Database(file);
    db.pragma('page_size = 4096');
    db.exec('VACUUM');
    db.close();
    await upload(file, store, { blockSize: 4096 });
    const pageSize = async () => {
      await restore(store, file);
      const d = new Database(file, { readonly: true });
      try { return d.pragma('page_size', { simple: true }); } finally { d.close(); }
    };
    expect(await pageSize()).toBe(4096);
    const words = `${some[100].title} `;
    const reader = await openDatabase(bucket, SEARCH_READ_OPTIONS);
    let before;
    try {
      before = await runSearch(reader, words);
      expect(before.map((r) => r.url)).toContain(some[100].url);
    } finally {
      await reader.close();
    }
    expect(await buildSiteFromPages(some, store)).toMatchObject({ fresh: true, added: 300 });
    expect(await pageSize()).toBe(2048);
    const after = await openDatabase(bucket, SEARCH_READ_OPTIONS);
    try {
      expect(await runSearch(after, words)).toEqual(before);
    } finally {
      await after.close();
    }
  });
});
