/**
 * FTS5 doclists, for readahead (no I/O): which rowids an FTS5 leaf page's doclists name,
 * so the `%_docsize` rows a bm25 ranking reads for every match can be located ahead.
 * Written against sqlite/ext/fts5/fts5_index.c (leaf page, term and doclist formats);
 * every offset is bounds-checked and anything unexpected yields nothing: a wrong guess
 * costs bytes, never a row.
 *
 * A leaf is one `%_data` row: a 4-byte header (u16 offset of the first rowid when a
 * doclist continues from the previous leaf, else 0; u16 offset of the footer), terms and
 * their doclists, and a footer of varint term offsets (delta-encoded). The first term on
 * a leaf is whole (varint length, bytes); later ones share a prefix with the one before
 * (varint kept, varint new length, bytes). A doclist is an absolute rowid, then rowid
 * deltas (> 0), each followed by a position list whose varint header is its size * 2
 * (+1 for a delete marker). The first rowid on a leaf is absolute.
 */
import { varint } from './btree.js';
import { tableLeafBlobs } from './records.js';
import type { SchemaEntry } from './records.js';

/** `%_data` ids: segid << 37 | dlidx << 36 | height << 31 | page; leaves have segid > 0, dlidx = height = 0. */
export function isFts5LeafId(id: number): boolean {
  return id >= 2 ** 37 && Math.floor(id / 2 ** 31) % 64 === 0;
}

export interface Fts5Doclist {
  /** The term (with FTS5's index prefix byte, '0' for the main index); null for a doclist continued from the previous leaf. */
  term: Uint8Array | null;
  rowids: number[];
}

/** The doclists on an FTS5 leaf, in page order; [] when the bytes do not look like one. */
export function fts5LeafDoclists(leaf: Uint8Array): Fts5Doclist[] {
  try {
    if (leaf.length < 4) return [];
    const firstRowid = (leaf[0] << 8) | leaf[1];
    const footer = (leaf[2] << 8) | leaf[3];
    if (footer < 4 || footer > leaf.length || firstRowid >= footer) return [];
    const terms: number[] = [];
    for (let p = footer, at = 0; p < leaf.length;) {
      const [delta, n] = varint(leaf, p);
      p += n;
      at += delta;
      if (at < 4 || at >= footer || (terms.length && at <= terms[terms.length - 1])) return [];
      terms.push(at);
    }
    const out: Fts5Doclist[] = [];
    if (firstRowid) out.push({ term: null, rowids: doclist(leaf, firstRowid, terms[0] ?? footer) });
    let term = new Uint8Array(0);
    terms.forEach((start, i) => {
      let p = start;
      let keep = 0;
      if (i > 0) [keep, p] = step(leaf, p);
      const [fresh, q] = step(leaf, p);
      if (keep > term.length || q + fresh > footer) throw new RangeError('term runs past the page');
      const next = new Uint8Array(keep + fresh);
      next.set(term.subarray(0, keep));
      next.set(leaf.subarray(q, q + fresh), keep);
      term = next;
      out.push({ term, rowids: doclist(leaf, q + fresh, terms[i + 1] ?? footer) });
    });
    return out;
  } catch {
    return [];
  }
}

/** A varint and the offset after it. */
function step(b: Uint8Array, p: number): [number, number] {
  const [v, n] = varint(b, p);
  return [v, p + n];
}

/** Rowids of a doclist in [start, end): the first absolute, then deltas, each followed by a position list. */
function doclist(b: Uint8Array, start: number, end: number): number[] {
  const ids: number[] = [];
  let p = start;
  while (p < end) {
    const [v, q] = step(b, p);
    if (ids.length && v === 0) break; // deltas are positive: not a doclist after all
    ids.push(ids.length ? ids[ids.length - 1] + v : v);
    if (q >= end) break;
    const [size, r] = step(b, q);
    p = r + Math.floor(size / 2);
  }
  return ids;
}

/**
 * FTS5 tables of a schema: the root of each `%_data` table -> the root of its
 * `%_docsize` (an FTS5 table has `%_data`, `%_idx` and, unless columnsize=0, `%_docsize`).
 */
export function fts5DocsizeOf(schema: SchemaEntry[]): Map<number, number> {
  const roots = new Map(schema.filter((e) => e.type === 'table').map((e) => [e.name, e.rootpage]));
  const out = new Map<number, number>();
  for (const [name, root] of roots) {
    const base = name.endsWith('_data') ? name.slice(0, -5) : null;
    const docsize = base && roots.has(`${base}_idx`) ? roots.get(`${base}_docsize`) : undefined;
    if (docsize !== undefined) out.set(root, docsize);
  }
  return out;
}

/**
 * The rowids the FTS5 leaves on a `%_data` table leaf page name, in page order, a null
 * between doclists (readahead follows one doclist at a time).
 */
export function fts5PageRowids(page: Uint8Array, pgno: number, usable: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (const { rowid, blob } of tableLeafBlobs(page, pgno, usable, 1)) {
    if (!isFts5LeafId(rowid)) continue;
    for (const d of fts5LeafDoclists(blob)) out.push(...(out.length ? [null] : []), ...d.rowids);
  }
  return out;
}
