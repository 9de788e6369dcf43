/** Turns a target string from the command line into a bucket store. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BucketliteError } from '../errors.js';
import { hasSqliteMagic } from '../sqlite/header.js';
import { LocalDirStore } from './local.js';
import { S3Store, parseS3Url } from './s3.js';
import { GcsStore, parseGsUrl } from './gcs.js';
import type { BucketStore } from './types.js';

export function openStore(target: string): BucketStore {
  if (/^file:\/\//i.test(target)) return localStore(fileURLToPath(target));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target)?.[1]?.toLowerCase();
  if (scheme === 's3') return new S3Store(parseS3Url(target));
  if (scheme === 'gs') return new GcsStore(parseGsUrl(target));
  if (scheme === 'http' || scheme === 'https') {
    throw new BucketliteError('ERR_USAGE', `${scheme}:// URLs are read-only (query, search, log, info, verify, restore take them): write to the bucket behind it instead, a directory, s3:// or gs:// target`, { op: 'open' });
  }
  if (scheme) throw new BucketliteError('ERR_USAGE', `unsupported target scheme ${scheme}:// (use a directory, file://, s3:// or gs://; readers also take http(s)://)`, { op: 'open' });
  return localStore(path.resolve(target));
}

/** A bucket directory; a file in its place is a usage error that says what to do. */
function localStore(dir: string): LocalDirStore {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st?.isFile()) {
    const hint = isSqliteFile(dir)
      ? `is a SQLite database file, not a bucket: publish it first (bucketlite upload ${dir} <bucket-dir>), then use the bucket`
      : 'is a file, not a bucket directory';
    throw new BucketliteError('ERR_USAGE', `${dir} ${hint}`, { op: 'open', path: dir });
  }
  return new LocalDirStore(dir);
}


function isSqliteFile(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try {
      const head = new Uint8Array(16);
      return readSync(fd, head, 0, 16, 0) === 16 && hasSqliteMagic(head);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
