/**
 * Compaction: which unchanged blocks a commit writes again, so the bucket and the root
 * stay small however many commits come. Each commit may spend a budget (default 4 MiB)
 * on two kinds of rewrite, decided from the current version's layout before hashing:
 *  - **windows** of 64 aligned blocks cut into the most runs, while the root has more
 *    than about 200 runs beyond one per pack (a fresh upload has none): a rewritten
 *    window is one run again, and the small packs its blocks came from lose a live block;
 *  - **live blocks of sparse packs** (less than half of the pack's bytes still used by
 *    the current version) and, once there are more than 8 of them, of small packs (under
 *    1 MiB and a quarter of the pack size: one commit's change each), fewest live bytes
 *    first: once none is left, gc
 *    deletes the pack when no kept version names it.
 * Rewriting only adds new packs; what older versions name stays until gc's rules let it
 * go, so readers pinned to them never lose a block.
 */
import { runPacks, runsOf } from '../format/manifest.js';
import type { BlockRef } from '../format/manifest.js';

export interface CompactionInput {
  /** The current version's blocks by index. */
  old: BlockRef[];
  blockSize: number;
  /** Stored size of each pack the current version names (missing: not compacted by sparseness). */
  packSizes: Map<string, number>;
  /** Bytes this commit may write again. */
  budget: number;
  /** The upload's pack size: a pack under a quarter of it (and under 1 MiB) is small. */
  packSize: number;
}

export const DEFAULT_COMPACT_BUDGET = 4 << 20;
/** Runs beyond one per pack above which windows are rewritten (20 bytes of root each). */
export const EXTRA_RUNS_TARGET = 200;
const WINDOW_BLOCKS = 64;
const SPARSE = 0.5;
const SMALL_PACK = 1 << 20;
const SMALL_PACKS_KEPT = 8;

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
  // Windows first: they bound the root, which every open downloads.
  const runs = runsOf(inp.old, inp.blockSize);
  let excess = runs.length - runPacks(runs).length - EXTRA_RUNS_TARGET;
  for (const w of excess > 0 ? windowsByBreaks(inp.old, inp.blockSize) : []) {
    if (excess <= 0 || w.breaks < 2) break;
    const bytes = w.blocks.reduce((a, i) => a + inp.old[i].length, 0);
    if (bytes > left) break;
    w.blocks.forEach(take);
    excess -= w.breaks - 1;
    plan.windows++;
  }
  // Then sparse and small packs, the cheapest to empty first.
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

/** Packs to empty, fewest live bytes first, with the blocks stored in them. */
function sparsePacks(inp: CompactionInput): { liveBytes: number; blocks: number[] }[] {
  // (A stored copy named by several blocks, such as zeroed pages, counts each time: a
  // pack looks fuller than it is, never emptier.)
  const live = new Map<string, number>();
  for (const b of inp.old) live.set(b.pack, (live.get(b.pack) ?? 0) + b.length);
  const smallBelow = Math.min(SMALL_PACK, inp.packSize / 4);
  const small = [...live.keys()].filter((p) => (inp.packSizes.get(p) ?? Infinity) < smallBelow).length;
  const victims = new Map<string, { liveBytes: number; blocks: number[] }>();
  for (const [pack, liveBytes] of live) {
    const size = inp.packSizes.get(pack);
    if (size === undefined) continue;
    if (liveBytes < size * SPARSE || (size < smallBelow && small > SMALL_PACKS_KEPT)) victims.set(pack, { liveBytes, blocks: [] });
  }
  if (victims.size) inp.old.forEach((b, i) => victims.get(b.pack)?.blocks.push(i));
  return [...victims.values()].sort((a, b) => a.liveBytes - b.liveBytes);
}
