/**
 * Reads one built HTML page for site search: its URL, title, Pagefind metadata and the
 * text of its content, split into sections at headings (each with the anchor a result
 * can link to). Node only; the browser build never imports it.
 *
 * Pagefind's attributes mean what they mean to Pagefind, so a Pagefind site switches
 * without edits: data-pagefind-body, data-pagefind-ignore and data-pagefind-meta.
 * Where we differ on purpose:
 * - a page whose robots meta says noindex (or none), or that redirects at once with a meta
 *   refresh, is not indexed (Pagefind indexes such redirect stubs and ranks them first);
 * - without data-pagefind-body the content is <main> (or [role=main]), else <article>,
 *   else <body>, not always <body>;
 * - the title is the first <h1> of the content, not of the page (a site-name h1 in a
 *   menu bar is not the title), after an explicit data-pagefind-meta title;
 * - data-pagefind-ignore of any value drops the element's text and its headings
 *   (metadata inside it still counts); "all" is the same here;
 * - a heading's permalink (<a href="#…"> with no letters or digits: ¶, §, #) is not text.
 */
import { parseDocument } from 'htmlparser2';
import { hasChildren, isTag } from 'domhandler';
import type { AnyNode, Element } from 'domhandler';
import { selectAll } from 'css-select';
import { parseTree } from './extract/tree.js';
import type { El, Tree } from './extract/tree.js';

export interface SitePage {
  /** Site-absolute URL path, e.g. '/guide/install.html' or '/guide/'. */
  url: string;
  /** Whitespace-collapsed; '' when the page has no title, h1 or meta title. */
  title: string;
  /** From data-pagefind-meta attributes anywhere on the page; a later key overrides an earlier one. */
  meta: Record<string, string>;
  sections: Section[];
}

export interface Section {
  /** Fragment id to link to (without '#'), or null. */
  anchor: string | null;
  heading: string;
  /** 1–6 for h1–h6; 0 for the text before the first heading. */
  level: number;
  /** Whitespace-collapsed text; block elements separate words. */
  text: string;
}

export interface ExtractOptions {
  /** CSS selector for the content root (bucketlite site --selector); no match falls back to main/article/body. */
  selector?: string;
  /** true when some page of the site has data-pagefind-body: then only such pages, and only inside it, are indexed. */
  pagefindBody?: boolean;
}

const PARSE = { decodeEntities: true } as const;

/** Never indexed, with everything inside them. */
const REMOVED = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'nav', 'footer', 'form', 'head', 'title']);

/** Elements that do not separate words; every other element does (p, li, td, pre, div, br, h1…). */
const INLINE = new Set([
  'a', 'abbr', 'b', 'bdi', 'bdo', 'cite', 'code', 'data', 'del', 'dfn', 'em', 'font', 'i', 'ins', 'kbd',
  'mark', 'q', 'rp', 'rt', 'ruby', 's', 'samp', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'time',
  'tt', 'u', 'var', 'wbr',
]);

/** 1–6 for h1–h6, else 0: a test on every element, so no regex. */
function headingLevel(name: string): number {
  if (name.length !== 2 || name.charCodeAt(0) !== 104 /* h */) return 0;
  const d = name.charCodeAt(1) - 48;
  return d >= 1 && d <= 6 ? d : 0;
}

const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Site-absolute URL of a page from its path relative to the site root; '…/index.html' is its directory. */
export function urlOf(relPath: string): string {
  const parts = relPath.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts[parts.length - 1] === 'index.html') parts[parts.length - 1] = '';
  return '/' + parts.map(encodeURIComponent).join('/');
}

/** Whether the page has a data-pagefind-body element (not merely the words, say in a code sample). */
export function hasPagefindBody(html: string): boolean {
  if (!/data-pagefind-body/i.test(html)) return false;
  return parseTree(html).bodyAttr.length > 0;
}

/** Where text goes: the current section's pieces, swapped when a heading starts a new one. */
interface Sink { parts: string[] }

