/**
 * Reading a response body for a transport: bounded (`maxBytes`), and when the
 * connection breaks mid-body, what arrived is kept (the store resumes from there).
 */
import { BucketliteError } from '../errors.js';

export interface BodyRead {
  body: Uint8Array;
  /** Set when the body stopped early (reset, deadline, abort): `body` holds what arrived. */
  cut?: unknown;
}

export async function readBody(chunks: AsyncIterable<Uint8Array>, maxBytes: number, status: number, method: string, cancel: () => unknown): Promise<BodyRead> {
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const chunk of chunks) {
      n += chunk.length;
      if (n > maxBytes) {
        await cancel();
        throw new BucketliteError('ERR_BAD_RESPONSE', `body is longer than the ${maxBytes - 1} bytes expected`, { op: method, status });
      }
      parts.push(chunk);
    }
  } catch (err) {
    if (err instanceof BucketliteError) throw err;
    return { body: concat(parts), cut: err };
  }
  return { body: concat(parts) };
}

/** Joins chunks into one plain Uint8Array (a Node Buffer chunk becomes a view of it). */
export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return new Uint8Array(parts[0].buffer, parts[0].byteOffset, parts[0].byteLength);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
