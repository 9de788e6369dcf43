/**
 * HEAD: the bucket's only mutable object. A small JSON document naming the current root
 * manifest, optionally carrying the root's bytes inline so that a reader needs nothing
 * but HEAD before its first useful fetch. The inline copy is checked against the name.
 */
import { BucketliteError } from '../errors.js';
import { fromBase64, isHash, toBase64 } from './binary.js';
import { FORMAT_VERSION, LIMITS, ROOT_INLINE_MAX } from './constants.js';
import { republishError } from './manifest.js';

export interface Head {
  version: number;
  seq: number;
  root: string;
  /** Root manifest bytes (the caller verifies their hash equals `root`). */
  inline?: Uint8Array;
  /** The gc fence (docs/FORMAT.md §8): a gc is deleting until `until` (ms since the epoch). */
  gc?: GcFence;
}

export interface GcFence {
  /** Random hex naming the gc run that holds the fence. */
  id: string;
  until: number;
}

export function encodeHead(h: { seq: number; root: string; inline?: Uint8Array; gc?: GcFence }): Uint8Array {
  const doc: Record<string, unknown> = { format: 'bucketlite', version: FORMAT_VERSION, seq: h.seq, root: h.root };
  if (h.inline && h.inline.length <= ROOT_INLINE_MAX) doc.inline = toBase64(h.inline);
  if (h.gc) doc.gc = { id: h.gc.id, until: h.gc.until };
  return new TextEncoder().encode(JSON.stringify(doc) + '\n');
}

function bad(message: string, key: string): never {
  throw new BucketliteError('ERR_BAD_HEAD', `HEAD is invalid: ${message}`, { op: 'decode', key });
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeHead(bytes: Uint8Array, key = 'HEAD'): Head {
  if (bytes.length > LIMITS.headBytes) bad(`${bytes.length} bytes exceeds the ${LIMITS.headBytes}-byte limit`, key);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    bad(`not UTF-8 JSON (${(cause as Error).message})`, key);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) bad('not a JSON object', key);
  const d = doc as Record<string, unknown>;
  if (d.format !== 'bucketlite') bad('"format" is not "bucketlite" (is this a bucketlite bucket?)', key);
  if (!Number.isSafeInteger(d.version) || (d.version as number) < 1) bad('"version" is not a positive integer', key);
  if ((d.version as number) > FORMAT_VERSION) {
    throw new BucketliteError(
      'ERR_UNSUPPORTED_VERSION',
      `HEAD has format version ${d.version}; this bucketlite reads up to ${FORMAT_VERSION}: upgrade bucketlite`,
      { op: 'decode', key },
    );
  }
  if ((d.version as number) < FORMAT_VERSION) throw republishError(d.version as number, key);
  if (!Number.isSafeInteger(d.seq) || (d.seq as number) < 1) bad('"seq" is not a positive integer', key);
  // Only a hash is ever turned into an object key: a path, "..", or a URL is refused here.
  if (!isHash(d.root)) bad('"root" is not a 64-digit lowercase hex SHA-256', key);
  const head: Head = { version: d.version as number, seq: d.seq as number, root: d.root as string };
  if (d.inline !== undefined) {
    if (typeof d.inline !== 'string' || !BASE64_RE.test(d.inline)) bad('"inline" is not base64', key);
    // The pattern lets through lengths atob refuses ("A", "AAAAA", "AA="): its DOMException
    // must not escape as an untyped error.
    try {
      head.inline = fromBase64(d.inline as string);
    } catch {
      bad('"inline" is not base64 (bad length or padding)', key);
    }
  }
  if (d.gc !== undefined) head.gc = decodeFence(d.gc, key);
  return head;
}

function decodeFence(v: unknown, key: string): GcFence {
  const f = v as Partial<GcFence> | null;
  if (typeof f !== 'object' || f === null || typeof f.id !== 'string' || !/^[0-9a-f]{1,64}$/.test(f.id) || !Number.isSafeInteger(f.until) || (f.until as number) < 0) {
    bad('"gc" is not a fence {id: hex, until: ms}', key);
  }
  return { id: f.id!, until: f.until! };
}
