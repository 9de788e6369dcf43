/**
 * The demo's worker: bucketlite's own worker (worker/worker-core's `serve`, exactly as
 * worker/worker.ts runs it) plus a request log for the waterfall. Resource Timing of a
 * worker's fetches is visible only inside the worker, and it carries no Range header,
 * so this entry wraps the worker's `fetch` (URL, method, Range, start, first byte, end,
 * bytes, status) and its Cache Storage reads of bucketlite's persistent block cache (a
 * block that never went to the network). Events go to the page on the BroadcastChannel
 * 'bucketlite-demo-log', tagged with the bucket URL the worker opened, so workers the
 * page did not start itself (<bucketlite-search worker="…">) report too. Times are
 * absolute (performance.timeOrigin + now), so the page can compare them with its own.
 */
import { serve } from '../../dist/worker/worker-core.js';

export interface LogEvent {
  /** The bucket URL this worker opened. */
  bucket: string;
  id: number;
  kind: 'network' | 'cache';
  url: string;
  method: string;
  range: string | null;
  start: number;
  /** Response headers arrived (network only). */
  firstByte?: number;
  end?: number;
  bytes?: number;
  status?: number;
  error?: string;
}

const scope = self as unknown as DedicatedWorkerGlobalScope;
const channel = new BroadcastChannel('bucketlite-demo-log');
let bucket = '';
let next = 0;
const now = () => performance.timeOrigin + performance.now();
function emit(e: Omit<LogEvent, 'bucket'>): void {
  channel.postMessage({ ...e, bucket });
}

const realFetch = scope.fetch.bind(scope);
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
scope.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const url = input instanceof Request ? input.url : String(input);
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const range = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get('range');
  const ev: Omit<LogEvent, 'bucket'> = { id: ++next, kind: 'network', url, method, range, start: now() };
  let res: Response;
  try {
    res = await realFetch(input, init);
  } catch (err) {
    emit({ ...ev, end: now(), bytes: 0, error: (err as Error)?.name === 'AbortError' ? 'aborted' : String((err as Error)?.message ?? err) });
    throw err;
  }
  ev.firstByte = now();
  ev.status = res.status;
  if (!res.body || NULL_BODY.has(res.status)) {
    emit({ ...ev, end: ev.firstByte, bytes: 0 });
    return res;
  }
  let bytes = 0;
  let ended = false;
  const finish = (error?: string) => {
    if (ended) return;
    ended = true;
    emit({ ...ev, end: now(), bytes, ...(error ? { error } : {}) });
  };
  const counted = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) { bytes += chunk.byteLength; c.enqueue(chunk); },
    flush() { finish(); },
  }));
  // A reader that stops early (bucketlite cuts an over-long body) cancels the stream.
  const reader = counted.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) { finish(); c.close(); } else c.enqueue(value);
      } catch (err) {
        finish('broken');
        c.error(err);
      }
    },
    cancel(reason) { finish('cancelled'); return reader.cancel(reason); },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
};

// bucketlite's persistent block cache (Cache Storage) reads a block with
// cache.match('https://bucketlite.invalid/blocks/<hash>'); its index load matches Requests.
if (typeof Cache !== 'undefined') {
  const match = Cache.prototype.match;
  Cache.prototype.match = async function (this: Cache, req: RequestInfo | URL, opts?: CacheQueryOptions) {
    if (typeof req !== 'string' || !req.startsWith('https://bucketlite.invalid/blocks/')) return match.call(this, req, opts);
    const ev: Omit<LogEvent, 'bucket'> = { id: ++next, kind: 'cache', url: req, method: 'GET', range: null, start: now() };
    const res = await match.call(this, req, opts);
    emit({ ...ev, end: now(), bytes: Number(res?.headers.get('content-length') ?? 0), status: res ? 200 : 404 });
    return res;
  };
}

serve(async (build) => {
  const factory = build === 'jspi'
    ? (await import('#sqlite-wasm/wa-sqlite-jspi.mjs')).default
    : (await import('#sqlite-wasm/wa-sqlite-async.mjs')).default;
  return factory();
});

// serve() set onmessage: note the bucket URL of 'open' before bucketlite handles it.
const protocol = scope.onmessage!;
scope.onmessage = (e: MessageEvent) => {
  if (e.data?.op === 'open') bucket = new URL(e.data.url, location.href).href;
  protocol.call(scope, e);
};
