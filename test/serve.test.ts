import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
