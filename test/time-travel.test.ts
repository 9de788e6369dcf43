/**
 * Time travel: reading a version gc kept by number, manifest hash prefix or time, in
 * Node, in the browser worker (Chromium) and from the CLI; a pinned reader stays on its
 * version; versions gc collected, versions that never existed and malformed requests
 * fail with clear, typed errors. Every row is checked against better-sqlite3 on the file
 * that was published as that version.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { openDatabase } from '../src/node/open.js';
import type { BucketDatabase } from '../src/database.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { gc } from '../src/ops/gc.js';
import { info, log } from '../src/ops/info.js';
import { startNginx, CHROMIUM, CHROMIUM_ARGS } from './servers.js';
import type { RunningServer } from './servers.js';
import { makeDb, runCli, tempDir } from './helpers.js';
import type { CliResult } from './helpers.js';

const dir = tempDir('bl-time-travel-');
const p = (name: string) => path.join(dir, name);
const bucket = p('bucket');
const STACK = /\n\s+at /;
const SQL = 'SELECT id, name, body FROM items ORDER BY id';
/** Creation times of versions 1 to 4 (the upload's clock). */
const T = [0, Date.parse('2024-01-01T00:00:00Z'), Date.parse('2024-01-02T00:00:00Z'), Date.parse('2024-01-03T00:00:00Z'), Date.parse('2024-01-04T00:00:00Z')];

let nginx: RunningServer;
let url: string;
let browser: Browser | undefined;
let page: Page;
const manifests = new Map<number, string>();

function oracle(seq: number): unknown[] {
  const db = new Database(p(`v${seq}.db`), { readonly: true });
  try { return db.prepare(SQL).all(); } finally { db.close(); }
}

/** Version `seq`'s file (kept on disk as the oracle) and its upload, at time T[seq]. */
async function publish(seq: number, change: (db: Database.Database) => void): Promise<void> {
  const file = p(`v${seq}.db`);
  copyFileSync(p(`v${seq - 1}.db`), file);
  const db = new Database(file);
  change(db);
  db.close();
  const r = await upload(file, new LocalDirStore(bucket), { now: () => T[seq] });
  expect(r).toMatchObject({ committed: true, seq });
  manifests.set(seq, r.manifest);
}

async function rowsOf(options: Parameters<typeof openDatabase>[1]): Promise<{ rows: unknown[]; version: number }> {
  const db = await openDatabase(url, options);
  try {
    const rows = await db.query(SQL);
    return { rows, version: db.stats().total.version };
  } finally {
    await db.close();
  }
}

async function failure(options: Parameters<typeof openDatabase>[1]): Promise<{ code?: string; message: string }> {
  const db = await openDatabase(url, options).catch((e: { code?: string; message: string }) => e);
  if ('query' in db) {
    await db.close();
    throw new Error('opened');
  }
  return { code: db.code, message: db.message };
}

/** The browser worker (the zero-config client bundled by esbuild), opening the bucket with `options`. */
async function inBrowser(options: Record<string, unknown>): Promise<{ rows?: unknown[]; version?: number; pinned?: boolean; error?: { code: string; message: string } }> {
  return page.evaluate(([o, sql]) => (window as unknown as { run(o: unknown, sql: string): Promise<never> }).run(o, sql), [options, SQL] as const);
}

function expectCleanFailure(r: CliResult, exit: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(exit);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).toMatch(message);
}

beforeAll(async () => {
  makeDb(p('v0.db'), { rows: 3000 });
  await publish(1, () => undefined);
  await publish(2, (db) => {
    db.prepare("UPDATE items SET body = 'version two ' || id WHERE id BETWEEN 100 AND 140").run(); // a few blocks change
    db.prepare("INSERT INTO items(name, body) VALUES ('added in 2', 'new row')").run();
  });
  await publish(3, (db) => {
    db.prepare('DELETE FROM items WHERE id % 5 = 0').run();
    db.prepare("UPDATE items SET name = 'three' WHERE id < 50").run();
  });
  nginx = await startNginx(dir);
  url = `${nginx.url}bucket/`;
  // The browser side: a page with the inline client (worker and wasm embedded), bundled by esbuild.
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed: apt-get install chromium (.ci/run does this)');
  const { build } = await import('esbuild');
  const client = path.resolve(import.meta.dirname, '..', 'dist', 'worker', 'client-inline.js');
  mkdirSync(p('app'));
  writeFileSync(p('app.ts'), `import { openDatabase } from ${JSON.stringify(client)};
    (window as any).run = async (options: any, sql: string) => {
      try {
        const db = await openDatabase(new URL('../bucket/', location.href).href, { persistentCache: 'none', ...options });
        const rows = await db.query(sql);
        const { version, pinned } = db.info;
        await db.close();
        return { rows, version, pinned };
      } catch (e: any) {
        return { error: { code: e.code, message: e.message } };
      }
    };
    document.title = 'ready';`);
  await build({ entryPoints: [p('app.ts')], bundle: true, format: 'esm', outfile: p('app/app.js'), logLevel: 'warning' });
  writeFileSync(p('app/index.html'), '<!doctype html><script type="module" src="app.js"></script>');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  await page.goto(`${nginx.url}app/index.html`);
  await page.waitForFunction(() => document.title === 'ready', null, { timeout: 60_000 });
});
afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
});

