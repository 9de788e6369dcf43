/**
 * The Node HTTP transport: undici with a keep-alive connection pool per origin.
 * undici loads on the first request, not on import: it is a third of
 * `import('bucketlite')`'s cost (120 ms of ~340 ms on the CI machine).
 */
import type { Agent } from 'undici';
import { readBody } from '../storage/body.js';
import { MULTIPLEXED_IN_FLIGHT } from '../storage/http.js';
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


function hostKey(hostname: string, port: string | number | undefined, protocol: string): string {
  return `${hostname.replace(/^\[|\]$/g, '')}:${port || (protocol === 'https:' ? 443 : 80)}`;
}

type Undici = typeof import('undici');
let undici: Promise<Undici> | null = null;

interface Agents {
  request: Undici['request'];
  agent: Agent;
  /** For hosts that answered with HTTP/2: many streams on one connection. */
  multiplexing: Agent | null;
}

export class UndiciTransport implements HttpTransport {
  private agents: Promise<Agents> | null = null;
  private readonly h2Hosts = new Set<string>();

  constructor(private readonly opts: UndiciTransportOptions = {}) {}

  private connect(): Promise<Agents> {
    this.agents ??= (undici ??= import('undici')).then((u) => this.createAgents(u));
    return this.agents;
  }

  private createAgents({ Agent, buildConnector, request }: Undici): Agents {
    const opts = this.opts;
    const allowH2 = opts.http2 ?? true;
    const connector = buildConnector({ allowH2, ...(opts.ca ? { ca: opts.ca } : {}) });
    const keepAliveTimeout = opts.keepAliveTimeoutMs ?? 10_000;
    const agent = new Agent({
      connections: opts.connections ?? 16, keepAliveTimeout, pipelining: 1, allowH2,
      // Learn which hosts chose HTTP/2 (ALPN), so the reader can keep more in flight.
      connect: (options, callback) => connector(options, (err, socket) => {
        if (socket && (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2') this.h2Hosts.add(hostKey(options.hostname, options.port, options.protocol));
        callback(err, socket as never);
      }),
    });
    // undici runs one request at a time per connection unless `pipelining` is raised, for
    // HTTP/2 too; raising it on the first agent would pipeline HTTP/1.1, so hosts known to
    // speak HTTP/2 go through a second agent.
    const multiplexing = allowH2 ? new Agent({ connections: 2, keepAliveTimeout, pipelining: MULTIPLEXED_IN_FLIGHT, allowH2, connect: connector }) : null;
    return { request, agent, multiplexing };
  }

  /**
   * 64 once a host chose HTTP/2; else the reader's default of 6 (more connections per
   * reader would make 200 readers in one process hold 2.7 x the memory in flight).
   */
  inFlightHint(): number | undefined {
    return this.h2Hosts.size > 0 ? MULTIPLEXED_IN_FLIGHT : undefined;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const u = new URL(req.url);
    const { request, agent, multiplexing } = await this.connect();
    const dispatcher = multiplexing && this.h2Hosts.has(hostKey(u.hostname, u.port, u.protocol)) ? multiplexing : agent;
    const res = await request(req.url, { method: req.method, headers: req.headers, signal: req.signal, dispatcher });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const { body, cut } = await readBody(res.body, req.maxBytes, res.statusCode, req.method, () => res.body.destroy());
    return { status: res.statusCode, headers, body, cut };
  }

  async close(): Promise<void> {
    if (!this.agents) return;
    const { agent, multiplexing } = await this.agents;
    // Bun replaces undici with its own, whose Agent has no close(): nothing to release there.
    await Promise.all([agent, multiplexing].map((a) => (typeof a?.close === 'function' ? a.close() : undefined)));
  }
}
