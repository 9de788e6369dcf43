/** Worker thread of extract-pool.ts: extracts the batches of pages it is sent. */
import { parentPort } from 'node:worker_threads';
import { extractBatch } from './extract-pool.js';
import type { BatchResult, BatchTask } from './extract-pool.js';

parentPort!.on('message', (task: BatchTask) => {
  let out: BatchResult;
  try {
    out = { batch: task.batch, ...extractBatch(task.siteDir, task.files, task.opts, task.rows) };
  } catch (err) {
    out = { batch: task.batch, pages: [], pagefindBody: false, error: (err as Error).message };
  }
  parentPort!.postMessage(out);
});
