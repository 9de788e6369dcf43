/**
 * Compaction: which unchanged blocks a commit writes again, so the bucket and the root
 * stay small however many commits come. Each commit may spend a budget (default 4 MiB)
 * on two kinds of rewrite, decided from the current version's layout before hashing:
 *  - **windows** of 64 aligned blocks cut into the most runs, while the root's run and
 *    pack tables are above a target (8 KiB): a rewritten window is one run again, and the
 *    small packs its blocks came from lose a live block;
 *  - **live blocks of sparse packs** (less than half of the pack's bytes still used by
 *    the current version), fewest live bytes first: once none is left, gc deletes the
 *    pack when no kept version names it.
 * Rewriting only adds new packs; what older versions name stays until gc's rules let it
 * go, so readers pinned to them never lose a block.
 */
import { RUN_BYTES } from '../format/constants.js';
import { locationTableBytes, runsOf } from '../format/manifest.js';
import type { BlockRef } from '../format/manifest.js';

export interface CompactionInput {
  /** The current version's blocks by index. */
  old: BlockRef[];
  blockSize: number;
  /** Stored size of each pack the current version names (missing: not compacted by sparseness). */
  packSizes: Map<string, number>;
  /** Bytes this commit may write again. */
  budget: number;
}

export const DEFAULT_COMPACT_BUDGET = 4 << 20;
/** Run and pack table bytes above which windows are rewritten. */
export const LOCATION_TARGET = 8 * 1024;
const WINDOW_BLOCKS = 64;
const SPARSE = 0.5;

export interface CompactionPlan {
  rewrite: Set<number>;
  windows: number;
  sparsePacks: number;
}

export function planCompaction(inp: CompactionInput): CompactionPlan {
  const plan: CompactionPlan = { rewrite: new Set(), windows: 0, sparsePacks: 0 };
  if (inp.budget <= 0 || inp.old.length === 0) return plan;
  let left = inp.budget;
  const take = (i: number) => {
    if (plan.rewrite.has(i)) return;
    plan.rewrite.add(i);
    left -= inp.old[i].length;
  };
  // Windows first: they bound what an open downloads.
  let excess = locationTableBytes(runsOf(inp.old, inp.blockSize)) - LOCATION_TARGET;
  for (const w of windowsByBreaks(inp.old, inp.blockSize)) {
    if (excess <= 0 || w.breaks < 2) break;
    const bytes = w.blocks.reduce((a, i) => a + inp.old[i].length, 0);
    if (bytes > left) break;
    w.blocks.forEach(take);
    excess -= (w.breaks - 1) * RUN_BYTES;
    plan.windows++;
  }
  // Then sparse packs, the cheapest to empty first.
  for (const p of sparsePacks(inp)) {
    if (p.liveBytes > left) continue;
    p.blocks.forEach(take);
    plan.sparsePacks++;
  }
  return plan;
}

interface Window { blocks: number[]; breaks: number }

/** Aligned windows, most run starts first. */
function windowsByBreaks(old: BlockRef[], blockSize: number): Window[] {
  const out: Window[] = [];
  for (let first = 0; first < old.length; first += WINDOW_BLOCKS) {
    const blocks: number[] = [];
    let breaks = 0;
    for (let i = first; i < Math.min(old.length, first + WINDOW_BLOCKS); i++) {
      blocks.push(i);
      const prev = old[i - 1];
      if (i === first || !prev || prev.pack !== old[i].pack || prev.offset + blockSize !== old[i].offset) breaks++;
    }
    out.push({ blocks, breaks });
  }
  return out.sort((a, b) => b.breaks - a.breaks);
}

interface PackUse { pack: string; liveBytes: number; blocks: number[]; offsets: Set<number> }

function sparsePacks(inp: CompactionInput): PackUse[] {
  const use = new Map<string, PackUse>();
  inp.old.forEach((b, i) => {
    let u = use.get(b.pack);
    if (!u) use.set(b.pack, (u = { pack: b.pack, liveBytes: 0, blocks: [], offsets: new Set() }));
    // A stored copy that several blocks of the version name (same content) counts once.
    if (!u.offsets.has(b.offset)) u.liveBytes += b.length;
    u.offsets.add(b.offset);
    u.blocks.push(i);
  });
  return [...use.values()]
    .filter((u) => { const size = inp.packSizes.get(u.pack); return size !== undefined && u.liveBytes < size * SPARSE; })
    .sort((a, b) => a.liveBytes - b.liveBytes);
}
