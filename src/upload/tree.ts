/**
 * Upload step 4: the manifest tree, bottom up (docs/FORMAT.md §3). A leaf whose block
 * hashes equal the previous version's is not encoded again: its hash is taken from the
 * previous tree (a 10-row change of 10 GiB re-encodes a few of its 2,560 leaves).
 * Objects the bucket holds already are not written again.
 */
import { blocksPerNode, childCount, encodeLeaf, encodeNode, treeDepth } from '../format/manifest.js';
import type { BlockRef, TreeShape } from '../format/manifest.js';

export interface ManifestWriter {
  /** Writes one manifest object (create-only) and returns its hash. */
  write(bytes: Uint8Array): Promise<string>;
  /** Notes an object of the previous version that the new tree names as it is. */
  keep(hash: string): void;
}

/** The previous version's blocks and leaf hashes (leaf i covers blocks i·L …). */
export interface PreviousTree {
  blocks: BlockRef[];
  leaves: string[];
  blocksPerLeaf: number;
}

export async function writeTree(blocks: BlockRef[], shape: TreeShape, out: ManifestWriter, prev?: PreviousTree): Promise<{ children: string[]; depth: number; leaves: string[] }> {
  const depth = treeDepth(shape);
  const same = prev && prev.blocksPerLeaf === shape.blocksPerLeaf ? prev : undefined;
  const leaves: string[] = [];
  for (let first = 0, j = 0; first < blocks.length; first += shape.blocksPerLeaf, j++) {
    const end = Math.min(blocks.length, first + shape.blocksPerLeaf);
    if (same?.leaves[j] && sameHashes(blocks, same.blocks, first, end)) {
      out.keep(same.leaves[j]);
      leaves.push(same.leaves[j]);
    } else {
      leaves.push(await out.write(encodeLeaf({ firstBlock: first, hashes: blocks.slice(first, end).map((b) => b.hash) })));
    }
  }
  let level = leaves;
  for (let lv = 1; lv < depth; lv++) {
    const span = blocksPerNode(shape, lv);
    const next: string[] = [];
    for (let first = 0, i = 0; first < blocks.length; first += span) {
      const n = childCount(shape, lv, first);
      next.push(await out.write(encodeNode({ level: lv, firstBlock: first, children: level.slice(i, i + n) })));
      i += n;
    }
    level = next;
  }
  return { children: level, depth, leaves };
}

/** Blocks [first, end) hash the same in both tables (and the previous one covers them all). */
function sameHashes(a: BlockRef[], b: BlockRef[], first: number, end: number): boolean {
  if (b.length < end || (end === a.length) !== (end === b.length)) return false;
  for (let i = first; i < end; i++) if (a[i] !== b[i] && a[i].hash !== b[i].hash) return false;
  return true;
}
