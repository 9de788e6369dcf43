/**
 * WordNet as a site, so the demo's WordNet tab uses the same site-search index and
 * ranking as the documentation tab: one page per lemma (title = the lemma), one section
 * per sense (a heading with an anchor, e.g. "noun 1: ocean, sea", then the gloss),
 * senses in WordNet's frequency order, given to the builder as records
 * (buildSiteFromPages): no HTML is written or parsed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Section, SitePage } from '../src/site/extract.js';
import { synsetsOf, WORDNET_DICT } from './corpus.js';

const POS = [['noun', 'noun'], ['verb', 'verb'], ['adj', 'adjective'], ['adv', 'adverb']] as const;

/** The lemma's page URL. */
export function lemmaUrl(lemma: string): string {
  const name = lemma.replace(/ /g, '_');
  const first = /^[a-z]/.test(name) ? name[0] : '0';
  return `/${first}/${encodeURIComponent(name)}.html`;
}

/** One page per WordNet lemma. */
export function wordnetPages(): SitePage[] {
  const pages = new Map<string, Section[]>(); // lemma -> sections, in pos then sense order
  for (const [pos, posName] of POS) {
    const synsets = new Map([...synsetsOf(pos)].map((s) => [s.offset, s]));
    for (const line of readFileSync(path.join(WORDNET_DICT, `index.${pos}`), 'latin1').split('\n')) {
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
        sections.push({ anchor: `${pos}-${i + 1}`, heading, level: 2, text: s.gloss });
      });
    }
  }
  return [...pages].map(([lemma, sections]) => ({ url: lemmaUrl(lemma), title: lemma, meta: {}, sections }));
}
