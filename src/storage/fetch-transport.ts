/**
 * The browser HTTP transport: fetch. `cache: 'no-store'` because bucketlite keeps its
 * own verified, hash-keyed caches (and HEAD must never come from a stale HTTP cache).
 * Bodies are read as a stream so an over-long answer is cut off at `maxBytes`, and a
 * body broken mid-way keeps what arrived (the store resumes from there).
 */
import { readBody } from './body.js';
import { MULTIPLEXED_IN_FLIGHT } from './http.js';
import type { HttpRequest, HttpResponse, HttpTransport } from './http.js';

async function* chunksOf(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/** Responses whose Resource Timing entry is looked at to learn the protocol. */
const PROTOCOL_PROBES = 8;

export class FetchTransport implements HttpTransport {
  private protocol: string | undefined;
  private probes = 0;

  /**
   * A browser keeps 6 connections per HTTP/1.1 host and queues the rest without
   * priorities; over HTTP/2 or 3 one connection carries many requests at once. The
   * protocol comes from Resource Timing (`nextHopProtocol`; a cross-origin host must
   * send `Timing-Allow-Origin` for it to show), else the HTTP/1.1 default stands.
   */
  inFlightHint(): number | undefined {
    return this.protocol && /^h[23]/.test(this.protocol) ? MULTIPLEXED_IN_FLIGHT : undefined;
  }

  private learnProtocol(url: string): void {
    if (this.protocol || this.probes >= PROTOCOL_PROBES || typeof performance === 'undefined' || typeof performance.getEntriesByName !== 'function') return;
    this.probes++;
    const entries = performance.getEntriesByName(url, 'resource') as PerformanceResourceTiming[];
    const p = entries[entries.length - 1]?.nextHopProtocol;
    if (p) this.protocol = p;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, signal: req.signal, cache: 'no-store', credentials: 'omit' });
    const headers: Record<string, string | undefined> = {};
    res.headers.forEach((v, k) => { headers[k.toLowerCase()] = v; });
    if (!res.body) {
      this.learnProtocol(req.url);
      return { status: res.status, headers, body: new Uint8Array(0) };
    }
    const reader = res.body.getReader();
    const { body, cut } = await readBody(chunksOf(reader), req.maxBytes, res.status, req.method, () => reader.cancel());
    this.learnProtocol(req.url); // the timing entry is written when the body has ended
    return { status: res.status, headers, body, cut };
  }
}
