/**
 * A simulated network link in front of an HTTP upstream (nginx on 127.0.0.1), and the
 * server-side count of what crossed it. Used by the benches and by the tests that
 * assert round trips: a reader's own counter cannot see requests queued behind its
 * connection limit, the server can.
 *
 * The link:
 *  - latency: every request waits `latencyMs` after it arrives before it is forwarded
 *    upstream, so its response starts at least that much later (one delay per request);
 *  - bandwidth: response bodies of all connections go through ONE first-in first-out
 *    queue drained at `mbps` megabits per second in chunks of at most `chunkBytes`,
 *    like one access link (headers are not paced). No limit when `mbps` is unset.
 *
 * The log: one record per request (method, path, Range header, status, body bytes,
 * arrival, first-byte and last-byte time in ms since start or the last `reset()`).
 * Arrival is when the proxy got the request; first and last byte are when the first and
 * last body byte were handed to the client's socket (for an empty body, when the
 * response ended).
 *
 * Round trips, exactly: sort requests by arrival; a request b depends on a request a
 * when b arrived at or after a's last byte (b.arrival >= a.lastByte); round trips = the
 * number of requests on the longest chain of such dependencies. So 3 requests one after
 * the other are 3, 6 in parallel are 1, and 6 where only 4 fit on the client's
 * connections at once are 2 (the last 2 arrive after the first ones ended). A request
 * still in flight (or cut off by the client, counted up to where it stopped) is a node
 * too; nothing can depend on one still in flight.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LinkOptions {
  /** Added to every request before it is forwarded (ms). Default 0. */
  latencyMs?: number;
  /** Shared bandwidth for all response bodies, megabits per second. Default: unlimited. */
  mbps?: number;
  /** Pacing unit of the link (bytes). Default 4096. */
  chunkBytes?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  range?: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  /** ms since start or the last reset(). */
  arrival: number;
  firstByte: number;
  /** Infinity while the response is still in flight. */
  lastByte: number;
  /** The client went away before the body ended. */
  aborted?: boolean;
}

export interface LinkSummary {
  requests: number;
  bytes: number;
  roundTrips: number;
  /** Requests sorted by arrival. */
  detail: RequestRecord[];
}

export interface LinkProxy {
  /** The upstream URL's path, on the proxy's origin. */
  url: string;
  /** Counts over the requests since start or the last reset() that `filter` keeps. */
  summary(filter?: (r: RequestRecord) => boolean): LinkSummary;
  /** Forgets the log and restarts the clock (requests in flight are forgotten too). */
  reset(): void;
  close(): Promise<void>;
}

/** Length of the longest chain a → b → … with b.arrival >= a.lastByte (see the module comment). */
export function countRoundTrips(records: readonly RequestRecord[]): number {
  const rs = [...records].sort((a, b) => a.arrival - b.arrival);
  // rs is in topological order: b.arrival >= a.lastByte > a.arrival puts a before b.
  const depth: number[] = [];
  for (let i = 0; i < rs.length; i++) {
    depth[i] = 1;
    for (let j = 0; j < i; j++) if (rs[i].arrival >= rs[j].lastByte) depth[i] = Math.max(depth[i], depth[j] + 1);
  }
  return depth.reduce((a, b) => Math.max(a, b), 0);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A piece of a response body (or, with size 0, its end) waiting for the link. */
interface Chunk { res: http.ServerResponse; size: number; send(): void; queued: number }

export async function startLinkProxy(upstream: string, opts: LinkOptions = {}): Promise<LinkProxy> {
  const up = new URL(upstream);
  const latencyMs = opts.latencyMs ?? 0;
  const bytesPerMs = opts.mbps ? (opts.mbps * 1e6) / 8 / 1000 : Infinity;
  const chunkBytes = opts.chunkBytes ?? 4096;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let t0 = performance.now();
  let log: RequestRecord[] = [];
  const now = () => performance.now() - t0;

  // The link: one FIFO queue of body chunks (and ends of bodies), drained at the rate.
  // A chunk has crossed the link at clock = max(previous chunk's clock, when it was queued)
  // + size / rate; it is handed to the client then (or at once when a timer fired late, so
  // the average rate stays exact). Chunks of a response the client dropped are skipped.
  const queue: Chunk[] = [];
  let draining = false;
  let clock = 0;
  async function drain(): Promise<void> {
    draining = true;
    while (queue.length) {
      const c = queue.shift()!;
      if (c.res.destroyed) continue;
      clock = Math.max(clock, c.queued) + c.size / bytesPerMs;
      const wait = clock - performance.now();
      if (wait >= 1) await sleep(wait);
      if (!c.res.destroyed) c.send();
    }
    draining = false;
  }
  function onLink(res: http.ServerResponse, size: number, send: () => void): void {
    if (bytesPerMs === Infinity) return send();
    queue.push({ res, size, send, queued: performance.now() });
    if (!draining) void drain();
  }

  const server = http.createServer((req, res) => {
    const rec: RequestRecord = {
      method: req.method ?? 'GET', path: req.url ?? '/', range: req.headers.range, status: 0, bytes: 0,
      arrival: now(), firstByte: Infinity, lastByte: Infinity,
    };
    log.push(rec);
    const done = () => { if (rec.lastByte === Infinity) rec.lastByte = now(); };
    res.on('close', () => { if (!res.writableFinished) { rec.aborted = true; done(); } });
    setTimeout(() => {
      if (res.destroyed) return; // the client gave up while the request was on its way
      const fwd = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
        rec.status = r.statusCode ?? 502;
        res.writeHead(rec.status, r.headers);
        r.on('data', (data: Buffer) => {
          for (let i = 0; i < data.length; i += chunkBytes) {
            const chunk = data.subarray(i, i + chunkBytes);
            onLink(res, chunk.length, () => {
              if (rec.bytes === 0) rec.firstByte = now();
              rec.bytes += chunk.length;
              res.write(chunk);
            });
          }
        });
        r.on('end', () => onLink(res, 0, () => {
          if (rec.firstByte === Infinity) rec.firstByte = now();
          done();
          res.end();
        }));
        r.on('error', () => res.destroy());
      });
      fwd.on('error', () => { rec.status = 502; if (!res.headersSent) res.writeHead(502); done(); res.end(); });
      res.on('close', () => { if (!res.writableFinished) fwd.destroy(); });
      req.pipe(fwd);
    }, latencyMs);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${up.pathname}`,
    summary(filter = () => true) {
      const detail = log.filter(filter).sort((a, b) => a.arrival - b.arrival);
      return {
        requests: detail.length,
        bytes: detail.reduce((n, r) => n + r.bytes, 0),
        roundTrips: countRoundTrips(detail),
        detail,
      };
    },
    reset() { log = []; t0 = performance.now(); },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); agent.destroy(); server.close(() => resolve()); }),
  };
}
