/**
 * A read-only bucket over plain HTTP(S): any static host, CDN, or public S3/GCS URL.
 * The transport (undici in Node, fetch in browsers) only moves bytes; this module owns
 * the protocol rules, so both runtimes validate identically:
 *  - a ranged GET must answer 206 with exactly the Content-Range asked for and exactly
 *    that many bytes; a 200 to a ranged GET means the server ignores Range (an error
 *    that says so, never a silent full download);
 *  - no Content-Encoding: a transformed body would not be the stored bytes;
 *  - 5xx, 429, resets, timeouts and short bodies are retried with jittered exponential
 *    backoff (honouring Retry-After), up to `retries` times; 4xx is not retried;
 *  - every request has a deadline; the caller's AbortSignal cancels it at once.
 * URLs are built only from validated keys under the base URL, so a reader never leaves
 * the bucket: no other host, no path above the base.
 */
import { BucketliteError } from '../errors.js';
import { HEAD_KEY } from '../format/constants.js';
import type { BucketStore, ByteRange, GetOptions, GetResult, ObjectInfo } from './types.js';
import { concat } from './body.js';
import { isSafeKey } from './types.js';
import { sleep } from '../util/sleep.js';

export interface HttpRequest {
  method: 'GET' | 'HEAD';
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** The transport stops reading and fails past this many body bytes. */
  maxBytes: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Uint8Array;
  /** Set when the body broke off (reset, deadline): `body` holds the bytes that arrived. */
  cut?: unknown;
}

/** Requests kept in flight on an HTTP/2 or HTTP/3 connection (servers allow 100 or more streams). */
export const MULTIPLEXED_IN_FLIGHT = 64;

export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Requests the connection carries well at once, once a response told (HTTP/2: many). */
  inFlightHint?(): number | undefined;
  close?(): Promise<void>;
}

export interface HttpStoreOptions {
  transport: HttpTransport;
  /** Retries after the first attempt for retryable failures. */
  retries?: number;
  /** Deadline of one attempt. */
  timeoutMs?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Extra headers per request (e.g. a signer for private buckets); never logged. */
  headers?: (url: string) => Record<string, string> | Promise<Record<string, string>>;
  /** Largest whole object fetched without a range (HEAD, manifests). */
  maxObjectBytes?: number;
  /**
   * A body cut off mid-way (a range, or a whole object other than HEAD) is resumed from
   * its first missing byte; such a retry does not use up `retries`, at most this many
   * times per request (default 32).
   */
  maxResumes?: number;
  /** Called after each retry is scheduled (stats). */
  onRetry?(info: { key: string; attempt: number; reason: string }): void;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** A failure worth another attempt (5xx, reset, timeout, short or cut body). */
class Retryable extends Error {
  constructor(readonly error: BucketliteError, readonly retryAfterMs?: number) {
    super(error.message);
  }
}

export class HttpStore implements BucketStore {
  readonly name: string;
  private readonly base: URL;

  constructor(baseUrl: string, private readonly opts: HttpStoreOptions) {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new BucketliteError('ERR_USAGE', `not an http(s) URL: ${u.protocol}`);
    }
    u.search = '';
    u.hash = '';
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.base = u;
    // Never print credentials that may sit in the URL.
    this.name = `${u.protocol}//${u.host}${u.pathname}`;
  }

  urlFor(key: string, op: string): string {
    if (!isSafeKey(key)) throw new BucketliteError('ERR_BAD_KEY', `refusing key ${JSON.stringify(key)}`, { op });
    const u = new URL(key, this.base);
    if (u.origin !== this.base.origin || !u.pathname.startsWith(this.base.pathname)) {
      throw new BucketliteError('ERR_BAD_KEY', `key ${JSON.stringify(key)} leaves the bucket`, { op });
    }
    return u.href;
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const url = this.urlFor(key, 'get');
    if (!opts.range) return this.getWhole(key, url, opts);
    if (opts.range.length <= 0) throw new BucketliteError('ERR_RANGE', 'empty range', { op: 'get', key, range: opts.range });
    return this.getRange(key, url, opts.range, opts.signal);
  }

