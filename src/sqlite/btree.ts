/**
 * Finds the hot pages of a SQLite file: page 1, every page of the schema table, the
 * top levels of every table and index B-tree (breadth first across all trees), then the
 * leaves of whole small trees, smallest first, within a byte budget. These are the pages every query starts from, so a reader that has them
 * reaches a leaf in one more round trip.
 *
 * Written against https://www.sqlite.org/fileformat.html §1.6 (B-tree pages) and §2.1
 * (records). Every page number and offset is bounds-checked and every walk is bounded,
 * so a damaged or hostile file yields fewer hints, never a hang.
 */
import type { SqliteHeader } from './header.js';

export type PageReader = (pgno: number) => Promise<Uint8Array>;

const INTERIOR_INDEX = 2;
const INTERIOR_TABLE = 5;
const LEAF_INDEX = 10;
const LEAF_TABLE = 13;

export class PageFormatError extends Error {}

interface BtreePage {
  type: number;
  /** Child page numbers in key order, right-most last (interior pages only). */
  children: number[];
  /** Offsets of the cells in the page. */
  cells: number[];
}

export function parseBtreePage(page: Uint8Array, pgno: number): BtreePage {
  const hdr = pgno === 1 ? 100 : 0;
  if (page.length < hdr + 8) throw new PageFormatError(`page ${pgno} is too short`);
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const type = page[hdr];
  if (type !== INTERIOR_INDEX && type !== INTERIOR_TABLE && type !== LEAF_INDEX && type !== LEAF_TABLE) {
    throw new PageFormatError(`page ${pgno} has b-tree page type ${type}`);
  }
  const interior = type === INTERIOR_INDEX || type === INTERIOR_TABLE;
  const n = v.getUint16(hdr + 3);
  const ptrs = hdr + (interior ? 12 : 8);
  if (ptrs + 2 * n > page.length) throw new PageFormatError(`page ${pgno} claims ${n} cells`);
  const cells: number[] = [];
  const children: number[] = [];
  for (let i = 0; i < n; i++) {
    const off = v.getUint16(ptrs + 2 * i);
    if (off < ptrs + 2 * n || off + 4 > page.length) throw new PageFormatError(`page ${pgno} cell ${i} offset ${off} is out of bounds`);
    cells.push(off);
    if (interior) children.push(v.getUint32(off));
  }
  if (interior) children.push(v.getUint32(hdr + 8));
  return { type, children, cells };
}

function isInterior(type: number): boolean {
  return type === INTERIOR_INDEX || type === INTERIOR_TABLE;
}

/** Reads a SQLite varint at `off`; returns [value, bytes used]. */
export function varint(b: Uint8Array, off: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    if (off + i >= b.length) throw new PageFormatError('varint runs past the page');
    const byte = b[off + i];
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) return [v, i + 1];
  }
  if (off + 8 >= b.length) throw new PageFormatError('varint runs past the page');
  return [v * 256 + b[off + 8], 9];
}

/**
 * Reads a table-leaf cell's whole payload, following overflow pages; records them.
 * `seen`: the overflow pages already followed, shared by all the cells of a walk (a page
 * belongs to one chain only), so hostile cells sharing one long chain cost one read of it,
 * not one per cell.
 */
async function readTablePayload(
  page: Uint8Array, cellOff: number, usable: number, read: PageReader, pageCount: number, overflowPages: number[], seen: Set<number>,
): Promise<Uint8Array> {
  const [size, a] = varint(page, cellOff);
  const [, b] = varint(page, cellOff + a);
  const start = cellOff + a + b;
  const local = localPayloadSize(size, usable, true);
  if (size > 64 * 1024 * 1024) throw new PageFormatError(`payload of ${size} bytes is implausible`);
  // A payload that spills ends with the 4-byte number of its first overflow page.
  if (start + local + (local < size ? 4 : 0) > page.length) throw new PageFormatError('cell payload runs past the page');
  const out = new Uint8Array(size);
  out.set(page.subarray(start, start + local));
  let filled = local;
  if (filled < size) {
    let next = new DataView(page.buffer, page.byteOffset, page.byteLength).getUint32(start + local);
    while (filled < size) {
      if (next < 2 || next > pageCount || seen.has(next)) throw new PageFormatError(`overflow page ${next} is invalid`);
      seen.add(next);
      overflowPages.push(next);
      const ov = await read(next);
      if (ov.length < 4) throw new PageFormatError(`overflow page ${next} is short`);
      const take = Math.min(size - filled, usable - 4);
      out.set(ov.subarray(4, 4 + take), filled);
      filled += take;
      next = new DataView(ov.buffer, ov.byteOffset, ov.byteLength).getUint32(0);
    }
  }
  return out;
}

