/**
 * Index-to-row readahead. A query that walks an index and looks up each entry's row in
 * its table costs, per row, the table's interior pages and its leaf: one round trip
 * each, one row after another. The index leaf SQLite reads already names the rowids it
 * will look up next, so once two rows were looked up through one index leaf, the rows
 * of the next cells are located (their table paths fetched) together, in windows that
 * double each time SQLite has used half of the last one (4, 8, … up to `maxWindow` cells).
 *
 * The policy is here; the page access (local-only or fetching) is injected, so it is
 * tested without a network. A wrong guess costs bytes, never a wrong row: SQLite reads
 * every page it needs itself, verified as always.
 */

/** The leaf page that holds `rowid` in the table rooted at `table`; null if not at hand (fetch: false). */
export type Descend = (table: number, rowid: number, fetch: boolean) => Promise<number | null>;

interface IndexLeaf {
  pgno: number;
  table: number;
  rowids: (number | null)[];
  /** Cell -> the table leaf that holds its row, as far as known. */
  leafOf: Map<number, number>;
  /** The last cell whose row SQLite read, and the direction of the walk. */
  cursor: number;
  dir: 1 | -1;
  /** Cells located up to here (in the direction of the walk). */
  upTo: number;
  resolved: boolean;
}

export interface RowReadaheadStats {
  /** Rows located ahead of SQLite. */
  rowsAhead: number;
  windows: number;
}

export class RowReadahead {
  private leaf: IndexLeaf | null = null;
  private window = 0;
  private lookups = 0;
  readonly stats: RowReadaheadStats = { rowsAhead: 0, windows: 0 };

  constructor(private readonly descend: Descend, private readonly maxWindow = 64) {}

  /** SQLite read index leaf `pgno`, whose index belongs to the table rooted at `table`. */
  onIndexLeaf(pgno: number, table: number, rowids: (number | null)[]): void {
    if (this.leaf?.pgno === pgno) return;
    // The walk goes on into a neighbour leaf of the same index: the evidence carries over.
    const carry = this.leaf !== null && this.leaf.table === table && this.lookups >= 2;
    const dir = carry ? this.leaf!.dir : 1;
    const start = dir > 0 ? -1 : rowids.length;
    this.leaf = { pgno, table, rowids, leafOf: new Map(), cursor: start, dir, upTo: start, resolved: false };
    if (!carry) {
      this.window = 0;
      this.lookups = 0;
    }
  }

  /** SQLite read table leaf `pgno` of the table rooted at `table`. */
  async onTableLeaf(table: number, pgno: number): Promise<void> {
    const s = this.leaf;
    if (!s || s.table !== table) return;
    let k = this.cellOn(s, pgno);
    if (k === null) {
      // Which cells' rows lie on this leaf: found through the pages SQLite just read
      // (all cells at first; later those located ahead, whose descent may still be settling).
      await this.resolveLocally(s, s.resolved ? this.range(s) : null);
      k = this.cellOn(s, pgno);
    }
    if (k === null) return;
    this.lookups++;
    if (this.lookups === 2 && k !== s.cursor) {
      s.dir = k > s.cursor ? 1 : -1;
      s.upTo = k; // nothing located ahead yet in this direction
    }
    s.cursor = k;
    if (this.lookups < 2) return;
    // The next window goes out when SQLite has used half of the last one: the window
    // doubles on that evidence only, so a LIMIT that stops early leaves little located.
    if (this.window > 0 && (s.upTo - s.cursor) * s.dir >= this.window / 2) return;
    this.window = Math.min(this.maxWindow, this.window === 0 ? 4 : this.window * 2);
    const from = s.dir > 0 ? Math.max(s.cursor, s.upTo) + 1 : Math.min(s.cursor, s.upTo) - 1;
    const to = s.cursor + s.dir * this.window;
    s.upTo = s.dir > 0 ? Math.min(to, s.rowids.length - 1) : Math.max(to, 0);
    this.stats.windows++;
    for (let c = from; s.dir > 0 ? c <= s.upTo : c >= s.upTo; c += s.dir) {
      const rowid = s.rowids[c];
      if (rowid === null || s.leafOf.has(c)) continue;
      this.stats.rowsAhead++;
      const cell = c;
      void this.descend(table, rowid, true).then((leaf) => { if (leaf !== null) s.leafOf.set(cell, leaf); }, () => undefined);
    }
  }

  /** The cell nearest ahead of the cursor whose row is on `pgno`, if known. */
  private cellOn(s: IndexLeaf, pgno: number): number | null {
    let best: number | null = null;
    for (const [cell, leaf] of s.leafOf) {
      if (leaf !== pgno) continue;
      const ahead = (cell - s.cursor) * s.dir;
      if (best === null || (ahead >= 0 && (ahead < (best - s.cursor) * s.dir || (best - s.cursor) * s.dir < 0))) best = cell;
    }
    return best;
  }

  /** Cells from the cursor to the end of what was located ahead. */
  private range(s: IndexLeaf): Set<number> {
    const out = new Set<number>();
    for (let c = s.cursor; s.dir > 0 ? c <= s.upTo : c >= s.upTo; c += s.dir) out.add(c);
    return out;
  }

  private async resolveLocally(s: IndexLeaf, only: Set<number> | null): Promise<void> {
    await Promise.all(s.rowids.map(async (rowid, cell) => {
      if (rowid === null || s.leafOf.has(cell) || (only && !only.has(cell))) return;
      const leaf = await this.descend(s.table, rowid, false).catch(() => null);
      if (leaf !== null) s.leafOf.set(cell, leaf);
    }));
    // Once two rows are known the walk is followed through what prefetch locates.
    if (this.lookups >= 1) s.resolved = true;
  }
}