  /**
   * A whole object. A body cut off mid-way is resumed with a Range for the rest, except
   * for HEAD (mutable: its pieces could come from two versions) and revalidations.
   */
  private async getWhole(key: string, url: string, opts: GetOptions): Promise<GetResult> {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (opts.ifNoneMatch !== undefined) headers['if-none-match'] = opts.ifNoneMatch;
    const maxBytes = this.opts.maxObjectBytes ?? 64 * 1024 * 1024;
    const resumable = key !== HEAD_KEY && opts.ifNoneMatch === undefined;
    const parts: Uint8Array[] = [];
    let total = -1;
    const have = () => parts.reduce((a, p) => a + p.length, 0);
    return this.withRetries(key, opts.signal, async (signal): Promise<GetResult> => {
      if (parts.length) {
        const last = await this.rangeAttempt(key, url, { offset: have(), length: total - have() }, signal, parts);
        return { body: concat(parts), etag: last.etag, size: total };
      }
      const res = await this.send({ method: 'GET', url, headers, signal, maxBytes: maxBytes + 1 }, key);
      const d = { op: 'get', key, status: res.status };
      const etag = res.headers.etag ?? '';
      if (res.status === 304 && opts.ifNoneMatch !== undefined) return { body: new Uint8Array(0), etag: etag || opts.ifNoneMatch, size: -1, notModified: true };
      checkEncoding(res, d);
      if (res.status !== 200) throw new BucketliteError('ERR_HTTP', `expected 200, got ${res.status}`, d);
      const cl = res.headers['content-length'];
      if (res.cut !== undefined) {
        total = Number(cl ?? -1);
        if (resumable && res.body.length > 0 && Number.isSafeInteger(total) && res.body.length < total && total <= maxBytes) parts.push(res.body);
        throw cutOff(res, d);
      }
      if (res.body.length > maxBytes) throw new BucketliteError('ERR_BAD_RESPONSE', `object exceeds ${maxBytes} bytes`, d);
      if (cl !== undefined && Number(cl) !== res.body.length) throw new Retryable(new BucketliteError('ERR_BAD_RESPONSE', `body has ${res.body.length} bytes, Content-Length says ${cl}`, d));
      return { body: res.body, etag, size: res.body.length };
    }, have);
  }

  /**
   * A ranged GET. A body cut off mid-way keeps what arrived, and the next attempt asks
   * only for the rest (bytes are immutable and hash-checked above this layer).
   */
  private async getRange(key: string, url: string, range: ByteRange, signal?: AbortSignal): Promise<GetResult> {
    const parts: Uint8Array[] = [];
    let have = 0;
    const last = await this.withRetries(key, signal, async (sig) => {
      try {
        return await this.rangeAttempt(key, url, { offset: range.offset + have, length: range.length - have }, sig, parts);
      } finally {
        have = parts.reduce((a, p) => a + p.length, 0);
      }
    }, () => have);
    return { body: concat(parts), ...last };
  }

  /**
   * One attempt at bytes `want`: appends what arrives to `parts` (also when the body
   * is cut off, so the next attempt resumes) and fails unless it is all there.
   */
  private async rangeAttempt(key: string, url: string, want: ByteRange, signal: AbortSignal, parts: Uint8Array[]): Promise<{ etag: string; size: number }> {
    const headers = { 'accept-encoding': 'identity', range: `bytes=${want.offset}-${want.offset + want.length - 1}` };
    const res = await this.send({ method: 'GET', url, headers, signal, maxBytes: want.length + 1 }, key, want);
    const d = { op: 'get', key, range: want, status: res.status };
    const head = checkRangeHead(res, key, want, d);
    if (res.cut !== undefined) {
      if (res.body.length > 0 && res.body.length < want.length) parts.push(res.body);
      throw cutOff(res, d);
    }
    // A complete answer with a wrong length is a broken server, not a broken link: retry whole.
    if (res.body.length !== want.length) throw new Retryable(new BucketliteError('ERR_BAD_RESPONSE', `short body: ${res.body.length} of ${want.length} bytes`, d));
    parts.push(res.body);
    return head;
  }

