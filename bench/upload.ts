/**
 * Upload benchmark (foundation issue). Prints figures; asserts nothing.
 *   npm run bench -- [--size-mb 1024] [--block-sizes 16,32,64,128,256]
 *
 * 1. hashing alone: read + SHA-256 per block, MB/s
 * 2. fresh upload of a generated database to a local directory: MB/s, objects
 * 3. one-row UPDATE, re-upload: blocks, bytes, objects, seconds
 * 4. bytes a reader needs to open (HEAD): measured for the generated database, from real
 *    encoded objects for 1 TiB
 * 5. the same for several block sizes, to choose the default
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, openSync, readSync, closeSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { info } from '../src/ops/info.js';
import { encodeHead } from '../src/format/head.js';
import { encodeLeaf, encodeNode, encodeRoot, treeDepth, childCount, locationTableBytes, rootBytesWithoutPages } from '../src/format/manifest.js';
import type { Run } from '../src/format/manifest.js';
import { LOCATION_TABLE_MAX, ROOT_INLINE_MAX, RUN_BYTES } from '../src/format/constants.js';
import { defaultPackSize } from '../src/upload/upload.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sizeMb = Number(arg('size-mb', '1024'));
const blockSizesKb = arg('block-sizes', '8,16,64').split(',').map(Number);
const work = path.resolve('.bench-data');
mkdirSync(work, { recursive: true });
const dbPath = path.join(work, `bench-${sizeMb}m.db`);
const MB = 1e6;
const fmt = (n: number, d = 1) => n.toFixed(d);

function generate(file: string, targetBytes: number): void {
  rmSync(file, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = off');
  db.pragma('synchronous = off');
  db.pragma('cache_size = -262144');
  db.exec('CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT, payload TEXT)');
  // ~1 KB rows of hex text: realistic B-trees, incompressible enough to be honest.
  const rows = Math.ceil(targetBytes / 1100);
  const batch = 100_000;
  for (let done = 0; done < rows; done += batch) {
    db.exec(`WITH RECURSIVE n(i) AS (SELECT ${done} UNION ALL SELECT i + 1 FROM n WHERE i < ${Math.min(rows, done + batch) - 1})
      INSERT INTO events(id, user_id, kind, payload) SELECT i + 1, abs(random()) % 1000000, 'kind' || (abs(random()) % 20), hex(randomblob(480)) FROM n`);
  }
  db.exec('CREATE INDEX events_user ON events(user_id)');
  db.close();
}

function hashOnly(file: string, blockSize: number): number {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  const t0 = performance.now();
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (!n) break;
    for (let off = 0; off < n; off += blockSize) createHash('sha256').update(buf.subarray(off, Math.min(n, off + blockSize))).digest();
    pos += n;
  }
  closeSync(fd);
  return pos / MB / ((performance.now() - t0) / 1000);
}

/**
 * Open for 1 TiB, from real encoded objects: the root the uploader would write (its tree,
 * its run table for a fresh upload and for the largest table before it repacks, and the
 * pages that fit), inside HEAD. Open is HEAD alone: one round trip.
 */
