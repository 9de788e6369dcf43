/**
 * Upload benchmark (foundation issue). Prints figures; asserts nothing.
 *   npm run bench -- [--size-mb 1024] [--block-sizes 16,32,64,128,256]
 *
 * 1. hashing alone: read + SHA-256 per block, MB/s
 * 2. fresh upload of a generated database to a local directory: MB/s, objects
 * 3. one-row UPDATE, re-upload: blocks, bytes, objects, seconds
 * 4. bytes a reader needs before its first page: measured for the generated database,
 *    computed from real encoded objects for 1 TiB
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
import { encodeLeaf, encodeNode, encodeRoot, treeDepth, childCount } from '../src/format/manifest.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sizeMb = Number(arg('size-mb', '1024'));
const blockSizesKb = arg('block-sizes', '16,64,256').split(',').map(Number);
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

function oneTiB(): void {
  const blockSize = 65536;
  const dbSize = 2 ** 40;
  const shape = { dbSize, blockSize, blocksPerLeaf: 512, fanout: 512 };
  const depth = treeDepth(shape);
  const h = (i: number) => i.toString(16).padStart(64, '0');
  const rootChildren = childCount(shape, depth, 0);
  const root = encodeRoot({
    formatVersion: 1, pageSize: 4096, blockSize, dbSize, seq: 1000, created: Date.now(), parent: h(1), changeCounter: 1,
    blocksPerLeaf: 512, fanout: 512, depth, newBlocks: 1, newBytes: blockSize,
    hot: [{ pack: h(2), offset: 0, length: 4 << 20, sha256: h(3) }, { pack: h(4), offset: 0, length: 8192, sha256: h(5) }], children: Array.from({ length: rootChildren }, (_, i) => h(i)),
  });
  const head = encodeHead({ seq: 1000, root: h(9), inline: root });
  const node = encodeNode({ level: 1, firstBlock: 0, children: Array.from({ length: 512 }, (_, i) => h(i)) });
  const leafOf = (packs: number) => encodeLeaf({
    firstBlock: 0,
    entries: Array.from({ length: 512 }, (_, i) => ({ hash: h(i), pack: h(i % packs), offset: i * blockSize, length: blockSize, encoding: 0 })),
  });
  const fresh = leafOf(3);
  const worst = leafOf(512);
  console.log(`\n## manifest bytes before the first page, 1 TiB at 64 KiB blocks (depth ${depth}, root children ${rootChildren})`);
  console.log(`HEAD with inline root: ${head.length} B; interior node: ${node.length} B; leaf: ${fresh.length} B (fresh upload, 3 packs), ${worst.length} B (worst case, 512 packs)`);
  console.log(`total: ${fmt((head.length + node.length + fresh.length) / 1024)} KiB typical, ${fmt((head.length + node.length + worst.length) / 1024)} KiB worst case (target ≤ 64 KiB)`);
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
      `${fmt(i.manifestBytes / 1024, 0)} | ${fmt(i.openBytesMax / 1024)} | ${inc.blocksNew} | ${fmt(inc.bytesWritten / 1024, 0)} | ${inc.objectsWritten} | ${fmt(inc.seconds, 2)} |`);
    rmSync(target, { recursive: true, force: true });
  }
  oneTiB();
}

await main();
