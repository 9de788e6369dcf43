/**
 * Block caches are keyed by the block's SHA-256, so an entry is valid for every
 * version and every bucket that holds the same bytes, and never needs invalidating.
 * Every cache is bounded in bytes and reports its stats.
 */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Bytes currently held. */
  bytes: number;
  entries: number;
  maxBytes: number;
  evictions: number;
  /** Writes that failed (full disk, permissions): the block was served, not kept. */
  writeErrors?: number;
  /** Write-behind tiers: blocks queued for the persistent tier, and writes skipped (queue full or failed). */
  pendingWrites?: number;
  writesSkipped?: number;
}

export interface BlockCache {
  get(hash: string): Promise<Uint8Array | undefined>;
  set(hash: string, bytes: Uint8Array): Promise<void>;
  stats(): CacheStats;
  /** Waits for writes still under way (write-behind caches). */
  flush?(): Promise<void>;
}
