/**
 * The modules bucketlite's SQLite build (src/sqlite/wasm/) adds: R*Tree (GeoPackage
 * spatial indexes), FTS3/FTS4, dbstat, generate_series and the math functions, read
 * through the Node reader over HTTP (nginx) from a bucket the normal upload published.
 * better-sqlite3 (which has them all but generate_series) is the oracle. Then the same
 * R*Tree and FTS4 queries in headless Chromium through both wasm builds (JSPI and
 * Asyncify), with the zero-config client (worker and wasm embedded) bundled by esbuild.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { openDatabase } from '../src/node/open.js';
import type { BucketDatabase, Row } from '../src/database.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { startNginx, CHROMIUM, CHROMIUM_ARGS } from './servers.js';
import type { RunningServer } from './servers.js';
import { tempDir } from './helpers.js';
import { buildModulesDb, BBOXES, FTS_QUERIES } from './sqlite-modules-db.js';

const dir = tempDir('bl-modules-');
const file = path.join(dir, 'modules.db');
let nginx: RunningServer;
let db: BucketDatabase;
let browser: Browser | undefined;
let page: Page;

/** A page whose window.run(build, queries) opens the bucket in the worker with that wasm build. */
async function startPage(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed: apt-get install chromium (.ci/run does this)');
  const { build } = await import('esbuild');
  const client = path.resolve(import.meta.dirname, '..', 'dist', 'worker', 'client-inline.js');
  mkdirSync(path.join(dir, 'buckets', 'app'), { recursive: true });
  writeFileSync(path.join(dir, 'app.ts'), `import { openDatabase } from ${JSON.stringify(client)};
    (window as any).run = async (build: string, queries: [string, unknown[]][]) => {
      try {
        const db = await openDatabase(new URL('../modules/', location.href).href, { persistentCache: 'none', build });
        const results = [];
        for (const [sql, params] of queries) results.push(await db.query(sql, params));
        const used = db.info.build;
        await db.close();
        return { build: used, results };
      } catch (e: any) {
        return { error: String(e?.message ?? e) };
      }
    };
    document.title = 'ready';`);
  await build({ entryPoints: [path.join(dir, 'app.ts')], bundle: true, format: 'esm', outfile: path.join(dir, 'buckets', 'app', 'app.js'), logLevel: 'warning' });
  writeFileSync(path.join(dir, 'buckets', 'app', 'index.html'), '<!doctype html><script type="module" src="app.js"></script>');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  await page.goto(`${nginx.url}app/index.html`);
  await page.waitForFunction(() => document.title === 'ready', null, { timeout: 60_000 });
}

beforeAll(async () => {
  buildModulesDb(file);
  mkdirSync(path.join(dir, 'buckets'), { recursive: true });
  await upload(file, new LocalDirStore(path.join(dir, 'buckets', 'modules')));
  nginx = await startNginx(path.join(dir, 'buckets'));
  db = await openDatabase(`${nginx.url}modules/`);
  await startPage();
}, 120_000);
afterAll(async () => {
  await db?.close();
  await browser?.close();
  await nginx?.stop();
});

/** Floats through 12 significant digits; blobs as plain byte arrays (Buffer vs Uint8Array). */
function normal(rows: unknown[]): unknown[] {
  const value = (v: unknown) => {
    if (typeof v === 'number' && !Number.isInteger(v)) return Number(v.toPrecision(12));
    if (v instanceof Uint8Array) return [...v];
    return v;
  };
  return (rows as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, value(v)])));
}

function oracle(sql: string, params: unknown[] = []): unknown[] {
  const o = new Database(file, { readonly: true });
  try {
    return normal(o.prepare(sql).all(...params));
  } finally {
    o.close();
  }
}

async function same(sql: string, params: (number | string)[] = []): Promise<Row[]> {
  const rows = await db.query(sql, params);
  expect(normal(rows), sql).toEqual(oracle(sql, params));
  return rows;
}

