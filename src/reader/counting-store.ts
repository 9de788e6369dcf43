/**
 * Counts what a reader costs: requests, bytes, and sequential round trips. A round
 * trip starts whenever a request is sent while none is in flight; requests sent while
 * another is in flight overlap it and share its round trip. So "HEAD, then the hot
 * pages and leaves in parallel, then a leaf page" is 3 round trips.
 */
import type { BucketStore, GetOptions, GetResult, ObjectInfo, PutOptions } from '../storage/types.js';

export interface RequestStats {
  requests: number;
  bytes: number;
  roundTrips: number;
}

export class CountingStore implements BucketStore {
  readonly counts: RequestStats = { requests: 0, bytes: 0, roundTrips: 0 };
  private active = 0;
  constructor(readonly inner: BucketStore) {}
  get name(): string {
    return this.inner.name;
  }

  private async track<T>(fn: () => Promise<T>, size: (t: T) => number): Promise<T> {
    if (this.active++ === 0) this.counts.roundTrips++;
    this.counts.requests++;
    try {
      const out = await fn();
      this.counts.bytes += size(out);
      return out;
    } finally {
      this.active--;
    }
  }

  get(key: string, opts?: GetOptions): Promise<GetResult> {
    return this.track(() => this.inner.get(key, opts), (r) => r.body.length);
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.track(() => this.inner.head(key), () => 0);
  }
  put(key: string, body: Uint8Array, opts?: PutOptions): Promise<{ etag: string }> {
    return this.inner.put(key, body, opts);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  etagIsExact(etag: string): boolean {
    return this.inner.etagIsExact?.(etag) ?? true;
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
