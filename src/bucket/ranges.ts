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
