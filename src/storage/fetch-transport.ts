/**
 * The browser HTTP transport: fetch. `cache: 'no-store'` because bucketlite keeps its
 * own verified, hash-keyed caches (and HEAD must never come from a stale HTTP cache).
 * Bodies are read as a stream so an over-long answer is cut off at `maxBytes`.
 */
import { BucketliteError } from '../errors.js';
import type { HttpRequest, HttpResponse, HttpTransport } from './http.js';

export class FetchTransport implements HttpTransport {
  async request(req: HttpRequest): Promise<HttpResponse> {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, signal: req.signal, cache: 'no-store', credentials: 'omit' });
    const headers: Record<string, string | undefined> = {};
    res.headers.forEach((v, k) => { headers[k.toLowerCase()] = v; });
    const chunks: Uint8Array[] = [];
    let n = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        n += value.length;
        if (n > req.maxBytes) {
          await reader.cancel();
          throw new BucketliteError('ERR_BAD_RESPONSE', `body is longer than the ${req.maxBytes - 1} bytes expected`, { op: req.method, status: res.status });
        }
        chunks.push(value);
      }
    }
    const body = new Uint8Array(n);
    let o = 0;
    for (const c of chunks) { body.set(c, o); o += c.length; }
    return { status: res.status, headers, body };
  }
}
