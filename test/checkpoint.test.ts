import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { checkpointOnce } from '../src/checkpoint/checkpoint.js';
import { LocalDirStore } from '../src/storage/local.js';
import { MemoryStore } from '../src/storage/memory.js';
import { upload } from '../src/upload/upload.js';
import { CLI, makeDb, runCli, tempDir } from './helpers.js';

const dir = tempDir('bl-checkpoint-');
const p = (name: string) => path.join(dir, name);
const WRITER = path.resolve(import.meta.dirname, 'writer.mjs');

function startWriter(db: string): ChildProcess {
  return spawn(process.execPath, [WRITER, db, '300'], { stdio: 'ignore' });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks a restored version: integrity, contiguous counter, no torn transaction. */
function checkState(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const { c, lo, hi } = db.prepare('SELECT count(*) AS c, min(n) AS lo, max(n) AS hi FROM log').get() as { c: number; lo: number; hi: number };
    if (c > 0) {
      expect(lo).toBe(1);
      expect(hi).toBe(c); // no gap: every committed row up to the last is there
    }
    const torn = db.prepare('SELECT txn, count(*) AS got, max(size) AS want FROM log GROUP BY txn HAVING got != want').all();
    expect(torn).toEqual([]);
    return c;
  } finally {
    db.close();
  }
}

async function waitForVersion(target: string, atLeast: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await runCli(['log', target, '--json']);
    if (r.code === 0 && JSON.parse(r.stdout).length >= atLeast) return;
    await wait(50);
  }
  throw new Error(`no version ${atLeast} in ${target}`);
}

