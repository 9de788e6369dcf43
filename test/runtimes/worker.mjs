/**
 * The corpus in a Cloudflare Worker (run by workerd): bucketlite/edge over fetch, the
 * Asyncify .wasm imported as a module (Workers cannot compile wasm from bytes).
 * GET /?bucket=<url> answers the same JSON line query.mjs prints, or 500 with the error.
 */
import { openDatabase } from 'bucketlite/edge';
// The .wasm that matches bucketlite/edge's loader, from bucketlite itself.
import wasmModule from 'bucketlite/edge/wa-sqlite-async.wasm';
import { runCorpus, runtimeVersion } from './corpus.mjs';

export default {
  async fetch(request) {
    const bucket = new URL(request.url).searchParams.get('bucket');
    if (!bucket) return new Response('GET /?bucket=<url>', { status: 400 });
    try {
      const db = await openDatabase(bucket, { wasmModule });
      try {
        const results = await runCorpus((sql, params) => db.query(sql, params));
        return Response.json({ runtime: `workerd (${runtimeVersion()})`, results });
      } finally {
        await db.close();
      }
    } catch (err) {
      return new Response(`workerd: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}`, { status: 500 });
    }
  },
};
