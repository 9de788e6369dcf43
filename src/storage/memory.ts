/**
 * An in-memory bucket for tests. Behaves like the other backends (same contract suite)
 * and adds what tests need: a log of operations to count requests and objects written,
 * fault hooks to fail or "crash" at any call, and a settable clock for age-based rules.
 */
import { BucketliteError } from '../errors.js';
import type { BucketStore, GetOptions, GetResult, ObjectInfo, PutOptions } from './types.js';
import { isSafeKey } from './types.js';

interface Stored {
  body: Uint8Array;
  etag: string;
  lastModified: Date;
}

export interface StoreOp {
  op: 'get' | 'head' | 'put' | 'list' | 'delete';
  key: string;
  bytes?: number;
}

export interface MemoryFaults {
  /** Called before a put takes effect; throw to make it fail (the object is not written). */
  beforePut?(key: string, opts: PutOptions): void | Promise<void>;
  /** Called after a put took effect; throw to model a crash after a durable write. */
  afterPut?(key: string): void | Promise<void>;
  beforeGet?(key: string): void | Promise<void>;
}

export class MemoryStore implements BucketStore {
  readonly name = 'memory://';
  readonly objects = new Map<string, Stored>();
  readonly ops: StoreOp[] = [];
  faults: MemoryFaults = {};
  /** The clock used for lastModified; tests move it to age objects. */
  now: () => Date = () => new Date();
  private nextEtag = 1;

  private check(key: string, op: string): void {
    if (!isSafeKey(key)) throw new BucketliteError('ERR_BAD_KEY', `refusing key ${JSON.stringify(key)}`, { op });
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    this.check(key, 'get');
    await this.faults.beforeGet?.(key);
    const o = this.objects.get(key);
    this.ops.push({ op: 'get', key });
    if (!o) throw new BucketliteError('ERR_NOT_FOUND', `${key} does not exist`, { op: 'get', key, status: 404 });
    if (opts.ifNoneMatch !== undefined && opts.ifNoneMatch === o.etag) {
      return { body: new Uint8Array(0), etag: o.etag, size: o.body.length, notModified: true };
    }
    const { offset, length } = opts.range ?? { offset: 0, length: o.body.length };
    if (offset < 0 || length < 0 || offset + length > o.body.length) {
      throw new BucketliteError('ERR_RANGE', `range is outside the ${o.body.length}-byte object`, { op: 'get', key, range: { offset, length } });
    }
    return { body: o.body.slice(offset, offset + length), etag: o.etag, size: o.body.length };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.check(key, 'head');
    this.ops.push({ op: 'head', key });
    const o = this.objects.get(key);
    return o ? { key, size: o.body.length, etag: o.etag, lastModified: o.lastModified } : null;
  }

  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    this.check(key, 'put');
    await this.faults.beforePut?.(key, opts);
    const cur = this.objects.get(key);
    if (opts.ifNoneMatch === '*' && cur) {
      throw new BucketliteError('ERR_PRECONDITION_FAILED', `${key} already exists`, { op: 'put', key, status: 412 });
    }
    if (opts.ifMatch !== undefined && cur?.etag !== opts.ifMatch) {
      throw new BucketliteError('ERR_PRECONDITION_FAILED', `${key} changed since it was read`, { op: 'put', key, status: 412 });
    }
    const etag = `m${this.nextEtag++}`;
    this.objects.set(key, { body: body.slice(), etag, lastModified: this.now() });
    this.ops.push({ op: 'put', key, bytes: body.length });
    await this.faults.afterPut?.(key);
    return { etag };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.ops.push({ op: 'list', key: prefix });
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const o = this.objects.get(key);
      if (o) yield { key, size: o.body.length, etag: o.etag, lastModified: o.lastModified };
    }
  }

  async delete(key: string): Promise<void> {
    this.check(key, 'delete');
    this.ops.push({ op: 'delete', key });
    this.objects.delete(key);
  }

  /** Operations of one kind since `from` (an index into `ops`). */
  count(op: StoreOp['op'], from = 0): number {
    return this.ops.slice(from).filter((o) => o.op === op).length;
  }
}
