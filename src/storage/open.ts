/** Turns a target string from the command line into a bucket store. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BucketliteError } from '../errors.js';
import { LocalDirStore } from './local.js';
import { S3Store, parseS3Url } from './s3.js';
import { GcsStore, parseGsUrl } from './gcs.js';
import type { BucketStore } from './types.js';

export function openStore(target: string): BucketStore {
  if (/^file:\/\//i.test(target)) return new LocalDirStore(fileURLToPath(target));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target)?.[1]?.toLowerCase();
  if (scheme === 's3') return new S3Store(parseS3Url(target));
  if (scheme === 'gs') return new GcsStore(parseGsUrl(target));
  if (scheme) throw new BucketliteError('ERR_USAGE', `unsupported target scheme ${scheme}://`, { op: 'open' });
  return new LocalDirStore(path.resolve(target));
}
