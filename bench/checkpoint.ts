/**
 * Checkpoint benchmark (checkpoint issue). Prints markdown tables and writes
 * .bench-data/checkpoint-results.json; asserts nothing.
 *
 *   node dist/bench/checkpoint.js [--part io|lag|storage] [--sizes 1,10]
 *        [--lag-seconds 60] [--lag-targets local,s3] [--lag-intervals 250ms,1s]
 *        [--commits 1000] [--measure-at 300,1000] [--storage-mb 50] [--storage-variants default,off]
 *        [--refill] [--wal-start as-is|truncate|none] [--change update|insert]
 *        [--watcher-node-args "--cpu-prof --cpu-prof-dir=DIR"]
 * Conditions, options and the figures measured: docs/CHECKPOINT.md.
 *
 * Everything runs as it does in real use: the application is another process
 * (dist/test/wal-writer.js, connection open throughout) and the checkpointer is the real
 * CLI in its own process (`bucketlite checkpoint <db> <target> --watch <i> --json`).
 * Figures come from outside bucketlite wherever possible:
 *  - io: the watcher's /proc/<pid>/io (rchar/wchar: every byte through read/write
 *    syscalls; read_bytes/write_bytes: what reached the block layer) and /proc/<pid>/stat
 *    CPU time, sampled around each commit; publish latency = when the bench process saw
 *    HEAD in the bucket change (polled every 10 ms) minus the writer's commit time.
 *  - lag: a reader (openDatabase, HEAD TTL 50 ms) polls max(n) every 20 ms while the
 *    writer commits 20 transactions/s; lag = first time the reader returns row n minus
 *    the writer's commit time of n. Local directory and Ceph radosgw (S3) targets.
 *  - storage: the bucket directory walked on disk after N one-row commits, before and
 *    after `bucketlite gc --keep 1 --grace 0` (run on a copy so the series goes on);
 *    the current root decoded from HEAD for runs, packs and packs per leaf.
 * Parts are merged into the JSON file by name, so parts can be run one at a time.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { decodeHead } from '../src/format/head.js';
import { manifestKey } from '../src/format/keys.js';
import { blockCount, decodeRoot, locateBlock, runPacks } from '../src/format/manifest.js';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { S3Store } from '../src/storage/s3.js';
import { upload } from '../src/upload/upload.js';
import type { UploadResult } from '../src/upload/upload.js';
import { WalWriter } from '../test/wal-writer-client.js';
import { startRadosgw } from '../test/radosgw.js';
import type { Radosgw } from '../test/radosgw.js';

// ---- arguments ------------------------------------------------------------------------

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const parts = opt('part', 'io,lag,storage').split(',');
const sizesGiB = opt('sizes', '1').split(',').map(Number);
const lagSeconds = Number(opt('lag-seconds', '60'));
const lagTargets = opt('lag-targets', 'local,s3').split(',');
const lagIntervals = opt('lag-intervals', '250ms,1s').split(',');
const lagDbMb = Number(opt('lag-db-mb', '100'));
const storageMb = Number(opt('storage-mb', '50'));
const storageCommits = Number(opt('commits', '1000'));
const storageAt = opt('measure-at', '300,1000').split(',').map(Number);
const UPDATES = Number(opt('updates', '5'));
/** io: `truncate` has the application run wal_checkpoint(TRUNCATE) just before the watcher starts (an empty WAL). */
const walStart = opt('wal-start', 'as-is');
/**
 * io: the change each commit publishes: `update` (10 random rows) or `insert` (10 rows appended).
 * test/wal-writer.ts seeds its generator with 1 in every process, so a fresh writer process's
 * `update`s repeat the previous process's: rows get the bytes they already hold and SQLite
 * changes no page. A change that left the wal-index header as it was is therefore sent again
 * (the generator has moved on) and counted in `noopChanges`; see docs/CHECKPOINT.md.
 */
const change = opt('change', 'update');
/** Extra node flags for the checkpointer process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). */
const watcherNodeArgs = opt('watcher-node-args', '').split(' ').filter(Boolean);
const storageVariants = opt('storage-variants', 'default,off').split(',');
const READER_TTL_MS = 50;
const READER_POLL_MS = 20;
const HEAD_POLL_MS = 10;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // the SDK's Node 20 notice
const ROOT = path.resolve('.bench-data');
const WORK = path.join(ROOT, 'checkpoint');
const RESULTS = path.join(ROOT, 'checkpoint-results.json');
const CLI = path.resolve('dist/node/bucketlite.js');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const MiB = 1 << 20;

