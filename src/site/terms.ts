/**
 * The impact table of a site index (browser-safe): for each word of the site, and for
 * each 3- to 8-character prefix, the sections it ranks highest, with their scores
 * computed at build time. A row's id is a hash of its key (termId), so the rows of all
 * the words of a query are fetched together (one round trip, the table's interior
 * pages travel in HEAD), instead of FTS5's term lookup, doclist walk and a %_docsize
 * row per match, one after the other: that is what a cold search costs remotely
 * (Pagefind's index chunks play the same part). Queries the table cannot answer exactly
 * go to FTS5 (query.ts).
 *
 * A score is FTS5's bm25 of the one term with the index's column weights, so a one-word
 * search ranks as FTS5 would: idf = ln((N − n + 0.5) / (n + 0.5)) (1e-6 when not
 * positive), tf = Σ weight × count over columns, score = idf · tf · (k1 + 1) /
 * (tf + k1 · (1 − b + b · length / average length)), k1 = 1.2, b = 0.75. N, n and the
 * average length are those of the last fresh build (impact.ts), so an edit changes only
 * the rows of the words it touches.
 *
 * Row: id = termId(key), key = a word as `tokens` spells it, or a prefix and '*'; data
 * BLOB: flags (1 = capped: more sections matched than are listed; 2 = a word no other
 * word starts with, whose row answers its prefix too), the key (a reader
 * checks it: a hash collision is a miss, never a wrong list), the stem to mark in
 * excerpts (FTS5's porter stem of the word, or the prefix), then section ids with
 * scores × SCORE_SCALE, best first. Integers are LEB128. Row ids fit a B-tree leaf's cell
 * (a blob of a few hundred bytes): rows never overflow.
 */

/** Sections listed per term at most: a row of at most ~2 KiB (one B-tree cell, no overflow), and lists long enough that two words' usually share sections. */
export const TERM_CAP = 300;
/** Prefixes of these lengths have rows of their own; longer ones are a range of word rows. */
export const PREFIX_KEY_MIN = 3;
export const PREFIX_KEY_MAX = 8;
/**
 * Scores are stored in hundredths: finer would only rank near-ties, and an edit that
 * shifts a section's length a little then leaves most rows of its words unchanged.
 */
const SCORE_SCALE = 100;

/**
 * The row id of a key: the high 16 bits hash its first 3 characters, the low 37 bits
 * the whole key (cyrb53, a well-mixed 53-bit hash, of its UTF-16 code units). Keys
 * that begin alike are neighbours in the table's B-tree: a word being typed ("own",
 * "owne", … "ownership") reads the same few pages keystroke after keystroke, and a
 * prefix row often shares its page with its word's row. Positive, at most 2^53 − 1.
 */
export function termId(key: string): number {
  return GROUP_SPAN * (cyrb53(key.slice(0, 3)) % 65536) + (cyrb53(key) % (GROUP_SPAN - 1)) + 1;
}

const GROUP_SPAN = 2 ** 37;

function cyrb53(key: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Words as the impact table spells them: letters and digits, lower case, without diacritics. */
export function tokens(text: string): string[] {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export interface Postings extends Top {
  key: string;
  /** A word no other word of the site starts with: its row is also its prefix's. */
  last?: boolean;
  /** Marked in excerpts: a token matches when it starts with this. */
  stem: string;
}

/** A ranked list of sections; `capped` when more matched than it holds. */
export interface Top { capped: boolean; ids: number[]; scores: number[] }

/**
 * A prefix's sections: each at the best score of any word with the prefix, as an FTS5
 * prefix query's single best term would rank it. Exact over the union, because a
 * section in the top TERM_CAP of the prefix is in the top of the word that scores it.
 */
export function union(tops: Top[]): Top {
  const best = new Map<number, number>();
  for (const t of tops) t.ids.forEach((id, i) => { if ((best.get(id) ?? -Infinity) < t.scores[i]) best.set(id, t.scores[i]); });
  const ranked = [...best].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return { capped: tops.some((t) => t.capped) || ranked.length > TERM_CAP, ids: ranked.slice(0, TERM_CAP).map((r) => r[0]), scores: ranked.slice(0, TERM_CAP).map((r) => r[1]) };
}

export function encodePostings(p: Postings): Uint8Array {
  const out: number[] = [(p.capped ? 1 : 0) | (p.last ? 2 : 0)];
  for (const text of [p.key, p.stem]) {
    const bytes = new TextEncoder().encode(text);
    leb(out, bytes.length);
    for (const b of bytes) out.push(b);
  }
  leb(out, p.ids.length);
  p.ids.forEach((id, i) => { leb(out, id); leb(out, Math.round(p.scores[i] * SCORE_SCALE)); });
  return Uint8Array.from(out);
}

export function decodePostings(blob: Uint8Array): Postings {
  let at = 1;
  const next = () => {
    let v = 0;
    for (let shift = 1; ; shift *= 128) {
      if (at >= blob.length) throw new RangeError('postings end early');
      const b = blob[at++];
      v += (b & 127) * shift;
      if (b < 128) return v;
    }
  };
  const text = () => {
    const length = next();
    const t = new TextDecoder().decode(blob.subarray(at, at + length));
    at += length;
    return t;
  };
  const key = text();
  const stem = text();
  const n = next();
  const ids: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) { ids.push(next()); scores.push(next() / SCORE_SCALE); }
  return { capped: (blob[0] & 1) === 1, last: (blob[0] & 2) === 2, key, stem, ids, scores };
}

function leb(out: number[], v: number): void {
  for (; v >= 128; v = Math.floor(v / 128)) out.push((v % 128) | 128);
  out.push(v);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/**
 * An excerpt of `text` as HTML: about `words` words around the densest run of matches
 * (a word matches when, spelled as `tokens` spells it, it starts with one of `stems`),
 * the text escaped and the matches in <mark>; the opening words when nothing matches.
 */
export function excerptOf(text: string, stems: string[], words = 30): string {
  const parts = text.split(/(\s+)/).filter((s) => s !== '');
  const spans = parts.map((p) => ({ p, hit: !/^\s+$/.test(p) && tokens(p).some((t) => stems.some((s) => t.startsWith(s))) }));
  const wordAt = spans.map((s, i) => (/^\s+$/.test(s.p) ? -1 : i)).filter((i) => i >= 0);
  let best = 0;
  let bestHits = -1;
  for (let w = 0; w < wordAt.length; w++) {
    let hits = 0;
    for (let k = w; k < Math.min(wordAt.length, w + words); k++) if (spans[wordAt[k]].hit) hits++;
    if (hits > bestHits) { bestHits = hits; best = w; }
  }
  // Start a few words before the first match of the best window, for context.
  const firstHit = wordAt.slice(best, best + words).findIndex((i) => spans[i].hit);
  const start = Math.max(0, best + Math.max(0, firstHit) - 4);
  const chosen = wordAt.slice(start, start + words);
  if (chosen.length === 0) return '';
  const html = spans.slice(chosen[0], chosen[chosen.length - 1] + 1)
    .map((s) => (s.hit ? `<mark>${escapeHtml(s.p)}</mark>` : escapeHtml(s.p))).join('');
  return `${start > 0 ? '…' : ''}${html}${chosen[chosen.length - 1] < spans.length - 1 ? '…' : ''}`;
}
