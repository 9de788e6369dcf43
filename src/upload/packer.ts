/**
 * Packs new blocks back to back into immutable pack objects of about `packSize` bytes,
 * named by the SHA-256 of their bytes (hashed incrementally as blocks are appended, so
 * no second pass over the data). Uploads run in the background through a bounded
 * queue: at most `concurrency` packs are buffered or in flight, which bounds memory.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { packKey } from '../format/keys.js';
import type { BlockRef } from '../format/manifest.js';
import type { BucketStore } from '../storage/types.js';
import { putImmutable } from './objects.js';
import type { WriteStats } from './objects.js';

/** A location inside a pack; `pack` is filled in when the pack is sealed. */
export interface PendingRef {
  pack: string;
  offset: number;
  length: number;
}

interface OpenPack {
  buf: Uint8Array;
  size: number;
  hash: Hash;
  refs: PendingRef[];
}

export interface PackerOptions {
  packSize: number;
  concurrency: number;
  dryRun: boolean;
  onUploaded?(bytes: number): void;
}

export class PackWriter {
  private open: OpenPack | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown = null;
  readonly packs: string[] = [];
  /** Size of each pack sealed. */
  readonly sizes = new Map<string, number>();

  constructor(private readonly store: BucketStore, private readonly opts: PackerOptions, private readonly stats: WriteStats) {}

  /** Appends a block; returns its ref (pack name filled at seal time). */
  async addBlock(hash: string, bytes: Uint8Array): Promise<BlockRef> {
    const ref = await this.append(bytes);
    return Object.assign(ref, { hash }) as BlockRef;
  }

  /** Appends raw bytes to the current pack. */
  private append = async (bytes: Uint8Array): Promise<PendingRef> => {
    if (this.failure) throw this.failure;
    if (this.open && this.open.size + bytes.length > this.open.buf.length) await this.seal();
    if (!this.open) {
      this.open = { buf: new Uint8Array(Math.max(this.opts.packSize, bytes.length)), size: 0, hash: createHash('sha256'), refs: [] };
    }
    const p = this.open;
    p.buf.set(bytes, p.size);
    p.hash.update(bytes);
    const ref: PendingRef = { pack: '', offset: p.size, length: bytes.length };
    p.size += bytes.length;
    p.refs.push(ref);
    return ref;
  };

  /** Seals the open pack and queues its upload, waiting while the queue is full. */
  async seal(): Promise<void> {
    const p = this.open;
    if (!p || p.size === 0) return;
    this.open = null;
    const name = p.hash.digest('hex');
    for (const r of p.refs) r.pack = name;
    this.packs.push(name);
    this.sizes.set(name, p.size);
    while (this.inflight.size >= this.opts.concurrency) await Promise.race(this.inflight);
    if (this.failure) throw this.failure;
    const body = p.buf.subarray(0, p.size);
    const task = putImmutable(this.store, packKey(name), body, this.stats, this.opts.dryRun)
      .then((wrote) => { if (wrote) this.opts.onUploaded?.(body.length); })
      .catch((err) => { this.failure ??= err; })
      .finally(() => { this.inflight.delete(task); });
    this.inflight.add(task);
  }

  /** Seals the last pack and waits for every upload; throws the first failure. */
  async finish(): Promise<void> {
    await this.seal();
    while (this.inflight.size) await Promise.race(this.inflight);
    if (this.failure) throw this.failure;
  }

  /** Waits for in-flight uploads without raising (used when aborting). */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.race(this.inflight);
  }
}