/** The page's title, metadata and sections, or null when it is not to be indexed. */
export function extractPage(html: string, url: string, opts: ExtractOptions = {}): SitePage | null {
  const tree = parseTree(html, !opts.pagefindBody && !!opts.selector);
  if (isNoindex(tree.metas)) return null;
  const roots = contentRoots(tree, html, opts);
  if (roots === null) return null;
  const meta = collectMeta(tree.metaAttr);

  const sections: Section[] = [];
  const sink: Sink = { parts: [] };
  let current: Section = { anchor: null, heading: '', level: 0, text: '' };
  let firstH1: string | null = null;
  const finish = () => {
    current.text = collapse(sink.parts.join(''));
    if (current.level > 0 || current.text !== '') sections.push(current);
  };
  // A heading with text ends the section before it and starts its own.
  const onHeading = (node: El, level: number): boolean => {
    const heading = textOf(node);
    if (heading === '') return false;
    finish();
    if (level === 1 && firstH1 === null) firstH1 = heading;
    current = { anchor: anchorOf(node), heading, level, text: '' };
    sink.parts = [];
    return true;
  };
  for (const root of roots) {
    for (const c of root.children) collectText(c, sink, false, onHeading);
    sink.parts.push(' ');
  }
  finish();

  const titleEl = tree.titles.find((t) => !hasAncestor(t, 'svg'));
  const title = meta.title ?? firstH1 ?? (titleEl ? textOf(titleEl, true) : '');
  if (sections[0]?.level === 0) sections[0].heading = title;
  return { url, title, meta, sections };
}

/** robots noindex (or none), or an immediate meta refresh: a redirect stub names another page's content. */
function isNoindex(metas: El[]): boolean {
  return metas.some((m) => {
    const content = (m.attribs.content ?? '').toLowerCase();
    if ((m.attribs['http-equiv'] ?? '').trim().toLowerCase() === 'refresh') return /^\s*0*\s*[;,]\s*url\s*=/.test(content);
    if ((m.attribs.name ?? '').trim().toLowerCase() !== 'robots') return false;
    return content.split(/[\s,]+/).some((d) => d === 'noindex' || d === 'none');
  });
}

/** The elements whose content is indexed, outermost only, in document order; null: none (page not indexed). */
function contentRoots(tree: Tree, html: string, opts: ExtractOptions): El[] | null {
  if (opts.pagefindBody) {
    const bodies = outermost(tree.bodyAttr);
    return bodies.length > 0 ? bodies : null;
  }
  if (opts.selector) {
    const chosen = outermost(selected(html, opts.selector, tree.all!));
    if (chosen.length > 0) return chosen;
  }
  return [tree.main ?? tree.roleMain ?? tree.article ?? tree.body ?? tree.doc];
}

/**
 * A user's --selector matches, in document order. css-select runs on a domhandler DOM of
 * the same page: both trees come from the same parser events, so the DOM's n-th element
 * is `all[n]`. Parsing twice costs only with --selector.
 */
function selected(html: string, selector: string, all: El[]): El[] {
  const doc = parseDocument(html, PARSE);
  const index = new Map<AnyNode, number>();
  const number = (nodes: AnyNode[]) => {
    for (const n of nodes) {
      if (isTag(n)) index.set(n, index.size);
      if (hasChildren(n)) number(n.children);
    }
  };
  number(doc.children);
  return selectAll<AnyNode, Element>(selector, doc).map((el) => all[index.get(el)!]);
}

function hasAncestor(el: El, name: string): boolean {
  for (let p = el.parent; p; p = p.parent) if (p.name === name) return true;
  return false;
}

function outermost(els: El[]): El[] {
  const set = new Set<El>(els);
  return els.filter((el) => {
    for (let p = el.parent; p; p = p.parent) if (set.has(p)) return false;
    return true;
  });
}

function skipped(el: El): boolean {
  return REMOVED.has(el.name) || el.attribs['data-pagefind-ignore'] !== undefined || isPermalink(el);
}

/** A heading's permalink, e.g. Sphinx's <a class="headerlink" href="#x">¶</a> or rustdoc's "§": no words, not text. */
function isPermalink(el: El): boolean {
  return el.name === 'a' && (el.attribs.href ?? '').startsWith('#') && !/[\p{L}\p{N}]/u.test(textOf(el, true));
}

