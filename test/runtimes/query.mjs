/**
 * The corpus through `import { openDatabase } from 'bucketlite'`, as an app would: run by
 * Node 20, Node 22, Bun and Deno from a project where bucketlite is installed.
 * Usage: <runtime> query.mjs <bucket-url>. Prints one JSON line; errors go to stderr
 * (message and code only) with exit code 1.
 */
import { openDatabase } from 'bucketlite';
import { runCorpus, runtimeVersion } from './corpus.mjs';

const url = process.argv[2];
try {
  if (!url) throw new Error('usage: query.mjs <bucket-url>');
  const db = await openDatabase(url);
  try {
    const results = await runCorpus((sql, params) => db.query(sql, params));
    process.stdout.write(`${JSON.stringify({ runtime: runtimeVersion(), results })}\n`);
  } finally {
    await db.close();
  }
} catch (err) {
  process.stderr.write(`${runtimeVersion()}: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}\n`);
  process.exitCode = 1;
}
