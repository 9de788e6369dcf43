/**
 * Loads the Asyncify build of bucketlite's SQLite (src/sqlite/wasm/) in Node (Node 20
 * has no JSPI). Emscripten would
 * fetch() its .wasm from a file: URL, which Node's fetch cannot do, so the binary is
 * read here and handed over as `wasmBinary`; it is read once and compiled once.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import SQLiteAsyncFactory from '#sqlite-wasm/wa-sqlite-async.mjs';

const require = createRequire(import.meta.url);
let wasm: Promise<WebAssembly.Module> | null = null;

/** A fresh module instance (one per connection: an Asyncify instance is not re-entrant). */
export async function loadSqliteModule(): Promise<unknown> {
  wasm ??= WebAssembly.compile(readFileSync(require.resolve('#sqlite-wasm/wa-sqlite-async.wasm')));
  const compiled = await wasm;
  return SQLiteAsyncFactory({
    instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      void WebAssembly.instantiate(compiled, imports).then((instance) => done(instance, compiled));
      return {};
    },
  });
}
