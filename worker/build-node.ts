/**
 * Build step (`npm run build`): `dist/node/`, the Node entry points bundled (esbuild,
 * dependencies left external): `index.js` (`bucketlite`), `site.js` (`bucketlite/site`),
 * `bucketlite.js` (the CLI), and `extract-worker.js` and `fts-worker.js` (the site build's worker threads),
 * with the code they share in flat chunks beside them, so each class (BucketliteError…)
 * exists once whichever entry a program imports.
 *
 * Why: Node 20 resolves, reads and compiles each ES module file on its own; the ~75
 * files of `import('bucketlite')` cost ~110 ms over a bare start, the bundle ~45 ms.
 * The wasm loaders stay external (`#sqlite-wasm/*`): they load from src/sqlite/wasm/.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..', '..');
const out = path.join(root, 'dist', 'node');
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: {
    index: path.join(root, 'src', 'index.ts'),
    site: path.join(root, 'src', 'site', 'index.ts'),
    bucketlite: path.join(root, 'cli', 'bucketlite.ts'),
    // Flat beside the chunks: extract-pool.ts finds it at new URL('./extract-worker.js', import.meta.url).
    'extract-worker': path.join(root, 'src', 'site', 'extract-worker.ts'),
    // Likewise fts-build.ts: new URL('./fts-worker.js', import.meta.url).
    'fts-worker': path.join(root, 'src', 'site', 'fts-worker.ts'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  external: ['#sqlite-wasm/*'],
  sourcemap: false,
  logLevel: 'warning',
});
console.log(`node bundle: ${out}`);
