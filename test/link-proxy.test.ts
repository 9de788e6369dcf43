/**
 * The simulated link used to count round trips and bytes at the server (bench/link-proxy.ts),
 * in front of real nginx.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRoundTrips, startLinkProxy } from '../bench/link-proxy.js';
import type { LinkSummary } from '../bench/link-proxy.js';
import type { LinkProxy, RequestRecord } from '../bench/link-proxy.js';
import { startNginx } from './servers.js';
import type { RunningServer } from './servers.js';
import { tempDir } from './helpers.js';

const root = tempDir('bl-link-');
const MB = 1_000_000;
const big = randomBytes(MB);
let nginx: RunningServer;

beforeAll(async () => {
  writeFileSync(path.join(root, 'small'), 'x'.repeat(1000));
  writeFileSync(path.join(root, 'big'), big);
  nginx = await startNginx(root);
});
afterAll(async () => { await nginx?.stop(); });

async function get(url: string, init?: RequestInit): Promise<Buffer> {
  const res = await fetch(url, init);
  return Buffer.from(await res.arrayBuffer());
}

/** A GET through an agent with a fixed number of sockets (as a browser has 6 per host). */
function getVia(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => { n += d.length; });
      res.on('end', () => resolve(n));
    }).on('error', reject);
  });
}

/** One request on an HTTP/2 session: status and body. */
function h2get(session: http2.ClientHttp2Session, url: string, headers: http2.OutgoingHttpHeaders = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': new URL(url).pathname, ...headers });
    const parts: Buffer[] = [];
    let status = 0;
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ status, body: Buffer.concat(parts) }));
    req.on('error', reject);
  });
}

/** An HTTP/2 session to the proxy, trusting its certificate; fails unless h2 was negotiated. */
async function h2connect(proxy: LinkProxy): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(proxy.url, { ca: proxy.ca });
  await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject); });
  expect(session.alpnProtocol).toBe('h2');
  return session;
}

/** The log after a client dropped a 1 MB body mid-way and then fetched the 1000-byte file. */
function expectAbortedThenSmall(summary: LinkSummary): void {
  const [first, second] = summary.detail;
  expect(first.aborted).toBe(true);
  expect(first.bytes).toBeGreaterThan(0);
  expect(first.bytes).toBeLessThan(MB);
  expect(first.lastByte).toBeLessThan(Infinity);
  expect(second).toMatchObject({ status: 200, bytes: 1000 });
}

describe('round trips counted at the server', () => {
  let proxy: LinkProxy;
  // 300 ms: parallel requests count as one round trip only if each arrives before the first one's
  // last byte; on a loaded 2-core machine, opening 5 new connections can take longer than 30 ms.
  beforeAll(async () => { proxy = await startLinkProxy(nginx.url, { latencyMs: 300 }); });
  afterAll(async () => { await proxy?.close(); });

  it('3 requests one after the other are 3 round trips', async () => {
    proxy.reset();
    for (let i = 0; i < 3; i++) await get(`${proxy.url}small`);
    expect(proxy.summary()).toMatchObject({ requests: 3, bytes: 3000, roundTrips: 3 });
  });

  it('6 requests in parallel are 1 round trip', async () => {
    proxy.reset();
    await Promise.all(Array.from({ length: 6 }, () => get(`${proxy.url}small`)));
    expect(proxy.summary()).toMatchObject({ requests: 6, bytes: 6000, roundTrips: 1 });
  });

  it('a chain of 4 parallel pairs is 4 round trips', async () => {
    proxy.reset();
    for (let i = 0; i < 4; i++) await Promise.all([get(`${proxy.url}small`), get(`${proxy.url}big`, { headers: { Range: 'bytes=0-99' } })]);
    expect(proxy.summary()).toMatchObject({ requests: 8, bytes: 4 * 1100, roundTrips: 4 });
  });

  it('6 "parallel" requests on 4 connections are 2 round trips: the server sees the queueing', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    proxy.reset();
    await Promise.all(Array.from({ length: 6 }, () => getVia(agent, `${proxy.url}small`)));
    agent.destroy();
    expect(proxy.summary()).toMatchObject({ requests: 6, roundTrips: 2 });
  });

  it('logs method, path, Range, status, body bytes and times; summary() filters; reset() forgets', async () => {
    proxy.reset();
    await get(`${proxy.url}big`, { headers: { Range: 'bytes=10-1033' } });
    await fetch(`${proxy.url}small`, { method: 'HEAD' });
    await get(`${proxy.url}nothing`);
    const { detail } = proxy.summary();
    expect(detail.map(({ method, path: p, range, status, bytes }) => ({ method, p, range, status, bytes }))).toEqual([
      { method: 'GET', p: '/big', range: 'bytes=10-1033', status: 206, bytes: 1024 },
      { method: 'HEAD', p: '/small', range: undefined, status: 200, bytes: 0 },
      { method: 'GET', p: '/nothing', range: undefined, status: 404, bytes: expect.any(Number) },
    ]);
    for (const r of detail) {
      expect(r.arrival).toBeGreaterThanOrEqual(0);
      expect(r.firstByte).toBeGreaterThanOrEqual(r.arrival + 29);
      expect(r.lastByte).toBeGreaterThanOrEqual(r.firstByte);
    }
    expect(proxy.summary((r) => r.path === '/big')).toMatchObject({ requests: 1, bytes: 1024, roundTrips: 1 });
    proxy.reset();
    expect(proxy.summary()).toMatchObject({ requests: 0, bytes: 0, roundTrips: 0, detail: [] });
  });
});

