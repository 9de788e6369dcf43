/**
 * Which virtual-table modules a database needs, against those the reader's SQLite has
 * (src/sqlite/wasm). A database that needs another (SpatiaLite's VirtualSpatialIndex, an
 * extension's own module) uploads fine and then fails in every reader with "no such
 * module", so upload warns before publishing it.
 */
import { readSchemaRecords } from './btree.js';
import type { PageReader } from './btree.js';

/**
 * The modules of src/sqlite/wasm's build: `pragma module_list`, plus json_each and
 * json_tree (built in, not listed). test/sqlite-modules.test.ts checks this against the wasm.
 */
export const READER_MODULES: ReadonlySet<string> = new Set([
  'dbstat', 'fts3', 'fts3tokenize', 'fts4', 'fts4aux', 'fts5', 'fts5vocab', 'generate_series', 'geopoly',
  'json_each', 'json_tree', 'pragma_module_list', 'rtree', 'rtree_i32',
]);

const USING = /^\s*CREATE\s+VIRTUAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|'(?:[^']|'')+'|[^\s(]+)\s+USING\s+("?)([\w$]+)\1/i;

/** The virtual tables of the schema and their modules ({ table, module }), from the CREATE statements. */
export async function virtualTables(read: PageReader, usable: number, pageCount: number): Promise<{ table: string; module: string }[]> {
  const { records } = await readSchemaRecords(read, usable, pageCount);
  const out: { table: string; module: string }[] = [];
  for (const [type, name, , , sql] of records) {
    if (type !== 'table' || typeof sql !== 'string' || typeof name !== 'string') continue;
    const m = USING.exec(sql);
    if (m) out.push({ table: name, module: m[2] });
  }
  return out;
}

/** One warning per module the reader lacks, naming the tables that use it. */
export function missingModuleWarnings(tables: { table: string; module: string }[]): string[] {
  const missing = new Map<string, string[]>();
  for (const t of tables) if (!READER_MODULES.has(t.module.toLowerCase())) missing.set(t.module, [...(missing.get(t.module) ?? []), t.table]);
  return [...missing].map(([module, names]) =>
    `the reader's SQLite has no module "${module}" (used by ${names.join(', ')}): queries touching ${names.length > 1 ? 'those tables' : 'that table'} will fail with "no such module: ${module}"`);
}
