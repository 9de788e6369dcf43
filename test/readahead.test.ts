import { describe, expect, it } from 'vitest';
import { SequentialReadahead } from '../src/reader/readahead.js';

/** Feeds reads of single blocks; collects what the policy asks to fetch ahead. */
function feed(ra: SequentialReadahead, blocks: number[], total = 10_000): number[] {
  const fetched: number[] = [];
  for (const b of blocks) {
    const r = ra.next(b, b, total);
    if (r) for (let i = r.from; i <= r.to; i++) fetched.push(i);
  }
  return fetched;
}

describe('sequential readahead policy', () => {
  it('a front-to-back scan gets doubling windows ahead of it, never the same block twice', () => {
    const got = feed(new SequentialReadahead(64), Array.from({ length: 200 }, (_, i) => i));
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBeGreaterThan(150); // nearly every block came ahead of its read
    expect(Math.max(...got)).toBeLessThanOrEqual(199 + 64);
  });
  it('a table whose blocks are every fourth of the file gets nothing: no evidence of a scan', () => {
    expect(feed(new SequentialReadahead(64), Array.from({ length: 100 }, (_, i) => i * 4))).toEqual([]);
  });
  it('point reads and backward jumps get nothing', () => {
    expect(feed(new SequentialReadahead(64), [500, 20, 9000, 7, 3000])).toEqual([]);
  });
  it('off when the window is 0, and never past the last block', () => {
    expect(feed(new SequentialReadahead(0), [0, 1, 2, 3, 4])).toEqual([]);
    expect(Math.max(...feed(new SequentialReadahead(64), [0, 1, 2, 3, 4, 5, 6], 8))).toBe(7);
  });
});
