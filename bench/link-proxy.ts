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
 *
 * HTTP/2 (`http2: true`): browsers and CDNs speak HTTP/2 over TLS, with many requests in
 * flight on one connection instead of HTTP/1.1's few connections per host, so a reader may
 * keep more requests in flight there. The proxy then listens with TLS (a self-signed
 * certificate for 127.0.0.1 made with the openssl command line, given back as `ca`) and
 * HTTP/2, HTTP/1.1 still allowed; the link and the log are the same, and the upstream is
 * still reached over plain HTTP/1.1.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface LinkOptions {
  /** Added to every request before it is forwarded (ms). Default 0. */
  latencyMs?: number;
  /** Shared bandwidth for all response bodies, megabits per second. Default: unlimited. */
  mbps?: number;
  /** Pacing unit of the link (bytes). Default 4096. */
  chunkBytes?: number;
  /** Listen with TLS and HTTP/2 (HTTP/1.1 over TLS allowed too); see the module comment. */
  http2?: boolean;
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
  /** The upstream URL's path, on the proxy's origin (https:// in HTTP/2 mode). */
  url: string;
  /** HTTP/2 mode: the proxy's self-signed certificate (PEM), for clients to trust. */
  ca?: string;
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

/** The server side of a request over HTTP/1.1 (plain or TLS) or HTTP/2. */
type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** A piece of a response body (or, with size 0, its end) waiting for the link. */
interface Chunk { res: Res; size: number; send(): void; queued: number }

/** Http2ServerResponse has no working `destroyed` (always undefined): ask its stream. */
const gone = (res: Res) => (res instanceof http2.Http2ServerResponse ? res.stream.destroyed : res.destroyed);

/** HTTP/1-only headers: http2 throws on these in a response (and drops `connection` with a warning). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** A self-signed certificate for 127.0.0.1, made with the openssl command line. */
function selfSignedCert(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bl-link-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'pipe' });
    return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
  } catch (err) {
    throw new Error(`the link proxy's HTTP/2 mode needs the openssl command line (OpenSSL 3) to make its certificate: ${(err as Error).message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true }); // key and cert are in memory now
  }
}

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
      if (gone(c.res)) continue;
      clock = Math.max(clock, c.queued) + c.size / bytesPerMs;
      const wait = clock - performance.now();
      if (wait >= 1) await sleep(wait);
      if (!gone(c.res)) c.send();
    }
    draining = false;
  }
  function onLink(res: Res, size: number, send: () => void): void {
    if (bytesPerMs === Infinity) return send();
    queue.push({ res, size, send, queued: performance.now() });
    if (!draining) void drain();
  }

  function handle(req: Req, res: Res): void {
    const rec: RequestRecord = {
      method: req.method ?? 'GET', path: req.url ?? '/', range: req.headers.range, status: 0, bytes: 0,
      arrival: now(), firstByte: Infinity, lastByte: Infinity,
    };
    log.push(rec);
    const done = () => { if (rec.lastByte === Infinity) rec.lastByte = now(); };
    let fwd: http.ClientRequest | undefined;
    // Closed before the proxy ended it (done() comes first): the client went away. Not
    // !res.writableFinished: an HTTP/2 response has it true for a cancelled stream too.
    res.on('close', () => { if (rec.lastByte === Infinity) { rec.aborted = true; done(); fwd?.destroy(); } });
    setTimeout(() => {
      if (gone(res)) return; // the client gave up while the request was on its way
      // HTTP/2 pseudo-headers (:method, :path, …) are not HTTP/1.1 headers; Host is set by http.request.
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')));
      fwd = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent }, (r) => {
        rec.status = r.statusCode ?? 502;
        if (res instanceof http2.Http2ServerResponse) {
          res.writeHead(rec.status, Object.fromEntries(Object.entries(r.headers).filter(([k]) => !HOP_BY_HOP.has(k))));
        } else {
          res.writeHead(rec.status, r.headers);
        }
        r.on('data', (data: Buffer) => {
          for (let i = 0; i < data.length; i += chunkBytes) {
            const chunk = data.subarray(i, i + chunkBytes);
            onLink(res, chunk.length, () => {
              if (rec.bytes === 0) rec.firstByte = now();
              rec.bytes += chunk.length;
              (res as Writable).write(chunk); // TS cannot pick among the two types' write() overloads
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
      req.pipe(fwd);
    }, latencyMs);
  }

  const tls = opts.http2 ? selfSignedCert() : undefined;
  // Http2SecureServer has no closeAllConnections, and its close() would wait for the
  // responses in flight: close() destroys its HTTP/2 sessions and HTTP/1.1 connections.
  const open = new Set<http2.ServerHttp2Session | TLSSocket>();
  let server: http.Server | http2.Http2SecureServer;
  if (tls) {
    server = http2.createSecureServer({ ...tls, allowHTTP1: true }, handle);
    server.on('session', (s: http2.ServerHttp2Session) => { open.add(s); s.on('close', () => open.delete(s)); });
    server.on('secureConnection', (s: TLSSocket) => {
      if (s.alpnProtocol !== 'h2') { open.add(s); s.on('close', () => open.delete(s)); }
    });
  } else {
    server = http.createServer(handle);
    server.keepAliveTimeout = 30_000;
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}${up.pathname}`,
    ca: tls?.cert,
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
    close: () => new Promise<void>((resolve) => {
      if (server instanceof http.Server) server.closeAllConnections();
      for (const c of open) c.destroy();
      agent.destroy();
      server.close(() => resolve());
    }),
  };
}
