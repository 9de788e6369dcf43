/**
 * Reading what a B-tree page says about other pages, for readahead (no I/O here): the
 * schema (which table an index belongs to), the rowids an index leaf points at, and the
 * child of a table interior page that holds a rowid. Written against
 * https://www.sqlite.org/fileformat.html §1.6 and §2.1; every offset is bounds-checked
 * and anything unexpected yields nothing (readahead is only a guess).
 */
import { PageFormatError, localPayloadSize, parseBtreePage, recordPrefix, varint } from './btree.js';

const INTERIOR_TABLE = 5;
const LEAF_INDEX = 10;
const LEAF_TABLE = 13;

/** The local part of a cell's payload (what lies on the page; an overflowing payload is cut). */
function localPayload(page: Uint8Array, cellOff: number, usable: number, table: boolean): { bytes: Uint8Array; whole: boolean } {
  const [size, a] = varint(page, cellOff);
  const b = table ? varint(page, cellOff + a)[1] : 0;
  const start = cellOff + a + b;
  const local = localPayloadSize(size, usable, table);
  if (start + local > page.length) throw new PageFormatError('cell payload runs past the page');
  return { bytes: page.subarray(start, start + local), whole: local === size };
}

export interface SchemaEntry {
  type: string;
  name: string;
  tblName: string;
  rootpage: number;
}

/**
 * The schema table's rows, from the pages at hand (`page` returns undefined for a page
 * it does not have: the walk then stops with what it found).
 */
export function readSchema(page: (pgno: number) => Uint8Array | undefined, usable: number): SchemaEntry[] {
  const out: SchemaEntry[] = [];
  const queue = [1];
  const seen = new Set<number>();
  while (queue.length && seen.size < 1024) {
    const pgno = queue.shift()!;
    const bytes = page(pgno);
    if (!bytes || seen.has(pgno)) continue;
    seen.add(pgno);
    let p;
    try {
      p = parseBtreePage(bytes, pgno);
    } catch {
      continue;
    }
    if (p.children.length) { queue.push(...p.children); continue; }
    if (p.type !== LEAF_TABLE) continue;
    for (const off of p.cells) {
      try {
        const [type, name, tblName, rootpage] = recordPrefix(localPayload(bytes, off, usable, true).bytes, 4);
        if (typeof type === 'string' && typeof name === 'string' && typeof tblName === 'string' && typeof rootpage === 'number' && rootpage > 0) {
          out.push({ type, name, tblName, rootpage });
        }
      } catch {
        // a cell that does not parse names nothing
      }
    }
  }
  return out;
}

/** Index root page -> the root page of its table (rowid tables: the index's last column is the rowid). */
export function tableOfIndex(schema: SchemaEntry[]): Map<number, number> {
  const tables = new Map(schema.filter((e) => e.type === 'table').map((e) => [e.name, e.rootpage]));
  const out = new Map<number, number>();
  for (const e of schema) {
    const t = tables.get(e.tblName);
    if (e.type === 'index' && t !== undefined) out.set(e.rootpage, t);
  }
  return out;
}

/** The rowids an index leaf page points at, in cell order (null for a cell whose rowid is not at hand). */
export function indexLeafRowids(page: Uint8Array, pgno: number, usable: number): (number | null)[] {
  const p = parseBtreePage(page, pgno);
  if (p.type !== LEAF_INDEX) return [];
  return p.cells.map((off) => {
    try {
      const { bytes, whole } = localPayload(page, off, usable, false);
      if (!whole) return null; // the rowid is in the overflow pages
      const cols = recordPrefix(bytes, 64);
      const last = cols[cols.length - 1];
      return typeof last === 'number' ? last : null;
    } catch {
      return null;
    }
  });
}

/** A table leaf's cells whose column `col` is a blob held whole on the page: rowid and blob bytes. */
export function tableLeafBlobs(page: Uint8Array, pgno: number, usable: number, col: number): { rowid: number; blob: Uint8Array }[] {
  const p = parseBtreePage(page, pgno);
  if (p.type !== LEAF_TABLE) return [];
  const out: { rowid: number; blob: Uint8Array }[] = [];
  for (const off of p.cells) {
    try {
      const rowid = varint(page, off + varint(page, off)[1])[0];
      const { bytes, whole } = localPayload(page, off, usable, true);
      const blob = whole ? recordPrefix(bytes, col + 1)[col] : null;
      if (blob instanceof Uint8Array) out.push({ rowid, blob });
    } catch {
      // a cell that does not parse names nothing
    }
  }
  return out;
}

/** For a table B-tree page: the child that holds `rowid` (interior), or 'leaf'. */
export function tableChildFor(page: Uint8Array, pgno: number, rowid: number): number | 'leaf' {
  const p = parseBtreePage(page, pgno);
  if (p.type === LEAF_TABLE) return 'leaf';
  if (p.type !== INTERIOR_TABLE) throw new PageFormatError(`page ${pgno} is not a table b-tree page`);
  // Cell i: child i holds keys <= key i; the right-most child holds the rest.
  let lo = 0;
  let hi = p.cells.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const key = varint(page, p.cells[mid] + 4)[0];
    if (key < rowid) lo = mid + 1;
    else hi = mid;
  }
  return p.children[lo];
}