describe('reading an older version', () => {
  it('the three versions differ (the oracle is not trivially equal)', () => {
    expect(oracle(1)).not.toEqual(oracle(2));
    expect(oracle(2)).not.toEqual(oracle(3));
  });

  it('Node: { version: 1 } and { version: 2 } return those versions\' rows; no option reads the current one', async () => {
    expect(await rowsOf({ version: 1 })).toEqual({ rows: oracle(1), version: 1 });
    expect(await rowsOf({ version: '2' })).toEqual({ rows: oracle(2), version: 2 });
    expect(await rowsOf({ version: 3 })).toEqual({ rows: oracle(3), version: 3 });
    expect(await rowsOf({})).toEqual({ rows: oracle(3), version: 3 });
  });

  it('Node: a manifest hash prefix (8+ hex digits, any case) names a version', async () => {
    const h1 = manifests.get(1)!;
    expect(await rowsOf({ version: h1.slice(0, 10) })).toEqual({ rows: oracle(1), version: 1 });
    expect(await rowsOf({ version: manifests.get(2)!.slice(0, 8).toUpperCase() })).toEqual({ rows: oracle(2), version: 2 });
    expect(await rowsOf({ version: h1 })).toEqual({ rows: oracle(1), version: 1 });
  });

  it('Node: { at } picks the newest version created at or before that time', async () => {
    expect(await rowsOf({ at: new Date(T[2] + 12 * 3600_000) })).toEqual({ rows: oracle(2), version: 2 });
    expect(await rowsOf({ at: '2024-01-02T12:00:00Z' })).toEqual({ rows: oracle(2), version: 2 });
    expect(await rowsOf({ at: new Date(T[2]).toISOString() })).toEqual({ rows: oracle(2), version: 2 }); // created exactly then
    expect(await rowsOf({ at: T[2] - 1 })).toEqual({ rows: oracle(1), version: 1 });
    expect(await rowsOf({ at: '2024-01-03T00:00:00+01:00' })).toEqual({ rows: oracle(2), version: 2 }); // 23:00 UTC
    expect(await rowsOf({ at: new Date() })).toEqual({ rows: oracle(3), version: 3 });
  });

  it('opening the current version by number costs HEAD alone; an older one one root per version back', async () => {
    const cost = async (options: Parameters<typeof openDatabase>[1]) => {
      const db = await openDatabase(url, options);
      try { return db.stats().total.requests; } finally { await db.close(); }
    };
    expect(await cost({})).toBe(1);
    expect(await cost({ version: 3 })).toBe(1);
    expect(await cost({ version: 2 })).toBe(2);
    expect(await cost({ version: 1 })).toBe(3);
  });

  it('bad requests: a number beyond the current version, a time before the first, malformed values', async () => {
    expect(await failure({ version: 99 })).toEqual({ code: 'ERR_NOT_FOUND', message: 'no version 99 (current is 3) (op=find-version)' });
    const early = await failure({ at: '2023-12-31T00:00:00Z' });
    expect(early.code).toBe('ERR_NOT_FOUND');
    expect(early.message).toMatch(/^no version existed at 2023-12-31T00:00:00.000Z: the first version was created at 2024-01-01T00:00:00.000Z/);
    expect(await failure({ version: 'deadbeefdeadbeef' })).toMatchObject({ code: 'ERR_NOT_FOUND', message: expect.stringMatching(/^no version has a manifest hash starting with deadbeefdeadbeef \(versions 1 to 3\)/) });
    for (const bad of [{ version: 'abc' }, { version: 0 }, { version: 1.5 }, { version: 'abc1234' }, { at: 'not-a-date' }, { at: '2024-02-31' }, { at: new Date(NaN) }, { version: 1, at: new Date() }]) {
      const f = await failure(bad);
      expect(f.code, JSON.stringify(bad)).toBe('ERR_USAGE');
    }
    expect((await failure({ at: 'yesterday' })).message).toMatch(/^at wants an ISO 8601 time such as 2024-05-01T12:00:00Z/);
    expect((await failure({ version: 'abc' })).message).toMatch(/^version wants a version number or at least 8 hex digits of a manifest hash, not "abc"/);
  });

  it('the browser worker: { version }, { version: hash prefix } and { at } return old rows; bad ones fail typed', async () => {
    expect(await inBrowser({ version: 1 })).toEqual({ rows: oracle(1), version: 1, pinned: true });
    expect(await inBrowser({ version: manifests.get(2)!.slice(0, 12) })).toEqual({ rows: oracle(2), version: 2, pinned: true });
    expect(await inBrowser({ at: '2024-01-02T12:00:00Z' })).toEqual({ rows: oracle(2), version: 2, pinned: true });
    expect(await inBrowser({})).toEqual({ rows: oracle(3), version: 3, pinned: false });
    expect((await inBrowser({ version: 99 })).error).toEqual({ code: 'ERR_NOT_FOUND', message: 'no version 99 (current is 3) (op=find-version)' });
    expect((await inBrowser({ at: 'not-a-date' })).error?.code).toBe('ERR_USAGE');
  });

  it('CLI: query --version, --version <hash prefix>, --at; bad values are usage errors without a stack', async () => {
    const q = (...extra: string[]) => runCli(['query', bucket, SQL, '--json', ...extra]);
    const v1 = await q('--version', '1');
    expect(v1.code, v1.stderr).toBe(0);
    expect(JSON.parse(v1.stdout)).toEqual(oracle(1));
    const byHash = await runCli(['query', url, SQL, '--json', '--version', manifests.get(1)!.slice(0, 8), '--stats']);
    expect(byHash.code, byHash.stderr).toBe(0);
    expect(JSON.parse(byHash.stdout)).toEqual(oracle(1));
    expect(JSON.parse(byHash.stderr).connection.version).toBe(1);
    const at = await q('--at', '2024-01-02T12:00:00Z');
    expect(at.code, at.stderr).toBe(0);
    expect(JSON.parse(at.stdout)).toEqual(oracle(2));
    const text = await runCli(['query', bucket, 'SELECT count(*) AS n FROM items', '--at', '2024-01-01T06:00:00Z']);
    expect(text.stdout).toBe(`n\n${oracle(1).length}\n`);

    expectCleanFailure(await q('--version', 'abc'), 2, /^bucketlite: ERR_USAGE: --version wants a version number or at least 8 hex digits of a manifest hash, not "abc"$/m);
    expectCleanFailure(await q('--at', 'not-a-date'), 2, /^bucketlite: ERR_USAGE: --at wants an ISO 8601 time such as 2024-05-01T12:00:00Z, not "not-a-date"$/m);
    expectCleanFailure(await q('--version', '1', '--at', '2024-01-02'), 2, /ERR_USAGE: give --version or --at, not both/);
    const beyond = await q('--version', '99');
    expectCleanFailure(beyond, 6, /^bucketlite: ERR_NOT_FOUND: no version 99 \(current is 3\)/m);
    expect(JSON.parse(beyond.stdout.trim().split('\n').pop()!).error.code).toBe('ERR_NOT_FOUND');
    expectCleanFailure(await q('--at', '2020-01-01T00:00:00Z'), 6, /ERR_NOT_FOUND: no version existed at 2020-01-01T00:00:00.000Z/);
  });

  it('CLI: log shows seq, time, db size, what changed and the manifest prefix; --json has the same and more', async () => {
    const text = await runCli(['log', bucket]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+seq\s+created \(UTC\)\s+db size\s+changed\s+manifest$/);
    expect(lines).toHaveLength(4); // the header, versions 3, 2, 1: nothing collected
    const entries = await log(new LocalDirStore(bucket));
    for (const [i, seq] of [3, 2, 1].entries()) {
      const e = entries[i];
      expect(lines[i + 1]).toContain(new Date(T[seq]).toISOString());
      expect(lines[i + 1]).toMatch(new RegExp(`^\\s+${seq}\\s.*\\+${e.newBlocks} blocks?, [\\d.]+ (B|KiB|MiB)\\s+${manifests.get(seq)!.slice(0, 12)}${seq === 3 ? '  \\(current\\)' : ''}$`));
      expect(lines[i + 1]).toMatch(/\s[\d.]+ (KiB|MiB)\s/); // the database size
    }
    const json = JSON.parse((await runCli(['log', bucket, '--json'])).stdout);
    expect(json).toEqual(entries);
    expect(json[0]).toEqual({
      seq: 3, manifest: manifests.get(3), created: '2024-01-03T00:00:00.000Z', dbSize: expect.any(Number),
      newBlocks: expect.any(Number), newBytes: expect.any(Number), parent: manifests.get(2), isCurrent: true,
    });
    expect(json[2]).toMatchObject({ seq: 1, parent: null, isCurrent: false });
    expect(json[2].newBytes).toBeGreaterThan(json[1].newBytes);
    expect(json[1].newBlocks).toBeGreaterThan(0);
    expect(json[1].newBytes).toBeLessThan(json[1].dbSize);
  });
});

