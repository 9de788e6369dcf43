/**
 * Build step (`npm run build`): `dist/search/`, the search box as static files a site
 * serves as they are, with no bundler: `search-element.js` (the <bucketlite-search>
 * element and everything it imports, one module), `worker.js` and its chunks (the
 * bucketlite worker with wa-sqlite's loaders), and the two wasm builds beside them,
 * where client.ts (new URL('./worker.js', import.meta.url)) and the worker look.
 *   <script type="module" src="/bucketlite/search-element.js"></script>
 *   <bucketlite-search bucket="/search/"></bucketlite-search>
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..', '..');
const out = path.join(root, 'dist', 'search');
const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, outdir: out, entryNames: '[name]', logLevel: 'warning' } as const;
rmSync(out, { recursive: true, force: true });
await build({ ...common, entryPoints: [path.join(root, 'worker', 'search-element.ts')] });
await build({ ...common, entryPoints: [path.join(root, 'worker', 'worker.ts')], splitting: true });
const waSqlite = path.dirname(createRequire(import.meta.url).resolve('#sqlite-wasm/wa-sqlite-jspi.mjs'));
mkdirSync(out, { recursive: true });
for (const w of ['wa-sqlite-jspi.wasm', 'wa-sqlite-async.wasm']) copyFileSync(path.join(waSqlite, w), path.join(out, w));
console.log(`search box: ${out}`);
