/** An in-memory LRU of blocks, bounded in bytes (lru-cache's maxSize). */
import { LRUCache } from 'lru-cache';
import type { BlockCache, CacheStats } from './types.js';

export class MemoryBlockCache implements BlockCache {
  private readonly lru: LRUCache<string, Uint8Array>;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(readonly maxBytes = 64 * 1024 * 1024) {
    this.lru = new LRUCache<string, Uint8Array>({
      maxSize: maxBytes,
      sizeCalculation: (b) => Math.max(1, b.byteLength),
      dispose: (_v, _k, reason) => { if (reason === 'evict') this.evictions++; },
    });
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    return this.getSync(hash);
  }

  getSync(hash: string): Uint8Array | undefined {
    const v = this.lru.get(hash);
    if (v) this.hits++;
    else this.misses++;
    return v;
  }

  async set(hash: string, bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength <= this.maxBytes) this.lru.set(hash, bytes);
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, bytes: this.lru.calculatedSize, entries: this.lru.size, maxBytes: this.maxBytes, evictions: this.evictions };
  }
}

/** Memory first, then a slower persistent tier; persistent hits are promoted. */
export class TieredBlockCache implements BlockCache {
  constructor(readonly memory: MemoryBlockCache, readonly persistent: BlockCache) {}

  async get(hash: string): Promise<Uint8Array | undefined> {
    const m = this.memory.getSync(hash);
    if (m) return m;
    const p = await this.persistent.get(hash);
    if (p) await this.memory.set(hash, p);
    return p;
  }

  async set(hash: string, bytes: Uint8Array): Promise<void> {
    await this.memory.set(hash, bytes);
    await this.persistent.set(hash, bytes);
  }

  stats(): CacheStats {
    const m = this.memory.stats();
    const p = this.persistent.stats();
    // A hit in either tier is a hit; only a miss in both is a miss.
    return { hits: m.hits + p.hits, misses: p.misses, bytes: m.bytes + p.bytes, entries: m.entries + p.entries, maxBytes: m.maxBytes + p.maxBytes, evictions: m.evictions + p.evictions };
  }
}
