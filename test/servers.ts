/**
 * Real servers for tests, started and stopped by the tests themselves on 127.0.0.1 and
 * random ports: nginx (Debian's package) serving a bucket directory, and a small
 * fault-injecting static server for hostile-server cases.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, statSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';

/** Debian's chromium (never a downloaded browser) and the flags every browser test starts it with (../shared/notes/node-env.md). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface RunningServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess, log: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}): ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`server did not listen on ${port}`);
}

/**
 * nginx serving `root`, with the format's cache headers. Fails (never skips) if nginx is
 * missing. `gzip`: compress text, JS, JSON and wasm as static hosts do (bucket objects are
 * octet-stream and never compressed; HEAD is not either: the reader refuses an encoding).
 */
export async function startNginx(root: string, opts: { gzip?: boolean } = {}): Promise<RunningServer> {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
  if (!nginx) throw new Error('nginx is not installed: apt-get install nginx-light (.ci/run does this)');
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-nginx-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    const isRoot = process.getuid?.() === 0;
    writeFileSync(conf, `
${isRoot ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  ${opts.gzip ? 'gzip on; gzip_comp_level 6; gzip_min_length 256; gzip_types text/css application/javascript text/javascript application/json application/wasm;' : ''}
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location ~ /HEAD$ { gzip off; add_header Cache-Control "no-cache"; default_type application/json; }
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}`);
    const child = spawn(nginx, ['-c', conf, '-p', dir, '-e', `${dir}/error.log`], { stdio: 'ignore' });
    try {
      await waitForPort(port, child, `${dir}/error.log`);
    } catch (err) {
      child.kill('SIGKILL');
      if (attempt < 3) continue; // the port was taken between probe and bind
      throw err;
    }
    return {
      url: `http://127.0.0.1:${port}/`,
      pid: child.pid!,
      stop: () => new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        process.kill(child.pid!, 'SIGTERM');
      }),
    };
  }
}

export type Fault =
  | 'none' | 'ignore-range' | 'wrong-content-range' | 'short-body' | 'gzip' | 'corrupt' | 'corrupt-once'
  | '404' | 'pack-404' | '503-once' | '503-always' | '429-retry-after-once'
  | 'reset-mid-body' | 'reset-mid-body-once' | 'reset-every-other'
  | 'stall' | 'stall-once' | 'latency-jitter' | 'slow' | 'etag-changes';

/** Which keys a fault hits: pack Range reads, manifest objects, HEAD (both fetched whole), or all. */
export type FaultTarget = 'packs' | 'manifests' | 'HEAD' | 'all';

function isTarget(target: FaultTarget, key: string): boolean {
  if (target === 'all') return key === 'HEAD' || key.startsWith('packs/') || key.startsWith('manifests/');
  return target === 'HEAD' ? key === 'HEAD' : key.startsWith(`${target}/`);
}

/**
 * A static server (Range, ETag, CORS) whose answers for the `target` keys can be made
 * hostile. `fault` and `target` may be changed between requests (setting either resets
 * the "-once" latch and the request count). Every fault means something for a ranged GET
 * (packs) and for a whole-object GET (HEAD, manifests):
 *  - latency-jitter: 20–80 ms before each answer; slow: 150 ms before each answer;
 *  - etag-changes: a new ETag on every answer;
 *  - 503-once, 503-always, 429-retry-after-once (Retry-After: 1), 404 (alias pack-404);
 *  - stall, stall-once: headers flushed, then nothing (the client's deadline must fire);
 *  - reset-mid-body(-once): full headers, half the body, then the socket is destroyed;
 *  - reset-every-other: every other faulted answer (the 1st, 3rd, …) sends its headers
 *    and the first 7 body bytes, then the socket is destroyed;
 *  - ignore-range: 200 with the whole object to a ranged GET (nothing changes for a whole GET);
 *  - wrong-content-range: a ranged GET gets the bytes one further on; a whole GET gets
 *    206 with all but the first byte;
 *  - short-body: the body loses its last 7 bytes (Content-Length consistent with it);
 *  - corrupt(-once): one byte in the middle of the body is flipped;
 *  - gzip: the body really gzipped, with Content-Encoding: gzip (browsers decode it).
 * "-once" faults hit the first targeted request after being set.
 */
