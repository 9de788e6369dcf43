import path from 'node:path';
import net from 'node:net';
import { cpSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, tempDir } from './helpers.js';
import { serveDirectory } from '../src/serve/server.js';
import type { RunningServer } from '../src/serve/server.js';

const bucket = path.resolve(import.meta.dirname, 'fixtures', 'tiny-bucket');
let server: RunningServer;
beforeAll(async () => { server = await serveDirectory(bucket); });
afterAll(() => server.close());

describe('serve', () => {
  it('answers Range requests with 206, Content-Range, ETag and immutable caching', async () => {
    const { readdirSync, statSync } = await import('node:fs');
    const pack = readdirSync(path.join(bucket, 'packs'))[0];
    const size = statSync(path.join(bucket, 'packs', pack)).size;
    const res = await fetch(new URL(`packs/${pack}`, server.url), { headers: { Range: 'bytes=10-19' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 10-19/${size}`);
    expect(res.headers.get('content-length')).toBe('10');
    expect(res.headers.get('etag')).toBeTruthy();
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Content-Range/);
    expect((await res.arrayBuffer()).byteLength).toBe(10);
  });

  it('serves HEAD as JSON with no-cache, and revalidates by ETag', async () => {
    const res = await fetch(new URL('HEAD', server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-type')).toMatch(/json/);
    // node:http, not fetch: fetch adds Cache-Control: no-cache to conditional requests.
    const http = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      http.get(new URL('HEAD', server.url), { headers: { 'If-None-Match': res.headers.get('etag')! } }, (r) => { r.resume(); resolve(r.statusCode!); }).on('error', reject);
    });
    expect(status).toBe(304);
  });

  it('answers CORS preflight, 404 for missing keys, and never serves outside the root or dot files', async () => {
    const pre = await fetch(new URL('HEAD', server.url), { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Range/);
    expect((await fetch(new URL('packs/nope', server.url))).status).toBe(404);
    expect((await fetch(`${server.url}..%2f..%2f..%2fetc%2fpasswd`)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${server.url}packs/%2e%2e/%2e%2e/make-fixture.ts`)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(new URL('.tmp/x', server.url))).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(new URL('HEAD', server.url), { method: 'DELETE' })).status).toBe(405);
  });
});

/**
 * The real CLI as a child process, fed raw bytes: no request may take it down. Each case
 * checks the status, then that the process is alive and still serves HEAD.
 */
