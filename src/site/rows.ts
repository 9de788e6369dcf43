/**
 * A page as the site index stores it: its rows of the `sections` table (schema in
 * query.ts), each with its text compressed and its words counted for the term table
 * (impact.ts). Making them is most of a big build's work after parsing (rust-doc: zlib
 * and tokenizing, about 9 of the 23 s the main thread spent), and it needs nothing but
 * the page: so a fresh build makes them on the extraction threads (extract-pool.ts),
 * and the main thread only inserts. The page's title is the one thing left out: the
 * site's name is cut from titles once all are known (build.ts stripSiteName), so the
 * title's words are counted there, once per page. Node only.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import type { SitePage } from './extract.js';
import { CHUNK_CHARS, RANK_WEIGHTS, TITLE_ROW } from './query.js';
import { tokens } from './terms.js';

/** Words by index: each distinct word once, in the order first met. */
export class Vocabulary {
  readonly words: string[] = [];
  private readonly index = new Map<string, number>();

  id(word: string): number {
    let w = this.index.get(word);
    if (w === undefined) {
      w = this.words.length;
      this.words.push(word);
      this.index.set(word, w);
    }
    return w;
  }
}

/** Tokens of some texts: how many, and (word index, Σ weight) pairs, each word once. */
export interface Counts { length: number; pairs: Float64Array }

/** Counts `texts` (tokens as the term table spells them), `weights[i]` per token of texts[i]. */
export function countWords(vocab: Vocabulary, texts: readonly string[], weights: readonly number[]): Counts {
  const counts = new Map<number, number>();
  let length = 0;
  texts.forEach((text, col) => {
    for (const t of tokens(text)) {
      const w = vocab.id(t);
      counts.set(w, (counts.get(w) ?? 0) + weights[col]);
      length++;
    }
  });
  const pairs = new Float64Array(counts.size * 2);
  let k = 0;
  for (const [w, c] of counts) { pairs[k++] = w; pairs[k++] = c; }
  return { length, pairs };
}

/**
 * The rows of a batch of pages, packed: a few typed arrays and string lists instead of an
 * object per row, because a batch crosses threads, and postMessage copies each object
 * and each typed array on its own (rust-doc, 237,000 rows: 7 s of the main thread).
 * Row r's pairs are pairs[pairEnd[r - 1] … pairEnd[r]) (0 for r = 0), (word index in
 * `vocab`, weighted count) of its heading and body; its stored body is likewise a slice
 * of `stored`.
 */
export interface RowBatch {
  vocab: string[];
  chunk: number[];
  heading: string[];
  body: string[];
  url: string[];
  /** Tokens of the heading and body. */
  length: number[];
  pairEnd: Int32Array;
  pairs: Float64Array;
  storedEnd: Int32Array;
  /** Bodies as the table stores them (encodeBody), one after another. */
  stored: Uint8Array;
}

/** A page's rows: rows first … end - 1 of a batch. */
export interface PageRows { batch: RowBatch; first: number; end: number }

/** What indexing a page takes, beside its title (cut later): made where the page was extracted. */
export interface Prepared {
  /** Its sections are emptied once `rows` hold their text. */
  page: SitePage;
  /** The opening words: the excerpt of a page found by its title alone. */
  lead: string;
  /** A hash of the page's metadata and sections; with the title, its digest (build.ts). */
  contentHash: string;
  rows?: PageRows;
}

/**
 * Each page's lead and content hash, and with `withRows` its rows, counted against one
 * vocabulary (a batch as one message between threads).
 */
export function preparePages(pages: (SitePage | null)[], withRows: boolean): (Prepared | null)[] {
  const b = withRows ? new BatchBuilder() : null;
  const out = pages.map((page) => {
    if (!page) return null;
    const p: Prepared = { page, lead: leadOf(page), contentHash: createHash('sha256').update(JSON.stringify([page.meta, page.sections])).digest('base64') };
    if (b) {
      p.rows = b.add(sectionRows(page));
      page.sections = [];
    }
    return p;
  });
  b?.finish();
  return out;
}

/** A page's rows, made here (an update makes only the changed pages' rows). */
export function rowsOf(page: SitePage): PageRows {
  const b = new BatchBuilder();
  const rows = b.add(sectionRows(page));
  b.finish();
  return rows;
}

/** Packs rows into one RowBatch; the PageRows it hands out point at the batch, complete once `finish` ran. */
class BatchBuilder {
  private readonly vocab = new Vocabulary();
  private readonly batch: RowBatch = {
    vocab: this.vocab.words, chunk: [], heading: [], body: [], url: [], length: [],
    pairEnd: new Int32Array(0), pairs: new Float64Array(0), storedEnd: new Int32Array(0), stored: new Uint8Array(0),
  };
  private readonly pairs: Float64Array[] = [];
  private readonly stored: Uint8Array[] = [];

