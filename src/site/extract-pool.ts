/**
 * Extracts every page of a site on all cores: HTML parsing is most of a large site's
 * build (rust-doc's 32,000 files are 450 MB). Batches of files go to a pool of worker
 * threads (one per core, at most MAX_THREADS); results come back in file order. Small
 * sites, and runs from TypeScript sources (tests), extract on this thread.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BucketliteError } from '../errors.js';
import { extractPage, urlOf } from './extract.js';
import type { ExtractOptions, SitePage } from './extract.js';

export interface BatchTask { batch: number; siteDir: string; files: string[]; opts: ExtractOptions }
export interface BatchResult { batch: number; pages: (SitePage | null)[]; error?: string }

/** Files per message: large enough that messages cost little, small enough to balance. */
const BATCH = 32;
/** Threads at most (each holds one parsed page at a time: tens of MiB on rustdoc's largest). */
const MAX_THREADS = 8;

export async function extractAll(siteDir: string, files: string[], opts: ExtractOptions): Promise<(SitePage | null)[]> {
  const script = new URL('./extract-worker.js', import.meta.url);
  const threads = Math.min(MAX_THREADS, os.availableParallelism(), Math.ceil(files.length / BATCH));
  if (threads < 2 || !existsSync(fileURLToPath(script))) return files.map((rel) => extractNamed(siteDir, rel, opts));
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
  const results: (SitePage | null)[][] = new Array(batches.length);
  let next = 0;
  const run = (worker: Worker) => new Promise<void>((resolve, reject) => {
    const send = () => {
      if (next >= batches.length) return resolve();
      const batch = next++;
      worker.postMessage({ batch, siteDir, files: batches[batch], opts } satisfies BatchTask);
    };
    worker.on('message', (r: BatchResult) => {
      if (r.error) return reject(new BucketliteError('ERR_IO', `site: ${r.error}`, { op: 'site' }));
      results[r.batch] = r.pages;
      send();
    });
    worker.on('error', reject);
    send();
  });
  const workers = Array.from({ length: threads }, () => new Worker(script));
  try {
    await Promise.all(workers.map(run));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.flat();
}

/** One page of the site, by its path relative to the site root. */
export function extractFile(siteDir: string, rel: string, opts: ExtractOptions): SitePage | null {
  return extractPage(readFileSync(path.join(siteDir, rel), 'utf8'), urlOf(rel), opts);
}

function extractNamed(siteDir: string, rel: string, opts: ExtractOptions): SitePage | null {
  try {
    return extractFile(siteDir, rel, opts);
  } catch (err) {
    throw new BucketliteError('ERR_IO', `site: ${(err as Error).message}`, { op: 'site', path: rel, cause: err });
  }
}