describe('a pinned reader', () => {
  it('stays on its version when a new one is published; an unpinned reader moves', async () => {
    const pinnedOld = await openDatabase(url, { version: 2, headTtlMs: 0 });
    const pinnedNow = await openDatabase(url, { at: new Date(), headTtlMs: 0 });
    const following = await openDatabase(url, { headTtlMs: 0 });
    const readers: BucketDatabase[] = [pinnedOld, pinnedNow, following];
    try {
      expect(await pinnedOld.query(SQL)).toEqual(oracle(2));
      expect(await pinnedNow.query(SQL)).toEqual(oracle(3));
      expect(await following.query(SQL)).toEqual(oracle(3));
      await publish(4, (db) => { db.prepare("UPDATE items SET body = 'version four' WHERE id % 3 = 0").run(); });
      expect(await following.query(SQL)).toEqual(oracle(4));
      expect(following.stats().total.version).toBe(4);
      for (const [db, seq] of [[pinnedOld, 2], [pinnedNow, 3]] as const) {
        const before = db.stats().total.headChecks;
        expect(await db.query(SQL)).toEqual(oracle(seq));
        expect(await db.query('SELECT count(*) AS n FROM items')).toEqual([{ n: oracle(seq).length }]);
        expect(db.stats().total).toMatchObject({ version: seq, pinned: true, versionChanges: 0, headChecks: before }); // HEAD never asked again
        expect(db.stats().lastQuery?.version).toBe(seq);
      }
    } finally {
      for (const db of readers) await db.close();
    }
  });
});