  inFlightHint(): number | undefined {
    return this.opts.transport.inFlightHint?.();
  }

  /**
   * S3 and GCS ETags are the MD5 of the content (or of its parts): exact. Others, like
   * nginx's size-and-mtime-in-seconds, are not to be trusted for revalidation.
   */
  etagIsExact(etag: string): boolean {
    return /^"[0-9a-f]{32}(-\d+)?"$/.test(etag);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const url = this.urlFor(key, 'head');
    try {
      return await this.withRetries(key, undefined, async (signal) => {
        const res = await this.send({ method: 'HEAD', url, headers: {}, signal, maxBytes: 0 }, key);
        if (res.status !== 200) throw new BucketliteError('ERR_HTTP', `expected 200, got ${res.status}`, { op: 'head', key, status: res.status });
        const lm = res.headers['last-modified'];
        return { key, size: Number(res.headers['content-length'] ?? -1), etag: res.headers.etag ?? '', lastModified: lm ? new Date(lm) : new Date(0) };
      });
    } catch (err) {
      if (err instanceof BucketliteError && err.code === 'ERR_NOT_FOUND') return null;
      throw err;
    }
  }

  /** One attempt: transport errors and retryable statuses become Retryable. */
  private async send(req: HttpRequest, key: string, range?: { offset: number; length: number }): Promise<HttpResponse> {
    const extra = this.opts.headers ? await this.opts.headers(req.url) : {};
    let res: HttpResponse;
    try {
      res = await this.opts.transport.request({ ...req, headers: { ...extra, ...req.headers } });
    } catch (cause) {
      if (cause instanceof BucketliteError && cause.code === 'ERR_BAD_RESPONSE') {
        // An over-long 200 to a ranged request: the server sends the whole object.
        if (range && cause.status === 200) throw rangeIgnored(key, range);
        throw new Retryable(cause);
      }
      if (req.signal.aborted) throw cause; // sorted out by withRetries
      throw new Retryable(new BucketliteError('ERR_IO', `request failed: ${(cause as Error)?.message ?? cause}`, { op: req.method, key, range, cause }));
    }
    const d = { op: req.method, key, range, status: res.status };
    if (res.status === 404 || res.status === 410) throw new BucketliteError('ERR_NOT_FOUND', `${key} does not exist`, d);
    if (RETRYABLE_STATUS.has(res.status)) {
      const ra = res.headers['retry-after'];
      const secs = ra !== undefined && /^\d+$/.test(ra) ? Number(ra) : undefined;
      throw new Retryable(new BucketliteError('ERR_HTTP', `server answered ${res.status}`, d), secs !== undefined ? secs * 1000 : undefined);
    }
    if (res.status >= 400) throw new BucketliteError('ERR_HTTP', `server answered ${res.status}`, d);
    return res;
  }

