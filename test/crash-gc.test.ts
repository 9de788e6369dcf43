import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { upload } from '../src/upload/upload.js';
import { restore } from '../src/ops/restore.js';
import { verify } from '../src/ops/verify.js';
import { gc, parseDuration } from '../src/ops/gc.js';
import { currentVersion, history, loadBlockTable } from '../src/bucket/versions.js';
import { MemoryStore } from '../src/storage/memory.js';
import { manifestKey, packKey } from '../src/format/keys.js';
import { makeDb, tempDir, updateOneRow } from './helpers.js';

const dir = tempDir('bl-crash-');
const p = (name: string) => path.join(dir, name);

class Crash extends Error {}

/** Every key reachable from the newest `versions` versions in the history (default: all). */
async function reachable(store: MemoryStore, versions = Infinity): Promise<Set<string>> {
  const keys = new Set<string>(['HEAD']);
  const cur = await currentVersion(store);
  let n = 0;
  for await (const v of history(store, cur!)) {
    if (n++ >= versions) break;
    keys.add(manifestKey(v.hash));
    const t = await loadBlockTable(store, v.root);
    t.manifestObjects.forEach((h) => keys.add(manifestKey(h)));
    t.blocks.forEach((b) => keys.add(packKey(b.pack)));
  }
  return keys;
}

describe('a crash after each step of the commit leaves the previous version whole', () => {
  it('before and after every put of the second upload', async () => {
    const db = p('crash.db');
    // Small packs so the second upload writes several packs, several leaves (small
    // leaves), and the root: every kind of step is crashed at.
    makeDb(db, { rows: 6000, payload: 150 });
    const v1bytes = readFileSync(db);
    const store = new MemoryStore();
    const shape = { blockSize: 4096, blocksPerLeaf: 8, fanout: 4, packSize: 16384 };
    await upload(db, store, shape);
    for (let id = 1; id <= 6000; id += 1499) updateOneRow(db, id);

    // Count the puts a clean second upload makes, on a copy of the bucket.
    const probe = new MemoryStore();
    for (const [k, o] of store.objects) probe.objects.set(k, o);
    const clean = await upload(db, probe, shape);
    const steps = clean.objectsWritten;
    console.log(`second upload: ${steps} writes: ${clean.keysWritten.map((k) => k.split("/")[0]).join(" ")}`);
    expect(steps).toBeGreaterThan(5);
    const kinds = new Set(clean.keysWritten.map((k) => k.split('/')[0]));
    expect(kinds).toEqual(new Set(['packs', 'manifests', 'HEAD']));

    // Each round starts from version 1 exactly, so step k is always the same write.
    const snapshot = new Map(store.objects);
    const leftovers = new Map<string, (typeof snapshot extends Map<string, infer V> ? V : never)>();
    for (let step = 1; step <= steps; step++) {
      for (const when of ['before', 'after'] as const) {
        store.objects.clear();
        for (const [k, o] of snapshot) store.objects.set(k, o);
        let n = 0;
        let target = ''; // the key of write number `step` (writes may overlap)
        store.faults = {
          beforePut: (key) => {
            if (++n !== step) return;
            target = key;
            if (when === 'before') throw new Crash(`crash before put ${step} (${key})`);
          },
          afterPut: (key) => { if (when === 'after' && key === target) throw new Crash(`crash after put ${step} (${key})`); },
        };
        await expect(upload(db, store, shape)).rejects.toBeInstanceOf(Crash);
        store.faults = {};
        const cur = (await currentVersion(store))!;
        if (when === 'after' && step === steps) {
          // The crash came after HEAD was written: the new version is committed and whole.
          expect(cur.root.seq).toBe(2);
          await restore(store, p('after-commit.out'));
          expect(Buffer.compare(readFileSync(p('after-commit.out')), readFileSync(db))).toBe(0);
          continue;
        }
        expect(cur.root.seq).toBe(1);
        expect((await verify(store)).ok).toBe(true);
        await restore(store, p('v1-round.out'));
        expect(Buffer.compare(readFileSync(p('v1-round.out')), v1bytes)).toBe(0);
        for (const [k, o] of store.objects) if (!snapshot.has(k)) leftovers.set(k, o);
      }
    }
    // Version 1 plus everything every crashed upload left behind.
    store.objects.clear();
    for (const [k, o] of snapshot) store.objects.set(k, o);
    for (const [k, o] of leftovers) store.objects.set(k, o);
    await restore(store, p('v1.out'));
    expect(Buffer.compare(readFileSync(p('v1.out')), v1bytes)).toBe(0);

    // Orphans exist; gc with no grace removes exactly them.
    const before = new Set(store.objects.keys());
    const keep = await reachable(store);
    const orphans = [...before].filter((k) => !keep.has(k));
    expect(orphans.length).toBeGreaterThan(0);
    const r = await gc(store, { graceMs: 0 });
    expect(new Set(r.deleted)).toEqual(new Set(orphans));
    expect(new Set(store.objects.keys())).toEqual(keep);
    expect((await verify(store)).ok).toBe(true);

    // And a retry of the upload now succeeds.
    const retry = await upload(db, store, shape);
    expect(retry.committed).toBe(true);
    await restore(store, p('v2.out'));
    expect(Buffer.compare(readFileSync(p('v2.out')), readFileSync(db))).toBe(0);
  });
});

