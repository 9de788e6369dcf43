/**
 * The contract every bucket backend must meet. Each backend's test file calls
 * `storageContract(name, factory)`; S3 and GCS will run the same suite.
 */
import { describe, expect, it } from 'vitest';
import type { BucketStore } from '../src/storage/types.js';
import { isCode } from '../src/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function collect(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of it) out.push(o.key);
  return out;
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

export interface ContractOptions {
  /**
   * For a server that does not enforce preconditions (the GCS emulator): instead of
   * checking the outcome, check what the backend sent — `sent(key)` returns the
   * precondition values (e.g. ifGenerationMatch) of the writes to `key`, in order.
   */
  unenforcedPreconditions?: { sent(key: string): string[] };
}

export function storageContract(name: string, makeStore: () => Promise<BucketStore> | BucketStore, opts: ContractOptions = {}): void {
  const sentOnly = opts.unenforcedPreconditions;
  describe(`storage contract: ${name}`, () => {
    it('puts, gets, heads and reports the whole size with a range', async () => {
      const s = await makeStore();
      const { etag } = await s.put('packs/a', enc('hello world'));
      const got = await s.get('packs/a');
      expect(dec(got.body)).toBe('hello world');
      expect(got.etag).toBe(etag);
      expect(got.size).toBe(11);
      const part = await s.get('packs/a', { range: { offset: 6, length: 5 } });
      expect(dec(part.body)).toBe('world');
      expect(part.size).toBe(11);
      const h = await s.head('packs/a');
      expect(h).toMatchObject({ key: 'packs/a', size: 11, etag });
      expect(h!.lastModified).toBeInstanceOf(Date);
    });

    it('revalidates with ifNoneMatch: notModified and no body when the ETag matches', async () => {
      const s = await makeStore();
      const { etag } = await s.put('HEAD', enc('v1'));
      const same = await s.get('HEAD', { ifNoneMatch: etag });
      expect(same).toMatchObject({ notModified: true, etag });
      expect(same.body.length).toBe(0);
      await s.put('HEAD', enc('v2'));
      const changed = await s.get('HEAD', { ifNoneMatch: etag });
      expect(changed.notModified).toBeFalsy();
      expect(dec(changed.body)).toBe('v2');
    });

    it('reports a missing key as ERR_NOT_FOUND on get and null on head', async () => {
      const s = await makeStore();
      expect(await code(s.get('packs/missing'))).toBe('ERR_NOT_FOUND');
      expect(await s.head('packs/missing')).toBeNull();
    });

    it('refuses a range past the end with ERR_RANGE', async () => {
      const s = await makeStore();
      await s.put('packs/r', enc('0123456789'));
      expect(await code(s.get('packs/r', { range: { offset: 8, length: 5 } }))).toBe('ERR_RANGE');
    });

    if (sentOnly) {
      it('sends the create-only and replace-if-unchanged preconditions on every conditional write (server does not enforce them)', async () => {
        const s = await makeStore();
        const key = `HEAD`;
        const a = await s.put(key, enc('v1'), { ifNoneMatch: '*' });
        expect(sentOnly.sent(key).at(-1)).toBe('0');
        const b = await s.put(key, enc('v2'), { ifMatch: a.etag });
        expect(sentOnly.sent(key).at(-1)).toBe(a.etag);
        expect(b.etag).not.toBe(a.etag);
        await Promise.allSettled(Array.from({ length: 8 }, (_, i) => s.put(key, enc(`w${i}`), { ifMatch: b.etag })));
        expect(sentOnly.sent(key).slice(-8)).toEqual(Array(8).fill(b.etag));
        await s.put('manifests/plain', enc('x'));
        expect(sentOnly.sent('manifests/plain')).toEqual(['']);
      });
    } else {
      it('create-only put fails when the key exists and leaves it unchanged', async () => {
        const s = await makeStore();
        await s.put('manifests/x', enc('one'), { ifNoneMatch: '*' });
        expect(await code(s.put('manifests/x', enc('two'), { ifNoneMatch: '*' }))).toBe('ERR_PRECONDITION_FAILED');
        expect(dec((await s.get('manifests/x')).body)).toBe('one');
      });

      it('replace-if-unchanged succeeds with the current ETag and fails with a stale one', async () => {
        const s = await makeStore();
        const a = await s.put('HEAD', enc('v1'), { ifNoneMatch: '*' });
        const b = await s.put('HEAD', enc('v2'), { ifMatch: a.etag });
        expect(b.etag).not.toBe(a.etag);
        expect(await code(s.put('HEAD', enc('v3'), { ifMatch: a.etag }))).toBe('ERR_PRECONDITION_FAILED');
        expect(dec((await s.get('HEAD')).body)).toBe('v2');
        expect(await code(s.put('NOPE', enc('x'), { ifMatch: a.etag }))).toBe('ERR_PRECONDITION_FAILED');
      });

      it('lets exactly one of many concurrent conditional swaps win', async () => {
        const s = await makeStore();
        const { etag } = await s.put('HEAD', enc('base'), { ifNoneMatch: '*' });
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => s.put('HEAD', enc(`writer ${i}`), { ifMatch: etag })),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(isCode(r.reason, 'ERR_PRECONDITION_FAILED')).toBe(true);
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        expect(dec((await s.get('HEAD')).body)).toBe(`writer ${winner}`);
      });

      it('lets exactly one of many concurrent create-only puts win', async () => {
        const s = await makeStore();
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => s.put('HEAD', enc(`first ${i}`), { ifNoneMatch: '*' })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      });
    }

    it('lists by prefix in key order, and only real objects', async () => {
      const s = await makeStore();
      for (const k of ['packs/b', 'packs/a', 'manifests/c', 'HEAD', 'packsX']) await s.put(k, enc(k));
      expect(await collect(s.list('packs/'))).toEqual(['packs/a', 'packs/b']);
      expect(await collect(s.list('pack'))).toEqual(['packs/a', 'packs/b', 'packsX']);
      expect(await collect(s.list(''))).toEqual(['HEAD', 'manifests/c', 'packs/a', 'packs/b', 'packsX']);
    });

    it('deletes, and deleting a missing key is not an error', async () => {
      const s = await makeStore();
      await s.put('packs/d', enc('x'));
      await s.delete('packs/d');
      await s.delete('packs/d');
      expect(await s.head('packs/d')).toBeNull();
    });

    it('refuses unsafe keys before touching storage', async () => {
      const s = await makeStore();
      for (const k of ['../escape', 'packs/../../etc/passwd', '/abs', 'http://evil/x', '', 'a//b', '.hidden']) {
        expect(await code(s.put(k, enc('x')))).toBe('ERR_BAD_KEY');
        expect(await code(s.get(k))).toBe('ERR_BAD_KEY');
      }
    });

    it('round-trips binary bodies of many sizes exactly', async () => {
      const s = await makeStore();
      for (const n of [0, 1, 4095, 65536, 1_000_003]) {
        const body = new Uint8Array(n).map((_, i) => (i * 131 + n) & 255);
        await s.put(`packs/bin${n}`, body);
        expect(Buffer.compare((await s.get(`packs/bin${n}`)).body, body)).toBe(0);
      }
    });
  });
}
