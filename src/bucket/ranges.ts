/**
 * Coalescing block reads: refs that lie back to back in one pack become one Range
 * request, so restoring or scanning a freshly uploaded database is a few long reads.
 */
export interface Located {
  pack: string;
  offset: number;
  length: number;
}

export interface RangeRead<T extends Located> {
  pack: string;
  offset: number;
  length: number;
  items: T[];
}

/** Groups refs into reads of at most `maxBytes`, joining refs separated by ≤ `maxGap` bytes. */
export function coalesce<T extends Located>(refs: T[], maxBytes: number, maxGap = 0): RangeRead<T>[] {
  const sorted = [...refs].sort((a, b) => (a.pack < b.pack ? -1 : a.pack > b.pack ? 1 : a.offset - b.offset));
  const out: RangeRead<T>[] = [];
  let cur: RangeRead<T> | null = null;
  for (const r of sorted) {
    const end: number = cur ? cur.offset + cur.length : 0;
    if (cur && cur.pack === r.pack && r.offset <= end + maxGap &&
        Math.max(end, r.offset + r.length) - cur.offset <= maxBytes) {
      cur.length = Math.max(end, r.offset + r.length) - cur.offset;
      cur.items.push(r);
    } else {
      cur = { pack: r.pack, offset: r.offset, length: r.length, items: [r] };
      out.push(cur);
    }
  }
  return out;
}

/**
 * Joins reads of one pack, nearest first, while there are more than `maxReads`: reads
 * beyond what can be in flight at once wait for a free connection, a round trip more,
 * and on a link of 50 ms and 20 Mbit/s a round trip costs as much time as 125 KB.
 * Reads further apart than `maxJoinGap` bytes, or that would exceed `maxBytes`
 * together, stay apart. The bytes between joined reads are fetched and dropped.
 */
export function fitReads<T extends Located>(reads: RangeRead<T>[], maxReads: number, maxBytes: number, maxJoinGap: number): RangeRead<T>[] {
  const out = reads.slice();
  while (out.length > maxReads) {
    let best = -1;
    let bestGap = Infinity;
    for (let i = 0; i + 1 < out.length; i++) {
      const [a, b] = [out[i], out[i + 1]];
      const gap = b.offset - (a.offset + a.length);
      if (a.pack === b.pack && gap >= 0 && gap <= maxJoinGap && gap < bestGap && b.offset + b.length - a.offset <= maxBytes) {
        best = i;
        bestGap = gap;
      }
    }
    if (best < 0) break;
    const [a, b] = [out[best], out[best + 1]];
    out.splice(best, 2, { pack: a.pack, offset: a.offset, length: b.offset + b.length - a.offset, items: [...a.items, ...b.items] });
  }
  return out;
}
