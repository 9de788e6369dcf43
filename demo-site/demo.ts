/**
 * The main job: build the demo site (Vite app; WordNet tables for the SQL console; site
 * search indexes of the Rust book and of WordNet, published to bucket directories with
 * the uploader), serve it, print the URL.
 *   npm run demo            (PORT=8080 by default; PORT=0 picks a free port)
 */
import path from 'node:path';
import { serveDirectory } from '../src/serve/server.js';
import { buildDemoSite, DEMO_ROOT } from './build.js';

const outDir = path.join(DEMO_ROOT, 'dist');
try {
  console.log('building the demo site …');
  const r = await buildDemoSite(outDir, undefined, { log: (line) => console.log(line) });
  const t = r.tables;
  console.log(`WordNet tables: ${t.unchanged ? `bucket holds version ${t.seq}` : `published version ${t.seq}: ${t.blocksTotal} blocks, ${t.objectsWritten} objects written`}`);
  console.log(`search indexes: WordNet ${r.wordnet.pages} pages${r.book ? `, the Rust book ${r.book.pages} pages` : ' (the Rust book: not available)'}`);
  const port = Number(process.env.PORT ?? 8080);
  const server = await serveDirectory(outDir, { port }).catch(() => serveDirectory(outDir, { port: 0 }));
  console.log(`serving ${outDir}\n  ${server.url}\nOpen it in a browser and type in the search box. Ctrl-C to stop.`);
  process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
} catch (err) {
  console.error(`demo: ${(err as Error)?.message ?? err}`);
  process.exit(1);
}
