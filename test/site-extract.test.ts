import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractPage, hasPagefindBody, urlOf } from '../src/site/extract.js';
import { extractAll } from '../src/site/extract-pool.js';
import { listHtml } from '../src/site/build.js';
import type { SitePage } from '../src/site/extract.js';

const fixtures = path.resolve(import.meta.dirname, 'fixtures', 'site');
const html = (rel: string) => readFileSync(path.join(fixtures, rel), 'utf8');
const page = (rel: string, opts = {}) => extractPage(html(rel), urlOf(rel), opts);
const must = (p: SitePage | null): SitePage => { expect(p).not.toBeNull(); return p!; };
/** Everything a page would index: title, headings and text. */
const allText = (p: SitePage) => [p.title, ...p.sections.flatMap((s) => [s.heading, s.text])].join(' ');
const body = (inner: string, head = '') => `<!DOCTYPE html><html><head>${head}</head><body>${inner}</body></html>`;

describe('urlOf', () => {
  it('maps a path relative to the site root to its URL; index.html is its directory', () => {
    expect(urlOf('a/b.html')).toBe('/a/b.html');
    expect(urlOf('a/index.html')).toBe('/a/');
    expect(urlOf('index.html')).toBe('/');
    expect(urlOf('./a\\b\\index.html')).toBe('/a/b/');
    expect(urlOf('a/myindex.html')).toBe('/a/myindex.html');
    expect(urlOf('a b/c#d.html')).toBe('/a%20b/c%23d.html');
  });
});