// ---- small helpers --------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (x: number | null | undefined, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] : NaN);
const freeBytes = (dir: string) => { const s = statfsSync(dir); return s.bavail * s.bsize; };

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

async function until<T>(what: string, timeoutMs: number, f: () => T | undefined | null | false): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

interface ProcSample { rchar: number; wchar: number; readBytes: number; writeBytes: number; cpuMs: number }

/** The checkpointer process's own I/O and CPU counters (kernel accounting, all threads). */
function procSample(pid: number): ProcSample {
  const io = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => {
    const [k, v] = l.split(':');
    return [k.trim(), Number(v)];
  }));
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
  return { rchar: io.rchar, wchar: io.wchar, readBytes: io.read_bytes, writeBytes: io.write_bytes, cpuMs };
}
/** The wal-index header (first 48 bytes of -shm: change counter, mxFrame, salts); null without one. */
function walIndexHeader(db: string): Buffer | null {
  try { return readFileSync(`${db}-shm`).subarray(0, 48); } catch { return null; }
}
const delta = (a: ProcSample, b: ProcSample): ProcSample => ({
  rchar: b.rchar - a.rchar, wchar: b.wchar - a.wchar, readBytes: b.readBytes - a.readBytes, writeBytes: b.writeBytes - a.writeBytes, cpuMs: b.cpuMs - a.cpuMs,
});

const children = new Set<ChildProcessWithoutNullStreams>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
process.on('exit', () => { for (const c of children) if (c.exitCode === null && c.pid) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } });

// ---- the application: test/wal-writer.ts in its own process ----------------------------

/** The application: test/wal-writer.ts in its own process, killed with the bench. */
class Writer extends WalWriter {
  constructor(db: string) {
    super(db);
    children.add(this.child);
  }
  override async quit(): Promise<void> {
    await super.quit();
    children.delete(this.child);
  }
}

// ---- the checkpointer: the real CLI in its own process --------------------------------

interface CommitLine extends Omit<UploadResult, 'keysWritten'> {
  snapshotSeconds: number;
  /** When the bench read the line (ms since the epoch). */
  lineAt: number;
}

class Watcher {
  readonly child: ChildProcessWithoutNullStreams;
  readonly commits: CommitLine[] = [];
  readonly stderr: string[] = [];
  readonly other: string[] = [];
  exit: { code: number | null; signal: string | null } | null = null;
  constructor(db: string, target: string, interval: string, env: Record<string, string> = {}, nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, CLI, 'checkpoint', db, target, '--watch', interval, '--json'], { env: { ...process.env, ...env } });
    children.add(this.child);
    createInterface({ input: this.child.stdout }).on('line', (l) => {
      const lineAt = Date.now();
      try {
        this.commits.push({ ...JSON.parse(l), lineAt });
      } catch {
        this.other.push(l);
      }
    });
    createInterface({ input: this.child.stderr }).on('line', (l) => this.stderr.push(l));
    this.child.on('exit', (code, signal) => { this.exit = { code, signal }; });
  }
  get pid(): number { return this.child.pid!; }
  /** Waits for the n-th commit line (1-based). */
  commit(n: number, timeoutMs: number): Promise<CommitLine> {
    return until(`commit line ${n} (stderr: ${this.stderr.slice(-3).join(' / ')})`, timeoutMs, () => {
      if (this.exit && this.commits.length < n) throw new Error(`the watcher exited (${JSON.stringify(this.exit)}): ${this.stderr.join('\n')}`);
      return this.commits[n - 1];
    });
  }
  async stop(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGTERM'); // finishes a commit in progress, exits 0
    await until('the watcher to exit', 60_000, () => this.exit).catch(() => this.child.kill('SIGKILL'));
    children.delete(this.child);
  }
}

