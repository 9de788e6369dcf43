/**
 * The hot-page region: copies of the pages every query starts from (page 1, the schema,
 * the top levels of each B-tree), stored back to back inside a pack so a reader gets
 * them all with one Range request right after HEAD. Layout in docs/FORMAT.md.
 */
import { ByteReader, ByteWriter } from './binary.js';
import { FORMAT_VERSION, HOT_HEADER_BYTES, MAGIC_HOT } from './constants.js';

export interface HotRegion {
  pageSize: number;
  /** 1-based page numbers, strictly ascending. */
  pages: number[];
  /** Page bytes, in the order of `pages`. */
  data: Uint8Array[];
}

export function encodeHotRegion(h: HotRegion): Uint8Array {
  const w = new ByteWriter(HOT_HEADER_BYTES + h.pages.length * (4 + h.pageSize));
  w.ascii(MAGIC_HOT);
  w.u16(FORMAT_VERSION);
  w.u16(0);
  w.u32(h.pageSize);
  w.u32(h.pages.length);
  for (const p of h.pages) w.u32(p);
  for (const d of h.data) w.raw(d);
  return w.bytes;
}

export function decodeHotRegion(bytes: Uint8Array, expect: { pageSize: number; dbSize: number }, key?: string): HotRegion {
  const r = new ByteReader(bytes, 'hot region', key);
  if (r.ascii(4) !== MAGIC_HOT) r.fail('bad magic');
  const v = r.u16();
  if (v < 1 || v > FORMAT_VERSION) r.fail(`unknown version ${v}`);
  r.zeros(2, 'hot[6..7]');
  const pageSize = r.u32();
  const n = r.u32();
  if (pageSize !== expect.pageSize) r.fail(`page size ${pageSize}, expected ${expect.pageSize}`);
  r.need(n * (4 + pageSize));
  const pages: number[] = [];
  const maxPage = expect.dbSize / pageSize;
  for (let i = 0; i < n; i++) {
    const p = r.u32();
    if (p < 1 || p > maxPage || (i > 0 && p <= pages[i - 1])) r.fail(`page number ${p} at ${i} is out of order or range`);
    pages.push(p);
  }
  const data: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    data.push(bytes.subarray(r.pos, r.pos + pageSize));
    r.pos += pageSize;
  }
  r.end();
  return { pageSize, pages, data };
}