// A proxy that throws in its handler never answers: fail well before the 180 s default.
describe('HTTP/2 mode', { timeout: 30_000 }, () => {
  let proxy: LinkProxy;
  beforeAll(async () => { proxy = await startLinkProxy(nginx.url, { http2: true, latencyMs: 50 }); });
  afterAll(async () => { await proxy?.close(); });

  it('serves https:// with its own certificate, given as ca', () => {
    expect(proxy.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(proxy.ca).toContain('-----BEGIN CERTIFICATE-----');
  });

  it('12 requests at once on one connection are 1 round trip (HTTP/1.1 would queue them)', async () => {
    const session = await h2connect(proxy);
    try {
      proxy.reset();
      const all = await Promise.all(Array.from({ length: 12 }, () => h2get(session, `${proxy.url}small`)));
      for (const r of all) expect(r).toEqual({ status: 200, body: Buffer.from('x'.repeat(1000)) });
      expect(proxy.summary()).toMatchObject({ requests: 12, bytes: 12_000, roundTrips: 1 });

      proxy.reset();
      const ranged = await h2get(session, `${proxy.url}big`, { range: 'bytes=10-1033' });
      expect(ranged.status).toBe(206);
      expect(ranged.body.equals(big.subarray(10, 1034))).toBe(true);
      expect(proxy.summary().detail).toMatchObject([{ method: 'GET', path: '/big', range: 'bytes=10-1033', status: 206, bytes: 1024 }]);
    } finally {
      session.close();
    }
  });

  it('HTTP/1.1 over TLS is still allowed', async () => {
    proxy.reset();
    const { version, status, body } = await new Promise<{ version: string; status?: number; body: Buffer }>((resolve, reject) => {
      https.get(`${proxy.url}small`, { ca: proxy.ca, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ version: res.httpVersion, status: res.statusCode, body: Buffer.concat(parts) }));
      }).on('error', reject);
    });
    expect({ version, status, body: body.toString() }).toEqual({ version: '1.1', status: 200, body: 'x'.repeat(1000) });
    expect(proxy.summary()).toMatchObject({ requests: 1, bytes: 1000 });
  });

  it('bandwidth: a 1 MB body at 8 Mbit/s still takes at least 0.8 s', async () => {
    const paced = await startLinkProxy(nginx.url, { http2: true, mbps: 8 });
    const session = await h2connect(paced);
    try {
      const t = performance.now();
      const { status, body } = await h2get(session, `${paced.url}big`);
      expect(performance.now() - t).toBeGreaterThan(800); // lower bound only: CI load only adds time
      expect(status).toBe(200);
      expect(body.equals(big)).toBe(true);
      const [d] = paced.summary().detail;
      expect(d.bytes).toBe(MB);
      expect(d.lastByte - d.firstByte).toBeGreaterThan(800);
    } finally {
      session.close();
      await paced.close();
    }
  });

  it('a stream the client cancels mid-body is logged as aborted and its rest skipped on the link', async () => {
    const paced = await startLinkProxy(nginx.url, { http2: true, mbps: 8 });
    const session = await h2connect(paced);
    try {
      const req = session.request({ ':path': '/big' });
      await new Promise((r) => req.once('data', r));
      req.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise((r) => setTimeout(r, 100));
      expect(await h2get(session, `${paced.url}small`)).toMatchObject({ status: 200 });
      // The small body was queued behind the rest of the megabyte: had that been sent to the
      // cancelled stream anyway, the megabyte would be complete by now.
      expectAbortedThenSmall(paced.summary());
    } finally {
      session.close();
      await paced.close();
    }
  });

  it('drops the HTTP/1-only headers of an upstream answer (http2 throws on them)', async () => {
    // nginx sends none but Connection for a file; a chunked Node answer has Keep-Alive and Transfer-Encoding too.
    const upstream = http.createServer((_req, res) => { res.write('a'); res.end('b'); });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const p = await startLinkProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`, { http2: true });
    const session = await h2connect(p);
    try {
      expect(await h2get(session, p.url)).toEqual({ status: 200, body: Buffer.from('ab') });
    } finally {
      session.close();
      await p.close();
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(r));
    }
  });
});

describe('the longest chain, exactly', () => {
  const r = (arrival: number, lastByte: number): RequestRecord =>
    ({ method: 'GET', path: '/', status: 200, bytes: 0, arrival, firstByte: arrival, lastByte });
  it('edges go a → b iff b arrives at or after a\'s last byte; the longest path counts', () => {
    expect(countRoundTrips([])).toBe(0);
    expect(countRoundTrips([r(0, 10), r(10, 20)])).toBe(2); // arriving exactly at the last byte depends
    expect(countRoundTrips([r(0, 10), r(9, 20)])).toBe(1);
    // A long request overlapping a chain of three short ones: 3, whatever the order given.
    expect(countRoundTrips([r(50, 60), r(0, 100), r(0, 10), r(20, 40)])).toBe(3);
    // Following the first arrival (0–100) would give 2; the longest chain is 1–10, 20–30, 40–50, 100–110 (4).
    expect(countRoundTrips([r(0, 100), r(1, 10), r(20, 30), r(40, 50), r(100, 110), r(11, 200)])).toBe(4);
    // Still in flight: a node, but nothing follows it.
    expect(countRoundTrips([r(0, Infinity), r(10, 20), r(30, 40)])).toBe(2);
  });
});

describe('the link', () => {
  it('latency: every request waits its delay before its response starts', async () => {
    const proxy = await startLinkProxy(nginx.url, { latencyMs: 100 });
    try {
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await get(`${proxy.url}small`);
        expect(performance.now() - t).toBeGreaterThanOrEqual(99);
      }
      const s = proxy.summary();
      for (const d of s.detail) expect(d.firstByte - d.arrival).toBeGreaterThanOrEqual(99);
      expect(s.detail[2].lastByte).toBeGreaterThanOrEqual(300 - 3);
    } finally {
      await proxy.close();
    }
  });

  it('bandwidth: a 1 MB body at 8 Mbit/s takes about 1 s', async () => {
    const proxy = await startLinkProxy(nginx.url, { mbps: 8 });
    try {
      const t = performance.now();
      expect((await get(`${proxy.url}big`)).equals(big)).toBe(true);
      const s = (performance.now() - t) / 1000;
      expect(s).toBeGreaterThan(0.8);
      expect(s).toBeLessThan(1.6);
      const [d] = proxy.summary().detail;
      expect(d.bytes).toBe(MB);
      expect(d.lastByte - d.firstByte).toBeGreaterThan(800);
    } finally {
      await proxy.close();
    }
  });

  it('bandwidth is one link shared by all connections', async () => {
    const proxy = await startLinkProxy(nginx.url, { mbps: 8 });
    try {
      const t = performance.now();
      await Promise.all([get(`${proxy.url}big`), get(`${proxy.url}big`)]);
      const s = (performance.now() - t) / 1000;
      expect(s).toBeGreaterThan(1.6); // 2 MB on one 8 Mbit/s link, not 1 MB on each of two
      expect(s).toBeLessThan(3.2);
      // How the two bodies interleave depends on when nginx's bytes reach the proxy (a
      // loaded machine interleaves more), so only the pacing's lower bounds are exact:
      // neither body beats its own 1 MB, and the last byte of both waits for 2 MB.
      const [a, b] = [...proxy.summary().detail].sort((x, y) => x.lastByte - y.lastByte);
      expect(a.lastByte).toBeGreaterThan(800);
      expect(b.lastByte).toBeGreaterThan(1600);
      expect(proxy.summary().roundTrips).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('a client that gives up mid-body is logged as aborted with the bytes it got, and frees the link', async () => {
    const proxy = await startLinkProxy(nginx.url, { mbps: 8 });
    try {
      const ac = new AbortController();
      const res = await fetch(`${proxy.url}big`, { signal: ac.signal });
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      await reader.closed.catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
      const t = performance.now();
      await get(`${proxy.url}small`);
      expect(performance.now() - t).toBeLessThan(600); // not behind the rest of the dropped megabyte (1 s)
      expectAbortedThenSmall(proxy.summary());
    } finally {
      await proxy.close();
    }
  });
});