  /**
   * Runs `attempt` until it succeeds, a failure is not retryable, or the budget is
   * spent. An attempt that made progress (`progress()` grew: a resumable body) is
   * retried at once and does not count against `retries`, up to `maxResumes` times.
   */
  private async withRetries<T>(key: string, signal: AbortSignal | undefined, attempt: (signal: AbortSignal) => Promise<T>, progress: () => number = () => 0): Promise<T> {
    const retries = this.opts.retries ?? 4;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    let failures = 0;
    let resumes = 0;
    for (let n = 1; ; n++) {
      if (signal?.aborted) throw aborted(key, signal);
      const deadline = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
      const before = progress();
      let failure: Retryable;
      try {
        return await attempt(combined);
      } catch (err) {
        if (signal?.aborted) throw aborted(key, signal);
        if (deadline.aborted) failure = new Retryable(new BucketliteError('ERR_TIMEOUT', `no complete answer within ${timeoutMs} ms`, { op: 'get', key }));
        else if (err instanceof Retryable) failure = err;
        else throw err;
      }
      if (progress() > before && resumes < (this.opts.maxResumes ?? 32)) {
        resumes++;
        this.opts.onRetry?.({ key, attempt: n, reason: `${failure.error.message}; resuming at byte ${progress()}` });
        continue;
      }
      if (failures >= retries) throw failure.error;
      const backoff = Math.min(this.opts.maxBackoffMs ?? 2000, (this.opts.backoffMs ?? 100) * 2 ** failures);
      failures++;
      const delay = failure.retryAfterMs !== undefined ? Math.min(failure.retryAfterMs, 10_000) : backoff / 2 + Math.random() * (backoff / 2);
      this.opts.onRetry?.({ key, attempt: n, reason: failure.error.message });
      await sleep(delay, signal);
    }
  }

  list(): AsyncIterable<ObjectInfo> {
    throw new BucketliteError('ERR_READ_ONLY', `${this.name} is read-only over HTTP: list needs a storage target (directory, s3://, gs://)`, { op: 'list' });
  }
  async put(key: string): Promise<{ etag: string }> {
    throw new BucketliteError('ERR_READ_ONLY', `${this.name} is read-only over HTTP`, { op: 'put', key });
  }
  async delete(key: string): Promise<void> {
    throw new BucketliteError('ERR_READ_ONLY', `${this.name} is read-only over HTTP`, { op: 'delete', key });
  }
  async close(): Promise<void> {
    await this.opts.transport.close?.();
  }
}

function aborted(key: string, signal: AbortSignal): BucketliteError {
  return new BucketliteError('ERR_ABORTED', 'aborted by the caller', { op: 'get', key, cause: signal.reason });
}

type Detail = { op: string; key: string; range?: ByteRange; status: number };

function checkEncoding(res: HttpResponse, d: Detail): void {
  const enc = res.headers['content-encoding'];
  if (enc && enc.toLowerCase() !== 'identity') {
    throw new BucketliteError('ERR_BAD_RESPONSE', `server sent Content-Encoding: ${enc}; bucket objects must be served as stored (turn off compression for this path)`, d);
  }
}

/** The status and headers of an answer to a ranged GET: 206, exactly the bytes asked for, as stored. */
function checkRangeHead(res: HttpResponse, key: string, want: ByteRange, d: Detail): { etag: string; size: number } {
  checkEncoding(res, d);
  if (res.status === 200) throw rangeIgnored(key, want);
  if (res.status !== 206) throw new BucketliteError('ERR_HTTP', `expected 206 Partial Content, got ${res.status}`, d);
  const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
  const end = want.offset + want.length - 1;
  if (!cr || Number(cr[1]) !== want.offset || Number(cr[2]) !== end) {
    throw new Retryable(new BucketliteError('ERR_BAD_RESPONSE', `Content-Range ${JSON.stringify(res.headers['content-range'] ?? null)} does not match the requested bytes ${want.offset}-${end}`, d));
  }
  return { etag: res.headers.etag ?? '', size: cr[3] === '*' ? -1 : Number(cr[3]) };
}

function cutOff(res: HttpResponse, d: Detail): Retryable {
  const why = (res.cut as Error | undefined)?.message ?? String(res.cut);
  return new Retryable(new BucketliteError('ERR_IO', `connection broke after ${res.body.length} bytes of the body: ${why}`, { ...d, cause: res.cut }));
}

function rangeIgnored(key: string, range: { offset: number; length: number }): BucketliteError {
  return new BucketliteError(
    'ERR_BAD_RESPONSE',
    'server ignored the Range header (answered 200 with the whole object); bucketlite needs a host that supports HTTP Range requests',
    { op: 'get', key, range, status: 200 },
  );
}
