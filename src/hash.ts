/**
 * SHA-256 for verifying what a bucket returns. WebCrypto exists in browsers, workers
 * and Node ≥ 19, so the same code verifies everywhere (the uploader, which hashes
 * gigabytes, uses node:crypto directly for speed).
 */
import { toHex } from './format/binary.js';

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}
