/**
 * A live database for checkpoint tests: tagged rows (two databases never share a
 * block), a writer process that keeps its connection open (WAL) and changes rows when
 * told to, and a row-for-row comparison of a published version with the live file.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import Database from 'better-sqlite3';
import { runCli } from './helpers.js';

const require = createRequire(import.meta.url);

/** A database of `rows` rows whose text starts with `tag`, so two databases never share a block. */
export function makeTagged(file: string, tag: string, rows: number, journal: 'wal' | 'delete'): void {
  const db = new Database(file);
  db.pragma('page_size = 4096');
  db.pragma(`journal_mode = ${journal}`);
  db.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, body TEXT); CREATE INDEX items_name ON items(name)');
  const ins = db.prepare('INSERT INTO items(name, body) VALUES (?, ?)');
  db.transaction(() => { for (let i = 1; i <= rows; i++) ins.run(`${tag}-${i}`, `${tag} body ${i} `.repeat(8)); })();
  db.close();
}

export type Writer = ChildProcess & { cmd(line: string): Promise<void> };

/** A writer that keeps one connection open and changes rows when told to (stdin: "update <n> <tag>"). */
export function startWriter(db: string): Writer {
  const child = spawn(process.execPath, ['-e', `
    const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new D(${JSON.stringify(db)});
    db.pragma('journal_mode = WAL');
    const upd = db.prepare('UPDATE items SET body = ? WHERE id = ?');
    require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
      const [, n, tag] = line.split(' ');
      db.transaction(() => { for (let i = 0; i < Number(n); i++) upd.run(tag + ' ' + i, 1 + i); })();
      process.stdout.write('ok\\n');
    });
  `], { stdio: ['pipe', 'pipe', 'inherit'] }) as Writer;
  child.cmd = (cmd) => new Promise<void>((resolve) => { child.stdout!.once('data', () => resolve()); child.stdin!.write(`${cmd}\n`); });
  return child;
}

export function tableRows(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try { return db.prepare('SELECT * FROM items ORDER BY id').all(); } finally { db.close(); }
}

/** Rows of the published version that differ from the live database (vitest's diff of 40k rows would take minutes). */
export async function differences(target: string, out: string, live: string): Promise<{ rows: number; differ: number; first: string[] }> {
  const r = await runCli(['restore', target, out]);
  expect(r.code, r.stderr).toBe(0);
  const got = tableRows(out).map((x) => JSON.stringify(x));
  const want = tableRows(live).map((x) => JSON.stringify(x));
  const bad = want.map((w, i) => (w === got[i] ? '' : `${w} != ${got[i]}`)).filter(Boolean);
  if (got.length !== want.length) bad.push(`${got.length} rows published, ${want.length} live`);
  return { rows: got.length, differ: bad.length, first: bad.slice(0, 3) };
}

