/** The Node HTTP transport: undici with a keep-alive connection pool per origin. */
import { Agent, request } from 'undici';
import { BucketliteError } from '../errors.js';
import type { HttpRequest, HttpResponse, HttpTransport } from '../storage/http.js';

export interface UndiciTransportOptions {
  /** Connections per origin. */
  connections?: number;
  keepAliveTimeoutMs?: number;
}

export class UndiciTransport implements HttpTransport {
  private readonly agent: Agent;
  constructor(opts: UndiciTransportOptions = {}) {
    this.agent = new Agent({ connections: opts.connections ?? 8, keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000, pipelining: 1 });
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const res = await request(req.url, { method: req.method, headers: req.headers, signal: req.signal, dispatcher: this.agent });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const chunk of res.body) {
      n += chunk.length;
      if (n > req.maxBytes) {
        res.body.destroy();
        throw new BucketliteError('ERR_BAD_RESPONSE', `body is longer than the ${req.maxBytes - 1} bytes expected`, { op: req.method, status: res.statusCode });
      }
      chunks.push(chunk);
    }
    const body = chunks.length === 1 ? new Uint8Array(chunks[0].buffer, chunks[0].byteOffset, chunks[0].byteLength) : concat(chunks, n);
    return { status: res.statusCode, headers, body };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}
