/**
 * The real sites of the site-search bench (bench/site-search.ts), from Debian's `rust-doc`
 * package (the HTML documentation shipped with the Rust toolchain):
 *  - `book`: The Rust Programming Language (html/book: 429 HTML files, 63 of them
 *    `noindex` redirect stubs, 264 more "no longer distributed" stubs of old editions);
 *  - `rustdoc`: the whole html/ tree (about 32k HTML files: std, core, alloc, the
 *    reference, the book, …; about 10k are rustdoc `<meta http-equiv="refresh">` stubs,
 *    leaving about 22k real pages).
 * On a fresh machine: `apt-get download rust-doc` into .bench-data/debs and `dpkg-deb -x`
 * into .bench-data/rust-doc (about 17 MB down, 580 MB on disk, a few seconds). An extracted
 * copy already under .bench-data, or one at /tmp/docs/x/rust-doc (the research
 * scratch), is used as it is. Nothing is ever written into the site trees.
 *   node dist/bench/site-corpus.js   # prints where the two sites are
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = process.env.SITE_BENCH_ROOT ?? path.resolve(import.meta.dirname, '..', '..');
export const DATA = path.join(ROOT, '.bench-data');
const HTML = path.join('usr', 'share', 'doc', 'rust-doc', 'html');

export type CorpusName = 'book' | 'rustdoc';

export interface SiteCorpus {
  name: CorpusName;
  /** The site root handed to both indexers. */
  dir: string;
  /** Where it came from: package, version, and whether an existing copy was reused. */
  source: string;
}

/** The extracted package root (holding usr/share/doc/rust-doc/html), fetched if needed. */
export function rustDocRoot(): { root: string; source: string } {
  const local = path.join(DATA, 'rust-doc');
  const debs = path.join(DATA, 'debs');
  for (const [root, debDir] of [[local, debs], ['/tmp/docs/x/rust-doc', '/tmp/docs']]) {
    if (existsSync(path.join(root, HTML, 'book', 'ch04-01-what-is-ownership.html'))) {
      return { root, source: `Debian ${debName(debDir) ?? 'rust-doc (version unknown)'}, extracted at ${root}` };
    }
  }
  mkdirSync(debs, { recursive: true });
  if (!debName(debs)) {
    // apt-get download fetches into the current directory; it warns that _apt cannot
    // write there when run as root, and downloads anyway.
    try {
      execFileSync('apt-get', ['download', 'rust-doc'], { cwd: debs, stdio: ['ignore', 'inherit', 'inherit'] });
    } catch (err) {
      throw new Error(`could not download rust-doc with apt-get (run apt-get update first?): ${(err as Error).message}`);
    }
  }
  const deb = debName(debs);
  if (!deb) throw new Error(`apt-get download rust-doc left no rust-doc_*.deb in ${debs}`);
  mkdirSync(local, { recursive: true });
  execFileSync('dpkg-deb', ['-x', path.join(debs, deb), local], { stdio: 'inherit' });
  return { root: local, source: `Debian ${deb}, extracted at ${local}` };
}

function debName(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir).filter((f) => /^rust-doc_.*\.deb$/.test(f)).sort().pop();
}

export function siteCorpus(name: CorpusName): SiteCorpus {
  const { root, source } = rustDocRoot();
  const html = path.join(root, HTML);
  return { name, dir: name === 'book' ? path.join(html, 'book') : html, source };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const n of ['book', 'rustdoc'] as const) {
    const c = siteCorpus(n);
    console.log(`${n}: ${c.dir} (${c.source})`);
  }
}
