/**
 * Uploader faults on a real file system (a full disk), and load: 200 concurrent Node
 * readers against nginx for a fixed time in a child process, sharing one bounded block
 * cache, every row checked, the child's RSS measured from outside.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
    expect(err.message).toMatch(/put (packs|manifests)\/[0-9a-f]{64} failed: no space left on device .*cause=ENOSPC/);
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
  // The readers run in a child process (test/load-readers.ts, run compiled from dist/ as
  // the CLI tests run dist/cli) and this process measures the child's memory from outside:
  // VmRSS from /proc/<pid>/status every 200 ms, and the kernel's VmHWM at the end. That
  // sees every leak, not only one in the block cache: per-connection buffers, wasm heaps,
  // undici pools, in-flight maps.
  const CHILD = path.resolve(import.meta.dirname, '../dist/test/load-readers.js');
  const READERS = 200;
  const RUN_MS = 20_000;
  const CACHE_BYTES = 16 * 1024 * 1024;
  const MiB = 1024;  // in KiB, /proc's unit
  // Measured (Node 20, 2 cores; idle and on a machine with a load average of 10 alike):
  // the child starts at ~60 MiB (Node, better-sqlite3 as the oracle); opening 200
  // connections brings it to ~345 MiB (~1.4 MiB each: a wa-sqlite module instance's JS
  // and the touched part of its 16 MiB wasm heap); the warm-up, which fills each
  // connection's 2000 KiB SQLite page cache, to 1020-1190 MiB (~3.5 MiB more each, plus
  // the warm-up's garbage); the shared block cache is 16 MiB. The query phase then runs
  // at 810-960 MiB. Peaks (in the warm-up): 1024-1191 MiB. Bound: 1536 MiB, 30% above
  // the highest, far below what 200 wasm heaps could touch (3.2 GiB); ~1.7 MiB more per
  // connection exceeds it. Without the child's forced collections V8 let garbage take
  // the query phase to ~1150 MiB.
  const PEAK_BOUND_KIB = 1536 * 1024;
  // After the warm-up RSS is flat: the lowest RSS (reached after one of the child's full
  // collections, every 2 s) in Q4 was -4 to +15 MiB from the lowest at the end of Q1,
  // while the medians moved by up to 35 MiB. Injected leaks (a Buffer kept per query):
  // 64 KiB a query at 940 queries/s gave +796 MiB (and a 2135 MiB peak); 16 KiB at 520/s
  // (163 MiB leaked) +108 MiB; 4 KiB at 780/s (61 MiB leaked) +39 MiB, which passes.
  // So 48 MiB catches a leak faster than ~3 MiB/s, not a slower one (20 s is short).
  const GROWTH_BOUND_KIB = 48 * 1024;

  it(`${READERS} concurrent readers in a child process against nginx for ${RUN_MS / 1000} s: every row right, RSS bounded and flat`, async () => {
    if (!existsSync(CHILD)) throw new Error(`${CHILD} is missing: compile first (npx tsc -p tsconfig.json; npm test does)`);
    const db = path.join(dir, 'load.db');
    makeDb(db, { rows: 60_000, payload: 300 });
    const bucket = path.join(dir, 'load-bucket');
    await upload(db, new LocalDirStore(bucket));
    const nginx = await startNginx(bucket);
    const child = spawn(process.execPath, ['--expose-gc', CHILD, nginx.url, db, String(READERS), String(RUN_MS), String(CACHE_BYTES)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // glibc returns blocks of 32 KiB and more to the kernel when they are freed (block
      // bodies are 64 KiB), so RSS follows live memory. With its default, the ~150 MiB of
      // buffers freed after the warm-up stay in malloc's arenas and a leak refills them
      // first, unseen: 246 MiB leaked in 16 KiB buffers raised the median RSS by 48 MiB.
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '32768' },
    });
    const t0 = Date.now();
    const rss: { t: number; kib: number }[] = [];
    const sampler = setInterval(() => {
      const kib = procStatusKiB(child.pid!, 'VmRSS');
      if (kib !== null) rss.push({ t: Date.now() - t0, kib });
    }, 200);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const events: Record<string, { t: number; [k: string]: unknown }> = {};
    try {
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`the load child did not finish in 240 s (${Object.keys(events).join(', ') || 'no phase'} reached): ${stderr}`)), 240_000);
        let buf = '';
        child.stdout.on('data', (d) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const e = JSON.parse(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            events[e.phase] = { ...e, t: Date.now() - t0 };
            if (e.phase === 'done') { clearTimeout(deadline); resolve(); }
          }
        });
        child.on('exit', (code) => { clearTimeout(deadline); reject(new Error(`the load child exited early (${code}): ${stderr}`)); });
      });
      // The kernel's high-water mark: the true peak, between our samples too.
      const hwm = procStatusKiB(child.pid!, 'VmHWM') ?? 0;
      clearInterval(sampler);
      // Then it closes its 200 connections and exits; that must go cleanly too.
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.stdin.end();
      const exitCode = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('no exit in 30 s'), 30_000).unref())]);
      const opened = events.opened.t;
      const ready = events.ready.t;
      const warmErrors = events.ready.warmErrors as string[];
      const done = events.done as unknown as { t: number; ms: number; gcMs: number; queries: number; rows: number; errors: number; mismatches: number; samples: string[]; perSecond: number[]; cache: { bytes: number; maxBytesSeen: number; hits: number; misses: number; evictions: number } };

      // The query phase (all connections open) in quarters of time.
      const span = done.t - ready;
      const quarters = [0, 1, 2, 3].map((q) => rss.filter((s) => s.t >= ready + (q * span) / 4 && s.t < ready + ((q + 1) * span) / 4).map((s) => s.kib));
      const opening = rss.filter((s) => s.t < opened).map((s) => s.kib);
      const warming = rss.filter((s) => s.t >= opened && s.t < ready).map((s) => s.kib);
      const peak = Math.max(hwm, ...rss.map((s) => s.kib));
      const st = (xs: number[]) => {
        const v = [...xs].sort((a, b) => a - b);
        return { min: v[0], median: v[Math.floor(v.length / 2)], max: v[v.length - 1], n: v.length };
      };
      const fmt = (xs: number[]) => { const x = st(xs); return `${(x.min / MiB).toFixed(0)}/${(x.median / MiB).toFixed(0)}/${(x.max / MiB).toFixed(0)} MiB (${x.n})`; };
      // From the end of Q1 (its second half: its start still has the idle moment of the
      // collection after the warm-up, before 200 queries are in flight) to Q4.
      const q1End = rss.filter((s) => s.t >= ready + span / 8 && s.t < ready + span / 4).map((s) => s.kib);
      const growth = st(quarters[3]).min - st(q1End).min;
      console.log([
        `load: ${READERS} readers in a child process, ${(done.ms / 1000).toFixed(1)} s: ${done.queries} queries (${(done.queries / (done.ms / 1000)).toFixed(0)}/s; per second ${done.perSecond.join(' ')}), ${done.rows} rows checked, ${done.errors} errors, ${done.mismatches} wrong results; full GCs took ${(done.gcMs / 1000).toFixed(1)} s`,
        `  shared cache ${(done.cache.maxBytesSeen / 1048576).toFixed(1)} MiB max of ${CACHE_BYTES / 1048576} MiB, ${done.cache.hits} hits, ${done.cache.misses} misses, ${done.cache.evictions} evictions`,
        `  child RSS min/median/max (samples): opening ${READERS} connections (${(opened / 1000).toFixed(1)} s) ${fmt(opening)}; warm-up (${((ready - opened) / 1000).toFixed(1)} s) ${fmt(warming)}`,
        ...quarters.map((q, i) => `  Q${i + 1} ${fmt(q)}`),
        `  peak ${(peak / MiB).toFixed(0)} MiB (VmHWM ${(hwm / MiB).toFixed(0)} MiB; bound ${(PEAK_BOUND_KIB / MiB).toFixed(0)} MiB); growth min(Q4) - min(end of Q1: ${fmt(q1End)}) = ${(growth / MiB).toFixed(1)} MiB (bound ${(GROWTH_BOUND_KIB / MiB).toFixed(0)} MiB)`,
      ].join('\n'));
      expect(exitCode, stderr).toBe(0);
      expect(warmErrors).toEqual([]);
      expect(done.samples).toEqual([]);
      expect(done.errors).toBe(0);
      expect(done.mismatches).toBe(0);
      expect(done.queries).toBeGreaterThan(READERS * 10);
      expect(done.cache.maxBytesSeen).toBeLessThanOrEqual(CACHE_BYTES);
      for (const q of quarters) expect(q.length).toBeGreaterThan(10);
      expect(q1End.length).toBeGreaterThan(5);
      // Both memory checks report, whichever fails first.
      expect.soft(peak, `peak RSS ${(peak / MiB).toFixed(0)} MiB over its bound (KiB)`).toBeLessThan(PEAK_BOUND_KIB);
      expect.soft(growth, `RSS grew ${(growth / MiB).toFixed(1)} MiB after warm-up (KiB)`).toBeLessThan(GROWTH_BOUND_KIB);
    } finally {
      clearInterval(sampler);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      await nginx.stop();
    }
  }, 300_000);
});

/** A `kB` field of /proc/<pid>/status, in KiB; null once the process is gone. */
function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
