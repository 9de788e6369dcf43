/**
 * Index-to-row readahead. A query that walks an index and looks up each entry's row in
 * its table costs, per row, the table's interior pages and its leaf: one round trip
 * each, one row after another. The index leaf SQLite reads already names the rowids it
 * will look up next, so once two rows were looked up through one index leaf, the rows
 * of the next cells are located (their table paths fetched) together, in windows that
 * double each time SQLite has used half of the last one (4, 8, … up to `maxWindow` cells).
 * An FTS5 doclist leaf is walked the same way: its cells are the `%_docsize` rows a
 * bm25 ranking reads for every match (the reader feeds them; nulls end a doclist).
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
  /** The rowid of each cell; null where it is not at hand, or between two doclists. */
  rowids: (number | null)[];
  /** Cell -> the table leaf that holds its row, as far as known. */
  leafOf: Map<number, number>;
  /** Cells whose rows were located ahead (their table paths fetched). */
  located: Set<number>;
}

/** A place the walk may be: the cell of the last lookup, and the direction it goes (0: not known yet). */
interface Chain { cell: number; dir: -1 | 0 | 1 }

export interface RowReadaheadStats {
  /** Rows located ahead of SQLite. */
  rowsAhead: number;
  windows: number;
}

/** Cells one lookup may move the walk (rows on leaves SQLite already holds are skipped). */
const MAX_STEP = 16;
/** Places followed at once while the walk's place is ambiguous (bounded work per lookup). */
const MAX_CHAINS = 256;
/** Windows go out for at most this many places at once (each costs its rows' bytes). */
const MAX_WINDOW_CHAINS = 4;

export class RowReadahead {
  private leaf: IndexLeaf | null = null;
  private window = 0;
  /**
   * Where the walk may be: cells that continue the run of lookups so far, in a
   * direction. Several while the leaves read hold the rows of several cells (an FTS5
   * leaf's doclists for related terms step through the same `%_docsize` leaves).
   */
  private chains: Chain[] = [];
  readonly stats: RowReadaheadStats = { rowsAhead: 0, windows: 0 };

  constructor(private readonly descend: Descend, private readonly maxWindow = 64) {}

  /** SQLite read index leaf `pgno`, whose index belongs to the table rooted at `table`. */
  onIndexLeaf(pgno: number, table: number, rowids: (number | null)[]): void {
    if (this.leaf?.pgno === pgno) return;
    // The walk goes on into a neighbour leaf of the same index: the evidence carries over.
    const carried = this.leaf?.table === table && this.chains.length === 1 && this.chains[0].dir !== 0 ? this.chains[0].dir : 0;
    this.leaf = { pgno, table, rowids, leafOf: new Map(), located: new Set() };
    this.chains = carried ? [{ cell: carried > 0 ? -1 : rowids.length, dir: carried }] : [];
    if (!carried) this.window = 0;
  }

  /** SQLite read table leaf `pgno` of the table rooted at `table`. */
  async onTableLeaf(table: number, pgno: number): Promise<void> {
    const s = this.leaf;
    if (!s || s.table !== table) return;
    // Which cells' rows lie on this leaf: found through the pages SQLite just read.
    if (!this.cellsOn(s, pgno).length) await this.resolveLocally(s);
    if (s !== this.leaf || !this.follow(this.cellsOn(s, pgno))) return;
    // The next window goes out when SQLite has used half of the last one: the window
    // doubles on that evidence only, so a LIMIT that stops early leaves little located.
    if (this.window > 0 && this.chains.every((ch) => this.aheadOf(s, ch) >= this.window / 2)) return;
    this.window = Math.min(this.maxWindow, this.window === 0 ? 4 : this.window * 2);
    this.stats.windows++;
    for (const ch of this.chains) this.locate(s, ch);
  }

  /**
   * A lookup of a leaf holding the rows of `cells`: extends the chains (a step of at
   * most MAX_STEP cells in the chain's direction, not across the end of a doclist) or
   * starts them again. True when windows may go out: few places, each with a direction.
   */
  private follow(cells: number[]): boolean {
    const s = this.leaf!;
    if (!cells.length) return false;
    const next: Chain[] = [];
    for (const ch of this.chains) {
      for (const c of cells) {
        const d = c - ch.cell;
        const dir = d > 0 ? 1 : -1;
        if (d === 0 || Math.abs(d) > MAX_STEP || (ch.dir !== 0 && dir !== ch.dir) || this.crossesEnd(s, ch.cell, c)) continue;
        if (!next.some((n) => n.cell === c && n.dir === dir)) next.push({ cell: c, dir });
      }
    }
    if (next.length) this.chains = next.slice(0, MAX_CHAINS);
    else {
      this.chains = cells.slice(0, MAX_CHAINS).map((cell) => ({ cell, dir: 0 as const }));
      this.window = 0;
    }
    return this.chains.length <= MAX_WINDOW_CHAINS && this.chains.every((ch) => ch.dir !== 0);
  }

  /** Cells located in a row ahead of a chain's cell. */
  private aheadOf(s: IndexLeaf, ch: Chain): number {
    let n = 0;
    for (let c = ch.cell + ch.dir; s.located.has(c); c += ch.dir) n++;
    return n;
  }

  /** Locates the rows of the next window of cells ahead of a chain, up to the end of its doclist. */
  private locate(s: IndexLeaf, ch: Chain): void {
    for (let i = 1, c = ch.cell + ch.dir; i <= this.window && c >= 0 && c < s.rowids.length; i++, c += ch.dir) {
      const rowid = s.rowids[c];
      if (rowid === null) break;
      if (s.located.has(c)) continue; // (a leaf known by number may still have to be fetched)
      s.located.add(c);
      this.stats.rowsAhead++;
      const cell = c;
      void this.descend(s.table, rowid, true).then((leaf) => { if (leaf !== null) s.leafOf.set(cell, leaf); }, () => undefined);
    }
  }

  /** True when a null (the end of a doclist) lies between cells a and b: one walk does not cross it. */
  private crossesEnd(s: IndexLeaf, a: number, b: number): boolean {
    for (let c = Math.max(0, Math.min(a, b) + 1); c < Math.min(s.rowids.length, Math.max(a, b)); c++) if (s.rowids[c] === null) return true;
    return false;
  }

  /** Every cell whose row is known to be on `pgno`, in cell order. */
  private cellsOn(s: IndexLeaf, pgno: number): number[] {
    const out: number[] = [];
    for (const [cell, leaf] of s.leafOf) if (leaf === pgno) out.push(cell);
    return out.sort((a, b) => a - b);
  }

  private async resolveLocally(s: IndexLeaf): Promise<void> {
    await Promise.all(s.rowids.map(async (rowid, cell) => {
      if (rowid === null || s.leafOf.has(cell)) return;
      const leaf = await this.descend(s.table, rowid, false).catch(() => null);
      if (leaf !== null) s.leafOf.set(cell, leaf);
    }));
  }
}
