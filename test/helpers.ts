import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { upload } from '../src/upload/upload.js';
import type { UploadResult } from '../src/upload/upload.js';
import type { BucketStore } from '../src/storage/types.js';

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

/** The CLI as it ships (package.json bin): the bundle. */
export const CLI = path.resolve(import.meta.dirname, '../dist/node/bucketlite.js');

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

/**
 * Two uploads to one target, each through its own store instance (as two processes
 * would be), held at their HEAD writes until both are ready to commit: a true race.
 */
export async function raceUploads(dbs: string[], makeStore: () => BucketStore): Promise<PromiseSettledResult<UploadResult>[]> {
  const stores = dbs.map(() => makeStore());
  let arrived = 0;
  let release!: () => void;
  const barrier = new Promise<void>((r) => (release = r));
  for (const s of stores) {
    const put = s.put.bind(s);
    s.put = async (key, body, opts) => {
      if (key === 'HEAD') {
        if (++arrived === dbs.length) release();
        await barrier;
      }
      return put(key, body, opts);
    };
  }
  return Promise.allSettled(dbs.map((f, i) => upload(f, stores[i])));
}
