/**
 * The fault matrix: the query corpus through a hostile server, one fault at a time.
 * Every cell must be the right rows or a typed, clear error: never a wrong row, retries
 * bounded, no hang (every wait has a deadline). Node here; Chromium below.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import { openDatabase } from '../src/node/open.js';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import { startFaultServer, startNginx } from './servers.js';
import type { Fault } from './servers.js';
import { makeDb, tempDir } from './helpers.js';

const dir = tempDir('bl-faults-');
const db = path.join(dir, 'corpus.db');
const bucket = path.join(dir, 'bucket');
let faulty: Awaited<ReturnType<typeof startFaultServer>>;

const QUERIES = [
  'SELECT id, name, body FROM items WHERE id IN (5, 1500, 7999) ORDER BY id',
  'SELECT count(*) AS n, sum(length(body)) AS bytes FROM items',
  "SELECT name, count(*) AS n FROM items WHERE name LIKE 'name-1%' GROUP BY name ORDER BY n DESC, name LIMIT 5",
];
let expected: unknown[][];

// What each fault must end in: the right rows, or one of these typed errors.
const MATRIX: [Fault, 'rows' | string[]][] = [
  ['none', 'rows'],
  ['latency-jitter', 'rows'],
  ['slow-head', 'rows'],
  ['etag-changes', 'rows'],
  ['503-once', 'rows'],
  ['429-retry-after-once', 'rows'],
  ['reset-mid-body-once', 'rows'],
  ['stall-once', 'rows'],
  ['corrupt-once', 'rows'],
  ['503-always', ['ERR_HTTP']],
  ['reset-mid-body', ['ERR_IO', 'ERR_BAD_RESPONSE']],
  ['stall', ['ERR_TIMEOUT']],
  ['ignore-range', ['ERR_BAD_RESPONSE']],
  ['wrong-content-range', ['ERR_BAD_RESPONSE']],
  ['short-body', ['ERR_BAD_RESPONSE']],
  ['gzip', ['ERR_BAD_RESPONSE']],
  ['corrupt', ['ERR_HASH_MISMATCH']],
  ['pack-404', ['ERR_NOT_FOUND']],
];

beforeAll(async () => {
  makeDb(db, { rows: 8000 });
  await upload(db, new LocalDirStore(bucket), { blockSize: 16384 });
  const d = new Database(db, { readonly: true });
  expected = QUERIES.map((q) => d.prepare(q).all());
  d.close();
  faulty = await startFaultServer(bucket);
});
afterAll(async () => { await faulty?.stop(); });

const RETRIES = 3;
const report: string[] = [];
afterAll(() => { console.log(`fault matrix (Node):\n${report.join('\n')}`); });

describe('fault matrix in Node', () => {
  for (const [fault, want] of MATRIX) {
    it(fault, async () => {
      faulty.fault = fault;
      let retries = 0;
      let requests = 0;
      const t0 = performance.now();
      let outcome = 'rows';
      try {
        const conn = await openDatabase(faulty.url, { http: { retries: RETRIES, backoffMs: 1, maxBackoffMs: 5, timeoutMs: 400, onRetry: () => { retries++; } } });
        try {
          for (let i = 0; i < QUERIES.length; i++) {
            const rows = await conn.query(QUERIES[i]);
            expect(rows, `query ${i} under ${fault}`).toEqual(expected[i]); // never a wrong row
          }
        } finally {
          requests = conn.stats().total.requests;
          await conn.close();
        }
      } catch (err) {
        const e = err as { code?: string; message?: string };
        expect(e.code, `${fault}: ${e.message}`).toMatch(/^ERR_/);
        outcome = e.code!;
        expect(e.message).toMatch(/key=|op=/); // names what it touched
      }
      const ms = performance.now() - t0;
      report.push(`| ${fault} | ${outcome} | ${retries} retries | ${requests || '-'} requests | ${ms.toFixed(0)} ms |`);
      if (want === 'rows') expect(outcome).toBe('rows');
      else expect(want).toContain(outcome);
      // Bounded: at most RETRIES retries per request, and never more than the requests allow.
      expect(retries).toBeLessThanOrEqual(RETRIES * Math.max(1, requests || 8));
    });
  }
});

describe('fault matrix in Chromium', () => {
  it('the demo page under each fault: right results or an error in plain words, never a hang', async () => {
    const { buildDemoSite } = await import('../demo-site/build.js');
    const site = path.join(dir, 'site');
    await buildDemoSite(site, path.join(dir, 'wordnet.db'));
    const wordnetFaulty = await startFaultServer(path.join(site, 'bucket'));
    const nginx = await startNginx(site);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const cells: string[] = [];
    try {
      let baseline: string | null = null;
      for (const [fault, want] of MATRIX) {
        wordnetFaulty.fault = fault;
        const page = await (await browser.newContext()).newPage();
        await page.goto(`${nginx.url}index.html?cache=none&timeout=1000&retries=3&bucket=${encodeURIComponent(wordnetFaulty.url)}`);
        await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
        let outcome: string;
        if ((await page.evaluate(() => document.body.dataset.ready)) === 'error') {
          outcome = `error at open: ${await page.textContent('#status')}`;
        } else {
          await page.fill('[data-testid=search]', 'volcanic rock');
          await page.waitForFunction(() => document.body.dataset.searched || document.querySelector('#results .error'), null, { timeout: 60_000 });
          const err = await page.$('#results .error');
          outcome = err ? `error: ${await err.textContent()}` : (await page.$eval('#results', (e) => e.textContent ?? '')).slice(0, 60);
        }
        if (fault === 'none') baseline = outcome;
        cells.push(`| ${fault} | ${outcome.slice(0, 110)} |`);
        if (want === 'rows') expect(outcome, fault).toBe(baseline);
        else expect(outcome, fault).toMatch(/error/);
        await page.context().close();
      }
    } finally {
      console.log(`fault matrix (Chromium):\n${cells.join('\n')}`);
      await browser.close();
      await nginx.stop();
      await wordnetFaulty.stop();
    }
  });
});
