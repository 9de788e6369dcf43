/**
 * The zero-configuration client: identical API to client.ts, with the worker and both
 * wasm builds embedded (started from a Blob URL), so it works with esbuild, Rollup,
 * webpack or no bundler, with no plugin and no assets to copy. It is larger (the
 * wasm travels as JS); with Vite prefer `bucketlite/browser`.
 */
import { openDatabase as openWith, startWorker as startWith } from './client.js';
import type { BrowserDatabase, WorkerOpenOptions } from './client.js';
import { INLINE_WORKER_SOURCE } from './inline-worker-source.js';

export { BrowserDatabase, BrowserDatabaseError } from './client.js';
export type { WorkerOpenOptions, OpenResult, StatsResult } from './client.js';

export function createInlineWorker(): Worker {
  const url = URL.createObjectURL(new Blob([INLINE_WORKER_SOURCE], { type: 'text/javascript' }));
  return new Worker(url, { type: 'module', name: 'bucketlite' });
}

export async function openDatabase(url: string, options: WorkerOpenOptions & { worker?: Worker } = {}): Promise<BrowserDatabase> {
  const worker = options.worker ?? createInlineWorker();
  try {
    return await openWith(url, { ...options, worker });
  } catch (err) {
    if (!options.worker) worker.terminate(); // a failed open leaves no worker behind
    throw err;
  }
}

/** As client.ts's startWorker: an inline worker whose SQLite wasm is loaded. */
export function startWorker(worker: Worker = createInlineWorker()): Promise<Worker> {
  return startWith(worker);
}