describe('bucketlite serve survives hostile requests', () => {
  const work = tempDir('bl-serve-');
  const root = path.join(work, 'bucket');
  let srv: ServeChild;

  beforeAll(() => {
    cpSync(bucket, root, { recursive: true });
    writeFileSync(path.join(work, 'secret.txt'), 'TOP-SECRET\n'); // next to the root, never served
    writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(32 << 20, 7)); // larger than socket buffers
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
  });
  beforeEach(async () => { srv = await startServe(root); });
  afterEach(() => stopServe(srv));

  it('answers 400 in plain text to a malformed %-escape', async () => {
    for (const target of ['/%E0%A4%A', '/%', '/HEAD%', '/%zz', '/packs/%E0']) {
      const r = await raw(srv.port, get(target));
      expect(r.status, target).toBe(400);
      expect(r.head).toMatch(/content-type: text\/plain/i);
      expect(r.body.length).toBeLessThan(200);
      await expectAlive(srv);
    }
  });

  it('answers 400 to absolute-form targets that do not parse, serves those that do', async () => {
    for (const target of ['http://[/', 'http://x:99999/HEAD', 'http://', '*', 'x:1']) {
      expect((await raw(srv.port, get(target))).status, target).toBe(400);
      await expectAlive(srv);
    }
    expect((await raw(srv.port, get('http://example.com/HEAD'))).status).toBe(200);
    expect((await raw(srv.port, get('//HEAD'))).status).toBe(200); // a path, not a host
    await expectAlive(srv);
  });

  it('never leaves the root: encoded .., / and \\, and NUL bytes', async () => {
    const targets = ['/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/packs/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt', '/%252e%252e/secret.txt', 'http://x/../secret.txt', '/%00', '/HEAD%00', '/HEAD%00.txt', '/.tmp/x'];
    for (const target of targets) {
      const r = await raw(srv.port, get(target));
      expect(r.status, target).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain('TOP-SECRET');
      await expectAlive(srv);
    }
    expect((await raw(srv.port, get('/%00'))).status).toBe(400);
  });

  it('directories redirect or 404; a FIFO or socket is not served and does not block exit', async () => {
    const sock = net.createServer().listen(path.join(root, 'sock'));
    try {
      expect((await raw(srv.port, get('/packs'))).status).toBe(301);
      expect((await raw(srv.port, get('/packs/'))).status).toBe(404);
      expect((await raw(srv.port, get('/fifo'))).status).toBe(404);
      expect((await raw(srv.port, get('/sock'))).status).toBe(404);
      await expectAlive(srv);
      // A FIFO opened by a read would hold a libuv thread, and with it the exit, forever.
      srv.child.kill('SIGTERM');
      expect(await exitWithin(srv.child, 5000)).toBe(0);
    } finally {
      sock.close();
    }
  });

  it('odd methods: 405 for known ones, 400 from the parser for unknown ones, CONNECT dropped', async () => {
    expect((await raw(srv.port, get('/HEAD', 'PROPFIND'))).status).toBe(405);
    expect((await raw(srv.port, get('/HEAD', 'DELETE'))).status).toBe(405);
    expect((await raw(srv.port, get('/HEAD', 'FOO'))).status).toBe(400);
    expect((await raw(srv.port, get('*', 'OPTIONS'))).status).toBe(204);
    expect((await raw(srv.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')).closed).toBe(true);
    expect((await raw(srv.port, get('/HEAD', 'HEAD'))).status).toBe(200);
    await expectAlive(srv);
  });

  it('very long URLs: 431 beyond the header limit, 404 below it', async () => {
    expect((await raw(srv.port, get('/' + 'a'.repeat(100_000)))).status).toBe(431);
    expect((await raw(srv.port, get('/' + 'a/'.repeat(4000)))).status).toBe(404);
    expect((await raw(srv.port, get('/' + '%41'.repeat(5000)))).status).toBe(404);
    await expectAlive(srv);
  });

  it('malformed Range is ignored (200), unsatisfiable Range is 416', async () => {
    const range = (r: string) => raw(srv.port, get('/HEAD', 'GET', { Range: r }));
    for (const r of ['bytes=abc', 'bytes=', 'items=0-1', 'bytes=--1', 'bytes=0-1,5-9', '\u00ff']) {
      expect((await range(r)).status, r).toBe(200);
    }
    for (const r of ['bytes=999999-', 'bytes=99999999999999999999999-', 'bytes=-0', 'bytes=5-1']) {
      expect((await range(r)).status, r).toBe(416);
    }
    expect((await range('bytes=0-3')).status).toBe(206);
    await expectAlive(srv);
  });

  it('clients that reset in the middle of a large body', async () => {
    await Promise.all(Array.from({ length: 20 }, () => resetMidBody(srv.port, get('/big.bin', 'GET', { Connection: 'keep-alive' }))));
    await expectAlive(srv);
  });

  it('parser errors (clientError): 400 and the connection closed', async () => {
    const bad = [
      'GET /HEAD HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
      'GET /HEAD HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      'GET /HEAD HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET /HEAD HTTP/9.9\r\n\r\n',
      'GET /he\u0000ad HTTP/1.1\r\nHost: x\r\n\r\n',
      '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003', // a TLS ClientHello
    ];
    for (const req of bad) {
      const r = await raw(srv.port, req);
      expect(r.status, JSON.stringify(req)).toBe(400);
      expect(r.closed).toBe(true);
      await expectAlive(srv);
    }
  });

  it('a parser error behind a response in flight cuts the connection, never writes into that body', async () => {
    const s = net.connect(srv.port, '127.0.0.1');
    let text = '';
    const closed = new Promise<void>((resolve) => { s.on('close', () => resolve()); s.on('error', () => resolve()); });
    s.on('data', (d: Buffer) => {
      // Once the 200 is on the wire, a broken second request arrives on the same connection.
      if (!text) s.write('GARBAGE / HTTP/1.1\r\n\r\n');
      text += d.toString('latin1');
    });
    s.write(get('/big.bin', 'GET', { Connection: 'keep-alive' }));
    await closed;
    expect(text.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(text).not.toContain('400 Bad Request');
    expect(text.length).toBeLessThan(32 << 20); // cut, not completed
    await expectAlive(srv);
  });
});

interface ServeChild {
  child: ChildProcess;
  port: number;
  url: string;
}

async function startServe(dir: string): Promise<ServeChild> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += d; const m = /at (http:\/\/\S+)/.exec(out); if (m) resolve(m[1]); });
    child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
  });
  return { child, url, port: Number(new URL(url).port) };
}

async function stopServe(s: ServeChild): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGKILL');
  await exitWithin(s.child, 5000);
}

function exitWithin(child: ChildProcess, ms: number): Promise<number | string | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('still running'), ms);
    child.on('exit', (code, signal) => { clearTimeout(t); resolve(code ?? signal); });
  });
}

async function expectAlive(s: ServeChild): Promise<void> {
  expect(s.child.exitCode, 'serve exited').toBe(null);
  expect(s.child.signalCode, 'serve was killed').toBe(null);
  const res = await fetch(new URL('HEAD', s.url));
  expect(res.status).toBe(200);
  expect(JSON.parse(await res.text()).format).toBe('bucketlite');
}

function get(target: string, method = 'GET', headers: Record<string, string> = {}): string {
  const h = { Host: 'localhost', Connection: 'close', ...headers };
  return `${method} ${target} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

interface RawResponse {
  status: number;
  head: string;
  body: string;
  closed: boolean;
}

/** Sends bytes as they are (latin1: one byte per char) and reads until the server closes or 5 s pass. */
function raw(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), head, body: split < 0 ? '' : text.slice(split + 4), closed });
    };
    const timer = setTimeout(() => done(false), 5000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => done(true));
    s.on('close', () => done(true));
    s.write(Buffer.from(request, 'latin1'));
  });
}

/** Reads the start of a body, then sends a TCP RST. */
function resetMidBody(port: number, request: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('data', (d) => { got += d.length; if (got > 256 << 10) s.resetAndDestroy(); });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.write(request);
  });
}
