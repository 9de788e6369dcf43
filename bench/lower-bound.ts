/**
 * The lower bound of a query's transfer: the distinct pages SQLite itself reads to open
 * the database and run the query once, times the page size. Measured, not estimated: a
 * child Node process runs the query with better-sqlite3 (a page cache larger than the
 * file, no mmap, so every page is read with one pread64 and never twice) under
 *   strace -f -s 0 -P <db> -e trace=pread64
 * and the byte ranges it read are turned into page numbers. Any reader that fetches
 * less than this over the network must have guessed pages it was never asked for.
 *   node dist/bench/lower-bound.js --child <db> <sql> <params JSON>   (the traced child)
 *
 * Also the round-trip bound RT* of a reader that fetches page by page: 1 (the HEAD request,
 * which opens) + the sum of the depths of the B-trees on the query's dependency chain
 * (BenchQuery.chain), each depth from SQLite's dbstat (levels, root = 1).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export interface LowerBound { pages: number; bytes: number }

/**
 * Depth of every B-tree of a database file (levels, root = 1), by name as in sqlite_master,
 * from dbstat: a page's path has one '/' per level ('/' root, '/000/' its first child, …;
 * overflow pages, '/000/003+000000', are not a level of the tree).
 */
export function treeDepths(dbFile: string): Map<string, number> {
  const db = new Database(dbFile, { readonly: true });
  try {
    const rows = db.prepare(`SELECT name, max(length(path) - length(replace(path, '/', ''))) AS depth
      FROM dbstat WHERE pagetype != 'overflow' GROUP BY name`).all() as { name: string; depth: number }[];
    return new Map(rows.map((r) => [r.name, r.depth]));
  } finally {
    db.close();
  }
}

/** RT* = 1 (HEAD) + the sum of the depths of the chain's B-trees (see the module comment). */
export function roundTripBound(depths: Map<string, number>, chain: readonly string[]): number {
  return 1 + chain.reduce((n, name) => {
    const d = depths.get(name);
    if (d === undefined) throw new Error(`no B-tree named ${name} in the database (dbstat knows ${[...depths.keys()].join(', ')})`);
    return n + d;
  }, 0);
}

const STRACE = '/usr/bin/strace';

/** Distinct pages covered by the pread64 calls on the traced file. */
export function pagesRead(trace: string, pageSize: number): Set<number> {
  const pages = new Set<number>();
  // e.g. `2253  pread64(18, ""..., 4096, 14491648) = 4096`
  for (const m of trace.matchAll(/pread64\(\d+, [^,]*, \d+, (\d+)\)\s+=\s+(\d+)/g)) {
    const offset = Number(m[1]);
    const got = Number(m[2]);
    for (let p = Math.floor(offset / pageSize); p * pageSize < offset + got; p++) pages.add(p);
  }
  return pages;
}

export function lowerBound(dbFile: string, sql: string, params: unknown[], pageSize: number): LowerBound {
  if (!existsSync(STRACE)) throw new Error('strace is missing: apt-get install strace');
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-lb-'));
  const out = path.join(dir, 'trace');
  try {
    const r = spawnSync(STRACE, ['-f', '-s', '0', '-P', dbFile, '-e', 'trace=pread64', '-o', out,
      process.execPath, fileURLToPath(import.meta.url), '--child', dbFile, sql, JSON.stringify(params)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lower bound of ${sql}: exit ${r.status}\n${r.stderr}`);
    const pages = pagesRead(readFileSync(out, 'utf8'), pageSize).size;
    return { pages, bytes: pages * pageSize };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function child(dbFile: string, sql: string, params: unknown[]): void {
  const db = new Database(dbFile, { readonly: true });
  db.pragma('cache_size = -1000000'); // 1 GB: no page is evicted and read again
  db.pragma('mmap_size = 0'); // reads go through pread64, where strace sees them
  db.prepare(sql).all(...params);
  db.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], JSON.parse(process.argv[5]));
}
