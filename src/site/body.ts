/**
 * A section's text as the site index stores it (browser-safe): UTF-8, compressed with
 * zlib (RFC 1950, CompressionStream's 'deflate'), or an empty blob for no text. Prose
 * and code compress about 2×, so the rows of a page's sections share fewer pages
 * and a search's excerpts cost about half the bytes. The builder writes it with
 * node:zlib's deflateSync (rows.ts); every runtime bucketlite supports reads it with
 * DecompressionStream, which needs no code of ours in the browser bundle.
 */
import { BucketliteError } from '../errors.js';

/**
 * The text of a `sections.body` value; `id` names the row in an error. Text as it is:
 * indexes of schema 7 and before stored it plain, and a new search box still reads them.
 */
export async function decodeBody(blob: unknown, id: number): Promise<string> {
  if (typeof blob === 'string') return blob;
  if (!(blob instanceof Uint8Array)) {
    throw new BucketliteError('ERR_INTERNAL', `site index: section ${id}'s body is a ${blob === null ? 'NULL' : typeof blob}, not text or a compressed blob`, { op: 'search' });
  }
  if (blob.length === 0) return '';
  try {
    const stream = new Blob([blob as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
    return await new Response(stream).text();
  } catch (cause) {
    throw new BucketliteError('ERR_INTERNAL', `site index: section ${id}'s body does not decompress: ${(cause as Error).message}`, { op: 'search', cause });
  }
}

/**
 * `text` compressed as decodeBody reads it, with CompressionStream (any runtime): for
 * rows made at run time (query.ts warmSearch). The builder's encodeBody (rows.ts) uses
 * node:zlib with a small window, which is faster there.
 */
export async function deflateText(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
