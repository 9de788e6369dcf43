/**
 * Upload step 2: the block table of the new version. One pass in block order: blocks
 * the caller may take from the current version unread (WAL-guided) cost no I/O, the
 * rest are read in ranges of up to 8 MiB (the next range is read while this one is
 * hashed), hashed, and reused where the bucket holds them in a place that keeps the
 * run table short, or packed.
 */
import { createHash } from 'node:crypto';
import { BucketliteError } from '../errors.js';
import { blockCount } from '../format/manifest.js';
import type { BlockRef } from '../format/manifest.js';
import type { DatabaseSource } from './input.js';
import type { PackWriter } from './packer.js';

export interface HashBlocksInput {
  source: DatabaseSource;
  blockSize: number;
  /** The current version's blocks by index (empty: nothing to reuse by position). */
  old: BlockRef[];
  /** A stored copy of a block by its hash, if any. */
  known(hash: string): BlockRef | undefined;
  /** Block `i` equals old[i] without being read (WAL-guided). */
  unread(i: number): boolean;
  /** Block `i` is written again even where a stored copy exists (compaction). */
  rewrite(i: number): boolean;
  /** Read and hash unread blocks too, and fail if one differs (the proof of `unread`). */
  verifyUnread: boolean;
  packer: PackWriter;
  onHashed(bytes: number): void;
}

export interface BlockPlan {
  blocks: BlockRef[];
  blocksNew: number;
  bytesNew: number;
  /** Blocks taken from the current version unread. */
  blocksReused: number;
  /** Blocks written again though stored (compaction). */
  blocksRewritten: number;
  /**
   * Blocks to be written again (compaction), hashed but not yet packed: they are packed
   * after the pass, together, only if the commit changes anything (`packRewrites`).
   */
  rewrites: { index: number; hash: string; bytes: Uint8Array }[];
}

const CHUNK_BYTES = 8 << 20;

interface Segment { first: number; count: number }

/** Ranges of consecutive blocks to read, each at most `maxBlocks` long. */
function readSegments(n: number, maxBlocks: number, skip: (i: number) => boolean): Segment[] {
  const out: Segment[] = [];
  for (let i = 0; i < n; i++) {
    if (skip(i)) continue;
    const last = out[out.length - 1];
    if (last && last.first + last.count === i && last.count < maxBlocks) last.count++;
    else out.push({ first: i, count: 1 });
  }
  return out;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function hashBlocks(inp: HashBlocksInput): Promise<BlockPlan> {
  const { source, blockSize, old } = inp;
  const n = blockCount(source.size, blockSize);
  const plan: BlockPlan = { blocks: new Array(n), blocksNew: 0, bytesNew: 0, blocksReused: 0, blocksRewritten: 0, rewrites: [] };
  const chunkBlocks = Math.max(1, Math.floor(CHUNK_BYTES / blockSize));
  const segs = readSegments(n, chunkBlocks, (i) => inp.unread(i) && !inp.verifyUnread && !inp.rewrite(i));
  const bufs = [new Uint8Array(chunkBlocks * blockSize), new Uint8Array(chunkBlocks * blockSize)];
  const read = async (s: Segment, buf: Uint8Array) => {
    const pos = s.first * blockSize;
    const view = buf.subarray(0, Math.min(s.count * blockSize, source.size - pos));
    await source.read(view, pos);
    return view;
  };
  const takeUnread = (i: number) => {
    plan.blocks[i] = old[i];
    plan.blocksReused++;
  };
  let at = 0;
  let pending = segs.length ? read(segs[0], bufs[0]) : null;
  for (let s = 0; s < segs.length; s++) {
    const chunk = await pending!;
    pending = s + 1 < segs.length ? read(segs[s + 1], bufs[(s + 1) % 2]) : null;
    for (; at < segs[s].first; at++) takeUnread(at);
    for (let k = 0; k < segs[s].count; k++, at++) {
      await placeBlock(inp, plan, at, chunk.subarray(k * blockSize, (k + 1) * blockSize));
    }
    inp.onHashed(Math.min(at * blockSize, source.size));
  }
  for (; at < n; at++) takeUnread(at);
  inp.onHashed(source.size);
  return plan;
}

async function placeBlock(inp: HashBlocksInput, plan: BlockPlan, i: number, block: Uint8Array): Promise<void> {
  const hash = sha256(block);
  if (inp.unread(i) && inp.verifyUnread && hash !== inp.old[i].hash) {
    throw new BucketliteError('ERR_DAMAGED', `incremental hashing disagrees with a full rehash at block ${i}: a changed page was missed`, { op: 'upload', path: inp.source.path });
  }
  if (inp.rewrite(i)) {
    plan.rewrites.push({ index: i, hash, bytes: block.slice() });
    return;
  }
  let ref = reuse(inp, plan.blocks, hash, i);
  if (!ref) {
    ref = await inp.packer.addBlock(hash, block);
    plan.blocksNew++;
    plan.bytesNew += block.length;
  } else if (inp.unread(i)) plan.blocksReused++;
  plan.blocks[i] = ref;
}

/**
 * Places the blocks set aside for compaction: packed back to back (a rewritten window is
 * one run) when `write`, else taken from the current version as they are.
 */
export async function packRewrites(plan: BlockPlan, old: BlockRef[], packer: PackWriter, write: boolean): Promise<void> {
  for (const r of plan.rewrites) {
    const same = old[r.index]?.hash === r.hash;
    if (!write && same) {
      plan.blocks[r.index] = old[r.index];
      continue;
    }
    plan.blocks[r.index] = await packer.addBlock(r.hash, r.bytes);
    if (same) plan.blocksRewritten++;
    else {
      plan.blocksNew++;
      plan.bytesNew += r.bytes.length;
    }
  }
  plan.rewrites = [];
}

/**
 * A stored copy is reused where the block was (unchanged) or where it continues the
 * previous block's run; anywhere else it would cut the run table into pieces, so the
 * block is written again.
 */
function reuse(inp: HashBlocksInput, blocks: BlockRef[], hash: string, i: number): BlockRef | undefined {
  if (inp.old[i]?.hash === hash) return inp.old[i];
  const k = inp.known(hash);
  const prev = blocks[i - 1];
  return k && prev && k.pack === prev.pack && k.offset === prev.offset + inp.blockSize ? k : undefined;
}
