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
import { extractPage, hasPagefindBody, urlOf } from './extract.js';
import type { ExtractOptions, SitePage } from './extract.js';

export interface BatchTask { batch: number; siteDir: string; files: string[]; opts: ExtractOptions }
export interface BatchResult { batch: number; pages: (SitePage | null)[]; pagefindBody: boolean; error?: string }

/** Every file's page (null: not indexed), and whether any file has data-pagefind-body. */
export interface Extraction { pages: (SitePage | null)[]; pagefindBody: boolean }

/** Files per message: large enough that messages cost little, small enough to balance. */
const BATCH = 32;
/** Threads at most (each holds one parsed page at a time: tens of MiB on rustdoc's largest). */
const MAX_THREADS = 8;

/**
 * Each file is read once: the pass that extracts it also notes whether it has
 * data-pagefind-body (extracting under the other rule is then the caller's second pass,
 * which only a site using that attribute pays).
 */
export async function extractAll(siteDir: string, files: string[], opts: ExtractOptions): Promise<Extraction> {
  const script = new URL('./extract-worker.js', import.meta.url);
  const threads = Math.min(MAX_THREADS, os.availableParallelism(), Math.ceil(files.length / BATCH));
  if (threads < 2 || !existsSync(fileURLToPath(script))) {
    try {
      return extractBatch(siteDir, files, opts);
    } catch (err) {
      throw new BucketliteError('ERR_IO', `site: ${(err as Error).message}`, { op: 'site', cause: err });
    }
  }
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
  const results: (SitePage | null)[][] = new Array(batches.length);
  let pagefindBody = false;
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
      pagefindBody ||= r.pagefindBody;
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
  return { pages: results.flat(), pagefindBody };
}

/** Pages of `files` (paths relative to the site root), and whether any has data-pagefind-body; an error names the file. */
export function extractBatch(siteDir: string, files: string[], opts: ExtractOptions): Extraction {
  const out: Extraction = { pages: [], pagefindBody: false };
  for (const rel of files) {
    try {
      const html = readFileSync(path.join(siteDir, rel), 'utf8');
      out.pagefindBody ||= !opts.pagefindBody && hasPagefindBody(html);
      out.pages.push(extractPage(html, urlOf(rel), opts));
    } catch (err) {
      throw new Error(`${rel}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}
