/**
 * Every runtime, one test each: Node 20, Node 22, Bun and Deno run
 * `import { openDatabase } from 'bucketlite'` (this repo's dist/), and workerd runs a
 * Worker on `bucketlite/edge` over fetch (the R2 public-bucket use); all query one
 * bucket served by nginx, and their rows must equal better-sqlite3's on the original file.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import type { RunningServer } from './servers.js';
import { RUNTIMES, RUNTIME_VERSION, linkedApp, runCorpusIn, runReusedInWorkerd, serveCorpus } from './runtimes/harness.js';
import type { NormalRows } from './runtimes/corpus.mjs';

const dir = tempDir('bl-runtimes-');
let nginx: RunningServer;
let url: string;
let expected: Record<string, NormalRows>;
let app: string;

beforeAll(async () => {
  ({ nginx, url, expected } = await serveCorpus(dir));
  mkdirSync(path.join(dir, 'app'));
  app = linkedApp(path.join(dir, 'app'));
});
afterAll(async () => { await nginx?.stop(); });

describe('the query corpus in every runtime, against better-sqlite3 on the file', () => {
  it('the oracle itself has rows for every query (a corpus that returns nothing proves nothing)', () => {
    expect(expected.join).toHaveLength(12);
    expect(expected['positional-params']).toHaveLength(16);
    expect(expected['named-params'].length).toBeGreaterThan(0);
    expect(expected['stored-text-blob-null']).toHaveLength(6);
    expect(JSON.stringify(expected['stored-text-blob-null'])).toContain('"blob":"000001ff00"');
  });

  for (const runtime of RUNTIMES) {
    it(`${runtime}: the corpus through ${runtime === 'workerd' ? 'a Worker on bucketlite/edge' : "import 'bucketlite'"} gives the oracle's rows`, async () => {
      const got = await runCorpusIn(runtime, app, url);
      expect(got.runtime).toMatch(RUNTIME_VERSION[runtime]);
      expect(got.results).toEqual(expected);
      console.log(`${runtime} (${got.runtime}): corpus in ${got.ms} ms`);
    });
  }

  it('workerd: a database kept open across requests answers the next request from its block cache', async () => {
    const [first, second] = await runReusedInWorkerd(app, url, 2);
    expect(first.results).toEqual(expected);
    expect(second.results).toEqual(expected);
    expect(first.requests).toBeGreaterThan(0);
    expect(second.requests).toBe(0);
  });
});
