/**
 * Uploads and gc cannot lose data together (docs/FORMAT.md §8, the gc fence). The case:
 * a failed upload left orphan packs identical to what the next upload writes; that
 * upload finds them present and does not write them again; `gc --grace 0` runs in the
 * middle of it. Every committed version must still verify and restore, whatever point
 * of the upload gc runs at. Real files: a local directory target.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gc } from '../src/ops/gc.js';
import { restore } from '../src/ops/restore.js';
import { verify } from '../src/ops/verify.js';
import { readHead } from '../src/bucket/versions.js';
import { FenceHold } from '../src/bucket/gc-fence.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { makeDb, tempDir, updateOneRow } from './helpers.js';

const dir = tempDir('bl-gc-race-');
const p = (name: string) => path.join(dir, name);
const SHAPE = { blockSize: 4096, blocksPerLeaf: 8, fanout: 4, packSize: 16384 };

/** A local store whose k-th put (0-based) first runs `hook`. */
function hooked(root: string, at: number, hook: () => Promise<void>): LocalDirStore & { puts: string[] } {
  const store = Object.assign(new LocalDirStore(root), { puts: [] as string[] });
  const put = store.put.bind(store);
  store.put = async (key, body, opts) => {
    const k = store.puts.push(key) - 1; // packs go up several at a time: number them on arrival
    if (k === at) await hook();
    return put(key, body, opts);
  };
  return store;
}

describe('gc --grace 0 during an upload that reuses orphans', () => {
  it('at every put of the upload: each committed version verifies and restores byte for byte', async () => {
    const a = p('a.db');
    const b = p('b.db');
    makeDb(a, { rows: 3000, payload: 150 });
    makeDb(b, { rows: 3000, payload: 150 });
    for (let id = 1; id <= 3000; id += 300) updateOneRow(b, id);
    // How many puts the upload of b makes over version 1 (a probe bucket).
    const probeRoot = p('probe');
    await upload(a, new LocalDirStore(probeRoot), SHAPE);
    const probe = hooked(probeRoot, -1, async () => {});
    await upload(b, probe, SHAPE);
    const steps = probe.puts.length;
    expect(steps).toBeGreaterThan(6);
    const outcomes: string[] = [];
    for (let at = 0; at < steps; at++) {
      const root = p(`bucket-${at}`);
      await upload(a, new LocalDirStore(root), SHAPE);
      // A failed upload of b leaves every object of it behind, unreferenced.
      const failing = new LocalDirStore(root);
      const put = failing.put.bind(failing);
      failing.put = async (key, body, opts) => { if (key === 'HEAD') throw new Error('injected crash before the HEAD swap'); return put(key, body, opts); };
      await expect(upload(b, failing, SHAPE)).rejects.toThrow(/injected crash/);
      let collected = 0;
      const store = hooked(root, at, async () => {
        const r = await gc(new LocalDirStore(root), { keep: 1, graceMs: 0 });
        collected = r.deleted.length;
      });
      const r = await upload(b, store, SHAPE).then((x) => `committed v${x.seq}`, (e) => `${e.code}: ${e.message}`);
      outcomes.push(`put ${at} (${store.puts[at]?.split('/')[0]}): gc deleted ${collected}, upload ${r}`);
      const v = await verify(new LocalDirStore(root), { all: true });
      expect(v.problems, `gc before put ${at}: ${r}`).toEqual([]);
      const head = await readHead(new LocalDirStore(root));
      expect(head!.head.gc, 'the fence was released').toBeUndefined();
      await restore(new LocalDirStore(root), p(`restored-${at}.db`));
      const want = head!.head.seq === 2 ? b : a;
      expect(Buffer.compare(readFileSync(p(`restored-${at}.db`)), readFileSync(want)), `gc before put ${at}`).toBe(0);
    }
    console.log(`gc during upload:\n${outcomes.join('\n')}`);
  });
});

/** A database and a bucket holding it as version 1. */
async function publishedOnce(name: string): Promise<{ a: string; root: string }> {
  const a = p(`${name}.db`);
  makeDb(a, { rows: 500 });
  const root = p(`${name}-bucket`);
  await upload(a, new LocalDirStore(root));
  return { a, root };
}

describe('the gc fence', () => {
  it('an upload waits while a gc holds the fence, a second gc is refused, and the upload commits once the fence is down', async () => {
    const { a, root } = await publishedOnce('held');
    const hold = (await FenceHold.acquire(new LocalDirStore(root)))!;
    await expect(gc(new LocalDirStore(root), { graceMs: 0 })).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: expect.stringMatching(/another gc is running/) });
    updateOneRow(a);
    const phases: string[] = [];
    const t0 = Date.now();
    const pending = upload(a, new LocalDirStore(root), { onProgress: (x) => phases.push(x.phase) });
    await new Promise((r) => setTimeout(r, 700));
    expect(phases).toContain('wait-gc');
    expect(phases).not.toContain('hash'); // it has not started on top of the fenced version
    expect(await hold.release()).toBe(true);
    const r = await pending;
    expect(r).toMatchObject({ committed: true, seq: 2 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect((await verify(new LocalDirStore(root), { all: true })).ok).toBe(true);
  });

  it('a crashed gc leaves its fence: uploads wait only until its lease expires, and their commit takes it down', async () => {
    const { a, root } = await publishedOnce('crashed');
    await FenceHold.acquire(new LocalDirStore(root), 1500); // never released: the gc "crashed"
    updateOneRow(a);
    const t0 = Date.now();
    const r = await upload(a, new LocalDirStore(root));
    expect(r.committed).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect((await readHead(new LocalDirStore(root)))!.head.gc).toBeUndefined();
  });

  it('a long gc renews its lease while it deletes, and releases the fence at the end', async () => {
    const a = p('slow-gc.db');
    makeDb(a, { rows: 2000 });
    const root = p('slow-gc-bucket');
    for (let i = 0; i < 6; i++) { await upload(a, new LocalDirStore(root), SHAPE); updateOneRow(a, 1 + i * 300); }
    const store = new LocalDirStore(root);
    const headPuts: string[] = [];
    const put = store.put.bind(store);
    store.put = async (key, body, opts) => { if (key === 'HEAD') headPuts.push(new TextDecoder().decode(body)); return put(key, body, opts); };
    const del = store.delete.bind(store);
    store.delete = async (key) => { await new Promise((r) => setTimeout(r, 40)); return del(key); };
    const r = await gc(store, { keep: 1, graceMs: 0, fenceLeaseMs: 400 });
    expect(r.deleted.length).toBeGreaterThan(20); // > 800 ms of deletes under a 400 ms lease
    const fences = headPuts.map((h) => JSON.parse(h).gc);
    expect(fences[0]).toBeDefined();
    expect(fences.length).toBeGreaterThanOrEqual(3); // acquired, renewed at least once, released
    expect(fences.at(-1)).toBeUndefined();
    expect(new Set(fences.slice(0, -1).map((f) => f.id)).size).toBe(1);
    expect((await verify(new LocalDirStore(root), { all: true })).ok).toBe(true);
  });
});