describe('checkpoint of a live database', () => {
  it('--watch publishes while a writer inserts; every version is a state the writer committed; SIGTERM exits 0', async () => {
    const db = p('live.db');
    const target = p('live-bucket');
    const writer = startWriter(db);
    await wait(300);
    const cp = spawn(process.execPath, [CLI, 'checkpoint', db, target, '--watch', '150ms', '--debounce', '50', '--json', '--verify-incremental'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    cp.stdout!.on('data', (d) => (out += d));
    cp.stderr!.on('data', (d) => (err += d));
    let cpExit: number | null;
    try {
      await waitForVersion(target, 6);
      cpExit = await stop(cp);
    } finally {
      await stop(writer); // also when the wait or the checkpointer failed: no writer outlives the test
      await stop(cp);
    }
    expect(cpExit, err).toBe(0);
    const commits = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(commits.length).toBeGreaterThanOrEqual(6);
    // WAL-guided hashing was used, and --verify-incremental proved it equal to a full rehash.
    expect(commits.some((c) => c.incremental && c.blocksReused > 0)).toBe(true);
    const log = JSON.parse((await runCli(['log', target, '--json'])).stdout);
    let prev = Infinity;
    for (const v of log) {
      const out = p(`live-v${v.seq}.db`);
      expect((await runCli(['restore', target, out, '--version', String(v.seq)])).code).toBe(0);
      const rows = checkState(out);
      expect(rows).toBeLessThanOrEqual(prev); // newest first: never more rows in an older version
      prev = rows;
    }
    expect((await runCli(['verify', target, '--all'])).code).toBe(0);
    // A database published from WAL mode reads through the VFS (presented as rollback mode).
    const { openDatabase } = await import('../src/node/open.js');
    const conn = await openDatabase(target);
    const newest = p(`live-v${log[0].seq}.db`);
    const want = new Database(newest, { readonly: true });
    expect(await conn.query('SELECT count(*) AS c, max(n) AS m FROM log')).toEqual([want.prepare('SELECT count(*) AS c, max(n) AS m FROM log').get()]);
    want.close();
    await conn.close();
  });

  it('kill -9 at random moments, again and again: the bucket always verifies and the last version restores whole', async () => {
    const db = p('killed.db');
    const target = p('killed-bucket');
    const writer = startWriter(db);
    await wait(200);
    // A first version, so every round has something to verify however slow the machine is.
    expect((await runCli(['checkpoint', db, target])).code).toBe(0);
    let verified = 0;
    try {
      for (let round = 0; round < 8; round++) {
        const cp = spawn(process.execPath, [CLI, 'checkpoint', db, target, '--watch', '50ms', '--debounce', '10'], { stdio: 'ignore' });
        await wait(300 + Math.floor(Math.random() * 1200));
        await stop(cp, 'SIGKILL');
        const v = await runCli(['verify', target]);
        expect(v.code, v.stdout + v.stderr).toBe(0);
        const out = p(`killed-${round}.db`);
        expect((await runCli(['restore', target, out])).code).toBe(0);
        checkState(out);
        verified++;
      }
    } finally {
      await stop(writer);
    }
    expect(verified).toBe(8);
    const g = await runCli(['gc', target, '--grace', '0', '--keep', '2']);
    expect(g.code).toBe(0);
    expect((await runCli(['verify', target, '--all'])).code).toBe(0);
  });
});

describe('checkpoint: bad input, each a clear error', () => {
  it('a database held in exclusive locking mode by another process', async () => {
    const db = p('exclusive.db');
    makeDb(db, { rows: 100 });
    const holder = spawn(process.execPath, ['-e', `
      const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(db)});
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec("INSERT INTO items(name, body) VALUES ('x', 'y')");
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    try {
      const r = await runCli(['checkpoint', db, p('exclusive-bucket'), '--busy-timeout', '300']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/stayed locked for 300 ms: another process holds it \(exclusive locking mode/);
    } finally {
      await stop(holder, 'SIGKILL');
    }
  });

  it('a path that is not a database, and one that does not exist', async () => {
    writeFileSync(p('text.txt'), 'just text\n'.repeat(50));
    const r = await runCli(['checkpoint', p('text.txt'), p('text-bucket')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/not a SQLite database/);
    const missing = await runCli(['checkpoint', p('nope.db'), p('nope-bucket')]);
    expect(missing.code).toBe(6);
  });

  it('a target another uploader is committing to: ERR_CONFLICT, nothing of ours visible', async () => {
    const db = p('conflict.db');
    makeDb(db, { rows: 500 });
    const other = p('other.db');
    makeDb(other, { rows: 700 });
    const store = new MemoryStore();
    await upload(db, store);
    const d = new Database(db);
    d.exec("UPDATE items SET body = 'mine' WHERE id = 1");
    d.close();
    // The other uploader commits while our checkpoint is between its uploads and its HEAD swap.
    let raced = false;
    store.faults = {
      beforePut: async (key) => {
        if (key === 'HEAD' && !raced) {
          raced = true;
          store.faults = {};
          await upload(other, store);
        }
      },
    };
    await expect(checkpointOnce(db, store)).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    const { currentVersion } = await import('../src/bucket/versions.js');
    expect((await currentVersion(store))!.root.seq).toBe(2); // the other uploader's version
  });
});

describe('watch: failures are retried with backoff and reported, never half-applied', () => {
  it('a store that fails the first commits: reported, retried, then published; the stop signal ends the loop', async () => {
    const { watch } = await import('../src/checkpoint/checkpoint.js');
    const { verify } = await import('../src/ops/verify.js');
    const db = p('flaky.db');
    makeDb(db, { rows: 2000 });
    const store = new MemoryStore();
    let failuresLeft = 3;
    store.faults = { beforePut: () => { if (failuresLeft > 0) { failuresLeft--; throw new Error('injected: bucket unavailable'); } } };
    const errors: string[] = [];
    const ac = new AbortController();
    const committed: number[] = [];
    const done = watch(db, store, {
      intervalMs: 50, debounceMs: 10, signal: ac.signal,
      onError: (err, attempt) => errors.push(`${attempt}: ${(err as Error).message}`),
      onCommit: (r) => { committed.push(r.seq); if (r.committed) ac.abort(); },
    });
    await done;
    expect(errors.length).toBe(3);
    expect(errors[0]).toMatch(/^1: injected: bucket unavailable/);
    expect(committed).toEqual([1]);
    expect((await verify(store)).ok).toBe(true);
  });
});

describe('checkpoint works with every backend through the store interface', () => {
  it('a rollback-journal database, one-shot, to a local directory: full rehash, the same rows restored', async () => {
    const db = p('rollback.db');
    makeDb(db, { rows: 3000 });
    const store = new LocalDirStore(p('rollback-bucket'));
    const r = await checkpointOnce(db, store);
    expect(r).toMatchObject({ committed: true, incremental: false, seq: 1 });
    const again = await checkpointOnce(db, store);
    expect(again.unchanged).toBe(true);
    const { restore } = await import('../src/ops/restore.js');
    await restore(store, p('rollback-restored.db'));
    const rows = (f: string) => { const d = new Database(f, { readonly: true }); try { return d.prepare('SELECT * FROM items ORDER BY id').all(); } finally { d.close(); } };
    expect(rows(p('rollback-restored.db'))).toEqual(rows(db));
  });
});
