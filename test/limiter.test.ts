import { describe, expect, it } from 'vitest';
import { Limiter } from '../src/fetch/limiter.js';
import { fitReads } from '../src/bucket/ranges.js';

/** A task that ends when told, recording its start. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((r) => { open = r; });
  return { fn: async () => { log.push(name); await done; return name; }, open };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('the request queue', () => {
  it('keeps at most `limit` in flight, and starts waiting demand before queued readahead', async () => {
    const log: string[] = [];
    const q = new Limiter(() => 2);
    const [a, b, p1, p2, d] = ['a', 'b', 'p1', 'p2', 'd'].map((n) => gate(log, n));
    q.run(a.fn);
    q.run(b.fn);
    q.run(p1.fn, true);
    q.run(p2.fn, true);
    q.run(d.fn);
    await tick();
    expect(log).toEqual(['a', 'b']);
    expect(q.stats()).toMatchObject({ inFlight: 2, queuedDemand: 1, queuedPrefetch: 2 });
    a.open();
    await tick();
    expect(log).toEqual(['a', 'b', 'd']); // the demand read queued last starts first
    b.open();
    d.open();
    await tick();
    await tick();
    expect(log).toEqual(['a', 'b', 'd', 'p1', 'p2']);
    p1.open();
    p2.open();
    await tick();
    expect(q.stats()).toMatchObject({ inFlight: 0, queuedDemand: 0, queuedPrefetch: 0, maxInFlight: 2 });
  });

  it('a queued readahead SQLite comes to need is promoted ahead of the other readahead', async () => {
    const log: string[] = [];
    const q = new Limiter(() => 1);
    const [a, p1, p2] = ['a', 'p1', 'p2'].map((n) => gate(log, n));
    q.run(a.fn);
    q.run(p1.fn, true);
    const t2 = q.run(p2.fn, true);
    t2.promote();
    a.open();
    await tick();
    expect(log).toEqual(['a', 'p2']);
    expect(q.stats().promoted).toBe(1);
    p2.open();
    expect(await t2.promise).toBe('p2');
    p1.open();
  });

  it('reads the limit at each start, so it can rise once the connection is known to multiplex', async () => {
    const log: string[] = [];
    let limit = 1;
    const q = new Limiter(() => limit);
    const gates = ['a', 'b', 'c', 'd'].map((n) => gate(log, n));
    for (const g of gates) q.run(g.fn);
    await tick();
    expect(log).toEqual(['a']);
    limit = 3;
    gates[0].open();
    await tick();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    for (const g of gates) g.open();
  });

  it('a failed task frees its slot and rejects its own promise only', async () => {
    const q = new Limiter(() => 1);
    const bad = q.run(async () => { throw new Error('boom'); });
    const good = q.run(async () => 'ok');
    await expect(bad.promise).rejects.toThrow('boom');
    expect(await good.promise).toBe('ok');
    expect(q.stats().inFlight).toBe(0);
  });
});

describe('fitting a batch of Range reads to the connections (fitReads)', () => {
  const read = (pack: string, block: number, blocks = 1) => {
    const at = { pack, offset: block * 2048, length: blocks * 2048 };
    return { ...at, items: [at] };
  };
  const spans = (rs: { pack: string; offset: number; length: number }[]) => rs.map((r) => `${r.pack}:${r.offset / 2048}+${r.length / 2048}`);

  it('joins the nearest reads of one pack first, only until the batch fits', () => {
    // 8 reads, 6 connections: the two smallest gaps (1 block, then 2) are joined, nothing else.
    const reads = [read('a', 0), read('a', 10), read('a', 12), read('a', 40, 2), read('a', 45), read('a', 60), read('a', 100), read('a', 200)];
    const out = fitReads(reads, 6, 1 << 20, 32 * 1024);
    expect(spans(out)).toEqual(['a:0+1', 'a:10+3', 'a:40+6', 'a:60+1', 'a:100+1', 'a:200+1']);
    expect(out[1].items.map((i) => i.offset / 2048)).toEqual([10, 12]);
    expect(fitReads(reads, 8, 1 << 20, 32 * 1024)).toEqual(reads);
  });

  it('never joins reads of two packs, reads further apart than maxJoinGap, or past maxBytes: the batch may stay larger', () => {
    const reads = [read('a', 0), read('b', 1), read('b', 30), read('b', 31 + 16)];
    expect(spans(fitReads(reads, 1, 1 << 20, 16 * 2048))).toEqual(['a:0+1', 'b:1+1', 'b:30+18']);
    expect(spans(fitReads(reads, 1, 8 * 2048, 16 * 2048))).toEqual(['a:0+1', 'b:1+1', 'b:30+1', 'b:47+1']);
  });
});
