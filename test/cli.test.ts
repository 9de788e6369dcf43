import { readFileSync, writeFileSync, readdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, makeDb, runCli, tempDir, updateOneRow } from './helpers.js';

const dir = tempDir('bl-cli-');
const p = (name: string) => path.join(dir, name);

describe('bucketlite CLI', () => {
  it('--help lists every command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['upload', 'log', 'info', 'verify', 'restore', 'gc', 'serve']) expect(r.stdout).toContain(c);
  });

  it('upload, log, info, verify, restore and gc with --json, quiet when piped', async () => {
    const db = p('app.db');
    makeDb(db, { rows: 5000 });
    const target = p('bucket');
    const up = await runCli(['upload', db, target, '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toBe(''); // no progress output when not a TTY
    const s = JSON.parse(up.stdout);
    expect(s).toMatchObject({ committed: true, seq: 1, dryRun: false });
    for (const k of ['blocksTotal', 'blocksNew', 'bytesWritten', 'objectsWritten', 'seconds']) expect(typeof s[k]).toBe('number');

    updateOneRow(db);
    const dry = JSON.parse((await runCli(['upload', db, `file://${target}`, '--dry-run', '--json'])).stdout);
    expect(dry).toMatchObject({ committed: false, dryRun: true, seq: 2 });
    const up2 = JSON.parse((await runCli(['upload', db, target, '--json'])).stdout);
    expect(up2.objectsWritten).toBe(dry.objectsWritten);

    const log = JSON.parse((await runCli(['log', target, '--json'])).stdout);
    expect(log.map((e: { seq: number }) => e.seq)).toEqual([2, 1]);
    const info = JSON.parse((await runCli(['info', target, '--version', '1', '--json'])).stdout);
    expect(info).toMatchObject({ seq: 1, pageSize: 4096, blockSize: 16384, isCurrent: false });
    const ver = await runCli(['verify', target, '--all', '--json']);
    expect(ver.code).toBe(0);
    expect(JSON.parse(ver.stdout)).toMatchObject({ ok: true, versionsChecked: [2, 1] });

    const rs = await runCli(['restore', target, p('restored.db'), '--json']);
    expect(rs.code, rs.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(p('restored.db')), readFileSync(db))).toBe(0);

    const g = await runCli(['gc', target, '--keep', '1', '--grace', '0', '--dry-run', '--json']);
    expect(JSON.parse(g.stdout)).toMatchObject({ dryRun: true, versionsKept: [2], versionsCollected: [1] });
    const text = await runCli(['upload', db, target]);
    expect(text.stdout).toMatch(/unchanged/);
  });

  it('exit codes: refused input 4, nothing there 6, usage 2, damage 5 naming the object', async () => {
    writeFileSync(p('notdb.txt'), 'plain text, not SQLite\n'.repeat(20));
    const refused = await runCli(['upload', p('notdb.txt'), p('b2'), '--json']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/ERR_NOT_SQLITE: not a SQLite database/);
    expect(JSON.parse(refused.stdout).error.code).toBe('ERR_NOT_SQLITE');
    expect(readdirSync(dir)).not.toContain('b2'); // nothing written, not even the directory

    const none = await runCli(['log', p('empty-bucket')]);
    expect(none.code).toBe(6);
    expect(none.stderr).toMatch(/no HEAD/);

    expect((await runCli(['upload'])).code).toBe(2);
    expect((await runCli(['gc', p('x'), '--keep', '0'])).code).toBe(2);
    expect((await runCli(['upload', 'a', 'ftp://host/x'])).code).toBe(2);
    expect((await runCli(['upload', 'a', 's3://Not_A_Bucket'])).code).toBe(2);

    const db = p('damage.db');
    makeDb(db, { rows: 3000 });
    const target = p('damaged');
    expect((await runCli(['upload', db, target])).code).toBe(0);
    const packs = readdirSync(path.join(target, 'packs'));
    const victim = path.join(target, 'packs', packs[0]);
    const bytes = readFileSync(victim);
    bytes[1000] ^= 0xff;
    writeFileSync(victim, bytes);
    const v = await runCli(['verify', target]);
    expect(v.code).toBe(5);
    expect(v.stdout).toContain(`packs/${packs[0]}`);
    expect(v.stdout).toMatch(/does not hash/);
    const rs = await runCli(['restore', target, p('from-damaged.db')]);
    expect(rs.code).toBe(5);
    expect(rs.stderr).toMatch(/ERR_HASH_MISMATCH.*packs\//);
    expect(readdirSync(dir).filter((f) => f.includes('from-damaged'))).toEqual([]); // no partial file
  });

  it('two upload processes racing on one target: never both commit on one version; the loser exits 3', async () => {
    let conflicts = 0;
    for (let round = 0; round < 6; round++) {
      const target = p(`race-${round}`);
      const a = p(`race-${round}-a.db`);
      const b = p(`race-${round}-b.db`);
      makeDb(a, { rows: 60_000, payload: 300 });
      copyFileSync(a, b);
      updateOneRow(b, 99);
      if (round % 2) expect((await runCli(['upload', a, target])).code).toBe(0);
      updateOneRow(a, 5);
      const [ra, rb] = await Promise.all([runCli(['upload', a, target, '--json']), runCli(['upload', b, target, '--json'])]);
      const codes = [ra.code, rb.code].sort();
      expect([[0, 0], [0, 3]]).toContainEqual(codes);
      const base = round % 2 ? 1 : 0;
      if (codes[1] === 3) {
        conflicts++;
        const loser = ra.code === 3 ? ra : rb;
        expect(loser.stderr).toMatch(/ERR_CONFLICT: another writer committed/);
        const log = JSON.parse((await runCli(['log', target, '--json'])).stdout);
        expect(log).toHaveLength(base + 1);
      } else {
        // They ran one after the other: two versions in a line.
        const seqs = [JSON.parse(ra.stdout).seq, JSON.parse(rb.stdout).seq].sort();
        expect(seqs).toEqual([base + 1, base + 2]);
      }
      expect((await runCli(['verify', target, '--all'])).code).toBe(0);
    }
    // Started together, their HEAD reads almost always precede both commits.
    expect(conflicts).toBeGreaterThan(0);
  });

  it('kill -9 in the middle of an upload: the previous version stays whole, gc collects the debris, a retry succeeds', async () => {
    const db = p('killed.db');
    makeDb(db, { rows: 150_000, payload: 300 }); // ~55 MB: long enough to be killed mid-way
    const target = p('killed-bucket');
    // Version 1 is a small prefix of the data so the second upload has a lot to write.
    const small = p('killed-small.db');
    makeDb(small, { rows: 100 });
    expect((await runCli(['upload', small, target])).code).toBe(0);
    const child = spawn(process.execPath, [CLI, 'upload', db, target], { stdio: 'ignore' });
    // Kill once it has started writing packs.
    const { existsSync } = await import('node:fs');
    for (let i = 0; i < 400 && !(existsSync(path.join(target, 'packs')) && readdirSync(path.join(target, 'packs')).length > 1); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const log = JSON.parse((await runCli(['log', target, '--json'])).stdout);
    expect(log.map((e: { seq: number }) => e.seq)).toEqual([1]);
    expect((await runCli(['verify', target])).code).toBe(0);
    expect((await runCli(['restore', target, p('killed-restored.db')])).code).toBe(0);
    expect(Buffer.compare(readFileSync(p('killed-restored.db')), readFileSync(small))).toBe(0);
    const g = JSON.parse((await runCli(['gc', target, '--grace', '0', '--json'])).stdout);
    expect(g.deleted.length).toBeGreaterThan(0);
    expect(g.deleted.every((k: string) => /^(packs|manifests)\//.test(k))).toBe(true);
    expect(readdirSync(path.join(target, '.tmp'))).toEqual([]);
    expect((await runCli(['upload', db, target])).code).toBe(0);
    expect((await runCli(['verify', target, '--all'])).code).toBe(0);
  });

  it('shows progress on a terminal (under script(1)) and not when piped', async () => {
    const db = p('tty.db');
    makeDb(db, { rows: 30_000 });
    const r = await new Promise<string>((resolve, reject) => {
      const c = spawn('script', ['-qec', `${process.execPath} ${CLI} upload ${db} ${p('tty-bucket')}`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('error', reject);
      c.on('close', () => resolve(out));
    });
    expect(r).toMatch(/hashing .* MiB \/ .* MiB \(\d+%\)/);
    expect(r).toMatch(/committed version 1/);
  });

  it('serve prints its URL and serves the bucket until SIGTERM, then exits 0', async () => {
    const db = p('serve.db');
    makeDb(db, { rows: 100 });
    const target = p('served');
    await runCli(['upload', db, target]);
    const child = spawn(process.execPath, [CLI, 'serve', target], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; const m = /at (http:\/\/\S+)/.exec(out); if (m) resolve(m[1]); });
      child.on('exit', () => reject(new Error('serve exited early')));
    });
    const head = await fetch(new URL('HEAD', url));
    expect(head.status).toBe(200);
    expect(JSON.parse(await head.text()).seq).toBe(1);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
