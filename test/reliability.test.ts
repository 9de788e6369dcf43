/**
 * Uploader faults on a real file system (a full disk), and load: 200 concurrent Node
 * readers against nginx for a fixed time, sharing one bounded block cache.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBlockCache } from '../src/cache/memory.js';
import { openDatabase } from '../src/node/open.js';
import type { BucketDatabase } from '../src/database.js';
import { gc } from '../src/ops/gc.js';
import { restore } from '../src/ops/restore.js';
import { verify } from '../src/ops/verify.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { startNginx } from './servers.js';
import { makeDb, tempDir } from './helpers.js';

const dir = tempDir('bl-reliability-');

describe('a full disk under a local target', () => {
  const mnt = path.join(dir, 'small-disk');
  afterAll(() => { try { execFileSync('umount', [mnt]); } catch { /* not mounted */ } });

  it('fails with a clear error, keeps the previous version whole, and a retry after freeing space succeeds', async () => {
    mkdirSync(mnt, { recursive: true });
    // A 4 MiB tmpfs: the tests run as root (CI); elsewhere this fails loudly, it does not skip.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    const target = path.join(mnt, 'bucket');
    const small = path.join(dir, 'small.db');
    makeDb(small, { rows: 2000 });
    await upload(small, new LocalDirStore(target));
    const big = path.join(dir, 'big.db');
    makeDb(big, { rows: 40_000 }); // ~10 MB: does not fit
    const err = await upload(big, new LocalDirStore(target)).then(() => null, (e) => e);
    expect(err?.code).toBe('ERR_IO');
    expect(err.message).toMatch(/put (packs|manifests)\/[0-9a-f]{64} failed .*cause=ENOSPC/);
    const store = new LocalDirStore(target);
    expect((await verify(store)).ok).toBe(true);
    await restore(store, path.join(dir, 'restored.db'));
    expect(Buffer.compare(readFileSync(path.join(dir, 'restored.db')), readFileSync(small))).toBe(0);
    // The failed write gave its space back: no temporary file is left behind.
    expect(readdirSync(path.join(target, '.tmp'))).toEqual([]);
    // gc removes whatever complete objects the failed upload left, and only those.
    const before = (await verify(store)).manifestObjects;
    await gc(store, { graceMs: 0 });
    expect((await verify(store)).manifestObjects).toBe(before);
    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    const r = await upload(big, store);
    expect(r.committed).toBe(true);
    expect((await verify(store, { all: true })).ok).toBe(true);
  });
});

describe('load', () => {
  it('200 concurrent readers against nginx for 8 s: no errors, one shared cache within its bound', async () => {
    const db = path.join(dir, 'load.db');
    makeDb(db, { rows: 60_000, payload: 300 });
    const bucket = path.join(dir, 'load-bucket');
    await upload(db, new LocalDirStore(bucket));
    const nginx = await startNginx(bucket);
    const bound = 16 * 1024 * 1024;
    const cache = new MemoryBlockCache(bound);
    const readers: BucketDatabase[] = [];
    try {
      for (let i = 0; i < 200; i++) readers.push(await openDatabase(nginx.url, { cache, headTtlMs: 1000 }));
      let queries = 0;
      let errors = 0;
      let maxCacheBytes = 0;
      const end = Date.now() + 8000;
      await Promise.all(readers.map(async (conn, i) => {
        let seed = i + 1;
        while (Date.now() < end) {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          const id = 1 + (seed % 60_000);
          try {
            const rows = await conn.query('SELECT id, length(body) AS n FROM items WHERE id = ?', [id]);
            if (rows.length !== 1 || rows[0].id !== id) errors++;
            queries++;
          } catch {
            errors++;
          }
          maxCacheBytes = Math.max(maxCacheBytes, cache.stats().bytes);
        }
      }));
      const s = cache.stats();
      console.log(`load: 200 readers, 8 s: ${queries} queries (${(queries / 8).toFixed(0)}/s), ${errors} errors; shared cache ${(maxCacheBytes / 1048576).toFixed(1)} MiB max of ${bound / 1048576} MiB, ${s.hits} hits, ${s.misses} misses, ${s.evictions} evictions; RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
      expect(errors).toBe(0);
      expect(queries).toBeGreaterThan(200);
      expect(maxCacheBytes).toBeLessThanOrEqual(bound);
    } finally {
      for (const r of readers) await r.close();
      await nginx.stop();
    }
  }, 300_000);
});