export type RecordValue = number | string | Uint8Array | null;

/** Columns [0, n) of a record, as far as the bytes at hand hold them (undefined past that). */
export function recordPrefix(rec: Uint8Array, n: number): (RecordValue | undefined)[] {
  const [hdrSize, n0] = varint(rec, 0);
  const out: (RecordValue | undefined)[] = [];
  let h = n0;
  let body = hdrSize;
  while (h < hdrSize && out.length < n) {
    const [t, used] = varint(rec, h);
    h += used;
    const size = t <= 4 ? t : t === 5 ? 6 : t === 6 || t === 7 ? 8 : t >= 12 ? Math.floor((t - 12) / 2) : 0;
    if (body + size > rec.length) { out.push(undefined); body += size; continue; }
    if (t === 0) out.push(null);
    else if (t === 8 || t === 9) out.push(t - 8);
    else if (t <= 6) {
      let v = rec[body] & 0x80 ? -1 : 0; // two's complement: negative values sign-extend
      for (let j = 0; j < size; j++) v = v * 256 + rec[body + j];
      out.push(Number.isSafeInteger(v) ? v : null);
    } else if (t >= 13 && t % 2 === 1) out.push(new TextDecoder().decode(rec.subarray(body, body + size)));
    else if (t >= 12) out.push(rec.subarray(body, body + size));
    else out.push(null);
    body += size;
  }
  return out;
}

/** Bytes of a cell payload of `size` stored on the page itself (fileformat §1.6). */
export function localPayloadSize(size: number, usable: number, table: boolean): number {
  const maxLocal = table ? usable - 35 : Math.floor(((usable - 12) * 64) / 255) - 23;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  if (size <= maxLocal) return size;
  const k = minLocal + ((size - minLocal) % (usable - 4));
  return k <= maxLocal ? k : minLocal;
}

/** The schema table's rows (type, name, tbl_name, rootpage, sql) and the pages they came from, in reading order. */
export async function readSchemaRecords(read: PageReader, usable: number, pageCount: number): Promise<{ records: RecordValue[][]; pages: number[] }> {
  const records: RecordValue[][] = [];
  const pages: number[] = [];
  const queue = [1];
  const seen = new Set<number>();
  const overflowSeen = new Set<number>();
  while (queue.length) {
    const pgno = queue.shift()!;
    if (seen.has(pgno)) throw new PageFormatError(`schema page ${pgno} is reached twice`);
    seen.add(pgno);
    pages.push(pgno);
    const bytes = await read(pgno);
    const p = parseBtreePage(bytes, pgno);
    if (isInterior(p.type)) {
      for (const c of p.children) {
        if (!Number.isInteger(c) || c < 1 || c > pageCount) throw new PageFormatError(`schema child ${c} is out of range`);
        queue.push(c);
      }
    } else if (p.type === LEAF_TABLE) {
      for (const off of p.cells) {
        const overflow: number[] = [];
        const rec = await readTablePayload(bytes, off, usable, read, pageCount, overflow, overflowSeen);
        pages.push(...overflow);
        records.push(recordPrefix(rec, 5).map((v) => v ?? null));
      }
    } else {
      throw new PageFormatError(`schema page ${pgno} has type ${p.type}`);
    }
  }
  return { records, pages };
}

export interface HotPageSet {
  /** Page bytes by page number, in the order found. */
  pages: Map<number, Uint8Array>;
  /** Why the walk stopped early, if it did (damaged file, budget). */
  warnings: string[];
}

/**
 * Walks the schema and the top levels of every B-tree.
 * @param pageCount pages in the file (from its size)
 * @param budgetBytes upper bound on the bytes of pages returned
 * @param first tables (or indexes) whose pages come first: their roots, then their
 *   interior pages, all levels, tree by tree in this order: the trees the application's
 *   hot path reads (a site index's term table and sections)
 */
