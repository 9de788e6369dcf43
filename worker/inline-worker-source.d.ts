/** Generated at build time by worker/build-inline.ts into dist/worker/inline-worker-source.js. */
export declare const INLINE_WORKER_SOURCE: string;
