/**
 * Checks a bucket end to end: HEAD decodes, every manifest object of the checked
 * versions exists and hashes to its name, every pack exists and hashes to its name,
 * every block hashes to its recorded hash, and the pages embedded in each root are
 * exact copies of the version's pages. It reports every problem it finds rather than stopping at the first.
 */
import { performance } from 'node:perf_hooks';
import { BucketliteError, isCode } from '../errors.js';
import { HEAD_KEY } from '../format/constants.js';
import { manifestKey, packKey } from '../format/keys.js';
import type { BlockRef } from '../format/manifest.js';
import { sha256Hex } from '../hash.js';
import { currentVersion, history, loadBlockTable } from '../bucket/versions.js';
import type { Version } from '../bucket/versions.js';
import type { BucketStore } from '../storage/types.js';

export interface Problem {
  key: string;
  problem: string;
  version?: number;
}

export interface VerifyResult {
  ok: boolean;
  versionsChecked: number[];
  manifestObjects: number;
  packs: number;
  blocks: number;
  bytesRead: number;
  problems: Problem[];
  seconds: number;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const DAMAGE = ['ERR_BAD_HEAD', 'ERR_BAD_MANIFEST', 'ERR_HASH_MISMATCH', 'ERR_UNSUPPORTED_VERSION', 'ERR_BAD_KEY'] as const;

export async function verify(store: BucketStore, opts: { all?: boolean } = {}): Promise<VerifyResult> {
  const t0 = performance.now();
  const problems: Problem[] = [];
  const versions: Version[] = [];
  let cur;
  try {
    cur = await currentVersion(store);
  } catch (err) {
    // A HEAD that cannot be read (permissions, network) is a failure to verify, not damage.
    if (!DAMAGE.some((c) => isCode(err, c))) throw err;
    problems.push({ key: HEAD_KEY, problem: describe(err) });
    return { ok: false, versionsChecked: [], manifestObjects: 0, packs: 0, blocks: 0, bytesRead: 0, problems, seconds: 0 };
  }
  if (!cur) throw new BucketliteError('ERR_NOT_FOUND', `${store.name} holds no bucketlite version (no HEAD)`, { op: 'verify', key: HEAD_KEY });
  try {
    for await (const v of history(store, cur)) {
      versions.push(v);
      if (!opts.all) break;
    }
  } catch (err) {
    problems.push({ key: 'history', problem: describe(err) });
  }

  // Gather what each checked version references.
  const blocksByPack = new Map<string, Map<number, BlockRef>>();
  const hotChecks: { version: Version; blocks: BlockRef[] }[] = [];
  const manifestObjects = new Set<string>();
  for (const v of versions) {
    manifestObjects.add(v.hash);
    try {
      const table = await loadBlockTable(store, v.root);
      table.manifestObjects.forEach((h) => manifestObjects.add(h));
      for (const b of table.blocks) {
        let m = blocksByPack.get(b.pack);
        if (!m) blocksByPack.set(b.pack, (m = new Map()));
        m.set(b.offset, b);
      }
      if (v.root.pages.length) hotChecks.push({ version: v, blocks: table.blocks });
    } catch (err) {
      problems.push({ key: manifestKey(v.hash), problem: `manifest tree of version ${v.root.seq}: ${describe(err)}`, version: v.root.seq });
    }
  }

  // Read each pack once, whole: its name and every block in it are checked.
  let bytesRead = 0;
  let blockCount = 0;
  for (const [pack, refs] of blocksByPack) {
    const key = packKey(pack);
    let body: Uint8Array;
    try {
      body = (await store.get(key)).body;
    } catch (err) {
      problems.push({ key, problem: `pack is unreadable: ${describe(err)}` });
      continue;
    }
    bytesRead += body.length;
    if ((await sha256Hex(body)) !== pack) problems.push({ key, problem: 'pack content does not hash to its name' });
    for (const b of refs.values()) {
      blockCount++;
      if (b.offset + b.length > body.length) {
        problems.push({ key, problem: `block ${b.hash.slice(0, 16)}… at ${b.offset}+${b.length} lies past the pack's ${body.length} bytes` });
      } else if ((await sha256Hex(body.subarray(b.offset, b.offset + b.length))) !== b.hash) {
        problems.push({ key, problem: `block at ${b.offset}+${b.length} does not hash to ${b.hash.slice(0, 16)}…` });
      }
    }
  }

  // The pages embedded in each root must be exact copies of the version's pages.
  for (const { version, blocks } of hotChecks) {
    const { seq, pageSize, blockSize, pages, pageData } = version.root;
    try {
      for (let i = 0; i < pages.length; i++) {
        const pos = (pages[i] - 1) * pageSize;
        const b = blocks[Math.floor(pos / blockSize)];
        const key = packKey(b.pack);
        const src = (await store.get(key, { range: { offset: b.offset + (pos % blockSize), length: pageSize } })).body;
        if (!src.every((x, j) => x === pageData[i][j])) problems.push({ key: manifestKey(version.hash), problem: `embedded copy of page ${pages[i]} differs from the page in version ${seq}`, version: seq });
      }
    } catch (err) {
      problems.push({ key: `embedded pages of version ${seq}`, problem: describe(err), version: seq });
    }
  }

  return {
    ok: problems.length === 0,
    versionsChecked: versions.map((v) => v.root.seq),
    manifestObjects: manifestObjects.size,
    packs: blocksByPack.size,
    blocks: blockCount,
    bytesRead,
    problems,
    seconds: (performance.now() - t0) / 1000,
  };
}
