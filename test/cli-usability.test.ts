/**
 * What a user meets in the first hour (issue 15): --version, help with examples and exit
 * codes, --param that can bind text such as 007, NULL and '' told apart in CSV, named
 * parameters with or without their prefix, and no silent NULL for a missing value.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { makeDb, runCli, tempDir } from './helpers.js';
import { startNginx } from './servers.js';

const dir = tempDir('bl-usability-');
const bucket = path.join(dir, 'bucket');
beforeAll(async () => {
  makeDb(path.join(dir, 'app.db'), { rows: 50 });
  await upload(path.join(dir, 'app.db'), new LocalDirStore(bucket));
});

describe('the CLI', () => {
  it('--version prints the package version; --help has examples and the exit codes', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')).version);
    const h = await runCli(['--help']);
    expect(h.stdout).toMatch(/Examples:\n\s+bucketlite upload app\.db \.\/bucket/);
    expect(h.stdout).toMatch(/Exit codes:[\s\S]*3 conflict[\s\S]*6 not found/);
    expect((await runCli(['query', '--help'])).stdout).toMatch(/s3:\/\/ or\s+gs:\/\//);
    expect((await runCli(['upload', '--help'])).stdout).toMatch(/s3:\/\/bucket\/prefix\s+or gs:\/\/bucket\/prefix/);
  });

  it('--param: 007 and 1.50 stay text, 42 and 3.5 are numbers, "42" in JSON quotes is text, null is NULL', async () => {
    const r = await runCli(['query', bucket, 'SELECT typeof(?) AS a, ? AS b, typeof(?) AS c, typeof(?) AS d, typeof(?) AS e, ? AS f, typeof(?) AS g',
      '--param', '007', '--param', '007', '--param', '42', '--param', '3.5', '--param', '"42"', '--param', '"42"', '--param', 'null', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ a: 'text', b: '007', c: 'integer', d: 'real', e: 'text', f: '42', g: 'null' }]);
    const t = await runCli(['query', bucket, 'SELECT typeof(?) AS x', '--param', '1.50', '--json']);
    expect(JSON.parse(t.stdout)).toEqual([{ x: 'text' }]);
  });

  it('--csv: NULL is an empty cell, an empty string is ""', async () => {
    const r = await runCli(['query', bucket, "SELECT NULL AS n, '' AS e, 'a,b' AS q, 1 AS i", '--csv']);
    expect(r.stdout).toBe('n,e,q,i\r\n,"","a,b",1\r\n');
  });
});

describe('named parameters in the API', () => {
  it('with or without the prefix; a missing or unknown name is ERR_USAGE, never a silent NULL', async () => {
    const db = await openDatabase(bucket);
    try {
      expect(await db.query('SELECT :code AS a, @code AS b, $other AS c', { code: 'KSFO', other: 2 })).toEqual([{ a: 'KSFO', b: 'KSFO', c: 2 }]);
      expect(await db.query('SELECT :code AS a', { ':code': 'x' })).toEqual([{ a: 'x' }]);
      await expect(db.query('SELECT :code AS a', {})).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/no value given for :code/) });
      await expect(db.query('SELECT :code AS a', { code: 1, cdoe: 2 })).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/no parameter in the SQL is named "cdoe"/) });
      await expect(db.query('SELECT ? AS a', { a: 1 })).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/positional/) });
    } finally {
      await db.close();
    }
  });
});

describe('the package', () => {
  it('importing bucketlite loads no cloud SDK; an S3 or GCS store loads its SDK on first use', async () => {
    const { execFileSync } = await import('node:child_process');
    const index = path.resolve(import.meta.dirname, '../dist/src/index.js');
    const out = execFileSync(process.execPath, ['-e', `
      const sdks = () => Object.keys(require.cache).filter((k) => /@aws-sdk|@google-cloud/.test(k)).length;
      import(${JSON.stringify(index)}).then(async (m) => {
        const before = sdks();
        await new m.S3Store({ bucket: 'some-bucket' }).sdkClient();
        console.log(JSON.stringify({ before, after: sdks() }));
      });`], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } }).toString();
    const { before, after } = JSON.parse(out);
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0); // the check sees an SDK when one is loaded
  });

  it('an s3:// command prints no AWS SDK Node-version warning, only its own error', async () => {
    const r = await runCli(['log', 's3://some-bucket/app', '--endpoint', 'http://127.0.0.1:9/', '--json'], { env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_MAX_ATTEMPTS: '1' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
    expect(r.stderr).toMatch(/^bucketlite: ERR_/m);
  });
});

describe('pointing a reader at a plain SQLite file over HTTP', () => {
  it('says it is a plain SQLite file and how to publish it (exit 6), instead of only "no bucket"', async () => {
    const nginx = await startNginx(dir);
    try {
      const r = await runCli(['query', `${nginx.url}app.db`, 'SELECT 1', '--json']);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/app\.db is a plain SQLite file, not a bucketlite bucket: publish it with `bucketlite upload/);
      const other = await runCli(['query', `${nginx.url}nothing-here/`, 'SELECT 1']);
      expect(other.code).toBe(6);
      expect(other.stderr).toMatch(/holds no bucketlite database/);
    } finally {
      await nginx.stop();
    }
  });
});

describe('read commands take what query takes; write commands say why a URL will not do', () => {
  it('log, info, verify and restore read a bucket through its http:// URL; upload and gc refuse it, naming the fix', async () => {
    const nginx = await startNginx(dir);
    const url = `${nginx.url}bucket/`;
    try {
      const log = await runCli(['log', url, '--json']);
      expect(log.code, log.stderr).toBe(0);
      expect(JSON.parse(log.stdout)[0].seq).toBe(1);
      const info = await runCli(['info', url, '--json']);
      expect(JSON.parse(info.stdout).dbSize).toBe(readFileSync(path.join(dir, 'app.db')).length);
      const verify = await runCli(['verify', url, '--all', '--json']);
      expect(verify.code, verify.stderr).toBe(0);
      // restore over HTTP: byte-identical to the file that was uploaded (the oracle).
      const out = path.join(dir, 'from-url.db');
      const restore = await runCli(['restore', url, out, '--json']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(readFileSync(out).equals(readFileSync(path.join(dir, 'app.db')))).toBe(true);
      for (const args of [['upload', path.join(dir, 'app.db'), url], ['gc', url], ['checkpoint', path.join(dir, 'app.db'), url]]) {
        const r = await runCli(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(/http:\/\/ URLs are read-only .*write to the bucket behind it/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    } finally {
      await nginx.stop();
    }
  });
});

describe('checkpoint takes the layout options upload takes', () => {
  it('--block-size, --pack-size, --hot-budget, --concurrency and --compact-budget reach the commit', async () => {
    const target = path.join(dir, 'cp-options');
    const r = await runCli(['checkpoint', path.join(dir, 'app.db'), target, '--block-size', '4K', '--pack-size', '8K', '--hot-budget', '0', '--concurrency', '2', '--compact-budget', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse((await runCli(['info', target, '--json'])).stdout);
    expect(info.blockSize).toBe(4096);
    expect(info.embeddedPages).toBe(0);
    // 8K packs: the blocks of the database land in several packs, not one.
    expect(info.packs).toBeGreaterThan(1);
  });
});
