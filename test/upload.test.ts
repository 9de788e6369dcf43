import { readFileSync, writeFileSync, copyFileSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { upload } from '../src/upload/upload.js';
import { restore } from '../src/ops/restore.js';
import { verify } from '../src/ops/verify.js';
import { currentVersion, findVersion, loadBlockTable } from '../src/bucket/versions.js';
import { decodeHead } from '../src/format/head.js';
import { LocalDirStore } from '../src/storage/local.js';
import { MemoryStore } from '../src/storage/memory.js';
import { isCode } from '../src/errors.js';
import { makeDb, raceUploads, tempDir, updateOneRow } from './helpers.js';

const dir = tempDir('bl-upload-');
const p = (name: string) => path.join(dir, name);

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect((err as { code?: string }).code, (err as Error).message).toBe(code);
    return err as Error;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

describe('round trip: upload then restore is byte-identical', () => {
  for (const pageSize of [512, 4096, 65536]) {
    it(`page size ${pageSize}`, async () => {
      const db = p(`rt-${pageSize}.db`);
      makeDb(db, { pageSize, rows: 3000, payload: 300 });
      const store = new LocalDirStore(p(`rt-${pageSize}`));
      const r = await upload(db, store);
      expect(r.committed).toBe(true);
      expect(r.pageSize).toBe(pageSize);
      expect(r.blockSize).toBe(Math.max(16384, pageSize));
      await restore(store, p(`rt-${pageSize}.out`));
      expect(Buffer.compare(readFileSync(p(`rt-${pageSize}.out`)), readFileSync(db))).toBe(0);
      expect((await verify(store)).problems).toEqual([]);
    });
  }

  it('a file that is not a multiple of the block size, with a small block size and a deep tree', async () => {
    const db = p('odd.db');
    makeDb(db, { pageSize: 1024, rows: 2000 });
    const size = statSync(db).size;
    expect(size % 65536).not.toBe(0);
    const store = new MemoryStore();
    // 4 KiB blocks, 4 blocks per leaf, fanout 3: many leaves and interior levels.
    const r = await upload(db, store, { blockSize: 4096, blocksPerLeaf: 4, fanout: 3, packSize: 64 * 1024 });
    const v = await currentVersion(store);
    expect(v!.root.depth).toBeGreaterThan(3);
    expect(r.packsWritten).toBeGreaterThan(3);
    await restore(store, p('odd.out'));
    expect(Buffer.compare(readFileSync(p('odd.out')), readFileSync(db))).toBe(0);
    expect((await verify(store)).ok).toBe(true);
  });

  it('restores an older version by number while newer ones exist', async () => {
    const db = p('hist.db');
    makeDb(db, { rows: 500 });
    const first = readFileSync(db);
    const store = new MemoryStore();
    await upload(db, store);
    updateOneRow(db);
    await upload(db, store);
    await restore(store, p('hist-1.out'), { version: '1' });
    expect(Buffer.compare(readFileSync(p('hist-1.out')), first)).toBe(0);
  });
});

describe('incremental upload', () => {
  it('a one-row UPDATE in a ~30 MB database writes a handful of blocks and at most 6 objects, as --dry-run predicted', async () => {
    const db = p('inc.db');
    makeDb(db, { rows: 120_000, payload: 200 });
    expect(statSync(db).size).toBeGreaterThan(25e6);
    const store = new MemoryStore();
    const first = await upload(db, store);
    expect(first.blocksNew).toBe(first.blocksTotal);

    updateOneRow(db, 54_321);
    const opsBefore = store.ops.length;
    const dry = await upload(db, store, { dryRun: true });
    expect(store.count('put', opsBefore)).toBe(0); // a dry run writes nothing
    expect(dry.committed).toBe(false);
    expect((await currentVersion(store))!.root.seq).toBe(1);

    const from = store.ops.length;
    const r = await upload(db, store);
    expect(r.committed).toBe(true);
    expect(r.blocksNew).toBeGreaterThanOrEqual(1);
    expect(r.blocksNew).toBeLessThanOrEqual(5);
    expect(r.objectsWritten).toBeLessThanOrEqual(6);
    expect(store.count('put', from)).toBe(r.objectsWritten);
    // The new blocks went into one new pack; the run table grew by at most 2 runs a block.
    const before = (await findVersion(store, '1')).root;
    const after = (await currentVersion(store))!.root;
    expect(r.packsWritten).toBe(1);
    expect(after.runs.length).toBeLessThanOrEqual(before.runs.length + 2 * r.blocksNew);
    expect(after.pages.length).toBeGreaterThan(0);
    // The dry run predicted exactly what the real run wrote.
    expect(dry.blocksNew).toBe(r.blocksNew);
    expect(dry.objectsWritten).toBe(r.objectsWritten);
    expect(dry.bytesWritten).toBeCloseTo(r.bytesWritten, -2);
    expect(dry.keysWritten.filter((k) => k.startsWith('packs/')).length).toBe(r.packsWritten);

    await restore(store, p('inc.out'));
    expect(Buffer.compare(readFileSync(p('inc.out')), readFileSync(db))).toBe(0);
    expect((await verify(store, { all: true })).ok).toBe(true);
  });

  it('re-uploading an unchanged file writes nothing', async () => {
    const db = p('same.db');
    makeDb(db, { rows: 200 });
    const store = new MemoryStore();
    await upload(db, store);
    const from = store.ops.length;
    const r = await upload(db, store);
    expect(r.unchanged).toBe(true);
    expect(r.objectsWritten).toBe(0);
    expect(store.count('put', from)).toBe(0);
  });

  it('blocks that repeat inside one file are stored again where that keeps the run table short', async () => {
    const db = p('zeros.db');
    makeDb(db, { rows: 100 });
    const d = new Database(db);
    // secure_delete zeroes freed pages: a run of all-zero blocks.
    d.pragma('secure_delete = ON');
    d.exec("CREATE TABLE blobs(b BLOB); INSERT INTO blobs VALUES (randomblob(2000000)); DELETE FROM blobs;");
    d.close();
    const store = new MemoryStore();
    const r = await upload(db, store);
    // Reusing one stored zero block for each of them would cost two runs a block.
    const root = (await currentVersion(store))!.root;
    const table = await loadBlockTable(store, root);
    expect(new Set(table.blocks.map((b) => b.hash)).size).toBeLessThan(r.blocksTotal / 2);
    expect(r.blocksNew).toBe(r.blocksTotal);
    expect(root.runs).toHaveLength(new Set(root.runs.map((x) => x.pack)).size);
    await restore(store, p('zeros.out'));
    expect(Buffer.compare(readFileSync(p('zeros.out')), readFileSync(db))).toBe(0);
  });
});

describe('the run table stays small', () => {
  it('an upload whose run table would pass 24 KiB writes every block again (repack), and the version reads back exactly', async () => {
    const db = p('fragmented.db');
    makeDb(db, { rows: 50_000, payload: 300 });
    const store = new MemoryStore();
    const first = await upload(db, store, { blockSize: 4096 });
    expect(first.runs).toBeLessThan(10);
    // About a thousand rows far apart: a thousand changed blocks, each cutting a run.
    const d = new Database(db);
    const upd = d.prepare('UPDATE items SET body = ? WHERE id = ?');
    d.transaction(() => { for (let id = 1; id <= 50_000; id += 48) upd.run(`changed ${id}`.padEnd(300, '.'), id); })();
    d.close();
    const r = await upload(db, store, { blockSize: 4096 });
    expect(r.repacked).toBe(true);
    expect(r.blocksNew).toBe(r.blocksTotal);
    const root = (await currentVersion(store))!.root;
    expect(root.runs.length).toBe(new Set(root.runs.map((x) => x.pack)).size); // one run per fresh pack
    expect((await store.get('HEAD')).body.length).toBeLessThanOrEqual(64 * 1024);
    await restore(store, p('fragmented.out'));
    expect(Buffer.compare(readFileSync(p('fragmented.out')), readFileSync(db))).toBe(0);
    expect((await verify(store, { all: true })).ok).toBe(true);
    // A small change after the repack is incremental again.
    updateOneRow(db, 7);
    const again = await upload(db, store, { blockSize: 4096 });
    expect(again.repacked).toBe(false);
    expect(again.blocksNew).toBeLessThanOrEqual(3);
  });
});

describe('embedded pages', () => {
  it('records page 1, the schema, the roots and interior pages of every b-tree in the root, within HEAD', async () => {
    const db = p('hot.db');
    makeDb(db, { rows: 20_000, payload: 100 });
    const d = new Database(db, { readonly: true });
    const roots = d.prepare("SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0").all() as { name: string; rootpage: number }[];
    d.close();
    const store = new MemoryStore();
    await upload(db, store);
    const v = (await currentVersion(store))!;
    const head = await store.get('HEAD');
    expect(head.body.length).toBeLessThanOrEqual(64 * 1024);
    expect(decodeHead(head.body).inline).toBeDefined();
    const pages = v.root.pages;
    expect(pages[0]).toBe(1);
    for (const r of roots) expect(pages).toContain(r.rootpage);
    const file = readFileSync(db);
    let interior = 0;
    for (let i = 0; i < pages.length; i++) {
      const off = (pages[i] - 1) * 4096;
      expect(Buffer.compare(v.root.pageData[i], file.subarray(off, off + 4096))).toBe(0);
      const type = file[off + (pages[i] === 1 ? 100 : 0)];
      if (type === 5 || type === 2) interior++;
    }
    expect(interior).toBeGreaterThan(2);
    // Leaves only of whole small trees: the big table's leaves are never embedded.
    const big = new Database(db, { readonly: true });
    const tableLeaves = new Set((big.prepare("SELECT pageno FROM dbstat WHERE name = 'items' AND pagetype = 'leaf'").all() as { pageno: number }[]).map((r) => r.pageno));
    big.close();
    expect(pages.filter((pg) => tableLeaves.has(pg))).toEqual([]);
  });

  it('hotFirst: the named trees\' roots come first, then their interior pages, tree by tree, while the budget lasts', async () => {
    const db = p('hot-first.db');
    const d = new Database(db);
    d.exec('CREATE TABLE first(id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE second(id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE other(id INTEGER PRIMARY KEY, v BLOB)');
    // Rows of 400 bytes: about 9 to a leaf, so 200,000 rows need several interior pages per tree.
    for (const t of ['first', 'second', 'other']) d.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO ${t} SELECT i, randomblob(400) FROM n`).run(t === 'other' ? 100 : 200_000);
    d.close();
    const o = new Database(db, { readonly: true });
    const pagesOf = (name: string, type: string) => (o.prepare('SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno').all(name, type) as { pageno: number }[]).map((r) => r.pageno);
    const rootOf = (name: string) => (o.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').get(name) as { rootpage: number }).rootpage;
    const [first, second, other] = ['first', 'second', 'other'].map(rootOf);
    const firstInterior = pagesOf('first', 'internal');
    o.close();
    expect(firstInterior.length).toBeGreaterThan(8);
    const store = new MemoryStore();
    // Room for page 1, the schema page and 6 more: fewer than the first tree's interior pages.
    await upload(db, store, { hotFirst: ['first', 'second'], hotBudget: 8 * 4096 });
    const pages = (await currentVersion(store))!.root.pages;
    expect(pages).toHaveLength(8);
    expect(pages).toContain(first);
    expect(pages).toContain(second);
    expect(pages).not.toContain(other);
    expect(pages.filter((pg) => pg !== 1 && pg !== first && pg !== second).every((pg) => firstInterior.includes(pg))).toBe(true);
  });

  it('follow the version: a dropped table\'s root is not embedded in the next one', async () => {
    const db = p('hot-drop.db');
    makeDb(db, { rows: 5000 });
    const d = new Database(db);
    d.exec('CREATE TABLE extra(a, b); INSERT INTO extra VALUES (1, 2);');
    const extraRoot = (d.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'extra'").get() as { rootpage: number }).rootpage;
    d.close();
    const store = new MemoryStore();
    await upload(db, store);
    expect((await currentVersion(store))!.root.pages).toContain(extraRoot);
    const d2 = new Database(db);
    d2.exec('DROP TABLE extra;');
    d2.close();
    await upload(db, store);
    const root = (await currentVersion(store))!.root;
    const file = readFileSync(db);
    root.pages.forEach((pg, i) => expect(Buffer.compare(root.pageData[i], file.subarray((pg - 1) * 4096, pg * 4096))).toBe(0));
    expect((await verify(store, { all: true })).ok).toBe(true);
  });
});
describe('bad input: a clear error and nothing written', () => {
  const cases: [string, (f: string) => void, string, RegExp][] = [
    ['an empty file', (f) => writeFileSync(f, ''), 'ERR_NOT_SQLITE', /empty/],
    ['a text file', (f) => writeFileSync(f, 'hello, this is not a database\n'.repeat(100)), 'ERR_NOT_SQLITE', /not "SQLite format 3/],
    ['a short file', (f) => writeFileSync(f, 'SQLite format 3\0'), 'ERR_NOT_SQLITE', /shorter than the 100-byte header/],
    ['a truncated database', (f) => { makeDb(f, { rows: 2000 }); truncateSync(f, statSync(f).size - 1000); }, 'ERR_NOT_SQLITE', /not a multiple of its 4096-byte page size/],
    ['a database cut at a page boundary', (f) => { makeDb(f, { rows: 2000 }); truncateSync(f, statSync(f).size - 8192); }, 'ERR_NOT_SQLITE', /truncated/],
    ['a bad page size', (f) => { makeDb(f, { rows: 10 }); const b = readFileSync(f); b.writeUInt16BE(1000, 16); writeFileSync(f, b); }, 'ERR_NOT_SQLITE', /page size 1000/],
    ['a hot rollback journal', (f) => {
      makeDb(f, { rows: 10 });
      writeFileSync(`${f}-journal`, Buffer.concat([Buffer.from('d9d505f920a163d7', 'hex'), Buffer.alloc(504)]));
    }, 'ERR_LIVE_DATABASE', /hot rollback journal/],
    ['un-checkpointed WAL frames', (f) => {
      makeDb(f, { rows: 10, journalMode: 'wal' });
      // Hold the WAL open with a second connection so it is not checkpointed on close.
      const a = new Database(f);
      const b = new Database(f);
      a.prepare("INSERT INTO items(name, body) VALUES ('w', 'w')").run();
      copyFileSync(f, `${f}.main`);
      copyFileSync(`${f}-wal`, `${f}.wal`);
      a.close();
      b.close();
      copyFileSync(`${f}.main`, f);
      copyFileSync(`${f}.wal`, `${f}-wal`);
    }, 'ERR_LIVE_DATABASE', /WAL frames/],
    ['a missing file', () => undefined, 'ERR_NOT_FOUND', /cannot open/],
  ];
  for (const [name, make, code, message] of cases) {
    it(name, async () => {
      const f = p(`bad-${name.replace(/\W+/g, '-')}.db`);
      make(f);
      const store = new MemoryStore();
      const err = await expectCode(upload(f, store), code);
      expect(err.message).toMatch(message);
      expect(err.message).toContain(f);
      expect(store.count('put')).toBe(0);
    });
  }

  it('refuses a database that changes during the upload, and commits nothing', async () => {
    const db = p('changing.db');
    makeDb(db, { rows: 80_000, payload: 200 }); // > 8 MiB: several read chunks
    const store = new MemoryStore();
    await upload(db, store);
    updateOneRow(db, 1);
    let wrote = false;
    const err = await expectCode(upload(db, store, {
      onProgress: (pr) => {
        if (!wrote && pr.phase === 'hash') { wrote = true; updateOneRow(db, 2); }
      },
    }), 'ERR_FILE_CHANGED');
    expect(err.message).toMatch(/changed while it was being uploaded/);
    expect((await currentVersion(store))!.root.seq).toBe(1);
    expect((await verify(store)).ok).toBe(true);
  });

  it('refuses bad options with a usage error', async () => {
    const db = p('opts.db');
    makeDb(db, { pageSize: 8192, rows: 10 });
    await expectCode(upload(db, new MemoryStore(), { blockSize: 4096 }), 'ERR_USAGE');
    await expectCode(upload(db, new MemoryStore(), { blockSize: 65537 }), 'ERR_USAGE');
    await expectCode(upload(db, new MemoryStore(), { blockSize: 65536, packSize: 1000 }), 'ERR_USAGE');
  });
});

describe('atomicity', () => {
  it('of two uploads racing on one target (separate store instances), exactly one commits', async () => {
    for (let round = 0; round < 10; round++) {
      const target = p(`race-${round}`);
      const dbs = [p(`race-${round}-a.db`), p(`race-${round}-b.db`)];
      makeDb(dbs[0], { rows: 300 });
      makeDb(dbs[1], { rows: 400 });
      if (round % 2) await upload(dbs[0], new LocalDirStore(target)); // race on If-Match as well as create-only
      for (const f of dbs) updateOneRow(f, 3);
      const results = await raceUploads(dbs, () => new LocalDirStore(target));
      const ok = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(isCode(lost[0].reason, 'ERR_CONFLICT')).toBe(true);
      expect(lost[0].reason.message).toMatch(/another writer committed/);
      const check = await verify(new LocalDirStore(target));
      expect(check.ok).toBe(true);
      const winner = results.findIndex((r) => r.status === 'fulfilled');
      await restore(new LocalDirStore(target), p(`race-${round}.out`));
      expect(Buffer.compare(readFileSync(p(`race-${round}.out`)), readFileSync(dbs[winner]))).toBe(0);
    }
  });
});
