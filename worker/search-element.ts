/**
 * `<bucketlite-search bucket="/search/">`: a drop-in search box for a site indexed by
 * `bucketlite site`. No framework and no bundler: a page needs only
 *
 *   <script type="module" src="/js/bucketlite/worker/search-element.js"></script>
 *   <bucketlite-search bucket="/search/"></bucketlite-search>
 *
 * Attributes: bucket (required; relative to the document's base URL), placeholder,
 * label (the input's accessible name, default "Search this site"), limit (pages, default
 * 5), debounce (ms, default 30), worker (URL of the worker module, default worker.js
 * beside client.js), preload ("" or absent: open the database when the element connects;
 * "focus": on the first focus; "none": on the first search).
 *
 * Accessibility: the ARIA 1.2 combobox pattern. The input (role=combobox,
 * aria-autocomplete=list) keeps the focus; ArrowDown/ArrowUp move the active option
 * through page results and their heading sub-results alike and wrap around at either
 * end; Enter follows the active option's link; Escape closes the list, a second Escape
 * clears the input; Home/End keep their text-editing meaning. A polite live region says
 * "N results", "No results for …" or what went wrong.
 *
 * Theme (CSS custom properties, set them on the element or any ancestor):
 *   --bucketlite-search-accent   links, focus ring, active option   (#0969da)
 *   --bucketlite-search-bg       input and list background           (#fff)
 *   --bucketlite-search-fg       text                                (#1f2328)
 *   --bucketlite-search-muted    excerpts, status line               (#59636e)
 *   --bucketlite-search-mark-bg  highlighted words                   (#fff8c5)
 *   --bucketlite-search-error    error border and message            (#d1242f)
 *   --bucketlite-search-font     font family                         (inherit)
 *   --bucketlite-search-radius   corner radius                       (6px)
 *   --bucketlite-search-border   input and list border               (1px solid #d1d9e0)
 * Parts for ::part(): root, input, panel, listbox, option, result, sub-result, link,
 * title, excerpt, status.
 *
 * Events: `bucketlite-search` after each completed search (detail {words, results, ms}),
 * `bucketlite-search-error` when one fails (detail {words, error}). The last results
 * are also the element's `lastResults`.
 */
import { preload, search } from './search.js';
import type { SearchResult, SubResult } from './search.js';
import { isSearchable } from '../src/site/query.js';

const STYLE = `
:host{--a:var(--bucketlite-search-accent,#0969da);--bg:var(--bucketlite-search-bg,#fff);--fg:var(--bucketlite-search-fg,#1f2328);--mu:var(--bucketlite-search-muted,#59636e);--er:var(--bucketlite-search-error,#d1242f);--r:var(--bucketlite-search-radius,6px);--bd:var(--bucketlite-search-border,1px solid #d1d9e0);display:block;position:relative;font-family:var(--bucketlite-search-font,inherit);color:var(--fg)}
input{box-sizing:border-box;width:100%;font:inherit;color:var(--fg);background:var(--bg);border:var(--bd);border-radius:var(--r);padding:.5em .75em}
input:focus{outline:2px solid var(--a);outline-offset:1px}
:host([data-state=error]) input{border-color:var(--er)}
.panel{position:absolute;z-index:10;left:0;right:0;top:calc(100% + 4px);background:var(--bg);border:var(--bd);border-radius:var(--r);box-shadow:0 8px 24px rgb(0 0 0/.12);max-height:min(70vh,36em);overflow:auto}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap;border:0;padding:0}
ul{list-style:none;margin:0;padding:.25em}
ul[hidden]{display:none}
a{display:block;padding:.5em .75em;border-radius:calc(var(--r) - 2px);color:inherit;text-decoration:none}
.sub a{padding-left:1.75em}
a:hover{background:color-mix(in srgb,var(--a) 6%,var(--bg))}
[aria-selected=true] a{background:color-mix(in srgb,var(--a) 12%,var(--bg));outline:2px solid var(--a);outline-offset:-2px}
.title{display:block;font-weight:600;color:var(--a)}
.sub .title{font-weight:500}
.sub .title::before{content:"# ";color:var(--mu)}
.excerpt{display:block;font-size:.875em;color:var(--mu);margin-top:.15em}
mark{background:var(--bucketlite-search-mark-bg,#fff8c5);color:inherit;border-radius:2px}
.status{padding:.4em .75em;font-size:.875em;color:var(--mu)}
.status:empty{display:none}
:host([data-state=error]) .status{color:var(--er)}
@media (forced-colors:active){[aria-selected=true] a{outline-color:Highlight}}
`;

let instances = 0;

export interface SearchEventDetail {
  words: string;
  results: SearchResult[];
  /** From the search call to its results (after the debounce). */
  ms: number;
}

export class BucketliteSearchElement extends HTMLElement {
  static observedAttributes = ['bucket', 'placeholder', 'label'];

  /** The results on screen (the last completed search's). */
  lastResults: SearchResult[] = [];
  /** The words those results are for. */
  lastWords = '';

