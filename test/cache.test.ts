import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryBlockCache, TieredBlockCache } from '../src/cache/memory.js';
import { DiskBlockCache } from '../src/node/disk-cache.js';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { makeDb, runCli, tempDir } from './helpers.js';

const dir = tempDir('bl-cache-');
const block = (i: number, n = 1000) => new Uint8Array(n).fill(i & 255).map((x, j) => (x + j) & 255);
const hashOf = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('block caches are bounded and report stats', () => {
  it('memory: never holds more than maxBytes; counts hits, misses and evictions', async () => {
    const c = new MemoryBlockCache(10_000);
    for (let i = 0; i < 50; i++) await c.set(hashOf(block(i)), block(i));
    const s = c.stats();
    expect(s.bytes).toBeLessThanOrEqual(10_000);
    expect(s.evictions).toBe(40);
    expect(await c.get(hashOf(block(49)))).toEqual(block(49));
    expect(await c.get(hashOf(block(0)))).toBeUndefined();
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('disk: round-trips, treats a damaged file as a miss, and evicts past its bound', async () => {
    const d = new DiskBlockCache(path.join(dir, 'disk'), 20_000);
    const h = hashOf(block(1));
    await d.set(h, block(1));
    expect(await d.get(h)).toEqual(block(1));
    writeFileSync(path.join(dir, 'disk', h.slice(0, 2), h), 'damaged');
    expect(await d.get(h)).toBeUndefined();
    for (let i = 0; i < 40; i++) await d.set(hashOf(block(i)), block(i));
    expect(d.stats().bytes).toBeLessThanOrEqual(20_000);
    expect(d.stats().evictions).toBeGreaterThan(0);
    const files = readdirSync(path.join(dir, 'disk')).flatMap((s) => readdirSync(path.join(dir, 'disk', s)));
    expect(files.length * 1000).toBeLessThanOrEqual(20_000);
    const t = new TieredBlockCache(new MemoryBlockCache(1 << 20), d);
    const last = hashOf(block(39));
    expect(await t.get(last)).toEqual(block(39)); // from disk, promoted
    expect(t.memory.stats().entries).toBe(1);
  });

  it('several processes filling one cache directory at once: all right, and the cache then serves everything', async () => {
    const db = path.join(dir, 'shared.db');
    makeDb(db, { rows: 20_000 });
    const bucket = path.join(dir, 'bucket');
    await upload(db, new LocalDirStore(bucket));
    const cacheDir = path.join(dir, 'shared-cache');
    const sql = 'SELECT count(*) AS n, sum(length(body)) AS b FROM items';
    const runs = await Promise.all([1, 2, 3].map(() => runCli(['query', bucket, sql, '--json', '--cache-dir', cacheDir])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const results = runs.map((r) => JSON.parse(r.stdout));
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    const conn = await openDatabase(bucket, { cacheDir });
    expect(await conn.query(sql)).toEqual(results[0]);
    expect(conn.stats().total.blocksFetched).toBe(0);
    await conn.close();
    expect(readdirSync(cacheDir).flatMap((s) => readdirSync(path.join(cacheDir, s))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('write-behind: the persistent tier never holds up a read', () => {
  it('set() returns before the persistent write finishes; the queue is bounded; get() sees queued blocks; flush() waits', async () => {
    const writes: { hash: string; release(): void }[] = [];
    const stored = new Map<string, Uint8Array>();
    const slow = {
      get: async (h: string) => stored.get(h),
      set: (h: string, b: Uint8Array) => new Promise<void>((resolve) => writes.push({ hash: h, release: () => { stored.set(h, b); resolve(); } })),
      stats: () => ({ hits: 0, misses: 0, bytes: 0, entries: 0, maxBytes: 0, evictions: 0 }),
    };
    // Memory holds one block; the queue two.
    const c = new TieredBlockCache(new MemoryBlockCache(1000), slow, 2000);
    const [a, b, d] = [block(1), block(2), block(3)];
    await c.set(hashOf(a), a); // resolves although the persistent write is still held
    await c.set(hashOf(b), b);
    await c.set(hashOf(d), d); // the queue is full: skipped, counted, still in memory
    expect(c.stats()).toMatchObject({ pendingWrites: 2, writesSkipped: 1 });
    expect(await c.get(hashOf(a))).toEqual(a); // evicted from memory, served from the queue
    expect(await c.get(hashOf(d))).toEqual(d);
    let flushed = false;
    const f = c.flush().then(() => { flushed = true; });
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toBe(false);
    while (writes.length) writes.shift()!.release(), await new Promise((r) => setTimeout(r, 1));
    await f;
    expect([...stored.keys()].sort()).toEqual([hashOf(a), hashOf(b)].sort());
    expect(c.stats()).toMatchObject({ pendingWrites: 0 });
  });
});
