/**
 * Persistent block caches for browsers, keyed by block hash (shared by every version
 * and every tab of an origin): Cache Storage or OPFS. Both are bounded: an index of
 * entries in least-recently-written order is loaded on first use, and the oldest are
 * deleted past `maxBytes`. Entries are verified against their hash on read, so a
 * damaged or foreign entry is a miss, never wrong data.
 */
import type { BlockCache, CacheStats } from '../cache/types.js';
import { sha256Hex } from '../hash.js';

abstract class IndexedPersistentCache implements BlockCache {
  protected hits = 0;
  protected misses = 0;
  protected evictions = 0;
  private index: Map<string, number> | null = null;
  private loading: Promise<Map<string, number>> | null = null;
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  protected abstract list(): Promise<Map<string, number>>;
  protected abstract read(hash: string): Promise<Uint8Array | undefined>;
  protected abstract write(hash: string, bytes: Uint8Array): Promise<void>;
  protected abstract remove(hash: string): Promise<void>;

  private async entries(): Promise<Map<string, number>> {
    if (this.index) return this.index;
    this.loading ??= this.list().then((m) => {
      this.index = m;
      this.bytes = [...m.values()].reduce((a, b) => a + b, 0);
      return m;
    });
    return this.loading;
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    const idx = await this.entries();
    if (!idx.has(hash)) { this.misses++; return undefined; }
    const bytes = await this.read(hash).catch(() => undefined);
    if (!bytes || (await sha256Hex(bytes)) !== hash) {
      idx.delete(hash);
      await this.remove(hash).catch(() => undefined);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return bytes;
  }

  async set(hash: string, bytes: Uint8Array): Promise<void> {
    const idx = await this.entries();
    if (idx.has(hash) || bytes.length > this.maxBytes) return;
    try {
      await this.write(hash, bytes);
    } catch {
      return; // quota or storage errors: a cache that cannot write is just a smaller cache
    }
    idx.set(hash, bytes.length);
    this.bytes += bytes.length;
    for (const [h, size] of idx) {
      if (this.bytes <= this.maxBytes) break;
      idx.delete(h);
      this.bytes -= size;
      this.evictions++;
      await this.remove(h).catch(() => undefined);
    }
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, bytes: this.bytes, entries: this.index?.size ?? 0, maxBytes: this.maxBytes, evictions: this.evictions };
  }
}

/** Cache Storage: one Response per block under a synthetic URL. */
export class CacheStorageBlockCache extends IndexedPersistentCache {
  private cache: Promise<Cache>;
  constructor(maxBytes = 256 * 1024 * 1024, name = 'bucketlite-blocks') {
    super(maxBytes);
    this.cache = caches.open(name);
  }
  private url(hash: string): string {
    return `https://bucketlite.invalid/blocks/${hash}`;
  }
  protected async list(): Promise<Map<string, number>> {
    const c = await this.cache;
    const m = new Map<string, number>();
    for (const req of await c.keys()) {
      const hash = req.url.slice(req.url.lastIndexOf('/') + 1);
      const res = await c.match(req);
      m.set(hash, Number(res?.headers.get('content-length') ?? 0));
    }
    return m;
  }
  protected async read(hash: string): Promise<Uint8Array | undefined> {
    const res = await (await this.cache).match(this.url(hash));
    return res ? new Uint8Array(await res.arrayBuffer()) : undefined;
  }
  protected async write(hash: string, bytes: Uint8Array): Promise<void> {
    await (await this.cache).put(this.url(hash), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.length) } }));
  }
  protected async remove(hash: string): Promise<void> {
    await (await this.cache).delete(this.url(hash));
  }
}

/** OPFS: one file per block in a directory of the origin-private file system. */
export class OpfsBlockCache extends IndexedPersistentCache {
  private dir: Promise<FileSystemDirectoryHandle>;
  constructor(maxBytes = 256 * 1024 * 1024, name = 'bucketlite-blocks') {
    super(maxBytes);
    this.dir = navigator.storage.getDirectory().then((root) => root.getDirectoryHandle(name, { create: true }));
  }
  protected async list(): Promise<Map<string, number>> {
    const d = await this.dir;
    const files: { hash: string; size: number; at: number }[] = [];
    for await (const [name, handle] of (d as unknown as AsyncIterable<[string, FileSystemHandle]>)) {
      if (handle.kind !== 'file' || !/^[0-9a-f]{64}$/.test(name)) continue;
      const f = await (handle as FileSystemFileHandle).getFile();
      files.push({ hash: name, size: f.size, at: f.lastModified });
    }
    files.sort((a, b) => a.at - b.at);
    return new Map(files.map((f) => [f.hash, f.size]));
  }
  protected async read(hash: string): Promise<Uint8Array | undefined> {
    const f = await (await (await this.dir).getFileHandle(hash)).getFile();
    return new Uint8Array(await f.arrayBuffer());
  }
  protected async write(hash: string, bytes: Uint8Array): Promise<void> {
    const h = await (await this.dir).getFileHandle(hash, { create: true });
    const w = await (h as unknown as { createWritable(): Promise<{ write(b: Uint8Array): Promise<void>; close(): Promise<void> }> }).createWritable();
    await w.write(bytes);
    await w.close();
  }
  protected async remove(hash: string): Promise<void> {
    await (await this.dir).removeEntry(hash);
  }
}