/** Polls a local bucket's HEAD file; records when each version first appeared. */
class HeadPoller {
  readonly seenAt = new Map<number, number>();
  private last: Buffer | null = null;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly file: string) {
    this.timer = setInterval(() => this.poll(), HEAD_POLL_MS);
  }
  private poll(): void {
    let b: Buffer;
    try { b = readFileSync(this.file); } catch { return; }
    if (this.last && b.equals(this.last)) return;
    this.last = b;
    try {
      const seq = JSON.parse(b.toString('utf8')).seq as number;
      if (!this.seenAt.has(seq)) this.seenAt.set(seq, Date.now());
    } catch { /* a torn read cannot happen (rename), but never throw from a timer */ }
  }
  stop(): void { clearInterval(this.timer); }
}

// ---- results file -----------------------------------------------------------------------

const machine = {
  cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, kernel: os.release(),
  note: '2 cores shared with another engineer\'s builds; loopback only',
};
function saveResults(part: string, data: unknown): void {
  let all: Record<string, unknown> = {};
  try { all = JSON.parse(readFileSync(RESULTS, 'utf8')); } catch { /* first run */ }
  all.machine = machine;
  all[part] = { ranAt: new Date().toISOString(), ...(data as object) };
  writeFileSync(RESULTS, JSON.stringify(all, null, 2) + '\n');
}

// ---- part io: read+written and publish latency of a 10-row change ------------------------

