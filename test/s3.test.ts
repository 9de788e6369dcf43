/**
 * S3 against a real S3 server (Ceph radosgw on 127.0.0.1, started here): the shared
 * storage contract, multipart, the CLI end to end (upload to s3://, query through the
 * bucket's plain HTTP endpoint), and racing uploaders.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store } from '../src/storage/s3.js';
import { upload } from '../src/upload/upload.js';
import { restore } from '../src/ops/restore.js';
import { verify } from '../src/ops/verify.js';
import { isCode } from '../src/errors.js';
import { storageContract } from './storage-contract.js';
import { startRadosgw } from './radosgw.js';
import type { Radosgw } from './radosgw.js';
import { makeDb, raceUploads, runCli, tempDir, updateOneRow } from './helpers.js';

const dir = tempDir('bl-s3-');
const BUCKET = 'bucketlite-test';
let rgw: Radosgw;
let n = 0;

const store = (prefix: string, extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}) => new S3Store({
  bucket: BUCKET, prefix, endpoint: rgw.endpoint,
  client: { credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } }, ...extra,
});

beforeAll(async () => {
  rgw = await startRadosgw();
  const c = new S3Client({ endpoint: rgw.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } });
  await c.send(new CreateBucketCommand({ Bucket: BUCKET }));
  // Public read, as a bucket serving readers over plain HTTP would be.
  await c.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/*`] }],
  }) }));
  c.destroy();
}, 180_000);
afterAll(async () => { await rgw?.stop(); });

storageContract('s3 (Ceph radosgw)', () => store(`contract-${n++}/`));

describe('S3 backend specifics', () => {
  it('multipart upload for large objects, read back exactly, ETag from HeadObject when Complete has none', async () => {
    const s = store('multipart/', { multipartThreshold: 6 << 20, partSize: 5 << 20 });
    const body = new Uint8Array(12 << 20).map((_, i) => (i * 7 + 3) & 255);
    const { etag } = await s.put('packs/big', body, { ifNoneMatch: '*' });
    expect(etag).toBeTruthy();
    expect(Buffer.compare((await s.get('packs/big')).body, body)).toBe(0);
    await expect(s.put('packs/big', body, { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'ERR_PRECONDITION_FAILED' });
  });

  it('the HEAD swap works against radosgw (If-Match without quotes) and loses when the ETag is stale', async () => {
    const s = store('swap/');
    const a = await s.put('HEAD', new Uint8Array([1]), { ifNoneMatch: '*' });
    expect(a.etag.startsWith('"')).toBe(true);
    const b = await s.put('HEAD', new Uint8Array([2]), { ifMatch: a.etag });
    await expect(s.put('HEAD', new Uint8Array([3]), { ifMatch: a.etag })).rejects.toMatchObject({ code: 'ERR_PRECONDITION_FAILED' });
    expect((await s.get('HEAD')).body).toEqual(new Uint8Array([2]));
    expect((await s.head('HEAD'))!.etag).toBe(b.etag);
  });

  it('two uploaders racing on one target: exactly one wins, 20 races out of 20', async () => {
    for (let round = 0; round < 20; round++) {
      const prefix = `race-${round}/`;
      const dbs = [path.join(dir, `race-${round}-a.db`), path.join(dir, `race-${round}-b.db`)];
      makeDb(dbs[0], { rows: 200 });
      makeDb(dbs[1], { rows: 300 });
      if (round % 2) await upload(dbs[0], store(prefix));
      for (const f of dbs) updateOneRow(f, 3);
      const results = await raceUploads(dbs, () => store(prefix));
      const ok = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok, `round ${round}`).toHaveLength(1);
      expect(isCode(lost[0].reason, 'ERR_CONFLICT'), String(lost[0].reason)).toBe(true);
      expect((await verify(store(prefix))).ok).toBe(true);
      const winner = results.findIndex((r) => r.status === 'fulfilled');
      await restore(store(prefix), path.join(dir, `race-${round}.out`));
      expect(Buffer.compare(readFileSync(path.join(dir, `race-${round}.out`)), readFileSync(dbs[winner]))).toBe(0);
    }
  });
});

describe('uploader faults against radosgw', () => {
  it('a crash before and after every write of a commit leaves the previous version whole; gc collects; a retry commits', async () => {
    const db = path.join(dir, 'crash.db');
    makeDb(db, { rows: 3000 });
    const shape = { blockSize: 16384, blocksPerLeaf: 8, fanout: 4, packSize: 65536 };
    const prefix = 'crash/';
    await upload(db, store(prefix), shape);
    const v1 = readFileSync(db);
    for (let id = 1; id <= 3000; id += 749) updateOneRow(db, id);
    // How many writes the commit makes (dry run: same objects, nothing written).
    const steps = (await upload(db, store(prefix), { ...shape, dryRun: true })).objectsWritten;
    class Crash extends Error {}
    let collected = 0;
    // Packs, leaves, the root and HEAD: a crash at the first, a middle and the last writes.
    for (const step of [...new Set([1, 2, Math.ceil(steps / 2), steps - 1, steps])]) {
      for (const when of ['before', 'after'] as const) {
        if (when === 'after' && step === steps) continue; // that one commits
        const s = store(prefix);
        const put = s.put.bind(s);
        let n = 0;
        s.put = async (key, body, opts) => {
          const mine = ++n; // pack writes overlap: each call keeps its own number
          if (mine === step && when === 'before') throw new Crash(`crash before write ${step} (${key})`);
          const r = await put(key, body, opts);
          if (mine === step) throw new Crash(`crash after write ${step} (${key})`);
          return r;
        };
        const outcome = await upload(db, s, shape).then((r) => `committed after ${n} writes (steps ${steps}): ${r.keysWritten.join(' ')}`, (e) => e);
        expect(outcome, `${when} write ${step}`).toBeInstanceOf(Crash);
        expect((await verify(store(prefix))).ok).toBe(true);
        await restore(store(prefix), path.join(dir, 'crash-v1.out'));
        expect(Buffer.compare(readFileSync(path.join(dir, 'crash-v1.out')), v1)).toBe(0);
        // Pack uploads overlap: a crashed attempt may have finished later writes. Collect
        // them, so that write number `step` of the next attempt is a write again.
        const { gc } = await import('../src/ops/gc.js');
        collected += (await gc(store(prefix), { graceMs: 0, keep: 1 })).deleted.length;
      }
    }
    expect(collected).toBeGreaterThan(0); // gc collected what the crashed attempts wrote
    expect((await verify(store(prefix))).ok).toBe(true);
    expect((await upload(db, store(prefix), shape)).committed).toBe(true);
    expect((await verify(store(prefix), { all: true })).ok).toBe(true);
  });

  it('network errors in the middle of a multipart upload: the previous version stays, a retry succeeds', async () => {
    const http = await import('node:http');
    const target = new URL(rgw.endpoint);
    let breakParts = true;
    let broken = 0;
    const proxy = http.createServer((req, res) => {
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      if (breakParts && req.method === 'PUT' && /partNumber=2/.test(req.url ?? '')) {
        // Forward part of the body, then cut the connection: a reset mid-upload.
        let sent = 0;
        req.on('data', (chunk: Buffer) => {
          sent += chunk.length;
          if (sent > 1 << 20) { broken++; req.socket.destroy(); up.destroy(); } else up.write(chunk);
        });
        return;
      }
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(proxy.address() as import('node:net').AddressInfo).port}`;
    const viaProxy = () => new S3Store({
      bucket: BUCKET, prefix: 'multipart-fault/', endpoint, multipartThreshold: 6 << 20, partSize: 5 << 20,
      client: { credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey }, maxAttempts: 2 },
    });
    try {
      const small = path.join(dir, 'mp-small.db');
      makeDb(small, { rows: 1000 });
      await upload(small, viaProxy());
      const big = path.join(dir, 'mp-big.db');
      makeDb(big, { rows: 60_000, payload: 300 });
      const err = await upload(big, viaProxy(), { packSize: 16 << 20 }).then(() => null, (e) => e);
      expect(broken).toBeGreaterThan(0);
      expect(err?.code, String(err)).toMatch(/^ERR_(IO|HTTP)$/);
      expect(err.message).toMatch(/packs\//);
      expect((await verify(viaProxy())).ok).toBe(true);
      await restore(viaProxy(), path.join(dir, 'mp-restored.db'));
      expect(Buffer.compare(readFileSync(path.join(dir, 'mp-restored.db')), readFileSync(small))).toBe(0);
      breakParts = false;
      expect((await upload(big, viaProxy(), { packSize: 16 << 20 })).committed).toBe(true);
      expect((await verify(viaProxy(), { all: true })).ok).toBe(true);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('Chromium reads the S3 bucket cross-origin after bucketlite cors', () => {
  it('the demo page served by nginx queries a database published to radosgw', async () => {
    const { buildDemoSite } = await import('../demo-site/build.js');
    const { startNginx } = await import('./servers.js');
    const { chromium } = await import('playwright-core');
    const site = path.join(dir, 'site');
    const wordnet = path.join(dir, 'wordnet.db');
    await buildDemoSite(site, wordnet);
    const r = await upload(wordnet, store('wordnet/'), { hotBudget: 2 << 20 });
    expect(r.committed).toBe(true);
    const nginx = await startNginx(site);
    const origin = new URL(nginx.url).origin;
    const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: 'us-east-1' };
    expect((await runCli(['--endpoint', rgw.endpoint, 'cors', `s3://${BUCKET}/wordnet`, '--origin', origin], { env })).code).toBe(0);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage();
      const bucketUrl = `${rgw.endpoint}/${BUCKET}/wordnet/`;
      // ?bucket= points the demo's SQL console at the radosgw copy of the WordNet tables.
      await page.goto(`${nginx.url}index.html?cache=none&bucket=${encodeURIComponent(bucketUrl)}`);
      await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
      expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
      await page.selectOption('[data-testid=sql-db]', 'tables');
      await page.fill('[data-testid=sql]', "SELECT words FROM glosses WHERE glosses MATCH 'volcanic rock' ORDER BY rank LIMIT 20");
      await page.click('[data-testid=run]');
      await page.waitForFunction(() => document.querySelector('#sql-out table'), null, { timeout: 60_000 });
      expect(await page.textContent('#sql-out')).toMatch(/rhyolite/);
    } finally {
      await browser.close();
      await nginx.stop();
    }
  });
});

describe('CLI end to end on s3://', () => {
  it('upload to radosgw, then query through the bucket HTTP endpoint and through s3:// with credentials; no secret ever printed', async () => {
    const db = path.join(dir, 'app.db');
    makeDb(db, { rows: 20_000 });
    const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: 'us-east-1' };
    const target = `s3://${BUCKET}/app`;
    const outputs: string[] = [];
    const cli = async (args: string[]) => {
      const r = await runCli(['--endpoint', rgw.endpoint, ...args], { env });
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const up = await cli(['upload', db, target, '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ committed: true, seq: 1 });
    updateOneRow(db, 77);
    const up2 = JSON.parse((await cli(['upload', db, target, '--json'])).stdout);
    expect(up2.objectsWritten).toBeLessThanOrEqual(6);
    const sql = 'SELECT id, body FROM items WHERE id IN (77, 12345) ORDER BY id';
    const viaHttp = await runCli(['query', `${rgw.endpoint}/${BUCKET}/app/`, sql, '--json']);
    expect(viaHttp.code, viaHttp.stderr).toBe(0);
    const rows = JSON.parse(viaHttp.stdout);
    expect(rows[0].body).toMatch(/^changed at/);
    const viaS3 = await cli(['query', target, sql, '--json']);
    expect(JSON.parse(viaS3.stdout)).toEqual(rows);
    expect((await cli(['verify', target, '--all'])).code).toBe(0);
    expect(JSON.parse((await cli(['log', target, '--json'])).stdout).map((e: { seq: number }) => e.seq)).toEqual([2, 1]);
    expect((await cli(['restore', target, path.join(dir, 'app-restored.db')])).code).toBe(0);
    expect(Buffer.compare(readFileSync(path.join(dir, 'app-restored.db')), readFileSync(db))).toBe(0);
    const g = JSON.parse((await cli(['gc', target, '--keep', '1', '--grace', '0', '--json'])).stdout);
    expect(g.versionsCollected).toEqual([1]);
    expect((await cli(['verify', target, '--all'])).code).toBe(0);
    const cors = await cli(['cors', target, '--origin', 'http://127.0.0.1:1234']);
    expect(cors.code, cors.stderr).toBe(0);
    const pre = await fetch(`${rgw.endpoint}/${BUCKET}/app/HEAD`, { method: 'OPTIONS', headers: { Origin: 'http://127.0.0.1:1234', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' } });
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:1234');
    // A wrong secret: a clear error naming the bucket and status, and never the secret.
    const bad = await runCli(['--endpoint', rgw.endpoint, 'log', target], { env: { ...env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bucket bucketlite-test/);
    outputs.push(bad.stdout, bad.stderr);
    for (const o of outputs) {
      expect(o).not.toContain(rgw.secretAccessKey);
      expect(o).not.toContain('wrong-secret-value');
    }
  });
});
