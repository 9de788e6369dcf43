/**
 * Counts what a reader costs: requests and body bytes. Round trips are not counted
 * here: a client cannot see requests queued behind a connection limit, so only a
 * server's log can count them (bench/link-proxy.ts does).
 */
import type { BucketStore, GetOptions, GetResult, ObjectInfo, PutOptions } from '../storage/types.js';

export interface RequestStats {
  requests: number;
  bytes: number;
}

export class CountingStore implements BucketStore {
  readonly counts: RequestStats = { requests: 0, bytes: 0 };
  constructor(readonly inner: BucketStore) {}
  get name(): string {
    return this.inner.name;
  }

  private async track<T>(fn: () => Promise<T>, size: (t: T) => number): Promise<T> {
    this.counts.requests++;
    const out = await fn();
    this.counts.bytes += size(out);
    return out;
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
  inFlightHint(): number | undefined {
    return this.inner.inFlightHint?.();
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
