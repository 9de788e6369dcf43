/**
 * Upload warns about virtual tables whose module the reader's SQLite lacks (issue 15):
 * a SpatiaLite database uploads fine and then fails in every reader with "no such
 * module", so the warning comes before anyone queries it. The modules bucketlite
 * claims the reader has are checked against the wasm itself.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/node/open.js';
import { READER_MODULES } from '../src/sqlite/modules.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import type { BucketDatabase } from '../src/database.js';
import { runCli, tempDir } from './helpers.js';

const dir = tempDir('bl-modules-');
const p = (name: string) => path.join(dir, name);

/**
 * What a SpatiaLite file holds: R*Tree spatial indexes (which the reader has) and its own
 * modules (VirtualSpatialIndex, VirtualKNN) declared in the schema. Without SpatiaLite
 * loaded, SQLite cannot create those, so they are written into the schema as SpatiaLite
 * itself leaves them.
 */
function spatialiteLike(file: string): void {
  const db = new Database(file);
  db.exec(`CREATE TABLE places(id INTEGER PRIMARY KEY, name TEXT, geom BLOB);
    CREATE VIRTUAL TABLE idx_places_geom USING rtree(pkid, xmin, xmax, ymin, ymax);
    CREATE VIRTUAL TABLE notes USING fts4(body);
    INSERT INTO places VALUES (1, 'Oslo', NULL);
    INSERT INTO idx_places_geom VALUES (1, 10.7, 10.8, 59.9, 60.0);`);
  // better-sqlite3 opens in defensive mode, which forbids writing the schema table.
  db.unsafeMode(true);
  db.pragma('writable_schema = ON');
  const add = db.prepare("INSERT INTO sqlite_schema(type, name, tbl_name, rootpage, sql) VALUES ('table', ?, ?, 0, ?)");
  add.run('SpatialIndex', 'SpatialIndex', 'CREATE VIRTUAL TABLE SpatialIndex USING VirtualSpatialIndex()');
  add.run('KNN', 'KNN', 'CREATE VIRTUAL TABLE "KNN" USING "VirtualKNN"()');
  db.close();
}

describe('upload and the modules the reader has', () => {
  beforeAll(() => spatialiteLike(p('spatial.db')));

  it('warns on stderr (and in --json) about each missing module, naming its tables, and still publishes', async () => {
    const r = await runCli(['upload', p('spatial.db'), p('bucket'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const warnings = JSON.parse(r.stdout).warnings as string[];
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/no module "VirtualSpatialIndex" \(used by SpatialIndex\)/);
    expect(warnings[1]).toMatch(/no module "VirtualKNN" \(used by KNN\)/);
    expect(r.stderr).toMatch(/^bucketlite: warning: .*VirtualSpatialIndex/m);
    // rtree and fts4 are in the reader: no warning names them.
    expect(r.stderr).not.toMatch(/rtree|fts4/);
    // The warning is true: the reader fails on that table, and reads the R*Tree.
    const db = await openDatabase(p('bucket'));
    try {
      await expect(db.query('SELECT * FROM SpatialIndex')).rejects.toThrow(/no such module: VirtualSpatialIndex/);
      expect(await db.query('SELECT pkid FROM idx_places_geom WHERE xmin < 11 AND ymax > 59')).toEqual([{ pkid: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('no warning for a database whose virtual tables are all in the reader', async () => {
    const file = p('plain-vt.db');
    const db = new Database(file);
    db.exec("CREATE VIRTUAL TABLE r USING rtree(id, a, b); CREATE VIRTUAL TABLE f USING fts5(x); CREATE VIRTUAL TABLE g USING fts3(y)");
    db.close();
    const r = await upload(file, new LocalDirStore(p('bucket-2')));
    expect(r.warnings).toEqual([]);
  });
});

describe('READER_MODULES is what the wasm has', () => {
  let db: BucketDatabase;
  beforeAll(async () => {
    const file = p('empty.db');
    new Database(file).exec('CREATE TABLE t(x)').close();
    await upload(file, new LocalDirStore(p('bucket-empty')));
    db = await openDatabase(p('bucket-empty'));
  });
  afterAll(() => db?.close());

  it("every module of pragma module_list is listed, and every listed one exists", async () => {
    const listed = (await db.query<{ name: string }>('SELECT name FROM pragma_module_list')).map((r) => r.name);
    for (const m of listed) expect(READER_MODULES.has(m), m).toBe(true);
    // json_each and json_tree are built in and not in module_list: they must answer.
    expect(await db.query("SELECT count(*) AS n FROM json_each('[1,2]') JOIN json_tree('{}')")).toEqual([{ n: 2 }]);
    for (const m of READER_MODULES) if (!m.startsWith('json_')) expect(listed, m).toContain(m);
  });
});
