/**
 * The main job: build the demo site (Vite app + the WordNet FTS5 database published to
 * its bucket directory with the uploader), serve it, print the URL.
 *   npm run demo            (PORT=8080 by default; PORT=0 picks a free port)
 */
import path from 'node:path';
import { serveDirectory } from '../src/serve/server.js';
import { buildDemoSite, DEMO_ROOT } from './build.js';

const outDir = path.join(DEMO_ROOT, 'dist');
console.log('building the demo site and publishing the WordNet database …');
const r = await buildDemoSite(outDir);
console.log(r.unchanged ? `bucket holds version ${r.seq}` : `published version ${r.seq}: ${r.blocksTotal} blocks, ${r.objectsWritten} objects written`);
const port = Number(process.env.PORT ?? 8080);
const server = await serveDirectory(outDir, { port }).catch(() => serveDirectory(outDir, { port: 0 }));
console.log(`serving ${outDir}\n  ${server.url}\nOpen it in a browser and type in the search box. Ctrl-C to stop.`);
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
