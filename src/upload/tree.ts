/**
 * Upload step 4: the manifest tree, bottom up (docs/FORMAT.md §3). Objects the bucket
 * holds already (unchanged subtrees hash the same) are not written again.
 */
import { blocksPerNode, childCount, encodeLeaf, encodeNode, treeDepth } from '../format/manifest.js';
import type { BlockRef, TreeShape } from '../format/manifest.js';

/** Writes one manifest object (create-only) and returns its hash. */
export type ManifestWriter = (bytes: Uint8Array) => Promise<string>;

/** The root's children (hashes one level below the root) and the tree's depth. */
export async function writeTree(blocks: BlockRef[], shape: TreeShape, write: ManifestWriter): Promise<{ children: string[]; depth: number }> {
  const depth = treeDepth(shape);
  let level: string[] = [];
  for (let first = 0; first < blocks.length; first += shape.blocksPerLeaf) {
    level.push(await write(encodeLeaf({ firstBlock: first, hashes: blocks.slice(first, first + shape.blocksPerLeaf).map((b) => b.hash) })));
  }
  for (let lv = 1; lv < depth; lv++) {
    const span = blocksPerNode(shape, lv);
    const next: string[] = [];
    for (let first = 0, i = 0; first < blocks.length; first += span) {
      const n = childCount(shape, lv, first);
      next.push(await write(encodeNode({ level: lv, firstBlock: first, children: level.slice(i, i + n) })));
      i += n;
    }
    level = next;
  }
  return { children: level, depth };
}