async function partIo(): Promise<void> {
  const results: unknown[] = [];
  const rows: (string | number)[][] = [['1 GiB (before, from the issue)', '—', '—', '—', '—', '—', '≈2970 (2.9 GiB)', '—', '—', '—', '3500']];
  for (const gib of sizesGiB) {
    const mb = gib * 1024;
    const dir = path.join(WORK, `io-${gib}g`);
    const db = path.join(dir, 'live.db');
    const bucket = path.join(dir, 'bucket');
    const marker = path.join(dir, `filled-${mb}`);
    mkdirSync(dir, { recursive: true });
    const reuse = existsSync(marker) && existsSync(db) && !argv.includes('--refill');
    // The database, its WAL and the bucket: about 2.2x the size, with margin.
    const need = (reuse ? 1.2 : 2.4) * mb * MiB;
    if (freeBytes(dir) < need) {
      const why = `not measured: ${(freeBytes(dir) / 2 ** 30).toFixed(1)} GiB free under ${dir}, ${(need / 2 ** 30).toFixed(1)} GiB needed`;
      console.log(`io ${gib} GiB: ${why}`);
      results.push({ gib, skipped: why });
      continue;
    }
    // A fresh bucket and no checkpoint state; the filled database is reused across runs.
    rmSync(bucket, { recursive: true, force: true });
    for (const f of readdirSync(dir)) if (f.startsWith('.live.db.bucketlite-')) rmSync(path.join(dir, f), { force: true });
    if (!reuse) for (const f of ['live.db', 'live.db-wal', 'live.db-shm']) rmSync(path.join(dir, f), { force: true });
    let w = new Writer(db);
    let watcher: Watcher | null = null;
    let poller: HeadPoller | null = null;
    try {
      let fillSeconds: number | null = null;
      if (!reuse) {
        const t0 = performance.now();
        console.error(`io ${gib} GiB: filling ${db} through the writer (fill mb=${mb})...`);
        await w.send({ cmd: 'fill', mb });
        fillSeconds = (performance.now() - t0) / 1000;
        writeFileSync(marker, '');
        console.error(`io ${gib} GiB: filled in ${fillSeconds.toFixed(0)} s`);
      }
      if (walStart === 'truncate') await w.send({ cmd: 'checkpoint', mode: 'TRUNCATE' });
      if (walStart === 'none') {
        // The application closes (SQLite checkpoints and deletes the WAL) and opens again.
        await w.quit();
        w = new Writer(db);
        await w.send({ cmd: 'pragma', sql: 'journal_mode' });
      }
      const dbSize = statSync(db).size;
      const walExists = existsSync(`${db}-wal`);
      const walSize = statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0;
      poller = new HeadPoller(path.join(bucket, 'HEAD'));
      const interval = '1s';
      const t0 = Date.now();
      watcher = new Watcher(db, bucket, interval, {}, watcherNodeArgs);
      const first = await watcher.commit(1, 60 * 60_000);
      const firstIo = procSample(watcher.pid);
      console.error(`io ${gib} GiB: first (full) publish ${first.seconds.toFixed(1)} s`);
      const commits = [];
      let noopChanges = 0;
      for (let k = 0; k < UPDATES; k++) {
        // Let the watch interval pass since the last commit, so each change starts from an idle watcher.
        await sleep(2000);
        const before = procSample(watcher.pid);
        // A change SQLite found nothing to write for (see `change`) is sent again.
        let sentAt: number;
        let at: number;
        let noops = 0;
        for (;;) {
          const h0 = walIndexHeader(db);
          sentAt = Date.now();
          ({ at } = await w.send({ cmd: change, rows: 10 }));
          const h1 = walIndexHeader(db);
          if (!h0 || !h1 || !h0.equals(h1)) break;
          if (++noops >= 10_000) throw new Error(`${noops} ${change}s in a row changed no page`);
        }
        noopChanges += noops;
        const c = await watcher.commit(2 + k, 120_000);
        const after = procSample(watcher.pid);
        const headAt = await until(`HEAD ${c.seq}`, 5000, () => poller!.seenAt.get(c.seq));
        const d = delta(before, after);
        const row = {
          seq: c.seq, incremental: c.incremental, blocksTotal: c.blocksTotal, blocksHashed: c.blocksTotal - c.blocksReused, blocksNew: c.blocksNew,
          blocksRewritten: c.blocksRewritten, bytesWritten: c.bytesWritten, objectsWritten: c.objectsWritten, seconds: c.seconds, snapshotSeconds: c.snapshotSeconds,
          io: d, rwMiB: (d.rchar + d.wchar) / MiB, diskMiB: (d.readBytes + d.writeBytes) / MiB,
          writerCommitAt: at, writerCommitMs: at - sentAt, publishLatencyMs: headAt - at, commitLineLatencyMs: c.lineAt - at,
        };
        commits.push(row);
        rows.push([`${gib} GiB (WAL at start: ${walExists ? `${fmt(walSize / MiB, 1)} MiB` : 'no file'}; ${change})`, k + 1, String(c.incremental), `${row.blocksHashed}/${c.blocksTotal}`, c.blocksNew, fmt(c.bytesWritten / 1024), fmt(row.rwMiB, 2), fmt(row.diskMiB, 2), fmt(d.cpuMs), fmt(c.seconds * 1000), fmt(row.publishLatencyMs)]);
      }
      results.push({
        gib, dbSize, walSizeAtStart: walSize, walExists, walStart, reusedFill: reuse, fillSeconds, noopChanges, watchInterval: interval, watcherStderr: watcher.stderr, watcherOther: watcher.other,
        firstPublish: { seconds: first.seconds, bytesWritten: first.bytesWritten, blocksNew: first.blocksNew, sinceSpawnMs: first.lineAt - t0, io: firstIo, rwGiB: (firstIo.rchar + firstIo.wchar) / 2 ** 30 },
        commits,
      });
      if (noopChanges) console.error(`io ${gib} GiB: ${noopChanges} ${change}s changed no page and were sent again`);
      if (watcher.stderr.length) console.log(`watcher stderr (${gib} GiB):\n${watcher.stderr.join('\n')}`);
    } finally {
      poller?.stop();
      await watcher?.stop();
      await w.quit();
    }
  }
  console.log('\n## I/O per commit: 10 random rows updated (`update rows:10`), `checkpoint --watch 1s`, local directory bucket\n');
  console.log(table(['database', 'commit', 'incremental', 'blocks hashed', 'new blocks', 'KiB written (reported)', 'rchar+wchar MiB', 'read_bytes+write_bytes MiB', 'CPU ms', 'commit ms (reported)', 'publish latency ms'], rows));
  for (const r of results as { gib: number; firstPublish?: { seconds: number; rwGiB: number; io: ProcSample } }[]) {
    if (r.firstPublish) console.log(`\n${r.gib} GiB first (full) publish: ${r.firstPublish.seconds.toFixed(1)} s, ${r.firstPublish.rwGiB.toFixed(2)} GiB rchar+wchar, CPU ${(r.firstPublish.io.cpuMs / 1000).toFixed(1)} s (process total since start)`);
  }
  saveResults(walStart === 'as-is' && change === 'update' ? 'io' : `io-wal-${walStart}-${change}-${sizesGiB.join('+')}g`, { conditions: { updates: UPDATES, change, walStart, rowsPerUpdate: 10, watch: '1s', debounceMs: 250, headPollMs: HEAD_POLL_MS, pauseBetweenUpdatesMs: 2000, target: 'local directory' }, before: { gib: 1, rwGiB: 2.9, seconds: 3.5, source: 'checkpoint issue' }, sizes: results });
}

