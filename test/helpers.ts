import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';

/** A temporary directory removed after the test file finishes. */
export function tempDir(prefix = 'bucketlite-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface MakeDbOptions {
  pageSize?: number;
  rows?: number;
  payload?: number;
  journalMode?: 'delete' | 'wal';
}

/**
 * A database with a table, an index and text: rows of a deterministic pseudo-random
 * payload so blocks differ from each other.
 */
export function makeDb(file: string, o: MakeDbOptions = {}): void {
  const db = new Database(file);
  db.pragma(`page_size = ${o.pageSize ?? 4096}`);
  db.pragma(`journal_mode = ${o.journalMode ?? 'delete'}`);
  db.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, body TEXT); CREATE INDEX items_name ON items(name);');
  const ins = db.prepare('INSERT INTO items(name, body) VALUES (?, ?)');
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const rows = o.rows ?? 1000;
  const payload = o.payload ?? 200;
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      let body = '';
      while (body.length < payload) body += rand().toString(36);
      ins.run(`name-${rand() % 100000}`, body.slice(0, payload));
    }
  })();
  if ((o.journalMode ?? 'delete') === 'wal') db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

export function updateOneRow(file: string, id = 7): void {
  const db = new Database(file);
  db.prepare('UPDATE items SET body = ? WHERE id = ?').run(`changed at ${Date.now()}`, id);
  db.close();
}

export const CLI = path.resolve(import.meta.dirname, '../dist/cli/bucketlite.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    const p = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
