/**
 * A persistent block cache in a directory, shared by versions, buckets and processes:
 * `<dir>/<aa>/<hash>`. Writes go to a unique temporary file and are renamed into
 * place, so concurrent fillers never expose a partial block (same name = same bytes,
 * so the last rename wins harmlessly). Reads re-check the hash: a damaged file is a
 * miss and is removed. Bounded: past `maxBytes` the least recently written files are
 * evicted down to 90% (the total is this process's view; other processes evict too).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { BlockCache, CacheStats } from '../cache/types.js';

export class DiskBlockCache implements BlockCache {
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private writeErrors = 0;
  private bytes = -1;
  private entries = 0;
  private scanning: Promise<void> | null = null;

  constructor(readonly dir: string, readonly maxBytes = 1024 * 1024 * 1024) {}

  private file(hash: string): string {
    return path.join(this.dir, hash.slice(0, 2), hash);
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.readFile(this.file(hash)));
    } catch {
      this.misses++;
      return undefined;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== hash) {
      await fs.rm(this.file(hash), { force: true });
      this.misses++;
      return undefined;
    }
    this.hits++;
    return bytes;
  }

  async set(hash: string, bytes: Uint8Array): Promise<void> {
    const final = this.file(hash);
    const tmp = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.mkdir(path.dirname(final), { recursive: true });
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, final);
    } catch {
      // A cache write failing is not a read failure, and neither is failing to clean up after it.
      await fs.rm(tmp, { force: true }).catch(() => {});
      this.writeErrors++;
      return;
    }
    await this.account(bytes.byteLength);
  }

  private async account(added: number): Promise<void> {
    if (this.bytes < 0) await (this.scanning ??= this.scan());
    this.bytes += added;
    this.entries++;
    if (this.bytes > this.maxBytes) await this.evict();
  }

  private async listFiles(): Promise<{ file: string; size: number; mtimeMs: number }[]> {
    const out: { file: string; size: number; mtimeMs: number }[] = [];
    const subdirs = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const d of subdirs) {
      const names = await fs.readdir(path.join(this.dir, d)).catch(() => [] as string[]);
      for (const n of names) {
        if (n.endsWith('.tmp')) continue;
        const file = path.join(this.dir, d, n);
        const st = await fs.stat(file).catch(() => null);
        if (st?.isFile()) out.push({ file, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
    return out;
  }

  private async scan(): Promise<void> {
    const files = await this.listFiles();
    this.bytes = files.reduce((a, f) => a + f.size, 0);
    this.entries = files.length;
  }

  private async evict(): Promise<void> {
    const files = (await this.listFiles()).sort((a, b) => a.mtimeMs - b.mtimeMs);
    let total = files.reduce((a, f) => a + f.size, 0);
    let left = files.length;
    for (const f of files) {
      if (total <= this.maxBytes * 0.9) break;
      await fs.rm(f.file, { force: true });
      total -= f.size;
      left--;
      this.evictions++;
    }
    this.bytes = total;
    this.entries = left;
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, bytes: Math.max(0, this.bytes), entries: this.entries, maxBytes: this.maxBytes, evictions: this.evictions, writeErrors: this.writeErrors };
  }
}