// ---- part lag: 20 tx/s, reader sees row n -----------------------------------------------

interface LagTarget { name: string; target: string; reader: () => string | S3Store; env: Record<string, string> }

async function partLag(): Promise<void> {
  let rgw: Radosgw | null = null;
  const results: unknown[] = [];
  const rows: (string | number)[][] = [];
  try {
    for (const tname of lagTargets) {
      let mk: (prefix: string) => LagTarget;
      if (tname === 's3') {
        try {
          rgw ??= await startRadosgw();
        } catch (err) {
          const why = `radosgw did not start: ${(err as Error).message}`;
          console.log(`lag s3: not measured: ${why}`);
          results.push({ target: 's3', skipped: why });
          continue;
        }
        const g = rgw;
        const creds = { accessKeyId: g.accessKeyId, secretAccessKey: g.secretAccessKey };
        const s3 = (prefix: string) => new S3Store({ bucket: 'bench', prefix, endpoint: g.endpoint, client: { credentials: creds } });
        await (await s3('x/').sdkClient()).send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => undefined);
        mk = (prefix) => ({
          name: 's3 (radosgw)', target: `s3://bench/${prefix}`, reader: () => s3(`${prefix}/`),
          env: { AWS_ACCESS_KEY_ID: g.accessKeyId, AWS_SECRET_ACCESS_KEY: g.secretAccessKey, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: g.endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        });
      } else {
        mk = (prefix) => { const b = path.join(WORK, 'lag', `${prefix}-bucket`); return { name: 'local dir', target: b, reader: () => b, env: {} }; };
      }
      for (const interval of lagIntervals) {
        const prefix = `lag-${tname}-${interval}`;
        const t = mk(prefix);
        const r = await lagRun(t, interval, path.join(WORK, 'lag', `${prefix}.db`)).catch((err) => ({ target: t.name, interval, error: String(err) }));
        results.push(r);
        if ('error' in r) { console.log(`lag ${t.name} ${interval}: ${r.error}`); continue; }
        rows.push([t.name, interval, r.samples, r.unseen, fmt(r.p50), fmt(r.p95), fmt(r.max), r.commits, r.commitsNotIncremental, fmt(r.commitMsP50), r.readerErrors.length, r.watcherStderr.length]);
      }
    }
  } finally {
    await rgw?.stop();
  }
  console.log(`\n## Publish lag: writer 20 tx/s for ${lagSeconds} s into a ${lagDbMb} MB database; reader HEAD TTL ${READER_TTL_MS} ms polling every ${READER_POLL_MS} ms\n`);
  console.log(table(['target', '--watch', 'rows', 'never seen', 'p50 ms', 'p95 ms', 'max ms', 'commits', 'not incremental', 'commit ms p50', 'reader errors', 'watcher stderr lines'], rows));
  saveResults('lag', { conditions: { tps: 20, seconds: lagSeconds, dbMb: lagDbMb, readerHeadTtlMs: READER_TTL_MS, readerPollMs: READER_POLL_MS, debounceMs: 250 }, runs: results });
}