function oneTiB(): void {
  const blockSize = 16384;
  const dbSize = 2 ** 40;
  const shape = { dbSize, blockSize, blocksPerLeaf: 256, fanout: 512 };
  const depth = treeDepth(shape);
  const h = (i: number) => i.toString(16).padStart(64, '0');
  const rootChildren = childCount(shape, depth, 0);
  const children = Array.from({ length: rootChildren }, (_, i) => h(i));
  const packSize = defaultPackSize(dbSize, blockSize);
  const blocksPerPack = packSize / blockSize;
  const fresh: Run[] = Array.from({ length: Math.ceil(dbSize / packSize) }, (_, i) => ({ firstBlock: i * blocksPerPack, pack: h(1000 + i), offset: 0 }));
  // The largest run table an upload keeps (beyond it, it repacks): fresh runs split by
  // one-block changes, each in a pack of its own.
  const fragmented = [...fresh];
  for (let k = 0; locationTableBytes(fragmented) + 2 * RUN_BYTES + 32 <= LOCATION_TABLE_MAX; k++) {
    const at = (k * 7919 * 4099) % (dbSize / blockSize);
    fragmented.push({ firstBlock: at, pack: h(5000 + k), offset: 0 }, { firstBlock: at + 1, pack: fresh[Math.floor((at + 1) / blocksPerPack)].pack, offset: ((at + 1) % blocksPerPack) * blockSize });
  }
  fragmented.sort((x, y) => x.firstBlock - y.firstBlock);
  const page = new Uint8Array(4096).fill(7);
  console.log(`\n## open for 1 TiB at the defaults: 16 KiB blocks, ${packSize / 2 ** 30} GiB packs, depth ${depth} (root children ${rootChildren})`);
  console.log('| run table | runs | packs | root KiB | embedded pages | HEAD KiB (all of open) | first page elsewhere: node + leaf + block KiB |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, runs] of [['fresh upload', fresh], ['largest before a repack', fragmented]] as const) {
    const room = ROOT_INLINE_MAX - rootBytesWithoutPages(children.length, runs);
    const n = Math.max(0, Math.floor(room / (4096 + 4)));
    const root = encodeRoot({
      formatVersion: 2, pageSize: 4096, blockSize, dbSize, seq: 1000, created: Date.now(), parent: h(1), changeCounter: 1,
      blocksPerLeaf: 256, fanout: 512, depth, newBlocks: 1, newBytes: blockSize, children, runs,
      pages: Array.from({ length: n }, (_, i) => i + 1), pageData: Array.from({ length: n }, () => page),
    });
    const head = encodeHead({ seq: 1000, root: h(9), inline: root });
    const node = encodeNode({ level: 1, firstBlock: 0, children: Array.from({ length: 512 }, (_, i) => h(i)) });
    const leaf = encodeLeaf({ firstBlock: 0, hashes: Array.from({ length: 256 }, (_, i) => h(i)) });
    console.log(`| ${name} | ${runs.length} | ${new Set(runs.map((r) => r.pack)).size} | ${fmt(root.length / 1024)} | ${n} | ${fmt(head.length / 1024)} | ${fmt((node.length + leaf.length + blockSize) / 1024)} |`);
  }
}

async function main(): Promise<void> {
  if (!existsSync(dbPath) || statSync(dbPath).size < sizeMb * 0.9 * 1048576) {
    const t0 = performance.now();
    generate(dbPath, sizeMb * 1048576);
    console.log(`generated ${dbPath}: ${fmt(statSync(dbPath).size / 1048576)} MiB in ${fmt((performance.now() - t0) / 1000)} s`);
  }
  const size = statSync(dbPath).size;
  console.log(`# bucketlite upload bench: ${fmt(size / 1048576)} MiB database, Node ${process.version}`);
  console.log('\n| block | hash only MB/s | fresh upload MB/s | s | objects | manifest KiB | open KiB | 1-row change: blocks | KiB up | objects | s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const kb of blockSizesKb) {
    const blockSize = kb * 1024;
    const target = path.join(work, `bucket-${kb}k`);
    rmSync(target, { recursive: true, force: true });
    const copy = path.join(work, 'work.db');
    copyFileSync(dbPath, copy);
    const hashRate = hashOnly(copy, blockSize);
    const store = new LocalDirStore(target);
    const fresh = await upload(copy, store, { blockSize });
    const i = await info(store);
    const db = new Database(copy);
    db.prepare('UPDATE events SET kind = ? WHERE id = ?').run('changed', Math.floor(size / 1100 / 2));
    db.close();
    const inc = await upload(copy, store, { blockSize });
    console.log(`| ${kb} KiB | ${fmt(hashRate, 0)} | ${fmt(size / MB / fresh.seconds, 0)} | ${fmt(fresh.seconds, 2)} | ${fresh.objectsWritten} | ` +
      `${fmt(i.manifestBytes / 1024, 0)} | ${fmt(i.openBytes / 1024)} | ${inc.blocksNew} | ${fmt(inc.bytesWritten / 1024, 0)} | ${inc.objectsWritten} | ${fmt(inc.seconds, 2)} |`);
    rmSync(target, { recursive: true, force: true });
  }
  oneTiB();
}

await main();
