/**
 * kill -9 of a checkpoint at chosen points: just before and just after each write of a
 * commit (packs, leaves, nodes, root, HEAD), with a writer that keeps its connection
 * open. After each kill the bucket verifies and holds a whole version; the next
 * checkpoint (a restart: state from the file) publishes exactly the live database. A
 * checkpoint copies nothing beside the database; a snapshot file an earlier release's
 * killed checkpoint left there is removed at the next start.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';
import { differences, makeTagged, startWriter } from './live-db.js';
import type { Writer } from './live-db.js';

const dir = tempDir('bl-cp-kill-');
const p = (name: string) => path.join(dir, name);
const KILLER = path.resolve(import.meta.dirname, '../dist/test/checkpoint-kill.js');
let writer: Writer | undefined;
afterAll(() => { writer?.kill('SIGKILL'); });

function runCheckpoint(args: string[]): Promise<{ signal: NodeJS.Signals | null; code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KILLER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

const snapshots = () => readdirSync(dir).filter((f) => f.includes('.bucketlite-snapshot-'));

describe('checkpoint killed before and after each write of a commit', () => {
  it('every kill leaves a whole version; the restart publishes the live database', async () => {
    const live = p('live.db');
    const target = p('bucket');
    makeTagged(live, 'live', 3000, 'wal');
    writer = startWriter(live);
    await writer.cmd('update 1 start');
    const first = await runCheckpoint([live, target]);
    expect(first.code, first.out).toBe(0);
    const cells: string[] = [];
    let round = 0;
    for (let k = 0; ; k++) {
      let completed = 0;
      for (const when of ['before', 'after']) {
        await writer.cmd(`update 40 r${round++}`);
        const killed = await runCheckpoint([live, target, String(k), when]);
        const writes = killed.out.split('\n').filter((l) => l.startsWith('write '));
        if (killed.signal !== 'SIGKILL') { expect(killed.code, killed.out).toBe(0); completed++; continue; }
        const key = writes.at(-1)!.split(' ')[2];
        expect(snapshots(), 'a checkpoint copies nothing beside the database').toEqual([]);
        // What an earlier release's killed checkpoint left: a snapshot named by a dead pid.
        writeFileSync(p('.live.db.bucketlite-snapshot-999999999'), 'stale copy');
        const v = await runCli(['verify', target, '--all']);
        expect(v.code, `${when} write ${k} (${key}): ${v.stdout}${v.stderr}`).toBe(0);
        const again = await runCheckpoint([live, target]);
        expect(again.code, again.out).toBe(0);
        const r = JSON.parse(again.out.trim().split('\n').at(-1)!);
        expect(snapshots(), 'the restart removed the dead snapshot').toEqual([]);
        expect(await differences(target, p(`k${k}-${when}.db`), live)).toMatchObject({ differ: 0 });
        expect((await runCli(['verify', target, '--all'])).code).toBe(0);
        cells.push(`| ${k} | ${when} | ${key.split('/')[0]} | restart: ${r.committed ? `v${r.seq}` : 'unchanged'}, ${r.incremental ? 'incremental' : 'full hash'} |`);
      }
      if (completed === 2) break; // past the last write of a commit
      expect(k).toBeLessThan(200);
    }
    console.log(`checkpoint kill points:\n${cells.join('\n')}`);
    const kinds = new Set(cells.map((c) => c.split('|')[3].trim()));
    expect(kinds).toEqual(new Set(['packs', 'manifests', 'HEAD']));
    expect(existsSync(live)).toBe(true);
  });
});
