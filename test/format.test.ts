import { readFileSync, cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeHead, encodeHead } from '../src/format/head.js';
import {
  decodeLeaf, decodeNode, decodeRoot, encodeLeaf, encodeNode, encodeRoot, locateBlock, treeDepth,
} from '../src/format/manifest.js';
import type { RootManifest } from '../src/format/manifest.js';
import { currentVersion, findVersion, loadBlockTable } from '../src/bucket/versions.js';
import { LocalDirStore } from '../src/storage/local.js';
import { MemoryStore } from '../src/storage/memory.js';
import { restore } from '../src/ops/restore.js';
import { verify } from '../src/ops/verify.js';
import { upload } from '../src/upload/upload.js';
import { tempDir } from './helpers.js';

const fixtures = path.resolve(import.meta.dirname, 'fixtures');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const dir = tempDir('bl-format-');

function errorOf(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('test vectors (test/fixtures/tiny-bucket, cited by docs/FORMAT.md)', () => {
  const store = new LocalDirStore(path.join(fixtures, 'tiny-bucket'));

  it('decodes HEAD, the inline root and the tree to the values the spec states', async () => {
    const headBytes = readFileSync(path.join(fixtures, 'tiny-bucket', 'HEAD'));
    const head = decodeHead(headBytes);
    expect(head).toMatchObject({ version: 2, seq: 2, root: '6ccc17bed9130e8ef68c80d3d2d57d4dea0c7013e8000c0c1dc000942a6b05c5' });
    expect(sha(head.inline!)).toBe(head.root);
    const root = decodeRoot(head.inline!);
    expect(root).toMatchObject({
      formatVersion: 2, pageSize: 512, blockSize: 4096, dbSize: 44032, seq: 2,
      created: Date.parse('2026-01-02T00:00:00Z'), blocksPerLeaf: 2, fanout: 2, depth: 3, newBlocks: 2,
    });
    expect(root.children).toHaveLength(2);
    // The root object in manifests/ is byte-identical to the inline copy.
    expect(Buffer.compare(readFileSync(path.join(fixtures, 'tiny-bucket', 'manifests', head.root)), head.inline!)).toBe(0);
    // Version 1 wrote 6 packs of 2 blocks; version 2 one pack holding its 2 new blocks
    // (0 and 3): 8 runs, a new one wherever the next block is not next in the same pack.
    expect(root.runs.map((r) => [r.firstBlock, r.offset])).toEqual([[0, 0], [1, 4096], [2, 0], [3, 4096], [4, 0], [6, 0], [8, 0], [10, 0]]);
    expect(root.runs[0].pack).toBe(root.runs[3].pack);
    expect(new Set(root.runs.map((r) => r.pack)).size).toBe(7);
    // Every object is named by the SHA-256 of its bytes.
    const table = await loadBlockTable(store, root);
    expect(table.blocks).toHaveLength(11); // 44032 bytes / 4096, last block short
    expect(table.blocks[10].length).toBe(44032 - 10 * 4096);
    const v2 = readFileSync(path.join(fixtures, 'tiny-v2.db'));
    for (const [i, b] of table.blocks.entries()) {
      const pack = readFileSync(path.join(fixtures, 'tiny-bucket', 'packs', b.pack));
      expect(sha(pack.subarray(b.offset, b.offset + b.length))).toBe(b.hash);
      expect(Buffer.compare(pack.subarray(b.offset, b.offset + b.length), v2.subarray(i * 4096, i * 4096 + b.length))).toBe(0);
    }
    const nodeBytes = readFileSync(path.join(fixtures, 'tiny-bucket', 'manifests', root.children[0]));
    const node = decodeNode(nodeBytes, root, { level: 2, firstBlock: 0 });
    expect(node.children).toHaveLength(2);
    // Embedded pages (budget 2048 bytes: 4 pages): page 1, the schema, then B-tree roots, copied exactly.
    expect(root.pages).toEqual([1, 2, 3, 56]);
    root.pages.forEach((pg, i) => expect(Buffer.compare(root.pageData[i], v2.subarray((pg - 1) * 512, pg * 512))).toBe(0));
  });

  it('restores both versions byte-identical to the databases they were made from', async () => {
    await restore(store, path.join(dir, 'v1.db'), { version: '1' });
    await restore(store, path.join(dir, 'v2.db'), { version: '2' });
    expect(Buffer.compare(readFileSync(path.join(dir, 'v1.db')), readFileSync(path.join(fixtures, 'tiny-v1.db')))).toBe(0);
    expect(Buffer.compare(readFileSync(path.join(dir, 'v2.db')), readFileSync(path.join(fixtures, 'tiny-v2.db')))).toBe(0);
    expect((await verify(store, { all: true })).ok).toBe(true);
    expect((await findVersion(store, '1')).root.parent).toBeNull();
  });
});

describe('encoders and decoders round-trip', () => {
  const root: RootManifest = {
    formatVersion: 2, pageSize: 4096, blockSize: 65536, dbSize: 65536 * 3 + 4096, seq: 7, created: 1_700_000_000_000,
    parent: 'ab'.repeat(32), changeCounter: 99, blocksPerLeaf: 512, fanout: 512, depth: 1, newBlocks: 2, newBytes: 69632,
    children: ['01'.repeat(32)],
    runs: [{ firstBlock: 0, pack: 'cd'.repeat(32), offset: 0 }, { firstBlock: 2, pack: '12'.repeat(32), offset: 65536 }, { firstBlock: 3, pack: 'cd'.repeat(32), offset: 131072 }],
    pages: [1, 3], pageData: [new Uint8Array(4096).fill(1), new Uint8Array(4096).fill(3)],
  };
  it('root', () => expect(decodeRoot(encodeRoot(root))).toEqual(root));
  it('leaf', () => {
    const leaf = { firstBlock: 0, hashes: [0, 1, 2, 3].map((i) => String(i).repeat(64)) };
    expect(decodeLeaf(encodeLeaf(leaf), root, { firstBlock: 0 })).toEqual(leaf);
  });
  it('block locations come from the runs', () => {
    expect([0, 1, 2, 3].map((i) => locateBlock(root, i))).toEqual([
      { pack: 'cd'.repeat(32), offset: 0, length: 65536 }, { pack: 'cd'.repeat(32), offset: 65536, length: 65536 },
      { pack: '12'.repeat(32), offset: 65536, length: 65536 }, { pack: 'cd'.repeat(32), offset: 131072, length: 4096 },
    ]);
  });
  it('tree depth at the defaults: 2 for 1 TiB (root → nodes → leaves), 1 up to 2 GiB', () => {
    expect(treeDepth({ dbSize: 2 ** 40, blockSize: 16384, blocksPerLeaf: 256, fanout: 512 })).toBe(2);
    expect(treeDepth({ dbSize: 2 ** 31, blockSize: 16384, blocksPerLeaf: 256, fanout: 512 })).toBe(1);
    expect(treeDepth({ dbSize: 2 ** 31 + 16384, blockSize: 16384, blocksPerLeaf: 256, fanout: 512 })).toBe(2);
  });
});

describe('a format version 1 bucket', () => {
  const store = new LocalDirStore(path.join(fixtures, 'tiny-bucket-v1'));
  it('is refused by readers, the uploader and verify with how to republish it, and nothing is written', async () => {
    await expect(currentVersion(store)).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_VERSION', message: expect.stringMatching(/format version 1.*bucketlite upload <db> <new location>/) });
    const mem = new MemoryStore();
    for await (const o of store.list('')) mem.objects.set(o.key, { body: (await store.get(o.key)).body, etag: o.etag, lastModified: o.lastModified });
    await expect(upload(path.join(fixtures, 'tiny-v2.db'), mem)).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_VERSION' });
    expect(mem.count('put')).toBe(0);
    const v = await verify(store);
    expect(v.ok).toBe(false);
    expect(v.problems[0].problem).toMatch(/Republish/);
  });
  it('a version 1 root object alone is refused the same way', () => {
    const head = decodeHead(readFileSync(path.join(fixtures, 'tiny-bucket', 'HEAD')));
    const old = readFileSync(path.join(fixtures, 'tiny-bucket-v1', 'HEAD'), 'utf8');
    const inline = Buffer.from(JSON.parse(old).inline, 'base64');
    expect(errorOf(() => decodeRoot(inline))).toMatchObject({ code: 'ERR_UNSUPPORTED_VERSION', message: expect.stringMatching(/Republish/) });
    expect(head.version).toBe(2);
  });
});

describe('hostile HEAD: a typed error, nothing followed', () => {
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const good = { format: 'bucketlite', version: 2, seq: 1, root: 'a'.repeat(64) };
  const cases: [string, Uint8Array, string, RegExp][] = [
    ['a path in root', enc({ ...good, root: '../../etc/passwd' }), 'ERR_BAD_HEAD', /64-digit/],
    ['an absolute URL in root', enc({ ...good, root: 'https://evil.example/manifest' }), 'ERR_BAD_HEAD', /64-digit/],
    ['uppercase hash', enc({ ...good, root: 'A'.repeat(64) }), 'ERR_BAD_HEAD', /64-digit/],
    ['an unknown version', enc({ ...good, version: 3 }), 'ERR_UNSUPPORTED_VERSION', /upgrade bucketlite/],
    ['version 1', enc({ ...good, version: 1 }), 'ERR_UNSUPPORTED_VERSION', /Republish the database/],
    ['a huge seq', enc({ ...good, seq: 1e300 }), 'ERR_BAD_HEAD', /seq/],
    ['not JSON', new TextEncoder().encode('<html>404</html>'), 'ERR_BAD_HEAD', /not UTF-8 JSON/],
    ['not bucketlite', enc({ ...good, format: 'other' }), 'ERR_BAD_HEAD', /is this a bucketlite bucket/],
    ['an array', enc([good]), 'ERR_BAD_HEAD', /not a JSON object/],
    ['too large', new Uint8Array(70_000).fill(32), 'ERR_BAD_HEAD', /exceeds the 65536-byte limit/],
    ['bad inline', enc({ ...good, inline: '%%%' }), 'ERR_BAD_HEAD', /base64/],
  ];
  for (const [name, bytes, code, message] of cases) {
    it(name, () => {
      const err = errorOf(() => decodeHead(bytes));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
    });
  }
  it('round-trips', () => expect(decodeHead(encodeHead({ seq: 3, root: 'b'.repeat(64) }))).toEqual({ version: 2, seq: 3, root: 'b'.repeat(64) }));
});

describe('hostile manifests: a typed error before any large allocation', () => {
  const base: RootManifest = {
    formatVersion: 2, pageSize: 4096, blockSize: 65536, dbSize: 65536 * 4, seq: 1, created: 0, parent: null,
    changeCounter: 1, blocksPerLeaf: 512, fanout: 512, depth: 1, newBlocks: 4, newBytes: 262144, children: ['11'.repeat(32)],
    runs: [{ firstBlock: 0, pack: 'aa'.repeat(32), offset: 0 }, { firstBlock: 2, pack: 'bb'.repeat(32), offset: 0 }],
    pages: [1], pageData: [new Uint8Array(4096)],
  };
  // Offsets after the header (120) and one child: packs at 152, runs at 216, page numbers at 256.
  const patch = (at: number, bytes: number[]) => {
    const b = encodeRoot(base);
    b.set(bytes, at);
    return b;
  };
  const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const u64 = (hi: number, lo: number) => [...u32(hi), ...u32(lo)];
  const cases: [string, Uint8Array, string, RegExp][] = [
    ['bad magic', patch(0, [0x58]), 'ERR_BAD_MANIFEST', /bad magic/],
    ['future version', patch(4, [0, 9]), 'ERR_UNSUPPORTED_VERSION', /format version 9/],
    ['huge child count', patch(104, u32(0xffffffff)), 'ERR_BAD_MANIFEST', /children/],
    ['huge pack count', patch(108, u32(0xffffffff)), 'ERR_BAD_MANIFEST', /pack count/],
    ['huge run count', patch(112, u32(0xffffffff)), 'ERR_BAD_MANIFEST', /run count/],
    ['more embedded pages than the database has', patch(116, u32(65)), 'ERR_BAD_MANIFEST', /embedded pages/],
    ['a first run that does not start at block 0', patch(216, u64(0, 1)), 'ERR_BAD_MANIFEST', /run 0 starts at block 1/],
    ['runs out of order', patch(236, u64(0, 0)), 'ERR_BAD_MANIFEST', /run 1 starts at block 0/],
    ['a run past the last block', patch(236, u64(0, 4)), 'ERR_BAD_MANIFEST', /run 1 starts at block 4/],
    ['a run naming a pack not in the table', patch(236 + 8, u32(2)), 'ERR_BAD_MANIFEST', /names pack 2 of 2/],
    ['a pack no run names', patch(236 + 8, u32(0)), 'ERR_BAD_MANIFEST', /named by no run/],
    ['an embedded page out of range', patch(256, u32(65)), 'ERR_BAD_MANIFEST', /embedded page number 65/],
    ['huge database size', patch(16, u64(0x7fffffff, 0)), 'ERR_BAD_MANIFEST', /database size|too large/],
    ['a 2^64-1 size', patch(16, u64(0xffffffff, 0xffffffff)), 'ERR_BAD_MANIFEST', /too large/],
    ['page size 1000', patch(8, u32(1000)), 'ERR_BAD_MANIFEST', /page size 1000/],
    ['block size smaller than a page', patch(12, u32(2048)), 'ERR_BAD_MANIFEST', /block size/],
    ['wrong depth', patch(84, [3]), 'ERR_BAD_MANIFEST', /depth 3/],
    ['truncated', encodeRoot(base).subarray(0, 250), 'ERR_BAD_MANIFEST', /truncated/],
    ['trailing bytes', new Uint8Array([...encodeRoot(base), 0]), 'ERR_BAD_MANIFEST', /trailing/],
    ['non-zero reserved', patch(85, [1]), 'ERR_BAD_MANIFEST', /reserved/],
  ];
  for (const [name, bytes, code, message] of cases) {
    it(`root: ${name}`, () => {
      const err = errorOf(() => decodeRoot(bytes, 'manifests/x'));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      expect(err.message).toContain('manifests/x');
    });
  }

  const leaf = { firstBlock: 0, hashes: [0, 1, 2, 3].map((i) => String(i).repeat(64)) };
  const leafPatch = (at: number, bytes: number[]) => { const b = encodeLeaf(leaf); b.set(bytes, at); return b; };
  const leafCases: [string, Uint8Array, RegExp][] = [
    ['huge entry count', leafPatch(16, u32(0x7fffffff)), /entries, expected 4/],
    ['non-zero reserved', leafPatch(20, u32(1)), /reserved/],
    ['truncated', encodeLeaf(leaf).subarray(0, 100), /truncated/],
    ['wrong first block', leafPatch(8, u64(0, 512)), /first block 512/],
  ];
  for (const [name, bytes, message] of leafCases) {
    it(`leaf: ${name}`, () => {
      const err = errorOf(() => decodeLeaf(bytes, base, { firstBlock: 0 }, 'manifests/leaf'));
      expect(err.code).toBe('ERR_BAD_MANIFEST');
      expect(err.message).toMatch(message);
    });
  }
  it('node: wrong level', () => {
    const b = encodeNode({ level: 2, firstBlock: 0, children: ['11'.repeat(32)] });
    expect(errorOf(() => decodeNode(b, base, { level: 1, firstBlock: 0 })).message).toMatch(/level 2, expected 1/);
  });
});

describe('a hostile bucket: readers and the uploader stop with a clear error and write nothing', () => {
  async function hostileBucket(mutate: (root: string) => void) {
    const root = path.join(dir, `hostile-${Math.random().toString(36).slice(2)}`);
    cpSync(path.join(fixtures, 'tiny-bucket'), root, { recursive: true });
    mutate(root);
    return new LocalDirStore(root);
  }
  const headDoc = () => JSON.parse(readFileSync(path.join(fixtures, 'tiny-bucket', 'HEAD'), 'utf8'));
  const cases: [string, (root: string) => void, string][] = [
    ['HEAD naming a manifest outside the bucket', (r) => writeFileSync(path.join(r, 'HEAD'), JSON.stringify({ ...headDoc(), root: '../../../etc/passwd', inline: undefined })), 'ERR_BAD_HEAD'],
    ['HEAD whose inline root does not match its name', (r) => { const d = headDoc(); d.root = 'f'.repeat(64); writeFileSync(path.join(r, 'HEAD'), JSON.stringify(d)); }, 'ERR_HASH_MISMATCH'],
    ['a manifest object whose bytes were changed', (r) => {
      const d = headDoc();
      delete d.inline;
      writeFileSync(path.join(r, 'HEAD'), JSON.stringify(d));
      const f = path.join(r, 'manifests', d.root);
      const b = readFileSync(f);
      b[40] ^= 1;
      writeFileSync(f, b);
    }, 'ERR_HASH_MISMATCH'],
    ['a HEAD from a newer format', (r) => writeFileSync(path.join(r, 'HEAD'), JSON.stringify({ ...headDoc(), version: 99 })), 'ERR_UNSUPPORTED_VERSION'],
  ];
  for (const [name, mutate, code] of cases) {
    it(name, async () => {
      const store = await hostileBucket(mutate);
      await expect(currentVersion(store)).rejects.toMatchObject({ code });
      const mem = new MemoryStore();
      for await (const o of store.list('')) mem.objects.set(o.key, { body: (await store.get(o.key)).body, etag: o.etag, lastModified: o.lastModified });
      await expect(upload(path.join(fixtures, 'tiny-v2.db'), mem)).rejects.toMatchObject({ code });
      expect(mem.count('put')).toBe(0);
      const v = await verify(store);
      expect(v.ok).toBe(false);
      expect(v.problems[0].key).toBe('HEAD');
    });
  }
});