async function lagRun(t: LagTarget, interval: string, db: string) {
  mkdirSync(path.dirname(db), { recursive: true });
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  for (const f of readdirSync(path.dirname(db))) if (f.startsWith(`.${path.basename(db)}.bucketlite-`)) rmSync(path.join(path.dirname(db), f), { force: true });
  if (!/^s3:/.test(t.target)) rmSync(t.target, { recursive: true, force: true });
  const w = new Writer(db);
  let watcher: Watcher | null = null;
  let reader: Awaited<ReturnType<typeof openDatabase>> | null = null;
  let stopReader = false;
  try {
    await w.send({ cmd: 'fill', mb: lagDbMb });
    watcher = new Watcher(db, t.target, interval, t.env);
    await watcher.commit(1, 10 * 60_000);
    reader = await openDatabase(t.reader(), { headTtlMs: READER_TTL_MS });
    const n0 = Number((await reader.query('SELECT coalesce(max(n), 0) AS n FROM log'))[0].n);
    const seenAt = new Map<number, number>();
    const readerErrors: string[] = [];
    let seen = n0;
    let queries = 0;
    const loop = (async () => {
      while (!stopReader) {
        try {
          const [{ n }] = await reader!.query('SELECT coalesce(max(n), 0) AS n FROM log');
          const now = Date.now();
          queries++;
          for (let k = seen + 1; k <= Number(n); k++) seenAt.set(k, now);
          seen = Math.max(seen, Number(n));
        } catch (err) {
          readerErrors.push((err as Error).message);
        }
        await sleep(READER_POLL_MS);
      }
    })();
    const firstCommit = watcher.commits.length;
    const { result: times } = await w.send<number[]>({ cmd: 'rate', tps: 20, seconds: lagSeconds });
    const last = n0 + times.length;
    await until('the reader to see the last row', 20_000, () => seen >= last).catch(() => undefined);
    stopReader = true;
    await loop;
    const lags: number[] = [];
    let unseen = 0;
    times.forEach((at, i) => {
      const s = seenAt.get(n0 + i + 1);
      if (s === undefined) unseen++;
      else lags.push(s - at);
    });
    lags.sort((a, b) => a - b);
    const cs = watcher.commits.slice(firstCommit);
    const cms = cs.map((c) => c.seconds * 1000).sort((a, b) => a - b);
    return {
      target: t.name, interval, samples: lags.length, unseen, p50: pct(lags, 0.5), p95: pct(lags, 0.95), max: lags[lags.length - 1], min: lags[0],
      commits: cs.length, commitsNotIncremental: cs.filter((c) => !c.incremental).length, commitMsP50: pct(cms, 0.5), commitMsMax: cms[cms.length - 1],
      bytesWrittenPerCommit: cs.reduce((a, c) => a + c.bytesWritten, 0) / Math.max(1, cs.length), readerQueries: queries,
      readerErrors: [...new Set(readerErrors)], watcherStderr: watcher.stderr,
    };
  } finally {
    stopReader = true;
    await reader?.close().catch(() => undefined);
    await watcher?.stop();
    await w.quit();
  }
}

// ---- part storage: bucket size after many one-row commits -------------------------------

interface BucketMeasure {
  packs: { files: number; bytes: number };
  manifests: { files: number; bytes: number };
  head: number;
  other: { files: number; bytes: number };
  total: number;
  ratio: number;
  openBytes: number;
  rootInline: boolean;
  seq: number;
  runs: number;
  rootPacks: number;
  maxPacksPerLeaf: number;
  blocksPerLeaf: number;
}

function walk(dir: string): { rel: string; size: number }[] {
  const out: { rel: string; size: number }[] = [];
  const go = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) go(p);
      else out.push({ rel: path.relative(dir, p), size: statSync(p).size });
    }
  };
  go(dir);
  return out;
}

function measureBucket(dir: string, dbSize: number): BucketMeasure {
  const m = { packs: { files: 0, bytes: 0 }, manifests: { files: 0, bytes: 0 }, head: 0, other: { files: 0, bytes: 0 } };
  for (const f of walk(dir)) {
    const top = f.rel.split(path.sep)[0];
    if (f.rel === 'HEAD') m.head = f.size;
    else if (top === 'packs') { m.packs.files++; m.packs.bytes += f.size; }
    else if (top === 'manifests') { m.manifests.files++; m.manifests.bytes += f.size; }
    else { m.other.files++; m.other.bytes += f.size; }
  }
  const head = decodeHead(readFileSync(path.join(dir, 'HEAD')));
  const rootBytes = head.inline ?? readFileSync(path.join(dir, manifestKey(head.root)));
  const root = decodeRoot(rootBytes);
  const n = blockCount(root.dbSize, root.blockSize);
  let maxPacksPerLeaf = 0;
  for (let first = 0; first < n; first += root.blocksPerLeaf) {
    const packs = new Set<string>();
    for (let i = first; i < Math.min(n, first + root.blocksPerLeaf); i++) packs.add(locateBlock(root, i).pack);
    maxPacksPerLeaf = Math.max(maxPacksPerLeaf, packs.size);
  }
  const total = m.packs.bytes + m.manifests.bytes + m.head + m.other.bytes;
  return {
    ...m, total, ratio: total / dbSize, openBytes: m.head + (head.inline ? 0 : rootBytes.length), rootInline: !!head.inline, seq: head.seq,
    runs: root.runs.length, rootPacks: runPacks(root.runs).length, maxPacksPerLeaf, blocksPerLeaf: root.blocksPerLeaf,
  };
}