export async function startFaultServer(root: string, opts: { target?: FaultTarget } = {}): Promise<RunningServer & {
  fault: Fault; target: FaultTarget; packRequests: number; faultedRequests: number; totalRequests: number;
}> {
  let onceUsed = false;
  const state = {
    fault: 'none' as Fault,
    target: opts.target ?? ('packs' as FaultTarget),
    packRequests: 0,
    faultedRequests: 0,
    totalRequests: 0,
  };
  const server = http.createServer(async (req, res) => {
    // Browsers on other origins may read it (the Chromium fault matrix).
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag, Content-Encoding');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Range, If-None-Match' }).end();
      return;
    }
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    state.totalRequests++;
    if (key.startsWith('packs/')) state.packRequests++;
    const targeted = isTarget(state.target, key);
    const fault = targeted ? state.fault : 'none';
    const n = targeted ? ++state.faultedRequests : 0;
    const once = (f: Fault) => fault === f && !onceUsed && (onceUsed = true);
    if (fault === 'latency-jitter') await new Promise((r) => setTimeout(r, 20 + Math.random() * 60));
    if (fault === 'slow') await new Promise((r) => setTimeout(r, 150));
    const file = path.join(root, key);
    if (key.includes('..') || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
    if (fault === '404' || fault === 'pack-404') { res.writeHead(404).end(); return; }
    if (fault === '503-always' || once('503-once')) { res.writeHead(503, { 'Retry-After': '0' }).end(); return; }
    if (once('429-retry-after-once')) { res.writeHead(429, { 'Retry-After': '1' }).end(); return; }
    if (fault === 'stall' || once('stall-once')) { res.flushHeaders(); return; } // never answers: the client's deadline must fire
    const body = readFileSync(file);
    const headers: Record<string, string> = { ETag: fault === 'etag-changes' ? `"${Math.random()}"` : `"${statSync(file).mtimeMs}-${body.length}"` };
    if (key === 'HEAD') headers['Content-Type'] = 'application/json';
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    let status = 200;
    let part: Buffer;
    if (m && fault !== 'ignore-range') {
      const a = Number(m[1]);
      const b = Math.min(Number(m[2]), body.length - 1);
      status = 206;
      part = Buffer.from(body.subarray(a, b + 1));
      headers['Content-Range'] = fault === 'wrong-content-range' ? `bytes ${a + 1}-${b + 1}/${body.length}` : `bytes ${a}-${b}/${body.length}`;
      if (fault === 'wrong-content-range') part = Buffer.from(body.subarray(a + 1, b + 2));
    } else if (!m && fault === 'wrong-content-range') {
      status = 206; // a part, to a request for the whole object
      part = Buffer.from(body.subarray(1));
      headers['Content-Range'] = `bytes 1-${body.length - 1}/${body.length}`;
    } else {
      part = Buffer.from(body);
    }
    if (fault === 'short-body') part = part.subarray(0, Math.max(0, part.length - 7));
    if ((fault === 'corrupt' || once('corrupt-once')) && part.length) part[part.length >> 1] ^= 0xff;
    if (fault === 'gzip') { part = gzipSync(part); headers['Content-Encoding'] = 'gzip'; }
    headers['Content-Length'] = String(part.length);
    let cut: number | undefined;
    if (fault === 'reset-mid-body' || once('reset-mid-body-once')) cut = part.length >> 1;
    if (fault === 'reset-every-other' && n % 2 === 1) cut = Math.min(7, part.length);
    if (cut === undefined) { res.writeHead(status, headers).end(part); return; }
    // The headers promise the whole body; the connection dies after `cut` bytes of it.
    res.writeHead(status, headers);
    res.flushHeaders();
    const kill = () => setTimeout(() => res.socket?.destroy(), 5);
    if (cut > 0) res.write(part.subarray(0, cut), kill);
    else kill();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: process.pid,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
    get fault() { return state.fault; },
    set fault(f: Fault) { state.fault = f; onceUsed = false; state.faultedRequests = 0; },
    get target() { return state.target; },
    set target(t: FaultTarget) { state.target = t; onceUsed = false; state.faultedRequests = 0; },
    get packRequests() { return state.packRequests; },
    set packRequests(n: number) { state.packRequests = n; },
    /** Requests to targeted keys since `fault` or `target` was last set. */
    get faultedRequests() { return state.faultedRequests; },
    /** Every request but CORS preflights, since the server started. */
    get totalRequests() { return state.totalRequests; },
  };
}
