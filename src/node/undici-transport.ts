/** The Node HTTP transport: undici with a keep-alive connection pool per origin. */
import { Agent, request } from 'undici';
import { readBody } from '../storage/body.js';
import type { HttpRequest, HttpResponse, HttpTransport } from '../storage/http.js';

export interface UndiciTransportOptions {
  /** Connections per origin (default 16: Node has no per-host limit; a B-tree walk or a row readahead fans out to many blocks and leaves at once). */
  connections?: number;
  keepAliveTimeoutMs?: number;
}

export class UndiciTransport implements HttpTransport {
  private readonly agent: Agent;
  constructor(opts: UndiciTransportOptions = {}) {
    this.agent = new Agent({ connections: opts.connections ?? 16, keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000, pipelining: 1 });
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const res = await request(req.url, { method: req.method, headers: req.headers, signal: req.signal, dispatcher: this.agent });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const { body, cut } = await readBody(res.body, req.maxBytes, res.statusCode, req.method, () => res.body.destroy());
    return { status: res.statusCode, headers, body, cut };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