/** A seeded generator and a vocabulary of made-up words: text that is not tuned to anything. */
function textGen(seed: number) {
  let s = seed >>> 0;
  const rnd = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32; };
  const syl = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'or', 'pi', 'dun', 'e', 'ash', 'qui', 'mor', 'tan', 'lis', 'bro', 'gen', 'ux', 'ha'];
  const vocab = Array.from({ length: 8000 }, () => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => syl[Math.floor(rnd() * syl.length)]).join(''));
  // Zipf-ish: low indices far more often.
  const word = () => vocab[Math.floor(vocab.length * rnd() ** 3)];
  const words = (lo: number, hi: number) => Array.from({ length: lo + Math.floor(rnd() * (hi - lo)) }, word).join(' ');
  return { rnd, words };
}

function makeStorageDb(file: string, mb: number): void {
  for (const f of [file, `${file}-journal`]) rmSync(f, { force: true });
  const d = new Database(file);
  d.exec('CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, score REAL); CREATE INDEX docs_title ON docs(title)');
  const g = textGen(42);
  const ins = d.prepare('INSERT INTO docs(title, body, score) VALUES (?, ?, ?)');
  const batch = d.transaction((n: number) => { for (let i = 0; i < n; i++) ins.run(g.words(2, 6), g.words(40, 120), g.rnd()); });
  while (statSync(file).size < mb * 1e6) batch(5000);
  d.close();
}

