/**
 * A checkpoint may take blocks the WAL does not name only from the version it committed
 * itself. The case that once published a mix of two databases: a writer keeps its
 * connection open (WAL), a watcher publishes it, another process uploads a different
 * database to the same target, the writer changes 50 rows; the watcher's next version
 * must equal the live database, row for row, and so must every later one-shot
 * checkpoint, across restarts (the state file beside the database).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from './helpers.js';
import { differences, makeTagged, startWriter } from './live-db.js';
import type { Writer } from './live-db.js';

const dir = tempDir('bl-ownership-');
const p = (name: string) => path.join(dir, name);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForSeq(target: string, seq: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const r = await runCli(['log', target, '--json']);
    if (r.code === 0 && JSON.parse(r.stdout)[0].seq >= seq) return;
    await wait(50);
  }
  throw new Error(`version ${seq} never appeared in ${target}`);
}

const children: ChildProcess[] = [];
afterAll(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

describe('checkpoint reuses unread blocks only from its own last version', () => {
  const live = p('live.db');
  const target = p('bucket');

  it('writer with an open connection, a foreign commit, then 50 changed rows: the watcher publishes the live database', async () => {
    makeTagged(live, 'live', 40000, 'wal');
    makeTagged(p('other.db'), 'othr', 40000, 'delete');
    const writer = startWriter(live);
    children.push(writer);
    await writer.cmd('update 1 first'); // the WAL has frames, as with any running application
    const watcher = spawn(process.execPath, [CLI, 'checkpoint', live, target, '--watch', '1s', '--debounce', '50', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(watcher);
    let out = '';
    watcher.stdout!.on('data', (d) => (out += d));
    await waitForSeq(target, 1);
    const foreign = await runCli(['upload', p('other.db'), target]);
    expect(foreign.code, foreign.stderr).toBe(0);
    await writer.cmd('update 50 second');
    await waitForSeq(target, 3);
    watcher.kill('SIGTERM');
    await new Promise((r) => watcher.once('exit', r));
    const commits = out.trim().split('\n').map((l) => JSON.parse(l));
    const third = commits.find((c) => c.seq === 3);
    expect(third, out).toBeDefined();
    expect(await differences(target, p('v3.db'), live)).toMatchObject({ differ: 0 });
    expect(third.incremental).toBe(false); // HEAD named someone else's version: everything hashed
  });

  it('across restarts: a one-shot checkpoint continues from the state file, and ignores it after a foreign commit', async () => {
    const writer = children[0] as Writer;
    await writer.cmd('update 20 third');
    const own = await runCli(['checkpoint', live, target, '--json']);
    expect(own.code, own.stderr).toBe(0);
    const r4 = JSON.parse(own.stdout);
    expect(r4).toMatchObject({ seq: 4, committed: true, incremental: true }); // continued from the state file
    expect(r4.blocksReused).toBeGreaterThan(0);
    expect(await differences(target, p('v4.db'), live)).toMatchObject({ differ: 0 });

    expect((await runCli(['upload', p('other.db'), target])).code).toBe(0); // v5: foreign again
    await writer.cmd('update 30 fourth');
    const after = JSON.parse((await runCli(['checkpoint', live, target, '--json'])).stdout);
    expect(after).toMatchObject({ seq: 6, committed: true, incremental: false });
    expect(await differences(target, p('v6.db'), live)).toMatchObject({ differ: 0 });
  });

  it('a state file that does not match (another database, a damaged file) is ignored, never trusted', async () => {
    const writer = children[0] as Writer;
    const stateFiles = readdirSync(dir).filter((f) => f.startsWith('.live.db.bucketlite-') && f.endsWith('.json'));
    expect(stateFiles).toHaveLength(1);
    const file = p(stateFiles[0]);
    const state = JSON.parse(readFileSync(file, 'utf8'));
    // The state of another file (other inode) must not be applied to this one.
    writeFileSync(file, JSON.stringify({ ...state, db: { ...state.db, ino: String(BigInt(state.db.ino) + 1n) } }));
    await writer.cmd('update 5 fifth');
    const a = JSON.parse((await runCli(['checkpoint', live, target, '--json'])).stdout);
    expect(a).toMatchObject({ committed: true, incremental: false });
    writeFileSync(file, '{"not": "a state"');
    await writer.cmd('update 5 sixth');
    const b = await runCli(['checkpoint', live, target, '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ committed: true, incremental: false });
    expect(await differences(target, p('v8.db'), live)).toMatchObject({ differ: 0 });
    writer.kill('SIGTERM');
  });
});