describe("bucketlite's SQLite build: extra modules through the Node reader", () => {
  it('lists rtree, fts3, fts4, fts5, dbstat, generate_series and (once used) json_each among its modules', async () => {
    const modules = async () => (await db.query('SELECT name FROM pragma_module_list')).map((r) => r.name as string);
    const names = await modules();
    for (const m of ['rtree', 'rtree_i32', 'geopoly', 'fts3', 'fts4', 'fts3tokenize', 'fts4aux', 'fts5', 'fts5vocab', 'dbstat', 'generate_series']) expect(names).toContain(m);
    // SQLite registers json_each on its first use (better-sqlite3 lists it no sooner).
    await db.query("SELECT count(*) FROM json_each('[1,2]')");
    expect(await modules()).toContain('json_each');
  });

  it('GeoPackage layout: the R*Tree index answers bounding-box queries as SQLite does', async () => {
    const contents = await same('SELECT c.table_name, c.data_type, g.column_name, g.geometry_type_name, c.min_x, c.max_y FROM gpkg_contents c JOIN gpkg_geometry_columns g USING (table_name)');
    expect(contents).toHaveLength(1);
    for (const [minx, maxx, miny, maxy] of BBOXES) {
      const rows = await same(
        `SELECT f.fid, f.name FROM rtree_places_geom r JOIN places f ON f.fid = r.id
         WHERE r.maxx >= ? AND r.minx <= ? AND r.maxy >= ? AND r.miny <= ? ORDER BY f.fid`,
        [minx, maxx, miny, maxy],
      );
      expect(rows.length).toBeGreaterThan(0);
    }
    await same('SELECT count(*) AS n, min(minx) AS x0, max(maxy) AS y1 FROM rtree_places_geom');
    // rtree's own integrity check walks every node of the index through the VFS.
    await same("SELECT rtreecheck('rtree_places_geom') AS ok");
  });

  it('FTS4: MATCH, matchinfo, offsets and snippet give what SQLite gives', async () => {
    for (const q of FTS_QUERIES) {
      const rows = await same(
        `SELECT docid, title, matchinfo(docs, 'pcnalx') AS mi, offsets(docs) AS off, snippet(docs, '[', ']', '…', -1, 8) AS snip
         FROM docs WHERE docs MATCH ? ORDER BY docid`,
        [q],
      );
      expect(rows.length, q).toBeGreaterThan(0);
    }
    await same("SELECT count(*) AS n FROM docs WHERE docs MATCH 'title:alpha OR beta'");
  });

  it('dbstat reports the pages of every table and index as SQLite does', async () => {
    const rows = await same('SELECT name, count(*) AS pages, sum(ncell) AS cells, sum(payload) AS payload FROM dbstat GROUP BY name ORDER BY name');
    expect(rows.map((r) => r.name)).toContain('rtree_places_geom_node');
  });

  it('generate_series matches a series computed in JavaScript', async () => {
    const rows = await db.query('SELECT value FROM generate_series(5, 1000, 7)');
    const want = Array.from({ length: Math.floor((1000 - 5) / 7) + 1 }, (_, i) => 5 + 7 * i);
    expect(rows.map((r) => r.value)).toEqual(want);
    const down = await db.query('SELECT value FROM generate_series(10, 1, -3)');
    expect(down.map((r) => r.value)).toEqual([10, 7, 4, 1]);
    // Joined with a table read through the VFS.
    const joined = await db.query('SELECT s.value AS fid, f.name FROM generate_series(3, 60, 19) s JOIN places f ON f.fid = s.value ORDER BY fid');
    expect(normal(joined)).toEqual(oracle('SELECT fid, name FROM places WHERE fid IN (3, 22, 41, 60) ORDER BY fid'));
  });

  it('math functions give what SQLite gives', async () => {
    await same(
      `SELECT x, sqrt(x) AS s, ln(x) AS l, log10(x) AS l10, log2(x) AS l2, pow(x, 2.5) AS p, exp(x / 100) AS e,
         ceil(x) AS c, floor(x) AS f, trunc(x) AS t, sin(x) AS si, cos(x) AS co, atan2(x, 3) AS a, degrees(x) AS d,
         radians(x) AS r, mod(x, 7) AS m, pi() AS pi
       FROM nums ORDER BY x`,
    );
  });

  it('Geopoly (enabled too: it costs about 1% of the wasm) computes as SQLite does', async () => {
    await same('SELECT geopoly_area(geopoly_regular(0, 0, 10, 6)) AS a, geopoly_json(geopoly_bbox(geopoly_regular(5, 5, 2, 4))) AS b, geopoly_contains_point(geopoly_regular(0, 0, 10, 8), 1, 1) AS c');
  });

  it('JSON functions still work', async () => {
    await same("SELECT key, value FROM json_each('{\"a\":1,\"b\":[2,3]}') ORDER BY key");
  });
});

describe("bucketlite's SQLite build in Chromium", () => {
  const RTREE_SQL = `SELECT f.fid, f.name FROM rtree_places_geom r JOIN places f ON f.fid = r.id
    WHERE r.maxx >= ? AND r.minx <= ? AND r.maxy >= ? AND r.miny <= ? ORDER BY f.fid`;
  const FTS_SQL = `SELECT docid, matchinfo(docs, 'pcx') AS mi, offsets(docs) AS off, snippet(docs) AS snip
    FROM docs WHERE docs MATCH ? ORDER BY docid`;

  for (const build of ['jspi', 'asyncify'] as const) {
    it(`${build}: the R*Tree and the FTS4 table answer as SQLite does`, async () => {
      const queries: [string, (number | string)[]][] = [
        ...BBOXES.map((b): [string, number[]] => [RTREE_SQL, b]),
        ...FTS_QUERIES.map((q): [string, string[]] => [FTS_SQL, [q]]),
      ];
      const r = await page.evaluate(([b, qs]) => (window as unknown as { run(b: string, q: unknown): Promise<never> }).run(b, qs), [build, queries] as const) as
        { build?: string; results?: unknown[][]; error?: string };
      expect(r.error).toBeUndefined();
      expect(r.build).toBe(build);
      // Blobs cross the page boundary as objects keyed by index: compare as byte arrays.
      const bytes = (rows: unknown[]) => (rows as Record<string, unknown>[]).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) =>
        [k, v && typeof v === 'object' ? Object.values(v as Record<string, number>) : v])));
      queries.forEach(([sql, params], i) => expect(normal(bytes(r.results![i])), `${sql} ${params}`).toEqual(oracle(sql, params)));
    });
  }
});