async function gcCli(dir: string, extra: string[]): Promise<{ seconds: number; out: unknown }> {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [CLI, 'gc', dir, '--keep', '1', '--grace', '0', '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return { seconds: (performance.now() - t0) / 1000, out: JSON.parse(out) };
}

async function partStorage(): Promise<void> {
  const out: Record<string, unknown> = {};
  for (const v of storageVariants) out[v] = await storageSeries(v);
  saveResults('storage', { variants: out });
}

/** One series: `default` uploads with default options, `off` with compactBudget 0 (compaction off). */
async function storageSeries(variant: string): Promise<unknown> {
  const uploadOpts = variant === 'off' ? { compactBudget: 0 } : {};
  const dir = path.join(WORK, `storage-${variant}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = path.join(dir, 'app.db');
  const bucket = path.join(dir, 'bucket');
  makeStorageDb(db, storageMb);
  const gcHelp = execFileSync(process.execPath, [CLI, 'gc', '--help']).toString();
  const gcCompact = /--compact\b/.test(gcHelp);
  const store = new LocalDirStore(bucket);
  const first = await upload(db, store, uploadOpts);
  const d = new Database(db);
  const nRows = (d.prepare('SELECT count(*) AS c FROM docs').get() as { c: number }).c;
  const g = textGen(7);
  const up = d.prepare('UPDATE docs SET title = ?, body = ?, score = ? WHERE id = ?');
  const series: { n: number; seconds: number; bytesWritten: number; blocksNew: number; blocksRewritten: number; repacked: boolean; runs: number; incremental: boolean }[] = [];
  const rows: (string | number)[][] = [];
  const snapshots: unknown[] = [];
  const row = (label: string, n: number, m: BucketMeasure, dbSize: number) => rows.push([
    n, label, fmt(m.ratio, 3), fmt(m.total / MiB, 1), fmt(dbSize / MiB, 1), fmt(m.packs.bytes / MiB, 1), m.packs.files, fmt(m.manifests.bytes / MiB, 2), m.manifests.files, m.head,
    m.rootInline ? 'yes' : `no (+${m.openBytes - m.head} B root)`, m.runs, m.rootPacks, m.maxPacksPerLeaf,
  ]);
  const t0 = performance.now();
  for (let k = 1; k <= storageCommits; k++) {
    up.run(g.words(2, 6), g.words(40, 120), g.rnd(), 1 + Math.floor(g.rnd() * nRows));
    const r = await upload(db, store, uploadOpts);
    series.push({ n: k, seconds: r.seconds, bytesWritten: r.bytesWritten, blocksNew: r.blocksNew, blocksRewritten: r.blocksRewritten ?? 0, repacked: r.repacked, runs: r.runs, incremental: r.incremental });
    if (!storageAt.includes(k)) continue;
    const dbSize = statSync(db).size;
    const before = measureBucket(bucket, dbSize);
    row('before gc', k, before, dbSize);
    const snap: Record<string, unknown> = { commits: k, dbSize, beforeGc: before };
    // gc on a copy, so the series of commits goes on from an untouched bucket.
    const copy = path.join(dir, `bucket-${k}-gc`);
    rmSync(copy, { recursive: true, force: true });
    cpSync(bucket, copy, { recursive: true });
    const gcr = await gcCli(copy, []);
    const after = measureBucket(copy, dbSize);
    row('after gc --keep 1 --grace 0', k, after, dbSize);
    Object.assign(snap, { afterGc: after, gc: gcr });
    rmSync(copy, { recursive: true, force: true });
    if (gcCompact) {
      cpSync(bucket, copy, { recursive: true });
      const gcc = await gcCli(copy, ['--compact']);
      const afterC = measureBucket(copy, dbSize);
      row('after gc --compact --keep 1 --grace 0', k, afterC, dbSize);
      Object.assign(snap, { afterGcCompact: afterC, gcCompact: gcc });
      rmSync(copy, { recursive: true, force: true });
    }
    snapshots.push(snap);
    console.error(`storage: ${k} commits measured`);
  }
  const seconds = (performance.now() - t0) / 1000;
  d.close();
  const sum = (f: (s: (typeof series)[number]) => number) => series.reduce((a, s) => a + f(s), 0);
  console.log(`\n## Storage (${variant === 'off' ? 'compaction off: compactBudget 0' : 'default upload options'}): a ${fmt(statSync(db).size / 1e6)} MB database (table docs + an index on title, ${nRows} rows), ${storageCommits} one-row updates (title, body, score of a random row), each published with upload() to a local directory\n`);
  console.log(table(['commits', 'bucket', 'bucket ÷ db', 'bucket MiB', 'db MiB', 'packs MiB', 'pack files', 'manifests MiB', 'manifest files', 'HEAD bytes', 'root inline in HEAD', 'runs', 'packs in root', 'max packs per leaf'], rows));
  console.log(`\nuploads: ${series.length} in ${seconds.toFixed(0)} s; written ${(sum((s) => s.bytesWritten) / MiB).toFixed(1)} MiB in all (${(sum((s) => s.bytesWritten) / series.length / 1024).toFixed(0)} KiB per commit); ` +
    `${sum((s) => s.blocksNew)} new blocks, ${sum((s) => s.blocksRewritten)} blocks rewritten (compaction), ${series.filter((s) => s.repacked).length} full repacks; ` +
    `gc --compact ${gcCompact ? 'available' : 'not available (gc --help has no --compact)'}`);
  return {
    conditions: { dbMb: storageMb, commits: storageCommits, measureAt: storageAt, publish: `upload() API, options ${JSON.stringify(uploadOpts)}`, gc: 'CLI gc --keep 1 --grace 0 on a copy of the bucket', gcCompactAvailable: gcCompact },
    firstUpload: { seconds: first.seconds, bytesWritten: first.bytesWritten, packsWritten: first.packsWritten }, rows: nRows, seconds, snapshots, series,
  };
}

// ---- main -------------------------------------------------------------------------------

mkdirSync(WORK, { recursive: true });
console.log(`# bucketlite checkpoint bench: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGiB} GiB RAM, Node ${machine.node}; ${machine.note}`);
for (const part of parts) {
  const f = { io: partIo, lag: partLag, storage: partStorage }[part];
  if (!f) throw new Error(`unknown part ${part} (io, lag, storage)`);
  try {
    await f();
  } catch (err) {
    console.log(`\npart ${part} failed: ${(err as Error).stack ?? err}`);
    saveResults(part, { error: String(err) });
  }
}
process.exit(0);
