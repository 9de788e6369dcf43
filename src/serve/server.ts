/**
 * A static server for a bucket directory, for local use and tests: Range requests,
 * ETags and conditional GETs come from `send` (the static-file core of Express/serve-
 * static); this module adds CORS for browsers on other origins and the cache policy
 * of the format: immutable for everything but HEAD, no-cache for HEAD.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import send from 'send';
import { cacheControlFor } from '../storage/types.js';

export interface ServeOptions {
  port?: number;
  host?: string;
}

export interface RunningServer {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

export function createBucketServer(root: string): http.Server {
  return http.createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag, Accept-Ranges');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD');
      res.setHeader('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Match');
      res.setHeader('Access-Control-Max-Age', '86400');
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD, OPTIONS' }).end();
      return;
    }
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const key = pathname.replace(/^\/+/, '');
    send(req, pathname, { root, dotfiles: 'deny', index: ['index.html'], cacheControl: false, etag: true, lastModified: true })
      .on('headers', (r) => {
        r.setHeader('Cache-Control', key.endsWith('HEAD') || key.endsWith('.html') || key === '' ? cacheControlFor('HEAD') : cacheControlFor(key));
        if (key.endsWith('HEAD')) r.setHeader('Content-Type', 'application/json');
      })
      .on('error', (err: { status?: number }) => {
        res.writeHead(err.status ?? 500, { 'Content-Type': 'text/plain' }).end(`${err.status ?? 500}\n`);
      })
      .pipe(res);
  });
}

export async function serveDirectory(root: string, opts: ServeOptions = {}): Promise<RunningServer> {
  const server = createBucketServer(root);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