describe('after gc --keep 1 --grace 0', () => {
  let pinnedBeforeGc: BucketDatabase;
  let pinnedWarm: BucketDatabase;
  let currentBeforeGc: BucketDatabase;

  beforeAll(async () => {
    // Readers pinned before the gc: one has read nothing from packs yet, one has its rows in SQLite's cache.
    pinnedBeforeGc = await openDatabase(url, { version: 2 });
    pinnedWarm = await openDatabase(url, { version: 3 });
    expect(await pinnedWarm.query('SELECT count(*) AS n FROM items')).toEqual([{ n: oracle(3).length }]);
    currentBeforeGc = await openDatabase(url, { version: 4 });
    const r = await gc(new LocalDirStore(bucket), { keep: 1, graceMs: 0 });
    expect(r).toMatchObject({ versionsKept: [4], versionsCollected: [3, 2, 1] });
  });
  afterAll(async () => {
    for (const db of [pinnedBeforeGc, pinnedWarm, currentBeforeGc]) await db?.close();
  });

  it('opening a collected version is ERR_VERSION_COLLECTED naming the oldest kept version', async () => {
    expect(await failure({ version: 1 })).toEqual({ code: 'ERR_VERSION_COLLECTED', message: 'version 1 was collected by gc (oldest kept version is 4) (op=find-version)' });
    expect(await failure({ version: 3 })).toMatchObject({ code: 'ERR_VERSION_COLLECTED', message: expect.stringMatching(/^version 3 was collected by gc \(oldest kept version is 4\)/) });
    const at = await failure({ at: '2024-01-02T12:00:00Z' });
    expect(at).toMatchObject({ code: 'ERR_VERSION_COLLECTED' });
    expect(at.message).toMatch(/^the version current at 2024-01-02T12:00:00.000Z was collected by gc \(oldest kept version is 4, created 2024-01-04T00:00:00.000Z\)/);
    expect(await failure({ version: 99 })).toMatchObject({ code: 'ERR_NOT_FOUND', message: expect.stringMatching(/^no version 99 \(current is 4\)/) });
    const hash = await failure({ version: manifests.get(1)!.slice(0, 12) });
    expect(hash.code).toBe('ERR_NOT_FOUND');
    expect(hash.message).toMatch(/^no kept version has a manifest hash starting with [0-9a-f]{12} \(kept: version 4; older ones were collected by gc\)/);
    expect(await rowsOf({ version: 4 })).toEqual({ rows: oracle(4), version: 4 });
    // info and restore --version find versions the same way.
    await expect(info(new LocalDirStore(bucket), { version: '2' })).rejects.toMatchObject({ code: 'ERR_VERSION_COLLECTED', message: expect.stringMatching(/^version 2 was collected by gc \(oldest kept version is 4\)/) });
  });

  it('a reader pinned before the gc: its next read of a deleted pack is ERR_VERSION_COLLECTED, not a missing object', async () => {
    const err = await pinnedBeforeGc.query(SQL).catch((e: { code?: string; message: string }) => e);
    expect(err).toMatchObject({ code: 'ERR_VERSION_COLLECTED', message: expect.stringMatching(/^version 2 was collected by gc \(oldest kept version is 4\)/) });
    // and it stays so, without asking the bucket again
    const requests = pinnedBeforeGc.stats().total.requests;
    await expect(pinnedBeforeGc.query('SELECT max(body) FROM items')).rejects.toMatchObject({ code: 'ERR_VERSION_COLLECTED' });
    expect(pinnedBeforeGc.stats().total.requests).toBe(requests);
    // Pages SQLite (or the block cache) already holds are still that version's, verified: no error, no wrong row.
    expect(await pinnedWarm.query('SELECT count(*) AS n FROM items')).toEqual([{ n: oracle(3).length }]);
    // A reader pinned to the kept version reads on.
    expect(await currentBeforeGc.query(SQL)).toEqual(oracle(4));
  });

  it('a kept version with a missing pack stays a not-found error (damage, not gc)', async () => {
    const db = await openDatabase(url, { version: 4 });
    try {
      const { readdirSync, renameSync } = await import('node:fs');
      const packs = readdirSync(path.join(bucket, 'packs'));
      for (const f of packs) renameSync(path.join(bucket, 'packs', f), path.join(dir, f));
      try {
        await expect(db.query(SQL)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', message: expect.stringMatching(/^packs\/[0-9a-f]{64} does not exist/) });
      } finally {
        for (const f of packs) renameSync(path.join(dir, f), path.join(bucket, 'packs', f));
      }
    } finally {
      await db.close();
    }
  });

  it('the browser worker: a collected version is ERR_VERSION_COLLECTED', async () => {
    expect((await inBrowser({ version: 1 })).error).toEqual({ code: 'ERR_VERSION_COLLECTED', message: 'version 1 was collected by gc (oldest kept version is 4) (op=find-version)' });
    expect(await inBrowser({ version: 4 })).toEqual({ rows: oracle(4), version: 4, pinned: true });
  });

  it('CLI: query --version 1 and --at print the collected error without a stack and exit 6; log says where history stops', async () => {
    const r = await runCli(['query', bucket, SQL, '--version', '1']);
    expectCleanFailure(r, 6, /^bucketlite: ERR_VERSION_COLLECTED: version 1 was collected by gc \(oldest kept version is 4\)/m);
    expect(r.stdout).toBe('');
    const json = await runCli(['query', url, SQL, '--at', '2024-01-01T12:00:00Z', '--json']);
    expectCleanFailure(json, 6, /ERR_VERSION_COLLECTED: the version current at 2024-01-01T12:00:00.000Z was collected by gc \(oldest kept version is 4/);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: { code: 'ERR_VERSION_COLLECTED', message: expect.stringMatching(/collected by gc/) } });
    const lg = await runCli(['log', bucket]);
    expect(lg.code).toBe(0);
    const lines = lg.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^\s+4\s.*\(current\)$/);
    expect(lines[2]).toBe('versions before 4 were collected by gc');
    expect((await runCli(['log', bucket, '-n', '1'])).stdout).not.toMatch(/collected/);
  });
});
