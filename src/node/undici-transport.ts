/** The Node HTTP transport: undici with a keep-alive connection pool per origin. */
import { Agent, buildConnector, request } from 'undici';
import { readBody } from '../storage/body.js';
import type { HttpRequest, HttpResponse, HttpTransport } from '../storage/http.js';

export interface UndiciTransportOptions {
  /** Connections per origin (default 16: Node has no per-host limit; a B-tree walk or a row readahead fans out to many blocks and leaves at once). */
  connections?: number;
  keepAliveTimeoutMs?: number;
  /** Extra certificate authorities to trust for https (PEM), e.g. a private CA. */
  ca?: string | string[];
  /** Offer HTTP/2 to https hosts (default true): many requests in flight on one connection. */
  http2?: boolean;
}

/** Requests kept in flight on an HTTP/2 connection (servers allow 100 or more streams). */
const H2_IN_FLIGHT = 64;

export class UndiciTransport implements HttpTransport {
  private readonly agent: Agent;
  private readonly connections: number;
  private multiplexed = false;

  constructor(opts: UndiciTransportOptions = {}) {
    this.connections = opts.connections ?? 16;
    const allowH2 = opts.http2 ?? true;
    const connector = buildConnector({ allowH2, ...(opts.ca ? { ca: opts.ca } : {}) });
    this.agent = new Agent({
      connections: this.connections, keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000, pipelining: 1, allowH2,
      // Learn the protocol the host chose (ALPN), so the reader can keep more in flight.
      connect: (options, callback) => connector(options, (err, socket) => {
        if (socket && (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2') this.multiplexed = true;
        callback(err, socket as never);
      }),
    });
  }

  inFlightHint(): number {
    return this.multiplexed ? H2_IN_FLIGHT : this.connections;
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
