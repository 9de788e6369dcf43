/** Worker thread of extract-pool.ts: extracts the batches of pages it is sent. */
import { parentPort } from 'node:worker_threads';
import { extractFile } from './extract-pool.js';
import type { BatchResult, BatchTask } from './extract-pool.js';

parentPort!.on('message', (task: BatchTask) => {
  const out: BatchResult = { batch: task.batch, pages: [] };
  try {
    for (const rel of task.files) out.pages.push(extractFile(task.siteDir, rel, task.opts));
  } catch (err) {
    out.error = (err as Error).message;
  }
  parentPort!.postMessage(out);
});
