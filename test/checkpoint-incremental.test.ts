/**
 * Checkpoints that cost what changed: a WAL database written by another process that
 * keeps its connection open. The oracle for "incremental" is a full rehash of every
 * block (`verifyIncremental`) and the rows of the live database read by better-sqlite3.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Checkpointer, checkpointOnce } from '../src/checkpoint/checkpoint.js';
import { restore } from '../src/ops/restore.js';
import { LocalDirStore } from '../src/storage/local.js';
import { tempDir } from './helpers.js';
import { WalWriter } from './wal-writer-client.js';

const dir = tempDir('bl-cp-incr-');
const p = (name: string) => path.join(dir, name);
const writers: WalWriter[] = [];
afterAll(async () => { await Promise.all(writers.map((w) => w.quit().catch(() => {}))); });

async function liveDb(name: string, mb: number): Promise<{ db: string; w: WalWriter }> {
  const db = p(name);
  const w = new WalWriter(db);
  writers.push(w);
  await w.send({ cmd: 'fill', mb });
  return { db, w };
}

/** The rows of a database, as one hash: the independent oracle. */
function rowsHash(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const h = createHash('sha256');
    for (const r of db.prepare('SELECT id, v FROM t ORDER BY id').iterate()) h.update(JSON.stringify(r));
    return h.digest('hex');
  } finally {
    db.close();
  }
}

async function expectPublished(target: string, db: string, name: string): Promise<void> {
  const out = p(name);
  await restore(new LocalDirStore(target), out);
  expect(rowsHash(out)).toBe(rowsHash(db));
}

describe('checkpoint: incremental from the WAL, equal to a full rehash', () => {
  it('random changes, WAL resets by the application and by the checkpointer: every commit verified against a full rehash', async () => {
    const { db, w } = await liveDb('random.db', 8);
    const target = p('random-bucket');
    await w.send({ cmd: 'pragma', sql: 'wal_autocheckpoint = 40' }); // the application resets its WAL often
    const store = new LocalDirStore(target);
    const cp = await Checkpointer.open(db, store, { verifyIncremental: true, restartFrames: 60 });
    let incremental = 0;
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    try {
      expect((await cp.once()).incremental).toBe(false); // nothing to continue from
      for (let round = 0; round < 40; round++) {
        const ops = 1 + rnd(3);
        for (let k = 0; k < ops; k++) await w.send({ cmd: ['update', 'insert', 'delete'][rnd(3)], rows: 1 + rnd(60) });
        if (rnd(8) === 0) await w.send({ cmd: 'checkpoint', mode: ['PASSIVE', 'TRUNCATE', 'RESTART'][rnd(3)] });
        const r = await cp.once(); // throws ERR_DAMAGED when a reused block differs from a full rehash
        if (r.incremental) incremental++;
        if (round % 10 === 9) await expectPublished(target, db, `random-${round}.db`);
      }
    } finally {
      cp.close();
    }
    // The pin keeps the application from resetting the WAL under the checkpointer: all
    // but the first commit continue from the last one.
    expect(incremental).toBe(40);
  });

  it('a restarted checkpointer continues from its state file, and a WAL it restarted itself', async () => {
    const { db, w } = await liveDb('restart.db', 20);
    const target = p('restart-bucket');
    const store = new LocalDirStore(target);
    const first = await checkpointOnce(db, store);
    expect(first.incremental).toBe(false);
    await w.send({ cmd: 'update', rows: 10 });
    const second = await checkpointOnce(db, store, { verifyIncremental: true });
    expect(second.incremental).toBe(true);
    // Ten rows live in at most ten leaf pages plus the root path: a handful of blocks.
    expect(second.blocksTotal - second.blocksReused).toBeLessThanOrEqual(12);
    expect(second.blocksNew).toBeGreaterThan(0);
    await expectPublished(target, db, 'restart-2.db');
    // The last run restarted the WAL; the application's next frames are a new generation.
    await w.send({ cmd: 'insert', rows: 5 });
    await w.send({ cmd: 'update', rows: 3 });
    const third = await checkpointOnce(db, store, { verifyIncremental: true });
    expect(third.incremental).toBe(true);
    await expectPublished(target, db, 'restart-3.db');
  });

  it('a WAL the application reset twice while no checkpointer held it: a full rehash, and the right rows', async () => {
    const { db, w } = await liveDb('truncated.db', 4);
    const target = p('truncated-bucket');
    const store = new LocalDirStore(target);
    await checkpointOnce(db, store);
    for (let i = 0; i < 2; i++) {
      await w.send({ cmd: 'update', rows: 20 });
      await w.send({ cmd: 'checkpoint', mode: 'TRUNCATE' }); // frames gone, salts moved on
    }
    await w.send({ cmd: 'update', rows: 5 });
    const r = await checkpointOnce(db, store, { verifyIncremental: true });
    expect(r.incremental).toBe(false);
    await expectPublished(target, db, 'truncated-out.db');
  });

  it('a state file of another database, or damaged, is ignored: a full rehash', async () => {
    const { db, w } = await liveDb('state.db', 2);
    const store = new LocalDirStore(p('state-bucket'));
    await checkpointOnce(db, store);
    const file = path.join(dir, `.state.db.bucketlite-${createHash('sha256').update(store.name).digest('hex').slice(0, 12)}.json`);
    expect(existsSync(file)).toBe(true);
    writeFileSync(file, '{"format":"bucketlite-checkpoint-state","version":1,"manifest":"zz"}');
    await w.send({ cmd: 'update', rows: 2 });
    const r = await checkpointOnce(db, store, { verifyIncremental: true });
    expect(r.incremental).toBe(false);
  });
});

describe('checkpoint: what a 10-row change costs, counted by the kernel', () => {
  it('a 200 MB database: the checkpoint process reads and writes under 8 MiB', async () => {
    const { db, w } = await liveDb('cost.db', 200);
    const target = p('cost-bucket');
    await checkpointOnce(db, new LocalDirStore(target));
    await w.send({ cmd: 'update', rows: 10 });
    // A separate process, so /proc/<pid>/io counts the checkpoint's own read and write syscalls.
    const script = p('one-checkpoint.mjs');
    writeFileSync(script, `
      import { readFileSync } from 'node:fs';
      const { checkpointOnce } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../dist/src/checkpoint/checkpoint.js'))});
      const { LocalDirStore } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../dist/src/storage/local.js'))});
      const io = () => Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
      const store = new LocalDirStore(process.argv[3]);
      const before = io();
      const r = await checkpointOnce(process.argv[2], store);
      const after = io();
      console.log(JSON.stringify({ rchar: after.rchar - before.rchar, wchar: after.wchar - before.wchar, incremental: r.incremental, blocksNew: r.blocksNew }));
    `);
    const out = spawnSync(process.execPath, [script, db, target], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const m = JSON.parse(out.stdout);
    expect(m.incremental).toBe(true);
    expect(m.rchar + m.wchar).toBeLessThan(8 << 20);
    await expectPublished(target, db, 'cost-out.db');
  });
});
