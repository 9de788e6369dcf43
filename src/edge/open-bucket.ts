/**
 * The open sequence every openDatabase shares (Node's and the fetch-only edge entry's):
 * a reader on the store, then SQLite on the reader, and a plain SQLite file named
 * for what it is when a URL has no bucket. Browser-safe: the caller brings the
 * transport and the wasm loader, so nothing here needs Node.
 */
import { BucketDatabase } from '../database.js';
import { BucketliteError, isCode } from '../errors.js';
import { HEAD_KEY } from '../format/constants.js';
import { BucketReader } from '../reader/reader.js';
import type { ReaderOptions } from '../reader/reader.js';
import { HttpStore } from '../storage/http.js';
import type { HttpStoreOptions, HttpTransport } from '../storage/http.js';
import { hasSqliteMagic } from '../sqlite/header.js';
import type { BucketStore } from '../storage/types.js';

/** Where a store came from, so a missing bucket can be explained (http(s) URLs only). */
export interface OpenSource {
  url: string;
  http?: Omit<HttpStoreOptions, 'transport'>;
  transport(): HttpTransport;
}

/**
 * Opens `store` at the version `options` pins (or HEAD) and SQLite over it; the reader
 * is closed if SQLite cannot open. `loadModule` gives a fresh wa-sqlite module instance.
 */
export async function openOnStore(store: BucketStore, options: ReaderOptions, loadModule: () => Promise<unknown>, source?: OpenSource): Promise<BucketDatabase> {
  const reader = await BucketReader.open(store, options).catch(async (err) => {
    // No HEAD at all: perhaps a plain SQLite file. (A version not found is said as it is.)
    throw source && isCode(err, 'ERR_NOT_FOUND') && err.key === HEAD_KEY ? await explainMissingBucket(source, err) : err;
  });
  try {
    return await BucketDatabase.open(await loadModule(), reader);
  } catch (err) {
    await reader.close();
    throw err;
  }
}

/**
 * No HEAD under a URL: if the URL is a plain SQLite file (people point readers at the
 * file they host), say how to publish it instead of only "no bucket here". One ranged
 * request, on the failure path only.
 */
async function explainMissingBucket(source: OpenSource, err: unknown): Promise<unknown> {
  if (!/^https?:\/\//i.test(source.url)) return err;
  const file = new URL(source.url.replace(/\/+$/, ''));
  const name = file.pathname.split('/').pop();
  if (!name) return err;
  const probe = new HttpStore(new URL('./', file).href, { ...source.http, retries: 0, transport: source.transport() });
  try {
    const { body } = await probe.get(name, { range: { offset: 0, length: 16 } });
    if (!hasSqliteMagic(body)) return err;
    return new BucketliteError('ERR_NOT_FOUND', `${probe.name}${name} is a plain SQLite file, not a bucketlite bucket: publish it with \`bucketlite upload <file> <bucket-dir>\`, serve that directory, and open its URL`, { op: 'open', key: name, cause: err });
  } catch {
    return err;
  } finally {
    await probe.close();
  }
}
