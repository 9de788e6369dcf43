/**
 * The bucketlite Web Worker (a module worker) for bundlers that follow
 * new URL(…, import.meta.url): wa-sqlite's loaders reference their .wasm that way,
 * and Vite emits them as assets. JSPI build where WebAssembly.Suspending exists,
 * Asyncify elsewhere; only the build in use is loaded.
 */
import { serve } from './worker-core.js';

serve(async (build) => {
  const factory = build === 'jspi'
    ? (await import('#sqlite-wasm/wa-sqlite-jspi.mjs')).default
    : (await import('#sqlite-wasm/wa-sqlite-async.mjs')).default;
  return factory();
});