/** Collapsed text of an element, block elements separating words; `ignored`: also the text of data-pagefind-ignore elements. */
function textOf(el: El, ignored = false): string {
  const sink: Sink = { parts: [] };
  for (const c of el.children) collectText(c, sink, ignored);
  return collapse(sink.parts.join(''));
}

/**
 * Adds the text under `node` to the sink, a space around each block element so words
 * stay apart, leaving out skipped elements (only REMOVED ones when `ignored`);
 * `onHeading` may take an h1–h6 over (returns true).
 */
function collectText(node: El | string, sink: Sink, ignored: boolean, onHeading?: (el: El, level: number) => boolean): void {
  if (typeof node === 'string') {
    sink.parts.push(node);
    return;
  }
  if (ignored ? REMOVED.has(node.name) : skipped(node)) return;
  const level = onHeading ? headingLevel(node.name) : 0;
  if (level > 0 && onHeading!(node, level)) return;
  const block = !INLINE.has(node.name);
  if (block) sink.parts.push(' ');
  for (const c of node.children) collectText(c, sink, ignored, onHeading);
  if (block) sink.parts.push(' ');
}

/** The first element under `nodes` (depth first, document order) that passes `test`, as domutils findOne. */
function findOne(test: (el: El) => boolean, nodes: Array<El | string>): El | null {
  for (const n of nodes) {
    if (typeof n === 'string') continue;
    if (test(n)) return n;
    const found = findOne(test, n.children);
    if (found) return found;
  }
  return null;
}

/**
 * A heading's own id, else the id (or name) of an <a> inside it, else the id of the
 * nearest enclosing <section>/<div> whose first heading it is (Sphinx, DocBook).
 */
function anchorOf(h: El): string | null {
  if (h.attribs.id) return h.attribs.id;
  const a = findOne((n) => n.name === 'a' && !!(n.attribs.id || n.attribs.name), h.children);
  if (a) return a.attribs.id || a.attribs.name;
  // p.parent === null: p is the document, not an element
  for (let p = h.parent; p && p.parent !== null; p = p.parent) {
    if (findOne((n) => headingLevel(n.name) > 0, p.children) !== h) break;
    if ((p.name === 'section' || p.name === 'div') && p.attribs.id) return p.attribs.id;
  }
  return null;
}

/** A meta key: starts with a letter or '_'; used to tell a comma between entries from one inside a value. */
const META_KEY = /^\s*[A-Za-z_][\w.-]*\s*(?::|\[[^\]]*\]\s*$|$)/;
const META_ATTR = /^\s*([^:[\]]+?)\s*\[\s*([^\]]+?)\s*\]\s*$/;

/**
 * data-pagefind-meta anywhere in the document, ignored elements included (as Pagefind):
 * "key" (the element's text), "key:value", "key[attr]" (the attribute's value), and
 * comma-separated lists of these. A comma followed by something that is not a key (e.g.
 * "date:June 1, 2022") stays in the value. Empty values are left out.
 */
function collectMeta(els: El[]): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const el of els) {
    const entries: string[] = [];
    for (const piece of el.attribs['data-pagefind-meta'].split(',')) {
      if (entries.length > 0 && !META_KEY.test(piece)) entries[entries.length - 1] += ',' + piece;
      else entries.push(piece);
    }
    for (const entry of entries) {
      let key: string;
      let value: string | undefined;
      const attr = META_ATTR.exec(entry);
      const colon = entry.indexOf(':');
      if (attr) {
        key = attr[1];
        value = el.attribs[attr[2].toLowerCase()];
      } else if (colon >= 0) {
        key = entry.slice(0, colon).trim();
        value = entry.slice(colon + 1);
      } else {
        key = entry.trim();
        value = textOf(el, true);
      }
      value = value === undefined ? '' : collapse(value);
      if (key !== '' && key !== '__proto__' && value !== '') meta[key] = value;
    }
  }
  return meta;
}
