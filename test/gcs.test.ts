/**
 * GCS against the Cloud Storage emulator of firebase-tools (JSON API, started here).
 * The emulator does not enforce preconditions, so the commit logic is proved by what
 * the backend sends (a recording proxy); docs/BACKENDS.md says what only real GCS proves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsStore } from '../src/storage/gcs.js';
import { storageContract } from './storage-contract.js';
import { startGcsEmulator } from './gcs.js';
import type { GcsEmulator } from './gcs.js';
import { makeDb, runCli, tempDir, updateOneRow } from './helpers.js';

const dir = tempDir('bl-gcs-');
const BUCKET = 'bucketlite-test';
let gcs: GcsEmulator;
let n = 0;
let lastPrefix = '';

const store = (prefix: string) => new GcsStore({ bucket: BUCKET, prefix, storage: { apiEndpoint: gcs.endpoint, projectId: 'demo-bucketlite' } });

/** ifGenerationMatch of each upload of `object` ('' when none was sent). */
function sentFor(object: string): string[] {
  return gcs.requests
    .filter((r) => r.method === 'POST' && r.url.startsWith('/upload/storage/v1/b/'))
    .map((r) => new URL(r.url, 'http://x').searchParams)
    .filter((q) => q.get('name') === object)
    .map((q) => q.get('ifGenerationMatch') ?? '');
}

beforeAll(async () => { gcs = await startGcsEmulator(); }, 120_000);
afterAll(async () => { await gcs?.stop(); });

storageContract('gcs (firebase-tools emulator)', () => store((lastPrefix = `contract-${n++}/`)), {
  unenforcedPreconditions: { sent: (key) => sentFor(lastPrefix + key) },
});

describe('GCS backend specifics', () => {
  it('large objects go up as resumable uploads and read back exactly', async () => {
    const s = new GcsStore({ bucket: BUCKET, prefix: 'resumable/', resumableThreshold: 1 << 20, storage: { apiEndpoint: gcs.endpoint, projectId: 'demo-bucketlite' } });
    const body = new Uint8Array(3 << 20).map((_, i) => (i * 13 + 5) & 255);
    await s.put('packs/big', body, { ifNoneMatch: '*' });
    expect(gcs.requests.some((r) => r.url.includes('uploadType=resumable') && r.url.includes('resumable%2Fpacks%2Fbig'))).toBe(true);
    expect(Buffer.compare((await s.get('packs/big')).body, body)).toBe(0);
    expect((await s.get('packs/big', { range: { offset: 1 << 20, length: 100 } })).body).toEqual(body.subarray(1 << 20, (1 << 20) + 100));
  });
});

describe('GCS end to end', () => {
  it('upload to gs:// sends the right generation preconditions; query through the public URL and through gs://', async () => {
    const db = path.join(dir, 'app.db');
    makeDb(db, { rows: 10_000 });
    const env = { STORAGE_EMULATOR_HOST: gcs.endpoint, GCLOUD_PROJECT: 'demo-bucketlite' };
    const target = `gs://${BUCKET}/app`;
    const up = await runCli(['upload', db, target, '--json'], { env });
    expect(up.code, up.stderr).toBe(0);
    // The first commit is create-only: ifGenerationMatch=0 on HEAD; content-addressed objects too.
    expect(sentFor('app/HEAD')).toEqual(['0']);
    const firstGen = (await store('app/').head('HEAD'))!.etag;
    updateOneRow(db, 42);
    const up2 = await runCli(['upload', db, target, '--json'], { env });
    expect(up2.code, up2.stderr).toBe(0);
    expect(JSON.parse(up2.stdout).objectsWritten).toBeLessThanOrEqual(6);
    // The swap is conditional on the generation read at the start.
    expect(sentFor('app/HEAD')).toEqual(['0', firstGen]);
    const packs = gcs.requests.filter((r) => r.method === 'POST' && /name=app%2Fpacks%2F/.test(r.url));
    expect(packs.every((r) => r.url.includes('ifGenerationMatch=0'))).toBe(true);

    const sql = 'SELECT id, body FROM items WHERE id IN (42, 4242) ORDER BY id';
    const viaHttp = await runCli(['query', `${gcs.endpoint}/${BUCKET}/app/`, sql, '--json']);
    expect(viaHttp.code, viaHttp.stderr).toBe(0);
    const rows = JSON.parse(viaHttp.stdout);
    expect(rows[0].body).toMatch(/^changed at/);
    const viaGs = await runCli(['query', target, sql, '--json'], { env });
    expect(JSON.parse(viaGs.stdout)).toEqual(rows);
    expect((await runCli(['verify', target, '--all'], { env })).code).toBe(0);
    expect((await runCli(['restore', target, path.join(dir, 'restored.db')], { env })).code).toBe(0);
    expect(Buffer.compare(readFileSync(path.join(dir, 'restored.db')), readFileSync(db))).toBe(0);
    const g = JSON.parse((await runCli(['gc', target, '--keep', '1', '--grace', '0', '--json'], { env })).stdout);
    expect(g.versionsCollected).toEqual([1]);
    expect((await runCli(['verify', target, '--all'], { env })).code).toBe(0);
  });
});
