/**
 * The corpus in a Cloudflare Worker (run by workerd): bucketlite/edge over fetch, the
 * Asyncify .wasm imported as a module (Workers cannot compile wasm from bytes).
 * GET /?bucket=<url> answers the same JSON line query.mjs prints (plus `requests`, the
 * HTTP requests the corpus made), or 500 with the error. With &reuse the database is
 * opened once per isolate and kept for later requests, as a Worker would in production.
 */
import { openDatabase } from 'bucketlite/edge';
// The .wasm that matches bucketlite/edge's loader, from bucketlite itself.
import wasmModule from 'bucketlite/edge/wa-sqlite-async.wasm';
import { runCorpus, runtimeVersion } from './corpus.mjs';

let shared = null;

async function corpus(db) {
  let requests = 0;
  const results = await runCorpus(async (sql, params) => {
    const rows = await db.query(sql, params);
    requests += db.stats().lastQuery?.requests ?? 0;
    return rows;
  });
  return { runtime: `workerd (${runtimeVersion()})`, results, requests };
}

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const bucket = params.get('bucket');
    if (!bucket) return new Response('GET /?bucket=<url>[&reuse]', { status: 400 });
    try {
      if (params.has('reuse')) {
        shared ??= openDatabase(bucket, { wasmModule });
        return Response.json(await corpus(await shared));
      }
      const db = await openDatabase(bucket, { wasmModule });
      try {
        return Response.json(await corpus(db));
      } finally {
        await db.close();
      }
    } catch (err) {
      return new Response(`workerd: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}`, { status: 500 });
    }
  },
};
