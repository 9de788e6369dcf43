/**
 * A link that breaks half of all responses a few bytes into the body (a bad proxy, a
 * flaky mobile network), in front of real nginx. A cut body resumes from its first
 * missing byte and such a retry does not use up the retry budget, so every run gives
 * the right rows: 20 runs of 20, each a fresh connection, checked against better-sqlite3.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { startNginx } from './servers.js';
import type { RunningServer } from './servers.js';
import { makeDb, tempDir } from './helpers.js';

const dir = tempDir('bl-resume-');
const db = path.join(dir, 'corpus.db');
const QUERIES = [
  'SELECT id, name, body FROM items WHERE id IN (3, 4100, 17999) ORDER BY id',
  'SELECT count(*) AS n, sum(length(body)) AS bytes FROM items',
  "SELECT name, count(*) AS n FROM items WHERE name LIKE 'name-2%' GROUP BY name ORDER BY n DESC, name LIMIT 5",
];
let expected: unknown[][];
let nginx: RunningServer;

/** Forwards to `upstream`; every other response sends its headers and `keep` body bytes, then the socket is destroyed. */
async function startBreakingProxy(upstream: string, keep = 7) {
  const target = new URL(upstream);
  const stats = { responses: 0, cut: 0 };
  const server = http.createServer((req, res) => {
    const cut = stats.responses++ % 2 === 1;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      if (!cut || req.method !== 'GET') { r.pipe(res); return; }
      stats.cut++;
      let sent = 0;
      r.on('data', (chunk: Buffer) => {
        if (sent >= keep) return;
        res.write(chunk.subarray(0, keep - sent));
        sent += Math.min(chunk.length, keep - sent);
        if (sent >= keep) setImmediate(() => { res.socket?.destroy(); r.destroy(); });
      });
    });
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stats,
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

beforeAll(async () => {
  makeDb(db, { rows: 18_000, payload: 300 });
  await upload(db, new LocalDirStore(path.join(dir, 'bucket')), { blockSize: 16384 });
  const d = new Database(db, { readonly: true });
  expected = QUERIES.map((q) => d.prepare(q).all());
  d.close();
  nginx = await startNginx(path.join(dir, 'bucket'));
});
afterAll(async () => { await nginx?.stop(); });

describe('bodies cut mid-way are resumed', () => {
  it('every other response reset after 7 bytes: 20 of 20 runs give the right rows', async () => {
    const proxy = await startBreakingProxy(nginx.url);
    const outcomes: string[] = [];
    let resumes = 0;
    try {
      for (let run = 0; run < 20; run++) {
        try {
          const conn = await openDatabase(proxy.url, { http: { retries: 3, backoffMs: 1, maxBackoffMs: 5, onRetry: (i) => { if (/resuming at byte/.test(i.reason)) resumes++; } } });
          try {
            for (let i = 0; i < QUERIES.length; i++) expect(await conn.query(QUERIES[i]), `run ${run}, query ${i}`).toEqual(expected[i]);
          } finally {
            await conn.close();
          }
          outcomes.push('rows');
        } catch (err) {
          outcomes.push(`${(err as { code?: string }).code}: ${(err as Error).message.slice(0, 200)}`);
        }
      }
    } finally {
      await proxy.stop();
    }
    console.log(`resume: ${proxy.stats.cut} of ${proxy.stats.responses} responses cut, ${resumes} resumed; outcomes: ${JSON.stringify(outcomes.filter((o) => o !== 'rows'))}`);
    expect(proxy.stats.cut).toBeGreaterThan(40); // the link really was hostile
    expect(resumes).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 'rows')).toHaveLength(20);
  });
});