describe('extractPage', () => {
  it('a docs page: title, sections with anchors from the heading, an <a> inside it, or the <section> it opens', () => {
    expect(must(page('guide/install.html'))).toEqual({
      url: '/guide/install.html',
      title: 'Installing tool',
      meta: {},
      sections: [
        { anchor: null, heading: 'Installing tool', level: 0, text: 'Last updated today.' },
        { anchor: 'installing', heading: 'Installing tool', level: 1, text: 'First para. Second para.' },
        { anchor: 'linux', heading: 'On Linux', level: 2, text: 'apt dnf x86 arm Line break and foobar.' },
        { anchor: 'windows', heading: 'On Windows', level: 2, text: 'Use the installer.' },
        // the permalink "§" is not part of the heading; the id comes from <section id="macos">
        { anchor: 'macos', heading: 'On macOS', level: 3, text: 'Use brew.' },
        // not the first heading of its <section>, so the section's id is not its anchor
        { anchor: null, heading: 'Older macOS', level: 4, text: 'Use ports.' },
        // <h2 id="empty"></h2> starts no section
        { anchor: 'next', heading: 'Next steps', level: 2, text: '' },
      ],
    });
  });

  it('removes script, style, noscript, template, svg, iframe, nav, footer and form, and reads only <main>', () => {
    const text = allText(must(page('guide/install.html')));
    for (const word of ['scriptword', 'stylesheetword', 'color', 'Noscriptword', 'Templateword', 'Svgword', 'Svgtext',
      'Iframeword', 'Navword', 'Footerword', 'Searchword', 'On this page', 'Tool Docs']) {
      expect(text).not.toContain(word);
    }
  });

  it('separates words at block elements, not at inline ones', () => {
    const p = must(extractPage(body('<main><p>foo</p><p>bar</p><div>baz</div>qux<span>quux</span><ul><li>a</li><li>b<br>c</li></ul>' +
      '<table><tr><td>d</td><th>e</th></tr></table><pre>f</pre><blockquote>g</blockquote>h<em>i</em><a href="/x">j</a></main>'), '/'));
    expect(p.sections).toEqual([{ anchor: null, heading: '', level: 0, text: 'foo bar baz quxquux a b c d e f g hij' }]);
  });

  it('leaves out a page whose robots meta says noindex (any case) or none', () => {
    expect(page('old.html')).toBeNull();
    expect(extractPage(body('<main>x</main>', '<meta name="robots" content="none">'), '/')).toBeNull();
    expect(extractPage(body('<main>x</main>', '<meta name="Robots" content="nofollow,noindex">'), '/')).toBeNull();
    expect(extractPage(body('<main>x</main>', '<meta name="robots" content="index, follow">'), '/')).not.toBeNull();
    expect(extractPage(body('<main>x</main>', '<meta name="description" content="noindex">'), '/')).not.toBeNull();
  });

  it('leaves out a redirect stub (an immediate meta refresh to another URL, as rustdoc writes them), not a page that refreshes itself later', () => {
    expect(extractPage(body('<p>Redirecting to <a href="../vec/struct.Vec.html">…</a></p>', '<meta http-equiv="refresh" content="0;URL=../vec/struct.Vec.html">'), '/')).toBeNull();
    expect(extractPage(body('<main>x</main>', '<meta http-equiv="Refresh" content="0; url=/new/">'), '/')).toBeNull();
    expect(extractPage(body('<main>live scores</main>', '<meta http-equiv="refresh" content="30">'), '/')).not.toBeNull();
    expect(extractPage(body('<main>x</main>', '<meta http-equiv="refresh" content="5; url=/next.html">'), '/')).not.toBeNull();
  });

  it('without <main>, reads <article>; decodes entities and keeps <pre> code as text', () => {
    const p = must(page('vec.html'));
    expect(p.sections).toEqual([
      { anchor: null, heading: 'Vec & friends | Site', level: 0, text: 'A growable array: Vec<T> — it\'s "contiguous".' },
      { anchor: 'example', heading: 'Example', level: 2, text: 'fn main() { let v = vec![1, 2]; println!("{} & {}", v[0], v[1]); }' },
      { anchor: 'capacity', heading: 'Capacity', level: 2, text: 'Reserve with reserve.' },
    ]);
    expect(allText(p)).not.toContain('Sidebarword');
    expect(allText(p)).not.toContain('Articlefooterword');
  });

  it('title: without an h1 in the content, the <title> (whitespace collapsed)', () => {
    expect(must(page('vec.html')).title).toBe('Vec & friends | Site');
    expect(must(extractPage(body('<h1>Outside</h1><main><p>x</p></main>', '<title> A \n  B </title>'), '/')).title).toBe('A B');
    expect(must(extractPage('<p>no title at all</p>', '/')).title).toBe('');
  });

  it('[role=main] is a content root; a heading without id takes its <section>\'s id; headerlinks are dropped', () => {
    expect(must(page('sphinx.html'))).toEqual({
      url: '/sphinx.html',
      title: 'json — JSON encoder and decoder',
      meta: {},
      sections: [
        { anchor: 'module-json', heading: 'json — JSON encoder and decoder', level: 1, text: 'JSON is a lightweight data interchange format.' },
        { anchor: 'basic-usage', heading: 'Basic Usage', level: 2, text: 'Serialize obj as a JSON formatted stream.' },
      ],
    });
  });

  it('falls back to <body>, or to the whole document when there is no <body>', () => {
    const p = must(extractPage(body('<div class="x"><p>hello</p><h2 id="a">A</h2>there</div><nav>menu</nav>', '<title>T</title>'), '/p'));
    expect(p.sections).toEqual([
      { anchor: null, heading: 'T', level: 0, text: 'hello' },
      { anchor: 'a', heading: 'A', level: 2, text: 'there' },
    ]);
    expect(must(extractPage('<title>T</title><p>frag</p>', '/f')).sections)
      .toEqual([{ anchor: null, heading: 'T', level: 0, text: 'frag' }]);
  });

  it('looks nothing up inside a <template> (as css-select): its <main>, robots meta and metadata do not count, nor is its text read', () => {
    const p = extractPage(body('<template><main>tpl</main><span data-pagefind-meta="k:v"></span><meta name="robots" content="noindex"></template><p>real</p>',
      '<title>T</title>'), '/');
    expect(p).toEqual({ url: '/', title: 'T', meta: {}, sections: [{ anchor: null, heading: 'T', level: 0, text: 'real' }] });
  });

  it('--selector chooses the content root; several matches are read in order; no match falls back to <main>', () => {
    const toc = must(page('guide/install.html', { selector: '#toc' }));
    expect(toc.title).toBe('Install - Tool Docs'); // no h1 in #toc
    expect(toc.sections).toEqual([{ anchor: null, heading: 'Install - Tool Docs', level: 0, text: 'On this page: Linux, Windows' }]);
    const lis = must(extractPage(body('<ul><li>one</li><li>t<b>w</b>o<ul><li>three</li></ul></li></ul>'), '/', { selector: 'li' }));
    expect(lis.sections[0].text).toBe('one two three'); // the nested li is read once, inside its parent
    expect(page('guide/install.html', { selector: '.nomatch' })).toEqual(page('guide/install.html'));
  });

  it('data-pagefind-body: only inside it; ignore drops text and headings; meta title is the title', () => {
    const p = must(page('ocean.html', { pagefindBody: true }));
    expect(p.title).toBe('Oceans: the guide');
    expect(p.sections).toEqual([
      { anchor: 'ocean', heading: 'Ocean & Sea', level: 1, text: 'Salt water covers most of the planet.' },
      { anchor: 'tides', heading: 'Tides', level: 2, text: 'The moon pulls the water.' },
    ]);
    for (const word of ['Menuword', 'Menu site', 'Outsideword', 'Ignoredword', 'Hiddenheading', 'Alice', 'Allignoredword']) {
      expect(allText(p)).not.toContain(word);
    }
  });

  it('data-pagefind-body on the site: a page without it is not indexed; without the option it is an ordinary element', () => {
    expect(page('guide/install.html', { pagefindBody: true })).toBeNull();
    const p = must(page('ocean.html'));
    expect(allText(p)).toContain('Menuword'); // no main/article: <body>
    expect(allText(p)).toContain('Outsideword');
    expect(allText(p)).not.toContain('Ignoredword'); // data-pagefind-ignore applies regardless
  });

  it('data-pagefind-meta: key (text), key:value, key[attr], comma lists, anywhere (even ignored); empty values left out', () => {
    expect(must(page('ocean.html', { pagefindBody: true })).meta).toEqual({
      title: 'Oceans: the guide',
      description: 'All about oceans',
      date: 'June 1, 2022',
      category: 'Marine',
      image: '/img/wave.png',
      image_alt: 'A wave',
      author: 'Alice Smith',
    });
    const p = must(extractPage(body('<main><span data-pagefind-meta="empty"></span><img data-pagefind-meta="pic[src]">' +
      '<p data-pagefind-meta="title">Meta <b>title</b></p><h1>Heading one</h1></main>'), '/'));
    expect(p.meta).toEqual({ title: 'Meta title' });
    expect(p.title).toBe('Meta title');
  });

  it('hasPagefindBody: the attribute on an element, not the words in text', () => {
    expect(hasPagefindBody(html('ocean.html'))).toBe(true);
    expect(hasPagefindBody(html('guide/install.html'))).toBe(false);
    expect(hasPagefindBody(body('<pre><code>&lt;div data-pagefind-body&gt;</code></pre>'))).toBe(false);
    expect(hasPagefindBody(body('<main DATA-PAGEFIND-BODY>x</main>'))).toBe(true);
  });
});

describe('extractAll: every page of a site in one read of each file', () => {
  it('says whether any page has data-pagefind-body, and extracts under the rule it is given', async () => {
    const files = await listHtml(fixtures);
    const plain = await extractAll(fixtures, files, {});
    expect(plain.pagefindBody).toBe(true); // ocean.html marks its content
    expect(plain.pages.map((p) => p && p.page)).toEqual(files.map((rel) => extractPage(html(rel), urlOf(rel), {})));
    const marked = await extractAll(fixtures, files, { pagefindBody: true });
    expect(marked.pages.map((p) => p && p.page)).toEqual(files.map((rel) => extractPage(html(rel), urlOf(rel), { pagefindBody: true })));
    expect(marked.pages.filter((p) => p !== null).map((p) => p!.page.url)).toEqual(['/ocean.html']);
    const other = path.resolve(import.meta.dirname, 'fixtures', 'site-search');
    expect((await extractAll(other, await listHtml(other), {})).pagefindBody).toBe(false);
  });

  it('a file that cannot be read is an error that names it', async () => {
    await expect(extractAll(fixtures, ['ocean.html', 'missing.html'], {})).rejects.toThrow(/missing\.html/);
  });
});
