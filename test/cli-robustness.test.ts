/**
 * Bad input to the real CLI: a clear message, the exit code of the README table, the
 * JSON error object with --json, and never a stack trace or a hang.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { StdioOptions } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeDb, tempDir } from './helpers.js';
import type { CliResult } from './helpers.js';

const dir = tempDir('bl-robust-');
const p = (name: string) => path.join(dir, name);
const STACK = /\n\s+at /;
const root = process.getuid?.() === 0;
let bucket: string;

beforeAll(async () => {
  chmodSync(dir, 0o755); // the unprivileged runs below must reach into it
  makeDb(p('app.db'), { rows: 200 });
  bucket = p('bucket');
  const up = await run(['upload', p('app.db'), bucket]);
  expect(up.code, up.stderr).toBe(0);
});

/** Exit code, a `bucketlite: ERR_…` or commander `error:` line, no stack; with --json the error object. */
function expectClean(r: CliResult, code: number, message: RegExp, errCode?: string): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).toMatch(/^(bucketlite: ERR_[A-Z_]+: |error: )/m);
  expect(r.stderr).toMatch(message);
  if (errCode) expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ ok: false, error: { code: errCode, message: expect.any(String) } });
}

describe('bad option values: usage errors (exit 2), JSON with --json', () => {
  const cases: [string[], RegExp][] = [
    [['serve', 'B', '--port', 'abc'], /--port must be an integer/],
    [['serve', 'B', '--port', '99999'], /--port must be an integer from 0 to 65535/],
    [['serve', 'B', '--port', '-1'], /--port/],
    [['upload', 'DB', 'p:nb', '--block-size', '3', '--json'], /--block-size must be a power of two/],
    [['upload', 'DB', 'p:nb', '--concurrency', '0', '--json'], /--concurrency must be an integer ≥ 1/],
    [['upload', 'DB', 'p:nb', '--pack-size', 'lots', '--json'], /--pack-size must be a size/],
    [['gc', 'B', '--keep', '-1', '--json'], /--keep must be an integer ≥ 1/],
    [['gc', 'B', '--grace', 'nonsense', '--json'], /not a duration: "nonsense"/],
    [['gc', 'B', '--grace', '-5h', '--json'], /not a duration/],
    [['log', 'B', '-n', '0', '--json'], /--limit must be an integer/],
    [['log', 'B', '--endpoint', 'not a url', '--json'], /--endpoint must be an http/],
    [['info', 'B', '--version', 'abc', '--json'], /--version wants a version number/],
    [['checkpoint', 'DB', 'p:nb', '--watch', 'soon', '--json'], /--watch wants an interval/],
    [['query', 'B', 'SELECT ?', '--param'], /--param <value>' argument missing/],
    [['query', 'B', 'SELECT ?', '--param', '1', '--param', '2', '--json'], /the statement takes 1 parameter\(s\), 2 given/],
    [['query', 'B', 'SELECT ?, ?', '--param', '1', '--json'], /the statement takes 2 parameter\(s\), 1 given/],
    [['query', 'B', 'SELECT 1', '--param', '1', '--json'], /1 parameter\(s\) given, but the SQL takes none/],
    [['query', 'B', '', '--json'], /the SQL is empty/],
    [['query', 'B', '  \n ', '--json'], /the SQL is empty/],
    [['query', 'http://[::1', 'SELECT 1', '--json'], /not a valid URL/],
    [['log', 'B', '--no-such-option', '--json'], /unknown option/],
    [['no-such-command', '--json'], /unknown command/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const real = args.map((a) => (a === 'B' ? bucket : a === 'DB' ? p('app.db') : a.startsWith('p:') ? p(a.slice(2)) : a));
      const r = await run(real);
      expectClean(r, 2, message, real.includes('--json') ? 'ERR_USAGE' : undefined);
    });
  }
});

