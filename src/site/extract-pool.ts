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
import { preparePages } from './rows.js';
import type { Prepared } from './rows.js';

export interface BatchTask { batch: number; siteDir: string; files: string[]; opts: ExtractOptions; rows: boolean }
export interface BatchResult extends Extraction { batch: number; error?: string }

/**
 * Every file's page (null: not indexed) as rows.ts prepares it (with its rows when
 * asked: `rows`), and whether any file has data-pagefind-body.
 */
export interface Extraction { pages: (Prepared | null)[]; pagefindBody: boolean }

/** Files per message: large enough that messages cost little, small enough to balance. */
const BATCH = 32;
/** Batches sent to a worker ahead of its results. */
const QUEUED = 2;
/** Threads at most (each holds one parsed page at a time: tens of MiB on rustdoc's largest). */
const MAX_THREADS = 8;

/**
 * Each file is read once: the pass that extracts it also notes whether it has
 * data-pagefind-body (extracting under the other rule is then the caller's second pass,
 * which only a site using that attribute pays).
 */
export async function extractAll(siteDir: string, files: string[], opts: ExtractOptions, rows = false): Promise<Extraction> {
  const script = new URL('./extract-worker.js', import.meta.url);
  const threads = Math.min(MAX_THREADS, os.availableParallelism(), Math.ceil(files.length / BATCH));
  if (threads < 2 || !existsSync(fileURLToPath(script))) {
    try {
      return extractBatch(siteDir, files, opts, rows);
    } catch (err) {
      throw new BucketliteError('ERR_IO', `site: ${(err as Error).message}`, { op: 'site', cause: err });
    }
  }
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
  const results: BatchResult[] = new Array(batches.length);
  let next = 0;
  // Each worker holds QUEUED batches, so it starts the next while this thread takes in the last.
  const run = (worker: Worker) => new Promise<void>((resolve, reject) => {
    let held = 0;
    const send = () => {
      if (next >= batches.length) return held === 0 && resolve();
      const batch = next++;
      held++;
      worker.postMessage({ batch, siteDir, files: batches[batch], opts, rows } satisfies BatchTask);
    };
    worker.on('message', (r: BatchResult) => {
      if (r.error) return reject(new BucketliteError('ERR_IO', `site: ${r.error}`, { op: 'site' }));
      results[r.batch] = r;
      held--;
      send();
    });
    worker.on('error', reject);
    for (let i = 0; i < QUEUED; i++) send();
  });
  const workers = Array.from({ length: threads }, () => new Worker(script));
  try {
    await Promise.all(workers.map(run));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { pages: results.flatMap((r) => r.pages), pagefindBody: results.some((r) => r.pagefindBody) };
}

/** Pages of `files` (paths relative to the site root), and whether any has data-pagefind-body; an error names the file. */
export function extractBatch(siteDir: string, files: string[], opts: ExtractOptions, rows: boolean): Extraction {
  const pages: (SitePage | null)[] = [];
  let pagefindBody = false;
  for (const rel of files) {
    try {
      const html = readFileSync(path.join(siteDir, rel), 'utf8');
      pagefindBody ||= !opts.pagefindBody && hasPagefindBody(html);
      pages.push(extractPage(html, urlOf(rel), opts));
    } catch (err) {
      throw new Error(`${rel}: ${(err as Error).message}`, { cause: err });
    }
  }
  return { pages: preparePages(pages, rows), pagefindBody };
}
