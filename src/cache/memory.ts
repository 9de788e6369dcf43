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

/**
 * Memory first, then a slower persistent tier; persistent hits are promoted. Writes to
 * the persistent tier happen behind the reads (write-behind): a block reaches SQLite as
 * soon as it is verified, not after a disk or Cache Storage write. The queue is bounded
 * in bytes; past the bound a write is skipped (the block is still in memory) and
 * counted. `flush()` waits for the queue (close() calls it).
 */
export class TieredBlockCache implements BlockCache {
  private readonly pending = new Map<string, Uint8Array>();
  private pendingBytes = 0;
  private writesSkipped = 0;
  private draining: Promise<void> | null = null;

  /** @param maxPendingBytes bound of the write-behind queue (default 32 MiB). */
  constructor(readonly memory: MemoryBlockCache, readonly persistent: BlockCache, private readonly maxPendingBytes = 32 * 1024 * 1024) {}

  async get(hash: string): Promise<Uint8Array | undefined> {
    const m = this.memory.getSync(hash) ?? this.pending.get(hash);
    if (m) return m;
    const p = await this.persistent.get(hash);
    if (p) await this.memory.set(hash, p);
    return p;
  }

  async set(hash: string, bytes: Uint8Array): Promise<void> {
    await this.memory.set(hash, bytes);
    if (this.pending.has(hash)) return;
    if (this.pendingBytes + bytes.byteLength > this.maxPendingBytes) {
      this.writesSkipped++;
      return;
    }
    this.pending.set(hash, bytes);
    this.pendingBytes += bytes.byteLength;
    this.draining ??= this.drain();
  }

  /** Writes queued blocks one at a time, in the background. */
  private async drain(): Promise<void> {
    await Promise.resolve(); // let the caller carry on first
    for (const [hash, bytes] of this.pending) {
      try {
        await this.persistent.set(hash, bytes);
      } catch {
        this.writesSkipped++; // a persistent write failing is never a read failure
      }
      this.pending.delete(hash);
      this.pendingBytes -= bytes.byteLength;
    }
    this.draining = null;
  }

  /** Resolves when every queued write has reached the persistent tier. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  stats(): CacheStats {
    const m = this.memory.stats();
    const p = this.persistent.stats();
    // A hit in either tier is a hit; only a miss in both is a miss.
    return {
      hits: m.hits + p.hits, misses: p.misses, bytes: m.bytes + p.bytes, entries: m.entries + p.entries,
      maxBytes: m.maxBytes + p.maxBytes, evictions: m.evictions + p.evictions,
      pendingWrites: this.pending.size, writesSkipped: this.writesSkipped, writeErrors: p.writeErrors,
    };
  }
}
