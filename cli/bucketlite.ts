#!/usr/bin/env node
/**
 * The bucketlite command line. Each command is a thin shell over src/: parse options,
 * call the operation, print a human summary or `--json`, and exit with a code from
 * EXIT (documented in the README).
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Command, InvalidArgumentError } from 'commander';
import { BucketliteError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { openStore } from '../src/storage/open.js';
import { S3Store } from '../src/storage/s3.js';
import { GcsStore } from '../src/storage/gcs.js';
import { upload } from '../src/upload/upload.js';
import type { UploadProgress } from '../src/upload/upload.js';
import { restore } from '../src/ops/restore.js';
import { verify } from '../src/ops/verify.js';
import { gc, parseDuration, DEFAULT_KEEP } from '../src/ops/gc.js';
import { info, log } from '../src/ops/info.js';
import { serveDirectory } from '../src/serve/server.js';
import { openDatabase, readerStore } from '../src/node/open.js';
import { parseVersionPin } from '../src/bucket/versions.js';
import { checkpointOnce, watch, watchIntervalMs } from '../src/checkpoint/checkpoint.js';
import type { CheckpointResult } from '../src/checkpoint/checkpoint.js';
import type { BucketDatabase, Row, SqlValue } from '../src/database.js';
import { buildSite } from '../src/site/build.js';
import { runSearch, SEARCH_READ_OPTIONS, unsearchable } from '../src/site/query.js';
import type { SearchResult } from '../src/site/query.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  conflict: 3,
  refused: 4,
  damaged: 5,
  notFound: 6,
} as const;

const EXIT_BY_CODE: Partial<Record<ErrorCode, number>> = {
  ERR_USAGE: EXIT.usage,
  ERR_CONFLICT: EXIT.conflict,
  ERR_NOT_SQLITE: EXIT.refused,
  ERR_LIVE_DATABASE: EXIT.refused,
  ERR_FILE_CHANGED: EXIT.refused,
  ERR_BAD_HEAD: EXIT.damaged,
  ERR_BAD_MANIFEST: EXIT.damaged,
  ERR_HASH_MISMATCH: EXIT.damaged,
  ERR_DAMAGED: EXIT.damaged,
  ERR_UNSUPPORTED_VERSION: EXIT.damaged,
  ERR_NOT_FOUND: EXIT.notFound,
  ERR_VERSION_COLLECTED: EXIT.notFound,
};

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Bytes in the largest unit that keeps the number at least 1 (B, KiB, MiB, GiB, TiB). */
function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function intOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `${name} must be an integer ≥ ${min}` : `${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function urlOption(name: string) {
  return (v: string): string => {
    if (!/^https?:\/\//i.test(v) || !URL.canParse(v)) throw new InvalidArgumentError(`${name} must be an http:// or https:// URL`);
    return v;
  };
}

