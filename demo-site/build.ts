/**
 * Builds the demo site: the Vite app (worker and wasm included) into `outDir`, and the
 * WordNet FTS5 database published with the uploader into `outDir/bucket/`. The result
 * is plain static files: any static host can serve it (GitHub Pages style).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from 'vite';
import { LocalDirStore } from '../src/storage/local.js';
import { upload } from '../src/upload/upload.js';
import type { UploadResult } from '../src/upload/upload.js';
import { buildCorpus } from './corpus.js';

/** demo-site/ in the repository, whether this runs from source or from dist/. */
export const DEMO_ROOT = existsSync(path.join(import.meta.dirname, 'index.html'))
  ? import.meta.dirname
  : path.resolve(import.meta.dirname, '..', '..', 'demo-site');

export async function buildDemoSite(outDir: string, dbPath = path.join(DEMO_ROOT, 'wordnet.db')): Promise<UploadResult> {
  await build({
    root: DEMO_ROOT,
    base: './',
    logLevel: 'warn',
    configFile: false,
    build: { outDir, emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
    worker: { format: 'es' },
  });
  if (!existsSync(dbPath)) buildCorpus(dbPath, { bigMb: 0 });
  // A search database: a larger hot-page budget makes the FTS5 lookup tables (%_idx,
  // %_docsize for bm25) arrive with the first request instead of one round trip each.
  return upload(dbPath, new LocalDirStore(path.join(outDir, 'bucket')), { hotBudget: 2 * 1024 * 1024 });
}