  add(rows: SectionRow[]): PageRows {
    const b = this.batch;
    const first = b.chunk.length;
    for (const r of rows) {
      const c = countWords(this.vocab, [r.heading, r.body], HEADING_BODY);
      b.chunk.push(r.chunk);
      b.heading.push(r.heading);
      b.body.push(r.body);
      b.url.push(r.url);
      b.length.push(c.length);
      this.pairs.push(c.pairs);
      this.stored.push(encodeBody(r.body));
    }
    return { batch: b, first, end: b.chunk.length };
  }

  finish(): void {
    Object.assign(this.batch, {
      pairEnd: ends(this.pairs), pairs: concat(new Float64Array(total(this.pairs)), this.pairs),
      storedEnd: ends(this.stored), stored: concat(new Uint8Array(total(this.stored)), this.stored),
    });
  }
}

const total = (parts: ArrayLike<number>[]) => parts.reduce((a, p) => a + p.length, 0);

function ends(parts: ArrayLike<number>[]): Int32Array {
  const out = new Int32Array(parts.length);
  let at = 0;
  parts.forEach((p, i) => { at += p.length; out[i] = at; });
  return out;
}

function concat<T extends Float64Array | Uint8Array>(out: T, parts: T[]): T {
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The opening words of a page. */
function leadOf(page: SitePage): string {
  const text = page.sections.map((s) => s.text).join(' ').trim();
  if (text.length <= LEAD_CHARS) return text;
  const cut = text.lastIndexOf(' ', LEAD_CHARS);
  return `${text.slice(0, cut > 0 ? cut : LEAD_CHARS)}…`;
}

const LEAD_CHARS = 160;

const HEADING_BODY = RANK_WEIGHTS.slice(1);

/**
 * A section's text as `sections.body` holds it (body.ts): zlib, or empty. A chunk is a
 * few KiB: a 4 KiB window compresses it as well as the default 32 KiB and sets up in
 * half the time (Rust book: the same 573 KB, 34 MB/s instead of 15).
 */
function encodeBody(text: string): Uint8Array {
  return text ? deflateSync(text, { level: 9, windowBits: 12, memLevel: 5 }) : new Uint8Array(0);
}

interface SectionRow { chunk: number; heading: string; body: string; url: string }

/**
 * A page's sections cut into chunks of at most `chunkChars` (whole sentences where
 * possible), each with its chunk number in the page's row ids: a hash of its section
 * (anchor and heading) and its place in the section (the next free number on a
 * collision), so an edited chunk keeps its number, and so do the other sections'.
 * Boundaries and numbers depend on the text around them only, so an edit changes the
 * rows of the chunks it touches, and the term rows of their words: not every later
 * chunk of the page, as positional numbering would.
 */
export function sectionRows(page: SitePage, chunkChars = CHUNK_CHARS): SectionRow[] {
  const rows: SectionRow[] = [];
  const taken = new Set<number>();
  for (const s of page.sections) {
    const url = s.anchor ? `${page.url}#${encodeURIComponent(s.anchor)}` : page.url;
    for (const [n, body] of chunks(s.text, chunkChars).entries()) {
      if (rows.length === TITLE_ROW) return rows; // a page's text past its last chunk number is cut
      let chunk = fnv1a(`${s.anchor ?? ''}\n${s.heading}\n${n}`) % TITLE_ROW;
      while (taken.has(chunk)) chunk = (chunk + 1) % TITLE_ROW;
      taken.add(chunk);
      rows.push({ chunk, heading: s.heading, body, url });
    }
  }
  return rows;
}

/** 32-bit FNV-1a of UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Text cut into chunks of at most `max` characters, at sentence ends chosen by the
 * sentence itself (content-defined, as rsync and restic cut files): a chunk ends after a
 * sentence whose hash is 0 mod 4 once it holds a quarter of `max`, or where the next
 * sentence would not fit. An inserted sentence moves the boundaries of its own chunk
 * at most. A sentence longer than `max` is cut at spaces.
 */
function chunks(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const sentences = text.split(/(?<=[.!?])\s+/).flatMap((x) => (x.length <= max ? [x] : splitLong(x, max)));
  const out: string[] = [];
  let current = '';
  for (const sentence of sentences) {
    if (current && current.length + 1 + sentence.length > max) { out.push(current); current = ''; }
    current = current ? `${current} ${sentence}` : sentence;
    if (current.length >= max / 4 && fnv1a(sentence) % 4 === 0) { out.push(current); current = ''; }
  }
  if (current) out.push(current);
  return out;
}

function splitLong(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf(' ', max);
    if (cut <= 0) cut = max;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  if (rest) out.push(rest);
  return out;
}
