/**
 * The browser HTTP transport: fetch. `cache: 'no-store'` because bucketlite keeps its
 * own verified, hash-keyed caches (and HEAD must never come from a stale HTTP cache).
 * Bodies are read as a stream so an over-long answer is cut off at `maxBytes`, and a
 * body broken mid-way keeps what arrived (the store resumes from there).
 */
import { readBody } from './body.js';
import type { HttpRequest, HttpResponse, HttpTransport } from './http.js';

async function* chunksOf(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

export class FetchTransport implements HttpTransport {
  async request(req: HttpRequest): Promise<HttpResponse> {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, signal: req.signal, cache: 'no-store', credentials: 'omit' });
    const headers: Record<string, string | undefined> = {};
    res.headers.forEach((v, k) => { headers[k.toLowerCase()] = v; });
    if (!res.body) return { status: res.status, headers, body: new Uint8Array(0) };
    const reader = res.body.getReader();
    const { body, cut } = await readBody(chunksOf(reader), req.maxBytes, res.status, req.method, () => reader.cancel());
    return { status: res.status, headers, body, cut };
  }
}
