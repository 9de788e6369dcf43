/**
 * A static server for a bucket directory, for local use and tests: Range requests,
 * ETags and conditional GETs come from `send` (the static-file core of Express/serve-
 * static); this module adds CORS for browsers on other origins and the cache policy
 * of the format: immutable for everything but HEAD, no-cache for HEAD.
 *
 * No request may take the process down: a target that does not parse, a malformed
 * escape, a request the HTTP parser refuses or a read that fails are answered with a
 * status (or, once a body is under way, a cut connection) and the server goes on.
 */
import http from 'node:http';
import { access, constants, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import type SendModule from 'send';
import { BucketliteError } from '../errors.js';
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

// `send` loads when a server is made, not on `import('bucketlite')` (50 ms of it).
let send: typeof SendModule | null = null;

export function createBucketServer(root: string): http.Server {
  send ??= createRequire(import.meta.url)('send') as typeof SendModule;
  const server = http.createServer((req, res) => handle(root, req, res));
  server.on('clientError', answerClientError);
  return server;
}

function handle(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
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
    res.setHeader('Allow', 'GET, HEAD, OPTIONS');
    plain(res, 405, 'method not allowed: this server only reads');
    return;
  }
  const pathname = requestPathname(req.url ?? '');
  const decoded = pathname === undefined ? undefined : decodePath(pathname);
  if (pathname === undefined || decoded === undefined) {
    plain(res, 400, 'bad request: the request target is not a path or has a malformed %-escape');
    return;
  }
  sendFile(root, pathname, decoded.replace(/^\/+/, ''), req, res);
}

/** `pathname` is still %-encoded: send decodes it once, then refuses `..` and NUL. */
function sendFile(root: string, pathname: string, key: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  send!(req, pathname, { root, dotfiles: 'deny', index: ['index.html'], cacheControl: false, etag: true, lastModified: true })
    .on('file', (_path: string, st: { isFile(): boolean }) => {
      // A FIFO would block a libuv thread forever (and with it the process's exit), a
      // socket or device fails after the headers are set: serve regular files only.
      if (!st.isFile()) plain(res, 404, 'not found: not a regular file');
    })
    .on('headers', (r: http.ServerResponse) => {
      r.setHeader('Cache-Control', key.endsWith('HEAD') || key.endsWith('.html') || key === '' ? cacheControlFor('HEAD') : cacheControlFor(key));
      if (key.endsWith('HEAD')) r.setHeader('Content-Type', 'application/json');
    })
    .on('error', (err: { status?: number }) => sendFailed(res, err.status ?? 500))
    .pipe(res);
}

function sendFailed(res: http.ServerResponse, status: number): void {
  if (res.writableEnded) return; // already answered (the 'file' refusal above)
  // A read failing mid-body: cut the connection so the client sees a short body, never a clean end.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // send set Content-Length, ETag, Content-Range for the file; they do not describe an error.
  for (const name of res.getHeaderNames()) if (!name.startsWith('access-control-')) res.removeHeader(name);
  plain(res, status, http.STATUS_CODES[status]?.toLowerCase() ?? 'error');
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  const body = `${status} ${text}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

/**
 * The path of an origin-form (`/a/b`) or absolute-form (`http://host/a/b`) request
 * target, dot segments resolved; undefined for anything else (`*`, a host:port, a URL
 * that does not parse). Origin-form is never read as a URL of its own: `//evil/x` is a path.
 */
function requestPathname(target: string): string | undefined {
  const url = target.startsWith('/') ? `http://localhost${target}` : target;
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

function decodePath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
}

const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * A request the HTTP parser refused (bad method, bad header, oversized head) or a
 * socket error: answer if nothing of a response is on the wire yet, then drop the
 * connection. Writing into a response in flight would corrupt what the client reads.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage?.headersSent;
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight) {
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400;
    const body = `${status} ${http.STATUS_CODES[status]?.toLowerCase()}\n`;
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  }
  socket.destroy();
}

export async function serveDirectory(root: string, opts: ServeOptions = {}): Promise<RunningServer> {
  await checkRoot(root);
  const server = createBucketServer(root);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, resolve);
  }).catch((cause: unknown) => {
    throw new BucketliteError('ERR_IO', `serve: cannot listen on ${host} port ${opts.port ?? 0}`, { op: 'listen', cause });
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A directory that is missing or unreadable would answer 404 or 500 to everything; say so up front. */
async function checkRoot(root: string): Promise<void> {
  const cannotRead = (cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') throw new BucketliteError('ERR_NOT_FOUND', 'serve: no such directory', { op: 'serve', path: root });
    throw new BucketliteError('ERR_IO', 'serve: cannot read the directory', { op: 'serve', path: root, cause });
  };
  const st = await stat(root).catch(cannotRead);
  if (!st.isDirectory()) throw new BucketliteError('ERR_USAGE', 'serve: not a directory', { op: 'serve', path: root });
  await access(root, constants.R_OK | constants.X_OK).catch(cannotRead);
}