describe('gc', () => {
  async function bucketWithVersions(n: number, clock: { t: number }) {
    const db = p(`gc-${n}-${clock.t}.db`);
    makeDb(db, { rows: 3000 });
    const store = new MemoryStore();
    store.now = () => new Date(clock.t);
    const files: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      if (i) updateOneRow(db, i * 100 + 1);
      await upload(db, store, { now: () => clock.t });
      files.push(readFileSync(db));
      clock.t += 3_600_000; // an hour between versions
    }
    return { store, files };
  }

  it('keeps the newest N versions and collects the rest once past the grace period', async () => {
    const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
    const { store, files } = await bucketWithVersions(6, clock);
    clock.t += 48 * 3_600_000;
    const keepSet = await reachable(store, 3); // what versions 4..6 reference
    const dry = await gc(store, { keep: 3, graceMs: parseDuration('24h'), now: () => clock.t, dryRun: true });
    expect(store.count('delete')).toBe(0);
    const r = await gc(store, { keep: 3, graceMs: parseDuration('24h'), now: () => clock.t });
    expect(r.deleted).toEqual(dry.deleted);
    expect(r.versionsKept).toEqual([6, 5, 4]);
    expect(r.versionsCollected).toEqual([3, 2, 1]);
    // Nothing reachable from a kept version was deleted; everything else was.
    for (const k of r.deleted) expect(keepSet.has(k)).toBe(false);
    expect(new Set(store.objects.keys())).toEqual(keepSet);
    // Roots of collected versions go first, newest first.
    expect(r.deleted[0]).toMatch(/^manifests\//);
    for (const [i, f] of [[4, files[3]], [6, files[5]]] as const) {
      await restore(store, p(`gc-v${i}.out`), { version: String(i) });
      expect(Buffer.compare(readFileSync(p(`gc-v${i}.out`)), f)).toBe(0);
    }
    expect((await verify(store, { all: true })).versionsChecked).toEqual([6, 5, 4]);
  });

  it('never collects a version superseded less than the grace period ago, nor a young object', async () => {
    const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
    const { store } = await bucketWithVersions(5, clock);
    // Versions were created an hour apart; now is 1 h after the last.
    const r = await gc(store, { keep: 1, graceMs: parseDuration('150m'), now: () => clock.t });
    // v5 is current; v4 was superseded 1 h ago and v3 2 h ago (both within 2.5 h); v2 3 h ago.
    expect(r.versionsKept).toEqual([5, 4, 3]);
    expect(r.versionsCollected).toEqual([2, 1]);

    // An orphan written just now (an upload in progress) survives gc with any keep.
    await store.put('packs/' + 'ab'.repeat(32), new Uint8Array(10));
    const r2 = await gc(store, { keep: 1, graceMs: parseDuration('1h'), now: () => clock.t });
    expect(store.objects.has('packs/' + 'ab'.repeat(32))).toBe(true);
    expect(r2.keptYoung).toBeGreaterThanOrEqual(1);
    expect((await verify(store)).ok).toBe(true);
  });

  it('refuses nonsense options', async () => {
    const store = new MemoryStore();
    await expect(gc(store, { keep: 0 })).rejects.toMatchObject({ code: 'ERR_USAGE' });
    await expect(gc(store)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('0')).toBe(0);
  });
});
