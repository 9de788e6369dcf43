/**
 * What a site search reads, counted at the server: a link proxy (50 ms per request,
 * 20 Mbit/s, HTTP/1.1 with 6 requests in flight, as a browser meets a static host) in
 * front of nginx serving a site index. The oracle for which objects open must fetch is
 * SQLite's own dbstat on the published file; results are checked against FTS5 in
 * site-build.test.ts.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/node/open.js';
import { restore } from '../src/ops/restore.js';
import { LocalDirStore } from '../src/storage/local.js';
import { buildSiteFromPages, SITE_UPLOAD } from '../src/site/build.js';
import { runSearch, SEARCH_READ_OPTIONS } from '../src/site/query.js';
import type { SitePage } from '../src/site/extract.js';
import { synsetsOf } from '../demo-site/corpus.js';
import { startLinkProxy } from '../bench/link-proxy.js';
import type { LinkProxy, RequestRecord } from '../bench/link-proxy.js';
import { startNginx } from './servers.js';
import type { RunningServer } from './servers.js';
import { tempDir } from './helpers.js';

const dir = tempDir('bl-search-reads-');
const bucket = path.join(dir, 'www', 'search');
let nginx: RunningServer;
let link: LinkProxy;

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

/** Until the link has been quiet for 300 ms: what a step started is counted in that step. */
async function settle(): Promise<void> {
  for (let seen = -1; ;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = link.summary().requests;
    if (now === seen && link.summary().detail.every((r) => r.lastByte !== Infinity)) return;
    seen = now;
  }
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

beforeAll(async () => {
  mkdirSync(bucket, { recursive: true });
  await buildSiteFromPages(corpus, new LocalDirStore(bucket));
  nginx = await startNginx(path.join(dir, 'www'));
  link = await startLinkProxy(`${nginx.url}search/`, { latencyMs: 50, mbps: 20 });
}, 120_000);
afterAll(async () => { await link?.close(); await nginx?.stop(); });

describe('a site search, counted at the server', () => {
  it('open fetches HEAD and the block hashes of `sections`: exactly the manifest leaves SQLite\'s dbstat places its pages in', async () => {
    const file = path.join(dir, 'index.db');
    await restore(new LocalDirStore(bucket), file);
    const db = new Database(file, { readonly: true });
    const pagesOf = db.prepare(`SELECT pageno FROM dbstat WHERE name = 'sections'`).all() as { pageno: number }[];
    db.close();
    const perLeaf = SITE_UPLOAD.blocksPerLeaf!;
    const leaves = new Set(pagesOf.map((p) => Math.floor((p.pageno - 1) / perLeaf))); // 4 KiB pages, 4 KiB blocks
    expect(leaves.size).toBeGreaterThan(1);

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

  it('a search after open: two round trips, no block-hash request for the excerpt rows, nothing read after the results', async () => {
    const reader = await openDatabase(link.url, { ...SEARCH_READ_OPTIONS, concurrency: 6 });
    try {
      await settle();
      for (const words of queries()) {
        console.log(`search ${JSON.stringify(words)}`);
        link.reset();
        const results = await runSearch(reader, words, { limit: 5 });
        const during = link.summary();
        await settle();
        expect(results.length).toBeGreaterThan(0);
        expect(link.summary().requests).toBe(during.requests); // no readahead after the results
        expect(during.roundTrips).toBeLessThanOrEqual(2);
        // Manifest leaves only for the term rows (one per row at most): never for sections.
        const rows = words.trim().split(' ').length + (words.endsWith(' ') ? 0 : 1); // a word being typed: its prefix row and its own
        expect(manifests(during.detail).length).toBeLessThanOrEqual(rows);
      }
    } finally {
      await reader.close();
    }
  });
});