describe('targets that are not what they should be', () => {
  it('a SQL syntax error is ERR_SQLITE (exit 1) naming the token', async () => {
    expectClean(await run(['query', bucket, 'SELEC 1', '--json']), 1, /near "SELEC": syntax error/, 'ERR_SQLITE');
  });

  it('a query on a missing bucket is ERR_NOT_FOUND (exit 6) with --json', async () => {
    expectClean(await run(['query', p('nowhere'), 'SELECT 1', '--json']), 6, /no HEAD/, 'ERR_NOT_FOUND');
  });

  it('an http:// URL that refuses connections is ERR_IO (exit 1) naming the refusal', async () => {
    const port = await closedPort();
    expectClean(await run(['query', `http://127.0.0.1:${port}/b/`, 'SELECT 1', '--json']), 1, /ECONNREFUSED/, 'ERR_IO');
  });

  it('credentials in a URL are never printed, valid URL or not', async () => {
    const port = await closedPort();
    for (const url of [`http://alice:s3cr3t-pw@127.0.0.1:${port}/b/`, 'http://alice:s3cr3t-pw@[::1/b/']) {
      const r = await run(['query', url, 'SELECT 1', '--json']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stdout + r.stderr).not.toContain('s3cr3t-pw');
    }
  });

  it('a file where a bucket directory belongs: a usage error that names it and, for a SQLite file, says to upload it first', async () => {
    for (const args of [['log', p('app.db')], ['query', p('app.db'), 'SELECT 1'], ['upload', p('app.db'), p('app.db')], ['verify', `file://${p('app.db')}`]]) {
      expectClean(await run([...args, '--json']), 2, /app\.db is a SQLite database file, not a bucket: publish it first \(bucketlite upload/, 'ERR_USAGE');
    }
    writeFileSync(p('notes.txt'), 'plain text\n');
    expectClean(await run(['info', p('notes.txt'), '--json']), 2, /notes\.txt is a file, not a bucket directory/, 'ERR_USAGE');
    expectClean(await run(['serve', p('app.db')]), 2, /not a directory.*app\.db/);
    expectClean(await run(['serve', p('no-such-dir')]), 6, /no such directory.*no-such-dir/);
    expectClean(await run(['restore', bucket, dir, '--json']), 2, /is a directory/, 'ERR_USAGE');
  });

  it('restore into a directory that does not exist is not found (exit 6), naming it and not a temporary file', async () => {
    const r = await run(['restore', bucket, p('missing/dir/out.db'), '--json']);
    expectClean(r, 6, /the directory .*missing\/dir does not exist; create it/, 'ERR_NOT_FOUND');
    expect(r.stderr).not.toMatch(/\.bucketlite-/);
  });

  it('restore onto an existing file refuses (exit 2) and leaves it as it was; --force replaces it', async () => {
    const keep = p('keep.db');
    writeFileSync(keep, 'my own data');
    expectClean(await run(['restore', bucket, keep, '--json']), 2, /keep\.db exists; add --force to replace it/, 'ERR_USAGE');
    expect(readFileSync(keep, 'utf8')).toBe('my own data');
    const forced = await run(['restore', bucket, keep, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(keep).equals(readFileSync(p('app.db')))).toBe(true);
  });

  it('search on a bucket that holds no site index says so (exit 2), not "no such table"', async () => {
    expectClean(await run(['search', bucket, 'hello', '--json']), 2, /holds a database that is not a site search index; build one with `bucketlite site/, 'ERR_USAGE');
  });

  it('upload to a read-only file system: ERR_IO (exit 1) naming the directory and the cause, not "not found"', async () => {
    const mnt = p('ro-mount');
    mkdirSync(mnt);
    // A private mount namespace: the read-only tmpfs exists for this one process only.
    // (Node's recursive mkdir reports ENOENT there; the store finds the real EROFS.)
    const ns = root ? ['unshare', '--mount'] : ['unshare', '--map-root-user', '--mount'];
    const r = await run(['upload', p('app.db'), path.join(mnt, 'bucket'), '--json'], [...ns, 'sh', '-c', `mount -t tmpfs -o ro tmpfs '${mnt}' && exec "$@"`, 'sh']);
    expectClean(r, 1, /read-only file system.*path=.*ro-mount\/bucket/, 'ERR_IO');
  });

  it('a --cache-dir that is a file is a usage error', async () => {
    expectClean(await run(['query', bucket, 'SELECT 1', '--cache-dir', p('app.db'), '--json']), 2, /--cache-dir .* is not a directory/, 'ERR_USAGE');
  });

  it('a HEAD of garbage, of the wrong shape, or too large is damage (exit 5), never a crash', async () => {
    const heads: [string, RegExp][] = [
      ['garbage{{{', /not UTF-8 JSON/],
      ['null', /not a JSON object/],
      ['{"format":"bucketlite","version":2,"seq":-1}', /"seq"/],
      ['\u0000'.repeat(100_000), /exceeds/],
    ];
    for (const [i, [head, message]] of heads.entries()) {
      const b = p(`garbage-${i}`);
      mkdirSync(b);
      writeFileSync(path.join(b, 'HEAD'), head);
      for (const args of [['log', b], ['query', b, 'SELECT 1'], ['upload', p('app.db'), b], ['gc', b, '--grace', '0']]) {
        expectClean(await run([...args, '--json']), 5, message, 'ERR_BAD_HEAD');
      }
    }
  });
});

describe('serve cannot listen', () => {
  it('a port in use is ERR_IO (exit 1) naming the port', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      expectClean(await run(['serve', bucket, '--port', String(port)]), 1, new RegExp(`cannot listen on 127\\.0\\.0\\.1 port ${port}.*EADDRINUSE`));
    } finally {
      busy.close();
    }
  });

  it('a host that does not resolve or is not ours is ERR_IO (exit 1)', async () => {
    expectClean(await run(['serve', bucket, '--host', 'no-such-host.invalid']), 1, /cannot listen on no-such-host\.invalid/);
    expectClean(await run(['serve', bucket, '--host', '192.0.2.1']), 1, /EADDRNOTAVAIL/);
  });
});

describe('permissions', () => {

  it('directories without permission: ERR_IO (exit 1) naming the refusal', async () => {
    const locked = p('locked');
    mkdirSync(locked);
    writeFileSync(path.join(locked, 'HEAD'), '{}');
    chmodSync(locked, 0o000);
    const readOnly = p('read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    try {
      // verify: a HEAD it cannot read is a failure to verify (1), not damage (5).
      for (const args of [['log', locked], ['query', locked, 'SELECT 1'], ['upload', p('app.db'), locked], ['verify', locked]]) {
        expectClean(await runUnprivileged([...args, '--json']), 1, /EACCES/, 'ERR_IO');
      }
      const ro = await runUnprivileged(['restore', bucket, path.join(readOnly, 'out.db'), '--json']);
      expectClean(ro, 1, /cannot write .*read-only\/out\.db: permission denied/, 'ERR_IO');
      expect(ro.stderr).not.toMatch(/\.bucketlite-/);
      expectClean(await runUnprivileged(['query', bucket, 'SELECT 1', '--cache-dir', path.join(readOnly, 'cache'), '--json']), 1, /--cache-dir .* is not a writable directory/, 'ERR_IO');
      expectClean(await runUnprivileged(['serve', locked]), 1, /cannot read the directory.*EACCES/);
    } finally {
      chmodSync(locked, 0o755);
    }
  });

  /**
   * Root ignores permissions: as root, run without the capabilities that let it
   * (util-linux setpriv), still as root, so the clone may sit anywhere (even in /root).
   */
  function runUnprivileged(args: string[]): Promise<CliResult> {
    return run(args, root ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--'] : []);
  }
});

describe('output that goes nowhere, and signals', () => {
  const many = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50000) SELECT x, printf(\'%040d\', x) AS pad FROM c';

  it('a reader that closes the pipe early (| head): exit 0, nothing on stderr', async () => {
    for (const extra of [[], ['--json'], ['--csv']]) {
      const r = await new Promise<CliResult>((resolve) => {
        const c = spawn(process.execPath, [CLI, 'query', bucket, many, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        c.stderr.on('data', (d) => (stderr += d));
        c.stdout.once('data', () => c.stdout.destroy());
        c.on('close', (code) => resolve({ code: code ?? -1, stdout: '', stderr }));
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    }
  });

  it('a full disk under stdout: ERR_IO (exit 1), no stack', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = await run(['log', bucket, '--json'], [], ['ignore', full, 'pipe']);
      expectClean(r, 1, /cannot write the output: ENOSPC/);
    } finally {
      closeSync(full);
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} stops a query that computes without I/O`, async () => {
      const endless = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
      const c = spawn(process.execPath, [CLI, 'query', bucket, endless], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      c.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<string>((resolve) => c.on('exit', (code, sig) => resolve(String(sig ?? code))));
      await new Promise((r) => setTimeout(r, 3000)); // well into the SQL (startup takes < 2 s even under load)
      c.kill(signal);
      const result = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]);
      c.kill('SIGKILL');
      expect(result).toBe(signal);
      expect(stderr).not.toMatch(STACK);
    });
  }
});

/** The built CLI; killed after 60 s, so a command that hangs (serve on a bad root did) fails instead of stalling the suite. */
function run(args: string[], prefix: string[] = [], stdio: StdioOptions = ['ignore', 'pipe', 'pipe']): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, process.execPath, CLI, ...args];
    const c = spawn(argv[0], argv.slice(1), { cwd: dir, stdio });
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    c.stdout?.on('data', (d) => (stdout += d));
    c.stderr?.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
