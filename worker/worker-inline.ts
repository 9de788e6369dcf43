/**
 * The self-contained worker: both wasm builds embedded (imported as bytes; built by
 * `npm run build` with esbuild into dist/worker/inline-worker-source.js), so the
 * client in client-inline.ts works with any bundler, or none, with no configuration.
 */
import jspiWasm from '#sqlite-wasm/wa-sqlite-jspi.wasm';
import asyncWasm from '#sqlite-wasm/wa-sqlite-async.wasm';
import jspiFactory from '#sqlite-wasm/wa-sqlite-jspi.mjs';
import asyncFactory from '#sqlite-wasm/wa-sqlite-async.mjs';
import { serve } from './worker-core.js';

// locateFile keeps the loader from resolving a .wasm URL against import.meta.url,
// which is a blob: URL here (and the bytes are given anyway).
const locateFile = (file: string) => file;
serve((build) => (build === 'jspi' ? jspiFactory({ wasmBinary: jspiWasm, locateFile }) : asyncFactory({ wasmBinary: asyncWasm, locateFile })));
