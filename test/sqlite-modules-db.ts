/**
 * A database that needs the modules of bucketlite's SQLite build: a GeoPackage-style
 * feature table with its R*Tree index, an FTS4 table and numbers for the math
 * functions. Seeded, so every run builds the same file; large enough that queries
 * cross many pages.
 */
import Database from 'better-sqlite3';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'river', 'mountain', 'harbour', 'forest', 'bridge', 'tower', 'market', 'garden', 'station', 'castle', 'valley', 'island'];

/** Bounding boxes (minx, maxx, miny, maxy) queried against the R*Tree. */
export const BBOXES: [number, number, number, number][] = [
  [0, 10, 0, 10], [45.5, 47, 12, 19], [-180, -170, -90, -60], [100, 140, -10, 30], [0, 0.5, 0, 0.5],
];

/** FTS4 queries: terms, phrases, prefixes, column filters, NEAR and parentheses. */
export const FTS_QUERIES = ['river', '"mountain harbour"', 'gar*', 'title:castle', 'forest NEAR/2 bridge', '(alpha OR beta) tower', 'valley -island'];

function rng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function geoPackage(db: Database.Database, rand: () => number, features: number): void {
  db.exec(`
    CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
      organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
    INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84"]', NULL);
    CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
      description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
    CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
      srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
    CREATE TABLE places (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom BLOB, name TEXT);
    CREATE VIRTUAL TABLE rtree_places_geom USING rtree(id, minx, maxx, miny, maxy);
    INSERT INTO gpkg_contents (table_name, data_type, identifier, last_change, min_x, min_y, max_x, max_y, srs_id)
      VALUES ('places', 'features', 'places', '2026-01-01T00:00:00.000Z', -180, -90, 180, 90, 4326);
    INSERT INTO gpkg_geometry_columns VALUES ('places', 'geom', 'POINT', 4326, 0, 0);
  `);
  const place = db.prepare('INSERT INTO places (fid, geom, name) VALUES (?, ?, ?)');
  const index = db.prepare('INSERT INTO rtree_places_geom VALUES (?, ?, ?, ?, ?)');
  for (let fid = 1; fid <= features; fid++) {
    const x = rand() * 360 - 180;
    const y = rand() * 180 - 90;
    // A GeoPackage point blob: 'GP', version, flags (little-endian, no envelope), srs_id, then WKB.
    const geom = Buffer.alloc(8 + 21);
    geom.write('GP', 0, 'latin1');
    geom.writeUInt8(0, 2);
    geom.writeUInt8(1, 3);
    geom.writeInt32LE(4326, 4);
    geom.writeUInt8(1, 8);
    geom.writeUInt32LE(1, 9);
    geom.writeDoubleLE(x, 13);
    geom.writeDoubleLE(y, 21);
    place.run(fid, geom, `place ${fid}`);
    index.run(fid, x, x, y, y);
  }
  // Some extents too, so boxes overlap boxes and not only points.
  for (let fid = features + 1; fid <= features + 500; fid++) {
    const x = rand() * 300 - 150;
    const y = rand() * 150 - 75;
    place.run(fid, null, `area ${fid}`);
    index.run(fid, x, x + rand() * 20, y, y + rand() * 10);
  }
}

function fts4(db: Database.Database, rand: () => number, docs: number): void {
  db.exec('CREATE VIRTUAL TABLE docs USING fts4(title, body)');
  const insert = db.prepare('INSERT INTO docs (docid, title, body) VALUES (?, ?, ?)');
  const words = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(WORDS.length * rand() ** 2)]).join(' ');
  for (let id = 1; id <= docs; id++) insert.run(id * 2, words(2), `${words(20 + Math.floor(rand() * 60))} filler${id}`);
}

export function buildModulesDb(file: string, o: { features?: number; docs?: number } = {}): void {
  const db = new Database(file);
  const rand = rng(42);
  db.transaction(() => {
    geoPackage(db, rand, o.features ?? 20000);
    fts4(db, rand, o.docs ?? 3000);
    db.exec('CREATE TABLE nums (x REAL)');
    const num = db.prepare('INSERT INTO nums VALUES (?)');
    for (let i = 1; i <= 50; i++) num.run(i * 3.7);
  })();
  db.close();
}
