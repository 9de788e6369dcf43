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
import path from 'node:path';

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

/** nginx serving `root`, with the format's cache headers. Fails (never skips) if nginx is missing. */
export async function startNginx(root: string): Promise<RunningServer> {
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
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location ~ /HEAD$ { add_header Cache-Control "no-cache"; default_type application/json; }
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
  | 'pack-404' | '503-once' | '503-always' | '429-retry-after-once' | 'reset-mid-body' | 'reset-mid-body-once'
  | 'stall' | 'stall-once' | 'latency-jitter' | 'etag-changes' | 'slow-head';

/**
 * A static server whose answers to pack requests can be made hostile. `fault` may be
 * changed between requests; "-once" faults hit the first pack request after being set.
 */
export async function startFaultServer(root: string): Promise<RunningServer & { fault: Fault; packRequests: number }> {
  let onceUsed = false;
  const state = {
    fault: 'none' as Fault,
    packRequests: 0,
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
    if (state.fault === 'latency-jitter') await new Promise((r) => setTimeout(r, 20 + Math.random() * 60));
    if (state.fault === 'slow-head' && key.endsWith('HEAD')) await new Promise((r) => setTimeout(r, 300));
    const file = path.join(root, key);
    if (key.includes('..') || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
    const body = readFileSync(file);
    const isPack = key.startsWith('packs/');
    const fault = isPack ? state.fault : 'none';
    if (isPack) state.packRequests++;
    const once = (f: Fault) => fault === f && !onceUsed && (onceUsed = true);
    if (fault === 'pack-404') { res.writeHead(404).end(); return; }
    if (fault === '503-always' || once('503-once')) { res.writeHead(503, { 'Retry-After': '0' }).end(); return; }
    if (once('429-retry-after-once')) { res.writeHead(429, { 'Retry-After': '1' }).end(); return; }
    if (fault === 'stall' || once('stall-once')) { res.flushHeaders(); return; } // never answers: the client's deadline must fire
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const headers: Record<string, string> = { ETag: state.fault === 'etag-changes' ? `"${Math.random()}"` : `"${statSync(file).mtimeMs}-${body.length}"` };
    if (!m || fault === 'ignore-range') {
      res.writeHead(200, { ...headers, 'Content-Length': String(body.length) }).end(body);
      return;
    }
    const a = Number(m[1]);
    const b = Math.min(Number(m[2]), body.length - 1);
    let part = Buffer.from(body.subarray(a, b + 1));
    let cr = `bytes ${a}-${b}/${body.length}`;
    if (fault === 'wrong-content-range') cr = `bytes ${a + 1}-${b + 1}/${body.length}`;
    if (fault === 'short-body') part = part.subarray(0, part.length - 7);
    if (fault === 'corrupt' || once('corrupt-once')) part[Math.floor(part.length / 2)] ^= 0xff;
    if (fault === 'gzip') headers['Content-Encoding'] = 'gzip';
    if (fault === 'reset-mid-body' || once('reset-mid-body-once')) {
      res.writeHead(206, { ...headers, 'Content-Range': cr, 'Content-Length': String(part.length) });
      res.write(part.subarray(0, part.length >> 1));
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    res.writeHead(206, { ...headers, 'Content-Range': cr, 'Content-Length': String(part.length) }).end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: process.pid,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
    get fault() { return state.fault; },
    set fault(f: Fault) { state.fault = f; onceUsed = false; },
    get packRequests() { return state.packRequests; },
    set packRequests(n: number) { state.packRequests = n; },
  };
}
