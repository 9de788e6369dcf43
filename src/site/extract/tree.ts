/**
 * The page as extraction needs it: a tree of plain objects built from htmlparser2's
 * parser events, the same events DomHandler turns into domhandler nodes. Building those
 * nodes was two thirds of the time on rust-doc; these cost a fraction. Comments and
 * processing instructions are left out (they hold no text); adjacent text is not merged
 * (all text is joined anyway). While parsing, it also notes the few elements extraction
 * looks up, so no selector walks the tree afterwards; like css-select, it does not look
 * inside <template> (its content is not part of the document).
 */
import { Parser } from 'htmlparser2';
import type { Handler } from 'htmlparser2';

export interface El {
  name: string;
  attribs: Record<string, string>;
  children: Array<El | string>;
  /** null only for the document. */
  parent: El | null;
}

export interface Tree {
  /** The document: name '', parent null. */
  doc: El;
  /** Every element in document order, when asked for (to map --selector matches onto this tree). */
  all: El[] | null;
  metas: El[];
  titles: El[];
  /** First of each, in document order. */
  main: El | null;
  roleMain: El | null;
  article: El | null;
  body: El | null;
  /** Elements with data-pagefind-meta, and with data-pagefind-body, in document order. */
  metaAttr: El[];
  bodyAttr: El[];
}

const PARSE = { decodeEntities: true } as const;

/** Parses `html` as parseDocument(html, { decodeEntities: true }) would, into a Tree. */
export function parseTree(html: string, keepAll = false): Tree {
  const handler = new TreeHandler(keepAll);
  new Parser(handler, PARSE).end(html);
  return handler.tree;
}

/** css-select's [attr]: present, own property (domutils hasAttrib). */
const has = (attribs: Record<string, string>, name: string) => Object.hasOwn(attribs, name) && attribs[name] != null;

/** Mirrors DomHandler's stack: every onopentag pushes, every onclosetag pops (whatever its name). */
class TreeHandler implements Partial<Handler> {
  readonly tree: Tree;
  private readonly stack: El[];
  /** Open <template> elements: what is inside one is not noted. */
  private templates = 0;

  constructor(keepAll: boolean) {
    const doc: El = { name: '', attribs: {}, children: [], parent: null };
    this.tree = {
      doc, all: keepAll ? [] : null, metas: [], titles: [], main: null, roleMain: null, article: null, body: null, metaAttr: [], bodyAttr: [],
    };
    this.stack = [doc];
  }

  onopentag(name: string, attribs: Record<string, string>): void {
    const parent = this.stack[this.stack.length - 1];
    const el: El = { name, attribs, children: [], parent };
    parent.children.push(el);
    this.stack.push(el);
    this.tree.all?.push(el);
    if (this.templates === 0) this.note(el);
    if (name === 'template') this.templates++;
  }

  onclosetag(): void {
    if (this.stack.pop()?.name === 'template') this.templates--;
  }

  ontext(data: string): void {
    this.stack[this.stack.length - 1].children.push(data);
  }

  private note(el: El): void {
    const t = this.tree;
    switch (el.name) {
      case 'meta': t.metas.push(el); break;
      case 'title': t.titles.push(el); break;
      case 'main': t.main ??= el; break;
      case 'article': t.article ??= el; break;
      case 'body': t.body ??= el; break;
    }
    const a = el.attribs;
    if (t.roleMain === null && a.role === 'main') t.roleMain = el;
    if (has(a, 'data-pagefind-meta')) t.metaAttr.push(el);
    if (has(a, 'data-pagefind-body')) t.bodyAttr.push(el);
  }
}