  private readonly input: HTMLInputElement;
  private readonly panel: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly status: HTMLElement;
  private readonly uid = `bls${++instances}`;
  private options: HTMLElement[] = [];
  private active = -1;
  private generation = 0;
  private running: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private focusedOnce = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const id = this.uid;
    root.innerHTML = `<style>${STYLE}</style><div part="root"><input part="input" type="search" role="combobox" aria-autocomplete="list" aria-expanded="false" aria-controls="${id}-l" aria-describedby="${id}-s" autocomplete="off" autocapitalize="off" spellcheck="false" enterkeyhint="search"><div part="panel" class="panel sr"><ul part="listbox" id="${id}-l" role="listbox" hidden></ul><div part="status" class="status" id="${id}-s" role="status" aria-live="polite" aria-atomic="true"></div></div></div>`;
    this.input = root.querySelector('input')!;
    this.panel = root.querySelector('.panel')!;
    this.list = root.querySelector('ul')!;
    this.status = root.querySelector('[role=status]')!;
    this.list.setAttribute('aria-label', 'Search results');
    this.input.addEventListener('input', () => this.onInput());
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.input.addEventListener('focus', () => {
      if (!this.focusedOnce && this.preloadMode === 'focus') this.open();
      this.focusedOnce = true;
      if (this.options.length || this.status.textContent) this.show(true);
    });
    this.input.addEventListener('blur', () => this.show(false));
    // A click on a result must not blur the input first (that would close the list).
    this.panel.addEventListener('mousedown', (e) => e.preventDefault());
    this.list.addEventListener('mousemove', (e) => {
      const li = (e.target as Element).closest?.('[role=option]');
      const i = li ? this.options.indexOf(li as HTMLElement) : -1;
      if (i >= 0 && i !== this.active) this.setActive(i, false);
    });
    this.list.addEventListener('click', () => this.show(false));
  }

  get bucket(): string { return this.getAttribute('bucket') ?? ''; }
  set bucket(v: string) { this.setAttribute('bucket', v); }
  get value(): string { return this.input.value; }
  private get limit(): number { return Math.max(1, Number(this.getAttribute('limit')) || 5); }
  private get debounce(): number {
    const d = Number(this.getAttribute('debounce') ?? 30);
    return Number.isFinite(d) && d >= 0 ? d : 30;
  }
  private get preloadMode(): string { return this.getAttribute('preload') ?? ''; }

  connectedCallback(): void {
    this.syncAttributes();
    if (this.preloadMode !== 'focus' && this.preloadMode !== 'none') this.open();
  }

  disconnectedCallback(): void {
    this.cancel();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    this.syncAttributes();
    if (name === 'bucket' && old !== null && old !== value && this.isConnected) {
      this.cancel();
      this.render([], '');
      this.setStatus('');
      if (this.preloadMode !== 'focus' && this.preloadMode !== 'none') this.open();
      if (this.input.value) this.onInput();
    }
  }

  private syncAttributes(): void {
    this.input.placeholder = this.getAttribute('placeholder') ?? 'Search';
    this.input.setAttribute('aria-label', this.getAttribute('label') ?? 'Search this site');
  }

  /** Opens the bucket (at most once per URL, page-wide); flags the control if it cannot. */
  private open(): Promise<boolean> {
    const bucket = this.bucket;
    if (!bucket) {
      this.fail(new Error('the bucket attribute is missing'));
      return Promise.resolve(false);
    }
    const worker = this.getAttribute('worker');
    return preload(bucket, worker ? { workerUrl: worker } : {}).then(
      () => {
        if (this.bucket === bucket && this.dataset.state !== 'error') this.dataset.state = 'ready';
        return true;
      },
      (err: unknown) => {
        if (this.bucket === bucket) this.fail(err);
        return false;
      },
    );
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.running?.abort();
    this.running = null;
    this.generation++;
  }

  private onInput(): void {
    this.cancel();
    const words = this.input.value;
    if (!isSearchable(words)) {
      // Nothing searchable yet (empty, or one letter): no query, an empty list.
      this.render([], '');
      if (this.dataset.state !== 'error') this.setStatus('');
      this.show(false);
      return;
    }
    const generation = this.generation;
    this.timer = setTimeout(() => void this.run(words, generation), this.debounce);
  }

  private async run(words: string, generation: number): Promise<void> {
    const ac = new AbortController();
    this.running = ac;
    const t0 = performance.now();
    try {
      const opened = await this.open();
      if (!opened || generation !== this.generation) return;
      const results = await search(this.bucket, words, { limit: this.limit, signal: ac.signal });
      // A newer keystroke won: these results are stale and never replace newer ones.
      if (generation !== this.generation || ac.signal.aborted) return;
      const ms = performance.now() - t0;
      this.dataset.state = 'ready';
      delete this.dataset.error;
      this.input.removeAttribute('aria-invalid');
      this.render(results, words);
      this.setStatus(results.length ? `${results.length} result${results.length === 1 ? '' : 's'}` : `No results for “${words.trim()}”`);
      if (this.shadowRoot!.activeElement === this.input) this.show(true);
      this.dispatchEvent(new CustomEvent<SearchEventDetail>('bucketlite-search', { detail: { words, results, ms }, bubbles: true, composed: true }));
    } catch (err) {
      if (generation !== this.generation || ac.signal.aborted) return;
      this.render([], words);
      this.fail(err);
    } finally {
      if (this.running === ac) this.running = null;
    }
  }

  /** The error state: the input stays usable (the next keystroke tries again). */
  private fail(err: unknown): void {
    const e = err as { code?: string; message?: string };
    this.dataset.state = 'error';
    if (e?.code) this.dataset.error = e.code;
    this.input.setAttribute('aria-invalid', 'true');
    this.setStatus(`Search is unavailable: ${e?.message ?? String(err)}`);
    this.show(true);
    this.dispatchEvent(new CustomEvent('bucketlite-search-error', { detail: { words: this.input.value, error: err }, bubbles: true, composed: true }));
  }

  private setStatus(text: string): void {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  private render(results: SearchResult[], words: string): void {
    this.lastResults = results;
    this.lastWords = words;
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    const items: HTMLElement[] = [];
    results.forEach((r, i) => {
      items.push(this.option(r, `${this.uid}-${i}`, 'result'));
      r.sub.forEach((s, j) => items.push(this.option(s, `${this.uid}-${i}-${j}`, 'sub-result')));
    });
    this.options = items;
    this.list.replaceChildren(...items);
    this.list.hidden = items.length === 0;
    this.input.setAttribute('aria-expanded', String(items.length > 0 && !this.panel.classList.contains('sr')));
  }

  private option(hit: SubResult, id: string, kind: 'result' | 'sub-result'): HTMLElement {
    const li = document.createElement('li');
    li.id = id;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', 'false');
    li.setAttribute('part', `option ${kind}`);
    if (kind === 'sub-result') li.className = 'sub';
    const a = document.createElement('a');
    a.href = hit.url;
    a.tabIndex = -1;
    a.setAttribute('part', 'link');
    const title = document.createElement('span');
    title.className = 'title';
    title.setAttribute('part', 'title');
    title.textContent = hit.title || hit.url;
    const excerpt = document.createElement('span');
    excerpt.className = 'excerpt';
    excerpt.setAttribute('part', 'excerpt');
    excerpt.innerHTML = hit.excerpt; // escaped by runSearch; only <mark> is markup
    a.append(title, excerpt);
    li.append(a);
    return li;
  }

  /** Shows or hides the panel; the live region stays in the tree either way. */
  private show(open: boolean): void {
    const visible = open && (this.options.length > 0 || this.status.textContent !== '');
    this.panel.classList.toggle('sr', !visible);
    this.list.hidden = !visible || this.options.length === 0;
    this.input.setAttribute('aria-expanded', String(visible && this.options.length > 0));
    if (!visible) this.setActive(-1, false);
  }

  private get expanded(): boolean {
    return this.input.getAttribute('aria-expanded') === 'true';
  }

  private setActive(i: number, scroll = true): void {
    this.options[this.active]?.setAttribute('aria-selected', 'false');
    this.active = i;
    const li = this.options[i];
    if (!li) {
      this.input.removeAttribute('aria-activedescendant');
      return;
    }
    li.setAttribute('aria-selected', 'true');
    this.input.setAttribute('aria-activedescendant', li.id);
    if (scroll) li.scrollIntoView({ block: 'nearest' });
  }

  private onKey(e: KeyboardEvent): void {
    if (e.altKey || e.ctrlKey || e.metaKey || e.isComposing) return;
    const n = this.options.length;
    switch (e.key) {
      case 'ArrowDown':
      case 'ArrowUp': {
        if (n === 0) return;
        e.preventDefault();
        if (!this.expanded) this.show(true);
        const down = e.key === 'ArrowDown';
        this.setActive(this.active < 0 ? (down ? 0 : n - 1) : (this.active + (down ? 1 : -1) + n) % n);
        return;
      }
      case 'Enter': {
        const a = this.expanded ? this.options[this.active]?.querySelector('a') : null;
        if (!a) return;
        e.preventDefault();
        this.show(false);
        location.assign(a.href);
        return;
      }
      case 'Escape':
        if (this.expanded || !this.panel.classList.contains('sr')) {
          e.preventDefault();
          this.show(false);
        } else if (this.input.value) {
          e.preventDefault();
          this.input.value = '';
          this.onInput();
        }
        return;
    }
  }
}

if (!customElements.get('bucketlite-search')) customElements.define('bucketlite-search', BucketliteSearchElement);

declare global {
  interface HTMLElementTagNameMap { 'bucketlite-search': BucketliteSearchElement }
  interface HTMLElementEventMap { 'bucketlite-search': CustomEvent<SearchEventDetail> }
}
