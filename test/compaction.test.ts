/**
 * Bounded storage: many one-row commits, compaction riding along with each, gc after.
 * Sizes are counted on disk (the bucket directory), runs and packs from HEAD's root;
 * the same commits without compaction are the comparison, rows are checked against
 * better-sqlite3 on the file each version was made from.
 */
import { copyFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { decodeHead } from '../src/format/head.js';
import { decodeRoot, runPacks } from '../src/format/manifest.js';
import { openDatabase } from '../src/node/open.js';
import { gc } from '../src/ops/gc.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { EXTRA_RUNS_TARGET } from '../src/upload/compact.js';
import { startNginx } from './servers.js';
import type { RunningServer } from './servers.js';
import { tempDir } from './helpers.js';

const dir = tempDir('bl-compaction-');
const p = (name: string) => path.join(dir, name);
const ROWS = 40_000;
const SQL = 'SELECT id, name, body FROM t ORDER BY id';

let nginx: RunningServer;
beforeAll(async () => { nginx = await startNginx(dir); });
afterAll(async () => { await nginx?.stop(); });

function seeded(seed: number) {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647);
}

function makeTable(file: string): void {
  const db = new Database(file);
  const r = seeded(3);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, body TEXT); CREATE INDEX t_name ON t(name)');
  const ins = db.prepare('INSERT INTO t(name, body) VALUES (?, ?)');
  db.transaction(() => { for (let i = 0; i < ROWS; i++) ins.run(`n${r().toString(36)}`, `b${r().toString(36)}`.repeat(10 + (r() % 40))); })();
  db.close();
}

const diskBytes = (d: string): number =>
  readdirSync(d, { withFileTypes: true }).reduce((a, e) => a + (e.isDirectory() ? diskBytes(path.join(d, e.name)) : statSync(path.join(d, e.name)).size), 0);

function rootOf(bucket: string) {
  return decodeRoot(decodeHead(readFileSync(path.join(bucket, 'HEAD'))).inline!);
}

/** `n` one-row updates of `file`, each uploaded; the file of version `keepAt` is kept as an oracle. */
async function commits(file: string, bucket: string, n: number, budget: number | undefined, keepAt?: number, seed = 11) {
  const store = new LocalDirStore(bucket);
  await upload(file, store, { compactBudget: budget });
  const db = new Database(file);
  const r = seeded(seed);
  const up = db.prepare('UPDATE t SET body = ? WHERE id = ?');
  let rewritten = 0;
  try {
    for (let k = 1; k <= n; k++) {
      up.run(`u${r().toString(36)}`.repeat(10 + (r() % 40)), 1 + (r() % ROWS));
      const res = await upload(file, store, { compactBudget: budget });
      expect(res.committed).toBe(true);
      expect(res.repacked).toBe(false);
      rewritten += res.blocksRewritten;
      if (k + 1 === keepAt) copyFileSync(file, p(`oracle-v${keepAt}.db`));
    }
  } finally {
    db.close();
  }
  return { store, rewritten };
}

function rowsOfFile(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try { return db.prepare(SQL).all(); } finally { db.close(); }
}

describe('compaction: storage and the root stay bounded over many commits', () => {
  it('300 one-row commits: with compaction the bucket after gc --keep 1 is at most 1.3x the database, the root names few packs; without it, many more', async () => {
    const results: Record<string, { amp: number; packs: number; extraRuns: number; rewritten: number }> = {};
    for (const [name, budget] of [['on', undefined], ['off', 0]] as const) {
      const file = p(`amp-${name}.db`);
      makeTable(file);
      const bucket = p(`amp-${name}`);
      const { store, rewritten } = await commits(file, bucket, 300, budget);
      await gc(store, { keep: 1, graceMs: 0 });
      const root = rootOf(bucket);
      results[name] = { amp: diskBytes(bucket) / statSync(file).size, packs: runPacks(root.runs).length, extraRuns: root.runs.length - runPacks(root.runs).length, rewritten };
      // Whatever compaction did, the current version reads back as the file.
      const out = await openDatabase(`${nginx.url}/amp-${name}/`);
      try { expect(await out.query(SQL)).toEqual(rowsOfFile(file)); } finally { await out.close(); }
    }
    console.log(`compaction on/off after 300 commits and gc --keep 1: ${JSON.stringify(results)}`);
    expect(results.on.amp).toBeLessThanOrEqual(1.3);
    // Runs beyond one per pack stay near the target (one commit's new runs above it at most).
    expect(results.on.extraRuns).toBeLessThanOrEqual(EXTRA_RUNS_TARGET + 16);
    expect(results.on.packs).toBeLessThan(results.off.packs / 2);
    expect(results.off.rewritten).toBe(0);
    expect(results.on.rewritten).toBeGreaterThan(0);
  });

  it('readers pinned to an old version read it whole while compacting commits and gcs run; an unchanged upload writes nothing', async () => {
    const file = p('pinned.db');
    makeTable(file);
    const bucket = p('pinned');
    const { store } = await commits(file, bucket, 5, undefined, 3);
    const want = rowsOfFile(p('oracle-v3.db'));
    const pinned = await openDatabase(`${nginx.url}/pinned/`, { version: 3 });
    try {
      // Readers pinned to version 3 read it again and again while compacting commits and gcs run.
      let done = false;
      let reads = 0;
      const reading = (async () => {
        while (!done) {
          const r = await openDatabase(`${nginx.url}/pinned/`, { version: 3 });
          try { expect(await r.query(SQL)).toEqual(want); } finally { await r.close(); }
          reads++;
        }
      })();
      const work = (async () => {
        try {
          for (let round = 0; round < 4; round++) {
            const c = await commits(file, bucket, 30, undefined, undefined, 12 + round);
            expect(c.rewritten).toBeGreaterThan(0);
            await gc(store, { keep: 200, graceMs: 0 });
          }
        } finally {
          done = true;
        }
      })();
      await Promise.all([reading, work]);
      expect(reads).toBeGreaterThan(1);
      // The reader opened before all of it reads every block of version 3 only now.
      expect(await pinned.query(SQL)).toEqual(want);
    } finally {
      await pinned.close();
    }
    const again = await upload(file, store);
    expect(again).toMatchObject({ unchanged: true, objectsWritten: 0, blocksRewritten: 0 });
  });
});