/** Credentials in a URL are never printed, not even in an error about the URL. */
const redact = (target: string) => target.replace(/\/\/[^/?#]*@/, '//***@');

/** Readers take http(s) URLs; one that does not parse is a usage error, not a crash in the store. */
function checkUrlTarget(target: string): void {
  if (/^https?:/i.test(target) && !URL.canParse(target)) throw new BucketliteError('ERR_USAGE', `not a valid URL: ${redact(target)}`);
}

/** Commands that only read take what `query` takes, http(s):// URLs included. */
function readStore(target: string) {
  checkUrlTarget(target);
  return readerStore(target);
}

/** The disk cache cannot report an unusable directory as such, so check it before the query starts. */
function prepareCacheDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (cause) {
    const notDir = ['EEXIST', 'ENOTDIR'].includes((cause as NodeJS.ErrnoException).code ?? '');
    throw new BucketliteError(notDir ? 'ERR_USAGE' : 'ERR_IO', `--cache-dir ${dir} is not ${notDir ? 'a directory' : 'a writable directory'}`, { op: 'cache-dir', path: dir, cause });
  }
}

/**
 * Restoring onto a directory would fail only at the final rename, after every block was
 * fetched; onto an existing file it would replace it, maybe the very database a user
 * meant to keep: that takes --force.
 */
function checkRestoreOutput(out: string, force: boolean): void {
  const st = statSync(out, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new BucketliteError('ERR_USAGE', `restore: ${out} is a directory; give the path of the file to write`);
  if (st && !force) throw new BucketliteError('ERR_USAGE', `restore: ${out} exists; add --force to replace it (the version is written beside it, then renamed over it)`);
}

/**
 * proper-lockfile (local targets) loads signal-exit, which turns SIGINT, SIGTERM and
 * SIGHUP into JavaScript handlers. A JavaScript handler never runs while SQLite (wasm)
 * computes on this thread, so Ctrl-C could not stop a long query. `query` takes no
 * locks: give those signals back their default action.
 */
async function defaultSignals(): Promise<void> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const reraise = (sig: NodeJS.Signals) => {
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  };
  for (const sig of signals) {
    process.on(sig, reraise); // first, so the listener count never drops to 0 here
    for (const l of process.listeners(sig)) if (l !== reraise) process.removeListener(sig, l);
  }
  // Dropping the last listener discards a signal caught but not yet dispatched. Each
  // turn of the event loop dispatches caught signals; after two full turns, and before
  // SQLite can start computing, no such signal is left: step aside.
  await new Promise(setImmediate);
  await new Promise(setImmediate);
  for (const sig of signals) process.removeListener(sig, reraise);
}

function sizeOption(name: string) {
  return (v: string): number => {
    const m = /^(\d+)\s*([kKmMgG]i?[bB]?)?$/.exec(v);
    if (!m) throw new InvalidArgumentError(`${name} must be a size like 65536, 64K, 16M`);
    const unit = { k: 1024, m: 1 << 20, g: 1 << 30 }[(m[2] ?? '')[0]?.toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
    return Number(m[1]) * unit;
  };
}

/** Warnings go to stderr, with --json too (where they are also in the JSON). */
function warn(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`bucketlite: warning: ${w}\n`);
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}

/** Progress on a TTY only: one rewritten line on stderr, at most 5 times a second. */
function progressReporter(enabled: boolean) {
  if (!enabled) return { update: undefined, done: () => undefined };
  const t0 = Date.now();
  let last = 0;
  return {
    update: (p: UploadProgress) => {
      if (p.phase === 'wait-gc') { process.stderr.write('\r\x1b[Kwaiting for a gc on the target to finish (its fence is on HEAD)'); return; }
      const now = Date.now();
      if (now - last < 200 && p.bytesHashed < p.bytesTotal) return;
      last = now;
      const rate = p.bytesHashed / Math.max(0.001, (now - t0) / 1000);
      const eta = rate > 0 ? Math.ceil((p.bytesTotal - p.bytesHashed) / rate) : 0;
      process.stderr.write(
        `\r\x1b[K${p.phase === 'commit' ? 'committing' : 'hashing'} ${mb(p.bytesHashed)} / ${mb(p.bytesTotal)} ` +
          `(${Math.floor((100 * p.bytesHashed) / Math.max(1, p.bytesTotal))}%), new blocks ${p.blocksNew}, uploaded ${mb(p.bytesUploaded)}, ETA ${eta}s`,
      );
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

/**
 * A --param value: null is NULL; a number written the way JavaScript writes it back
 * (42, -7, 3.5) is a number; a JSON string ("007") is that text; anything else is
 * text as given, so 007 and 1.50 stay text.
 */
const HELP_AFTER = `
Examples:
  bucketlite upload app.db ./bucket                 publish (again: only what changed)
  bucketlite upload app.db s3://my-bucket/app       to S3 (or R2, MinIO, Ceph with --endpoint)
  bucketlite checkpoint live.db gs://b/app --watch 2s   follow a database another process writes
  bucketlite query https://cdn.example.com/app/ "SELECT * FROM t WHERE id = ?" --param 42 --json
  bucketlite gc ./bucket --keep 10 --grace 24h      delete what no kept version references
  bucketlite site ./public ./public/search/         index a built site for search (again: only what changed)
  bucketlite search ./public/search/ "borrow checker" --json   rank as the browser's search box does
  bucketlite --version                              this bucketlite's version

Exit codes:
  0 success    1 failure (I/O, HTTP, SQL, or a bug)    2 usage    3 conflict (run again)
  4 input refused (not SQLite, live, changed, locked)    5 damaged    6 not found
With --json a failure also prints {"ok": false, "error": {"code", "message"}} on stdout.`;

/** The version in bucketlite's package.json (a self-reference: right from dist/cli and from the bundle in dist/node). */
function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('bucketlite/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function parseParam(v: string): SqlValue {
  if (v === 'null') return null;
  if (/^".*"$/s.test(v)) {
    try { return JSON.parse(v) as string; } catch { /* not JSON: the text as given */ }
  }
  const n = Number(v);
  return v.trim() !== '' && String(n) === v && Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n)) ? n : v;
}

function cell(v: SqlValue): string {
  if (v === null) return '';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

function jsonRow(r: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[k] = v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? v.toString() : v;
  return out;
}

function toCsv(rows: Row[]): string {
  if (!rows.length) return '';
  // NULL is an empty cell; an empty string is "" (RFC 4180 quoting), so the two differ.
  const q = (s: string) => (s === '' || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cols = Object.keys(rows[0]);
  return [cols.map(q).join(','), ...rows.map((r) => cols.map((c) => (r[c] === null ? '' : q(cell(r[c])))).join(','))].join('\r\n') + '\r\n';
}

function toText(rows: Row[]): string {
  if (!rows.length) return '';
  const cols = Object.keys(rows[0]);
  return [cols.join('\t'), ...rows.map((r) => cols.map((c) => cell(r[c])).join('\t'))].join('\n') + '\n';
}

/** Searching some other database would fail on a missing table: say what the target is instead. */
async function checkSiteIndex(db: BucketDatabase, target: string): Promise<void> {
  const [row] = await db.query<{ user_version: number }>('PRAGMA user_version');
  const why = unsearchable(Number(row?.user_version ?? 0), redact(target));
  if (why) throw new BucketliteError('ERR_USAGE', why);
}

/** Search results for a terminal: rank, title, URL, the excerpt with its matches in bold (plain when piped). */
function searchText(results: SearchResult[], words: string): string {
  if (results.length === 0) return `no results for "${words}"\n`;
  const tty = process.stdout.isTTY;
  const plain = (html: string) => html
    .replace(/<mark>/g, tty ? '\x1b[1m' : '').replace(/<\/mark>/g, tty ? '\x1b[22m' : '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return results.map((r, i) => [
    `${i + 1}. ${r.title || r.url}  (${r.score})`, `   ${r.url}`, `   ${plain(r.excerpt)}`,
    ...r.sub.map((s) => `     - ${s.title}  ${s.url}`),
  ].join('\n')).join('\n') + '\n';
}

const WRITE_TARGET = 'bucket: directory path, file:// URL, s3://bucket/prefix or gs://bucket/prefix';
const READ_TARGET = 'bucket: directory path, or a file://, http(s)://, s3:// or gs:// URL (s3://bucket/prefix)';

/** The options upload and checkpoint share: how a version is laid out and written. */
function withLayoutOptions(cmd: Command): Command {
  return cmd
    .option('--block-size <bytes>', 'block size, a power of two ≥ the page size (default 16K)', sizeOption('--block-size'))
    .option('--pack-size <bytes>', 'target pack object size (default 16M; larger above 4G, for 256 packs or fewer)', sizeOption('--pack-size'))
    .option('--hot-budget <bytes>', 'maximum bytes of pages embedded in the root for readers (default: what keeps HEAD under 64K)', sizeOption('--hot-budget'))
    .option('--concurrency <n>', 'pack uploads in flight', intOption('--concurrency', 1), 4)
    .option('--compact-budget <bytes>', 'unchanged bytes a commit may write again to keep the bucket and the root small (default 4M; 0: off)', sizeOption('--compact-budget'));
}

function layoutOptions(o: Record<string, unknown>) {
  return { blockSize: o.blockSize, packSize: o.packSize, hotBudget: o.hotBudget, concurrency: o.concurrency, compactBudget: o.compactBudget } as
    { blockSize?: number; packSize?: number; hotBudget?: number; concurrency?: number; compactBudget?: number };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('bucketlite')
    .description('Publish a SQLite database to a bucket as content-addressed blocks and a manifest; read it from anywhere.\n' +
      'Targets: a local directory path or file:// URL, s3://bucket/prefix, gs://bucket/prefix; readers also take http(s):// URLs.')
    .option('--endpoint <url>', 'S3-compatible endpoint for s3:// targets (R2, MinIO, Ceph); also AWS_ENDPOINT_URL', urlOption('--endpoint'))
    .addHelpText('after', HELP_AFTER)
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', (cmd) => {
      const endpoint = cmd.opts().endpoint as string | undefined;
      if (endpoint) process.env.AWS_ENDPOINT_URL = endpoint;
    });

  withLayoutOptions(program.command('upload')
    .description('publish <db-file> as a new version of <target>; only blocks the bucket lacks are written')
    .argument('<db-file>', 'SQLite database file (not live: `checkpoint` publishes a live one)')
    .argument('<target>', WRITE_TARGET))
    .option('--dry-run', 'report what would be written; write nothing')
    .option('--json', 'print a JSON summary')
    .action(async (dbFile: string, target: string, o) => {
      const progress = progressReporter(process.stderr.isTTY && !o.json);
      const r = await upload(dbFile, openStore(target), { ...layoutOptions(o), dryRun: !!o.dryRun, onProgress: progress.update }).finally(progress.done);
      print(!!o.json, r, () => {
        const head = r.unchanged ? `unchanged: the bucket already holds this database as version ${r.seq}`
          : r.dryRun ? `dry run: would commit version ${r.seq}`
          : `committed version ${r.seq} (${r.manifest.slice(0, 12)})`;
        return `${head}\n  blocks: ${r.blocksTotal} total, ${r.blocksNew} new (${mb(r.bytesNew)})${r.blocksRewritten ? `, ${r.blocksRewritten} written again (compaction)` : ''}\n` +
          `  ${r.dryRun ? 'would write' : 'wrote'}: ${r.objectsWritten} objects, ${mb(r.bytesWritten)} (${r.packsWritten} packs)\n` +
          `  embedded pages: ${r.hotPages}; run table: ${r.runs} runs${r.repacked ? ' (every block rewritten to keep it small)' : ''}\n  time: ${r.seconds.toFixed(2)} s`;
      });
      warn(r.warnings);
    });

  withLayoutOptions(program.command('checkpoint')
    .description('publish a live database (WAL or rollback journal) consistently, once or with --watch whenever it changes')
    .argument('<db-file>', 'SQLite database file another process may be writing')
    .argument('<target>', WRITE_TARGET))
    .option('--watch [interval]', 'keep running; publish at most once per interval after each change (default 5s)')
    .option('--debounce <ms>', 'quiet time after a change before publishing', intOption('--debounce', 0), 250)
    .option('--busy-timeout <ms>', 'how long to wait for a lock held by the writer', intOption('--busy-timeout', 0), 5000)
    .option('--verify-incremental', 'also hash every block and fail if WAL-guided hashing missed a change (slow; for testing)')
    .option('--json', 'print one JSON line per commit')
    .action(async (dbFile: string, target: string, o) => {
      const store = openStore(target);
      const base = { ...layoutOptions(o), busyTimeoutMs: o.busyTimeout, verifyIncremental: !!o.verifyIncremental };
      const warned = new Set<string>();
      const report = (r: CheckpointResult) => {
        warn(r.warnings.filter((w) => !warned.has(w)));
        for (const w of r.warnings) warned.add(w);
        reportCommit(r);
      };
      const reportCommit = (r: CheckpointResult) => process.stdout.write((o.json
        ? JSON.stringify({ ...r, keysWritten: undefined })
        : r.unchanged ? `unchanged (version ${r.seq})`
        : `committed version ${r.seq}: ${r.blocksNew} new blocks, ${r.objectsWritten} objects, ${mb(r.bytesWritten)}` +
          `${r.incremental ? `, ${r.blocksTotal - r.blocksReused} of ${r.blocksTotal} blocks read (WAL)` : ''}` +
          `${r.blocksRewritten ? `, ${r.blocksRewritten} compacted` : ''}, ${r.seconds.toFixed(2)} s`) + '\n');
      if (o.watch === undefined) {
        report(await checkpointOnce(dbFile, store, base));
        return;
      }
      const ac = new AbortController();
      // Ctrl-C / SIGTERM: finish the commit in progress (it is atomic), then exit 0.
      // `on`, not `once`: signal-exit (loaded with the first lock) re-raises a signal
      // when its own handlers are the only ones left, which `once` would make true.
      const stop = () => ac.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      await watch(dbFile, store, {
        ...base, intervalMs: watchIntervalMs(o.watch), debounceMs: o.debounce, signal: ac.signal,
        onCommit: (r) => { if (!r.unchanged) report(r); },
        onError: (err, attempt, ms) => process.stderr.write(`bucketlite: checkpoint failed (attempt ${attempt}), retrying in ${Math.round(ms)} ms: ${(err as Error).message}\n`),
      });
    });

  program.command('log')
    .description('list the versions of <target>, newest first')
    .argument('<target>', READ_TARGET)
    .option('-n, --limit <n>', 'show at most n versions', intOption('--limit', 1))
    .option('--json', 'print JSON')
    .action(async (target: string, o) => {
      const entries = await log(readStore(target), { limit: o.limit });
      const oldest = entries[entries.length - 1];
      // The walk stopped before version 1 without --limit cutting it short: gc collected the rest.
      const collected = oldest?.parent && !(o.limit && entries.length >= o.limit);
      print(!!o.json, entries, () => [
        `${'seq'.padStart(6)}  ${'created (UTC)'.padEnd(24)}  ${'db size'.padStart(10)}  ${'changed'.padEnd(26)}  manifest`,
        ...entries.map((e) =>
          `${String(e.seq).padStart(6)}  ${e.created.padEnd(24)}  ${humanBytes(e.dbSize).padStart(10)}  ` +
          `${`+${e.newBlocks} block${e.newBlocks === 1 ? '' : 's'}, ${humanBytes(e.newBytes)}`.padEnd(26)}  ${e.manifest.slice(0, 12)}${e.isCurrent ? '  (current)' : ''}`),
        ...(collected ? [`versions before ${oldest.seq} were collected by gc`] : []),
      ].join('\n'));
    });

  program.command('info')
    .description('describe a version of <target> (default: the current one)')
    .argument('<target>', READ_TARGET)
    .option('--version <v>', 'version number or manifest hash prefix')
    .option('--json', 'print JSON')
    .action(async (target: string, o) => {
      const i = await info(readStore(target), { version: o.version });
      print(!!o.json, i, () => Object.entries(i).map(([k, v]) => `${k.padEnd(16)} ${v}`).join('\n'));
    });

  program.command('verify')
    .description('check that every object of <target> is present and every hash is right')
    .argument('<target>', READ_TARGET)
    .option('--all', 'check every version in the history, not only the current one')
    .option('--json', 'print JSON')
    .action(async (target: string, o) => {
      const r = await verify(readStore(target), { all: !!o.all });
      print(!!o.json, r, () => (r.ok
        ? `ok: version(s) ${r.versionsChecked.join(', ')}: ${r.manifestObjects} manifest objects, ${r.packs} packs, ${r.blocks} blocks, ${mb(r.bytesRead)} read`
        : `DAMAGED: ${r.problems.length} problem(s)\n` + r.problems.map((p) => `  ${p.key}: ${p.problem}`).join('\n')));
      if (!r.ok) process.exitCode = EXIT.damaged;
    });

  program.command('restore')
    .description('write a version of <target> to <out-file>, byte-identical to what was uploaded')
    .argument('<target>', READ_TARGET)
    .argument('<out-file>')
    .option('--version <v>', 'version number or manifest hash prefix')
    .option('--force', 'replace <out-file> if it exists')
    .option('--json', 'print JSON')
    .action(async (target: string, out: string, o) => {
      checkRestoreOutput(out, !!o.force);
      const r = await restore(readStore(target), out, { version: o.version });
      print(!!o.json, r, () => `restored version ${r.seq} to ${r.path} (${mb(r.bytes)}, ${r.requests} reads, ${r.seconds.toFixed(2)} s)`);
    });

  program.command('gc')
    .description('delete objects no kept version references')
    .argument('<target>', WRITE_TARGET)
    .option('--keep <n>', 'keep the newest n versions', intOption('--keep', 1), DEFAULT_KEEP)
    .option('--grace <duration>', 'keep versions superseded and objects written less than this long ago (e.g. 24h, 15m, 0)', '24h')
    .option('--dry-run', 'report what would be deleted; delete nothing')
    .option('--json', 'print JSON')
    .action(async (target: string, o) => {
      const r = await gc(openStore(target), { keep: o.keep, graceMs: parseDuration(o.grace), dryRun: !!o.dryRun });
      print(!!o.json, r, () =>
        `${r.dryRun ? 'would delete' : 'deleted'} ${r.deleted.length} objects (${mb(r.bytesFreed)}); ` +
        `kept versions ${r.versionsKept.join(', ')}; ${r.keptYoung} unreferenced objects younger than the grace period kept`);
    });

  program.command('query')
    .description('run SQL against <target> without downloading it')
    .argument('<target>', READ_TARGET)
    .argument('<sql>', 'one SQL statement; its parameters (? or :name) are bound in order from --param')
    .option('--param <value>', 'bind the next ? parameter, repeatable: null is NULL, 42 or 3.5 a number, \'"42"\' (JSON) the text 42, anything else text (007 stays text)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'print rows as a JSON array')
    .option('--csv', 'print rows as CSV')
    .option('--stats', 'print requests, bytes, round trips and cache hits to stderr')
    .option('--cache-dir <dir>', 'persistent block cache directory')
    .option('--version <v>', 'read an older version gc kept: its number, or 8+ hex digits of its manifest hash (see `log`)')
    .option('--at <time>', 'read the version that was current at an ISO 8601 time, e.g. 2024-05-01T12:00:00Z (local time without an offset)')
    .action(async (target: string, sql: string, o) => {
      await defaultSignals();
      if (!sql.trim()) throw new BucketliteError('ERR_USAGE', 'query: the SQL is empty');
      checkUrlTarget(target);
      // Malformed --version / --at: a usage error before any request.
      parseVersionPin({ version: o.version, at: o.at }, { version: '--version', at: '--at' });
      if (o.cacheDir) prepareCacheDir(o.cacheDir);
      const db = await openDatabase(target, { cacheDir: o.cacheDir, version: o.version, at: o.at });
      try {
        const params = (o.param as string[]).map(parseParam);
        const rows = await db.query(sql, params.length ? params : undefined);
        process.stdout.write(o.json ? JSON.stringify(rows.map(jsonRow), null, 2) + '\n' : o.csv ? toCsv(rows) : toText(rows));
        if (o.stats) {
          const { total, lastQuery } = db.stats();
          process.stderr.write(`${JSON.stringify({ query: lastQuery, connection: { requests: total.requests, bytes: total.bytes, version: total.version } })}\n`);
        }
      } finally {
        await db.close();
      }
    });

  program.command('site')
    .description('index every built .html page of <site-dir> for search (FTS5) and publish the index to <target>; again: only what changed')
    .argument('<site-dir>', 'the built site (the directory a static host serves)')
    .argument('<target>', WRITE_TARGET)
    .option('--selector <css>', 'the content root of a page (default: [data-pagefind-body], main, [role=main], article, body)')
    .option('--rebuild', 'build the index from scratch instead of updating the published one')
    .option('--json', 'print a JSON summary')
    .action(async (siteDir: string, target: string, o) => {
      const r = await buildSite(siteDir, openStore(target), { selector: o.selector, rebuild: !!o.rebuild });
      print(!!o.json, r, () => {
        const u = r.upload;
        const what = u.unchanged ? `unchanged: the bucket already holds this index as version ${u.seq}` : `committed version ${u.seq} (${u.manifest.slice(0, 12)})`;
        return `${what}\n  pages: ${r.pages} indexed (${r.fresh ? 'fresh build' : `${r.added} added, ${r.changed} changed, ${r.removed} removed`}), ${r.skipped} skipped (noindex, redirects, no content)\n` +
          `  index: ${humanBytes(r.dbBytes)}; wrote ${u.objectsWritten} objects, ${humanBytes(u.bytesWritten)}\n  time: ${r.seconds.toFixed(2)} s`;
      });
    });

  program.command('search')
    .description('search a site index (built by `site`) ranked exactly as the browser ranks it')
    .argument('<target>', 'the index: directory, file://, http(s)://, s3:// or gs:// URL')
    .argument('<words>', 'what a user would type')
    .option('--limit <n>', 'pages to return', intOption('--limit', 1, 100), 10)
    .option('--json', 'print [{url, title, excerpt, score, sub: [{url, title, excerpt}]}]')
    .action(async (target: string, words: string, o) => {
      await defaultSignals();
      if (!/[\p{L}\p{N}]/u.test(words)) throw new BucketliteError('ERR_USAGE', 'search: give the words to search for (letters or digits)');
      checkUrlTarget(target);
      const db = await openDatabase(target, SEARCH_READ_OPTIONS);
      try {
        await checkSiteIndex(db, target);
        const results = await runSearch(db, words, { limit: o.limit });
        process.stdout.write(o.json ? JSON.stringify(results, null, 2) + '\n' : searchText(results, words));
      } finally {
        await db.close();
      }
    });

  program.command('cors')
    .description('allow browsers at --origin to read <target> (GET and HEAD with Range; exposes Content-Range, Content-Length, ETag)')
    .argument('<target>', 's3://bucket/prefix or gs://bucket/prefix')
    .requiredOption('--origin <origin...>', 'allowed origin(s), e.g. https://example.com, or *')
    .action(async (target: string, o) => {
      const store = openStore(target);
      if (!(store instanceof S3Store) && !(store instanceof GcsStore)) {
        throw new BucketliteError('ERR_USAGE', 'cors applies to s3:// and gs:// targets (a local directory served by `bucketlite serve` already sends CORS headers)');
      }
      await store.setCors(o.origin);
      process.stdout.write(`CORS set on ${store.name}: ${o.origin.join(', ')}\n`);
    });

  program.command('serve')
    .description('serve a bucket directory over HTTP with Range, ETag, CORS and cache headers')
    .argument('<dir>')
    .option('--port <n>', 'port (default: a free one)', intOption('--port', 0, 65535), 0)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action(async (dir: string, o) => {
      const s = await serveDirectory(dir, { port: o.port, host: o.host });
      process.stdout.write(`serving ${dir} at ${s.url}\n`);
      const stop = () => { void s.close().then(() => process.exit(0)); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // The AWS SDK warns on Node 20 that releases after January 2027 will need Node 22; the
  // version bucketlite pins runs on 20 (engines), so a CLI user has nothing to act on.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Only as the first word: `info --version 3` is the version of a bucket, not of bucketlite.
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander has printed the error and the usage on stderr already.
      if (argv.includes('--json')) printJsonError('ERR_USAGE', String(e.message).replace(/^error: /, ''));
      return EXIT.usage;
    }
    return reportFailure(err, argv.includes('--json'));
  }
}

/** Not in src/errors.ts: a failure nothing classified, i.e. a bug. */

interface Failure {
  code: ErrorCode;
  message: string;
  exit: number;
}

/** Every failure as `code: message` and an exit code from the README table; a stack only with BUCKETLITE_DEBUG=1. */
function reportFailure(err: unknown, json: boolean): number {
  const f = classify(err);
  process.stderr.write(`bucketlite: ${f.code}: ${f.message}\n`);
  if (process.env.BUCKETLITE_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (json) printJsonError(f.code, f.message);
  return f.exit;
}

function printJsonError(code: ErrorCode, message: string): void {
  process.stdout.write(JSON.stringify({ ok: false, error: { code, message } }) + '\n');
}

function classify(err: unknown): Failure {
  if (err instanceof BucketliteError) return { code: err.code, message: err.message, exit: EXIT_BY_CODE[err.code] ?? EXIT.failure };
  const e = err as NodeJS.ErrnoException | undefined;
  // The input of an invalid URL may hold credentials: not repeated.
  if (e?.code === 'ERR_INVALID_URL') return { code: 'ERR_USAGE', message: 'not a valid URL', exit: EXIT.usage };
  // A system error from a file operation: its message names the call and the path.
  if (typeof e?.syscall === 'string') {
    return e.code === 'ENOENT' ? { code: 'ERR_NOT_FOUND', message: e.message, exit: EXIT.notFound } : { code: 'ERR_IO', message: e.message, exit: EXIT.failure };
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { code: 'ERR_INTERNAL', message: `unexpected error (a bug in bucketlite; BUCKETLITE_DEBUG=1 shows where): ${message}`, exit: EXIT.failure };
}

/**
 * Output to a reader that went away (`| head`) is not a failure of ours: stop quietly
 * with success. Any other write error (a full disk) is reported, once, without a stack.
 */
function guardOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    if (stream !== process.stderr) process.stderr.write(`bucketlite: ERR_IO: cannot write the output: ${err.message}\n`);
    process.exit(EXIT.failure);
  });
}

/** Last line of defence: an error that escaped every handler ends the process with a message, never a stack. */
function guardProcess(): void {
  const fatal = (err: unknown) => process.exit(reportFailure(err, process.argv.includes('--json')));
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

guardOutput(process.stdout);
guardOutput(process.stderr);
guardProcess();
// A running `serve` keeps the process alive; the exit code applies when it ends.
process.exitCode = await main(process.argv.slice(2));
