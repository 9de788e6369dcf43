import { BucketliteError } from '../errors.js';
import { HASH_BYTES } from './constants.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

const HASH_RE = /^[0-9a-f]{64}$/;
export function isHash(s: unknown): s is string {
  return typeof s === 'string' && HASH_RE.test(s);
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/** Big-endian writer over a preallocated buffer. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.bytes[this.pos++] = s.charCodeAt(i);
  }
  u8(v: number): void { this.view.setUint8(this.pos, v); this.pos += 1; }
  u16(v: number): void { this.view.setUint16(this.pos, v); this.pos += 2; }
  u32(v: number): void { this.view.setUint32(this.pos, v); this.pos += 4; }
  u64(v: number): void { this.view.setBigUint64(this.pos, BigInt(v)); this.pos += 8; }
  hash(hex: string): void { this.bytes.set(fromHex(hex), this.pos); this.pos += HASH_BYTES; }
  raw(b: Uint8Array): void { this.bytes.set(b, this.pos); this.pos += b.length; }
  zeros(n: number): void { this.pos += n; }
}

/**
 * Big-endian reader that never reads past its buffer: every overrun becomes a typed
 * error naming the object, so hostile input cannot crash a reader with a RangeError.
 */
export class ByteReader {
  private readonly view: DataView;
  pos = 0;
  constructor(readonly bytes: Uint8Array, private readonly what: string, private readonly key?: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(message: string): never {
    throw new BucketliteError('ERR_BAD_MANIFEST', `${this.what}: ${message}`, { op: 'decode', key: this.key });
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.length) this.fail(`truncated at byte ${this.pos} (need ${n} more of ${this.bytes.length})`);
  }
  ascii(n: number): string {
    this.need(n);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.bytes[this.pos + i]);
    this.pos += n;
    return s;
  }
  u8(): number { this.need(1); return this.view.getUint8(this.pos++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.pos); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit field at byte ${this.pos - 8} is too large`);
    return Number(v);
  }
  hash(): string {
    this.need(HASH_BYTES);
    const h = toHex(this.bytes.subarray(this.pos, this.pos + HASH_BYTES));
    this.pos += HASH_BYTES;
    return h;
  }
  zeros(n: number, field: string): void {
    this.need(n);
    for (let i = 0; i < n; i++) if (this.bytes[this.pos + i] !== 0) this.fail(`reserved field ${field} is not zero`);
    this.pos += n;
  }
  end(): void {
    if (this.pos !== this.bytes.length) this.fail(`${this.bytes.length - this.pos} trailing bytes`);
  }
}

// base64 via atob/btoa: present in browsers, workers and Node ≥ 16, so format code
// carries no Buffer dependency into the browser bundle.
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
