/** Readers stay inside the bucket, and credentials never reach output. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpStore } from '../src/storage/http.js';
import { UndiciTransport } from '../src/node/undici-transport.js';
import { openDatabase } from '../src/node/open.js';
import { runCli } from './helpers.js';

let server: http.Server;
let base = '';
const seen: string[] = [];
let headBody = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url?.endsWith('/HEAD')) { res.writeHead(200, { 'content-type': 'application/json' }).end(headBody); return; }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/`;
});
afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

describe('readers never leave the bucket', () => {
  it('the HTTP store refuses keys outside its base before any request', async () => {
    const s = new HttpStore(base, { transport: new UndiciTransport() });
    for (const key of ['../secret', 'packs/../../x', '/etc/passwd', '//evil.example/x', 'http://evil.example/x', 'a/./b', '']) {
      expect(() => s.urlFor(key, 'get')).toThrow(/refusing key|leaves the bucket/);
    }
    expect(s.urlFor('packs/ab', 'get')).toBe(`${base}packs/ab`);
    await s.close();
  });

  it('a hostile HEAD naming a path or another host is refused; nothing but HEAD is requested', async () => {
    for (const root of ['../../etc/passwd', 'https://evil.example/manifest', `${'a'.repeat(63)}/`]) {
      seen.length = 0;
      headBody = JSON.stringify({ format: 'bucketlite', version: 2, seq: 1, root });
      await expect(openDatabase(base)).rejects.toMatchObject({ code: 'ERR_BAD_HEAD' });
      expect(seen).toEqual(['/bucket/HEAD', '/bucket/HEAD']); // a damaged HEAD is fetched once more, nothing else
    }
  });

  it('a HEAD larger than its limit is refused', async () => {
    headBody = JSON.stringify({ format: 'bucketlite', version: 2, seq: 1, root: 'a'.repeat(64), pad: 'x'.repeat(70_000) });
    await expect(openDatabase(base)).rejects.toMatchObject({ code: 'ERR_BAD_HEAD', message: expect.stringMatching(/exceeds the 65536-byte limit/) });
  });
});

describe('credentials never reach output', () => {
  it('user:password in a URL appears in no message, in text or --json mode', async () => {
    const secret = 'p4ssw0rd-do-not-print';
    const url = `http://reader:${secret}@127.0.0.1:1/bucket/`;
    for (const args of [['query', url, 'SELECT 1'], ['query', url, 'SELECT 1', '--json'], ['query', url.replace('127.0.0.1:1', new URL(base).host), 'SELECT 1', '--json']]) {
      const r = await runCli(args);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(r.stderr).toMatch(/bucketlite: ERR_/);
    }
  });
});
