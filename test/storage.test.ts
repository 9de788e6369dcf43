import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalDirStore } from '../src/storage/local.js';
import { MemoryStore } from '../src/storage/memory.js';
import { storageContract } from './storage-contract.js';
import { tempDir } from './helpers.js';

const root = tempDir('bl-store-');
let n = 0;

storageContract('memory', () => new MemoryStore());
storageContract('local directory', () => new LocalDirStore(mkdtempSync(path.join(root, `s${n++}-`))));

describe('local directory specifics', () => {
  it('leaves no temporary files behind and sweeps those a crash left', async () => {
    const dir = mkdtempSync(path.join(root, 'tmp-'));
    const s = new LocalDirStore(dir);
    await s.put('packs/a', new Uint8Array([1, 2, 3]));
    const { readdirSync, writeFileSync, utimesSync } = await import('node:fs');
    expect(readdirSync(path.join(dir, '.tmp'))).toEqual([]);
    writeFileSync(path.join(dir, '.tmp', 'crashed'), 'x');
    utimesSync(path.join(dir, '.tmp', 'crashed'), new Date(0), new Date(0));
    expect(await s.sweepTemporary(60_000)).toBe(1);
  });

  it('two store instances on one directory (as two processes would be) cannot both swap HEAD', async () => {
    const dir = mkdtempSync(path.join(root, 'two-'));
    const a = new LocalDirStore(dir);
    const b = new LocalDirStore(dir);
    const { etag } = await a.put('HEAD', new Uint8Array([0]), { ifNoneMatch: '*' });
    const r = await Promise.allSettled([a.put('HEAD', new Uint8Array([1]), { ifMatch: etag }), b.put('HEAD', new Uint8Array([2]), { ifMatch: etag })]);
    expect(r.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
  });
});