export async function findHotPages(read: PageReader, header: SqliteHeader, pageCount: number, budgetBytes: number, first: string[] = []): Promise<HotPageSet> {
  const pages = new Map<number, Uint8Array>();
  const warnings: string[] = [];
  const usable = header.pageSize - header.reserved;
  const maxPages = Math.max(1, Math.floor(budgetBytes / header.pageSize));
  const add = async (pgno: number): Promise<Uint8Array | null> => {
    const have = pages.get(pgno);
    if (have) return have;
    if (pages.size >= maxPages) return null;
    const bytes = await read(pgno);
    pages.set(pgno, bytes);
    return bytes;
  };
  const valid = (p: number) => Number.isInteger(p) && p >= 1 && p <= pageCount;

  await add(1);
  // 1. The schema table (rooted at page 1), all of it, and the root page of every b-tree.
  const roots: number[] = [];
  const named = new Map<string, number>();
  try {
    const schema = await readSchemaRecords(read, usable, pageCount);
    for (const pgno of schema.pages) {
      if (!(await add(pgno))) { warnings.push('hot-page budget reached inside the schema'); break; }
    }
    for (const [, name, , root] of schema.records) {
      if (typeof root === 'number' && root > 0 && valid(root)) {
        roots.push(root);
        if (typeof name === 'string') named.set(name, root);
      }
    }
  } catch (err) {
    warnings.push(`schema not parsed: ${(err as Error).message}`);
  }

  // 1a. The trees named first: all their root pages (a lookup in any of them starts
  //     there), then each tree's interior pages, level by level. A large term table's
  //     interior pages would otherwise take the room its sections' root needs.
  for (const name of first) {
    const root = named.get(name);
    if (root !== undefined && !(await add(root))) return { pages, warnings: [...warnings, `hot-page budget reached inside ${name}`] };
  }
  for (const name of first) {
    const root = named.get(name);
    let level = root === undefined ? [] : [root];
    try {
      while (level.length) {
        const next: number[] = [];
        for (const pgno of level) {
          const p = parseBtreePage(await read(pgno), pgno);
          if (!isInterior(p.type)) break;
          if (!(await add(pgno))) return { pages, warnings: [...warnings, `hot-page budget reached inside ${name}`] };
          next.push(...p.children.filter(valid));
        }
        level = next;
      }
    } catch (err) {
      warnings.push((err as Error).message);
    }
  }

  // 2. Breadth first over all trees: roots, then their interior children, level by level.
  //    All leaves of a B-tree are at one depth, so one probe per tree and level tells
  //    whether the next level is interior; leaves are never read here.
  //    Trees whose root is interior first: a lookup in them costs a round trip per level,
  //    so their roots save the most when the budget cannot take every root.
  const interiorRoot = async (r: number) => {
    try {
      return isInterior(parseBtreePage(await read(r), r).type);
    } catch {
      return false;
    }
  };
  const kinds = await Promise.all(roots.map(interiorRoot));
  let level: number[][] = roots.map((r, i) => ({ r, k: kinds[i] ? 0 : 1 })).sort((a, b) => a.k - b.k).map(({ r }) => [r]);
  const leafLevels: number[][] = [];
  for (let depth = 0; level.length && pages.size < maxPages && depth < 16; depth++) {
    const next: number[][] = [];
    for (const group of level) {
      const children: number[] = [];
      let interior = true;
      let complete = true;
      for (const pgno of group) {
        const bytes = await add(pgno);
        if (!bytes) { complete = false; break; }
        try {
          const p = parseBtreePage(bytes, pgno);
          if (!isInterior(p.type)) { interior = false; break; }
          for (const c of p.children) if (valid(c) && !pages.has(c)) children.push(c);
        } catch (err) {
          warnings.push((err as Error).message);
          interior = false;
          break;
        }
      }
      if (!interior || !children.length) continue;
      try {
        const probe = parseBtreePage(await read(children[0]), children[0]);
        if (isInterior(probe.type)) next.push(children);
        else if (complete) leafLevels.push(children);
      } catch (err) {
        warnings.push((err as Error).message);
      }
    }
    level = next;
  }
  // 3. Whole small trees, smallest first, while the budget lasts: lookup tables that
  //    every query touches (an FTS5 index's %_idx, %_config, %_docsize for bm25) then
  //    cost no round trip at all.
  leafLevels.sort((a, b) => a.length - b.length);
  for (const leaves of leafLevels) {
    if (pages.size + leaves.length > maxPages) break;
    for (const pgno of leaves) await add(pgno);
  }
  if (pages.size >= maxPages) warnings.push(`hot-page budget of ${budgetBytes} bytes reached`);
  return { pages, warnings };
}
