/**
 * One runner per runtime for the cross-runtime tests (test/runtimes.test.ts against the
 * repo's build, test/package.test.ts against the packed package installed as a user
 * would): the corpus database, its oracle (better-sqlite3 on the file), an app directory
 * that imports bucketlite, and a way to run the corpus there in Node 20, Node 22, Bun,
 * Deno or workerd. Runtimes come from test/runtimes/node_modules (npm platform packages,
 * `npm install --prefix test/runtimes`); a missing one is an error that says so.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import type { Plugin } from 'esbuild';
import { QUERIES, normalizeRows } from './corpus.mjs';
import type { NormalRows } from './corpus.mjs';
import { freePort, startNginx } from '../servers.js';
import type { RunningServer } from '../servers.js';
import { LocalDirStore } from '../../src/storage/local.js';
import { upload } from '../../src/upload/upload.js';

export const RUNTIMES_DIR = import.meta.dirname;
const REPO = path.resolve(RUNTIMES_DIR, '../..');

export const RUNTIMES = ['node20', 'node22', 'bun', 'deno', 'workerd'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** What each runtime must say it is (corpus.mjs runtimeVersion()). */
export const RUNTIME_VERSION: Record<Runtime, RegExp> = {
  node20: /^node 20\./,
  node22: /^node 22\./,
  bun: /^bun 1\.4\./,
  deno: /^deno 2\.9\./,
  workerd: /^workerd \(Cloudflare-Workers\)$/,
};

/** Binaries inside test/runtimes/node_modules (see test/runtimes/package.json). */
const BINARIES: Record<Exclude<Runtime, 'node20'>, string> = {
  node22: 'node22/bin/node',
  bun: '@oven/bun-linux-x64/bin/bun',
  deno: '@deno/linux-x64-glibc/deno',
  workerd: '@cloudflare/workerd-linux-64/bin/workerd',
};

/** The binary of `runtime`; throws saying how to install it when it is missing. */
export function runtimeBinary(runtime: Runtime): string {
  if (runtime === 'node20') {
    if (!process.versions.node.startsWith('20.')) throw new Error(`node20: the tests run on Node ${process.versions.node}, not Node 20 (is a node binary shadowing it in PATH?)`);
    return process.execPath;
  }
  const bin = path.join(RUNTIMES_DIR, 'node_modules', BINARIES[runtime]);
  if (!existsSync(bin)) throw new Error(`${runtime}: ${bin} is missing: run \`npm install --prefix test/runtimes\` (.ci/setup does; linux-x64 only)`);
  return bin;
}

/**
 * The corpus database: users and orders with an index, text in several scripts, NULLs,
 * blobs (empty, with zero bytes), integers past 2^53, over enough pages that queries
 * make Range requests.
 */
export function makeCorpusDb(file: string): void {
  const db = new Database(file);
  try {
    db.exec(`
      CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, avatar BLOB, score REAL, big INTEGER);
      CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), amount_cents INTEGER NOT NULL, note TEXT, placed_at TEXT NOT NULL);
      CREATE INDEX orders_user ON orders(user_id);`);
    const user = db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)');
    const order = db.prepare('INSERT INTO orders(user_id, amount_cents, note, placed_at) VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      user.run(1, 'Zoë 日本語 🦀', null, Buffer.from([0, 0, 1, 255, 0]), 0.1, 2n ** 53n + 1n);
      user.run(2, '', 'empty@example.com', Buffer.alloc(0), -2.5, -(2n ** 63n));
      user.run(3, 'NULL', null, null, null, 2n ** 63n - 1n);
      let seed = 7;
      const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
      for (let id = 4; id <= 600; id++) {
        const avatar = id % 5 === 0 ? null : Buffer.from(Array.from({ length: 16 + rand(200) }, () => rand(256)));
        user.run(id, `user ${id} ${'ßéø'.slice(0, id % 4)}`, id % 3 ? `u${id}@example.com` : null, avatar, rand(100000) / 100, rand(1000));
      }
      for (let i = 0; i < 6000; i++) {
        const day = String(1 + rand(28)).padStart(2, '0');
        order.run(1 + rand(600), 100 + rand(20000), rand(4) ? `note ${'x'.repeat(rand(80))}` : null, `2025-${String(1 + rand(12)).padStart(2, '0')}-${day}`);
      }
    })();
  } finally {
    db.close();
  }
}

/** The corpus as better-sqlite3 answers it on the database file: what every runtime must return. */
export function oracle(file: string): Record<string, NormalRows> {
  const db = new Database(file, { readonly: true });
  try {
    const out: Record<string, NormalRows> = {};
    for (const q of QUERIES) {
      const stmt = db.prepare(q.sql).safeIntegers(true);
      const rows = Array.isArray(q.params)
        ? stmt.all(...q.params.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v)))
        : q.params
          // better-sqlite3 names parameters without their prefix character
          ? stmt.all(Object.fromEntries(Object.entries(q.params).map(([k, v]) => [k.slice(1), v])))
          : stmt.all();
      out[q.name] = normalizeRows(rows as Record<string, unknown>[]);
    }
    return out;
  } finally {
    db.close();
  }
}

const RUNNERS = ['corpus.mjs', 'query.mjs', 'worker.mjs'];

/** Copies the runner scripts into an app directory, where `import 'bucketlite'` resolves as the app's. */
/** The corpus database published to `<dir>/www/app/` and served by nginx, with the oracle's rows. */
export async function serveCorpus(dir: string): Promise<{ nginx: RunningServer; url: string; expected: Record<string, NormalRows>; db: string }> {
  const db = path.join(dir, 'app.db');
  makeCorpusDb(db);
  await upload(db, new LocalDirStore(path.join(dir, 'www', 'app')));
  const expected = oracle(db);
  const nginx = await startNginx(path.join(dir, 'www'));
  return { nginx, url: `${nginx.url}app/`, expected, db };
}

export function copyRunners(appDir: string): void {
  for (const f of RUNNERS) copyFileSync(path.join(RUNTIMES_DIR, f), path.join(appDir, f));
}

/**
 * An app directory whose bucketlite is this repository (its dist/), linked the way
 * `npm install <dir>` links a local package.
 */
export function linkedApp(appDir: string): string {
  mkdirSync(path.join(appDir, 'node_modules'), { recursive: true });
  writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'runtimes-app', private: true, type: 'module', dependencies: { bucketlite: `file:${REPO}` } }, null, 2));
  symlinkSync(REPO, path.join(appDir, 'node_modules', 'bucketlite'), 'dir');
  copyRunners(appDir);
  return appDir;
}

export interface RuntimeResult {
  runtime: string;
  results: Record<string, NormalRows>;
  /** Wall time of the run: process start (or bundling) to the answer. */
  ms: number;
}

/** Runs the corpus in `runtime` from `appDir` against the bucket at `url`. */
export async function runCorpusIn(runtime: Runtime, appDir: string, url: string): Promise<RuntimeResult> {
  const started = performance.now();
  const bin = runtimeBinary(runtime);
  const out = runtime === 'workerd' ? (await runInWorkerd(bin, appDir, [`?bucket=${encodeURIComponent(url)}`]))[0] : await runScript(runtime, bin, appDir, url);
  let parsed: Omit<RuntimeResult, 'ms'>;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`${runtime}: the runner printed no JSON: ${out.slice(0, 500)}`);
  }
  return { ...parsed, ms: Math.round(performance.now() - started) };
}

function runtimeArgs(runtime: Runtime, url: string): string[] {
  if (runtime !== 'deno') return ['query.mjs', url];
  // Deno reads node_modules as npm laid it out (package.json present: no npm: download).
  return ['run', '--quiet', '--no-prompt', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', 'query.mjs', url];
}

async function runScript(runtime: Runtime, bin: string, appDir: string, url: string): Promise<string> {
  const denoDir = runtime === 'deno' ? mkdtempSync(path.join(tmpdir(), 'bl-deno-')) : undefined;
  try {
    const env = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...(denoDir ? { DENO_DIR: denoDir } : {}) };
    const { code, stdout, stderr } = await run(bin, runtimeArgs(runtime, url), appDir, env, 120_000);
    if (code !== 0) throw new Error(`${runtime}: the corpus run exited ${code}: ${stderr.trim().slice(0, 2000)}`);
    return stdout;
  } finally {
    if (denoDir) rmSync(denoDir, { recursive: true, force: true });
  }
}

interface Ran { code: number | string | null; stdout: string; stderr: string }

export function run(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (err) => reject(new Error(`${path.basename(bin)} ${args.join(' ')}: ${err.message}`)));
    p.on('close', (code, signal) => resolve({ code: code ?? signal, stdout, stderr }));
  });
}

/**
 * esbuild: a `.wasm` import becomes a module of its own next to the bundle (workerd's
 * `wasm` module type gives the importer a compiled WebAssembly.Module).
 */
function wasmAsModule(outDir: string, copied: string[]): Plugin {
  return {
    name: 'wasm-as-module',
    setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, async (args) => {
        if (args.pluginData === 'resolving') return undefined;
        const r = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: 'resolving' });
        if (r.errors.length) return { errors: r.errors };
        const name = path.basename(r.path);
        copyFileSync(r.path, path.join(outDir, name));
        copied.push(name);
        return { path: `./${name}`, external: true };
      });
    },
  };
}

/** Bundles appDir/worker.mjs for workerd into `outDir`; returns the wasm modules it imports. */
export async function bundleWorker(appDir: string, outDir: string): Promise<string[]> {
  const wasm: string[] = [];
  await build({
    entryPoints: [path.join(appDir, 'worker.mjs')],
    outfile: path.join(outDir, 'worker.js'),
    absWorkingDir: appDir,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    // Emscripten's loader names Node builtins on a Node-only path it never takes here.
    external: ['node:*', 'module', 'fs', 'path', 'url', 'crypto', 'worker_threads'],
    logLevel: 'silent',
    plugins: [wasmAsModule(outDir, wasm)],
  });
  return wasm;
}

/** workerd's config: the Worker on 127.0.0.1:port, allowed to fetch loopback addresses. */
function workerdConfig(port: number, wasm: string[]): string {
  const modules = [`(name = "worker.js", esModule = embed "worker.js")`, ...wasm.map((w) => `(name = "${w}", wasm = embed "${w}")`)];
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The default outbound reaches public addresses only; the bucket is on 127.0.0.1.
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [${modules.join(', ')}],
  compatibilityDate = "2026-06-01",
  globalOutbound = "net",
);
`;
}

/**
 * The corpus `times` times in one workerd isolate that keeps its database open across
 * requests (worker.mjs `&reuse`); the Worker's answers, parsed.
 */
export async function runReusedInWorkerd(appDir: string, url: string, times: number): Promise<(Omit<RuntimeResult, 'ms'> & { requests: number })[]> {
  const queries = Array.from({ length: times }, () => `?bucket=${encodeURIComponent(url)}&reuse`);
  return (await runInWorkerd(runtimeBinary('workerd'), appDir, queries)).map((body) => JSON.parse(body));
}

/** Bundles the Worker, serves it with workerd on a random port, sends it `queries` one after another. */
async function runInWorkerd(bin: string, appDir: string, queries: string[]): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-workerd-'));
  try {
    const wasm = await bundleWorker(appDir, dir).catch((err) => {
      throw new Error(`workerd: bundling ${appDir}/worker.mjs failed: ${err.message}`);
    });
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      writeFileSync(path.join(dir, 'config.capnp'), workerdConfig(port, wasm));
      const server = startWorkerd(bin, dir);
      try {
        await server.listening(port);
      } catch (err) {
        await server.stop();
        if (attempt < 3 && /Address already in use/i.test(server.stderr())) continue;
        throw new Error(`workerd: ${(err as Error).message}: ${server.stderr().trim().slice(0, 2000)}`);
      }
      try {
        const bodies: string[] = [];
        for (const q of queries) {
          const res = await fetch(`http://127.0.0.1:${port}/${q}`, { signal: AbortSignal.timeout(120_000) });
          const body = await res.text();
          if (!res.ok) throw new Error(`workerd: the Worker answered ${res.status}: ${body.slice(0, 2000)} ${server.stderr().trim().slice(0, 2000)}`);
          bodies.push(body);
        }
        return bodies;
      } finally {
        await server.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function startWorkerd(bin: string, dir: string) {
  const child = spawn(bin, ['serve', 'config.capnp'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    stderr: () => stderr,
    async listening(port: number): Promise<void> {
      for (let i = 0; i < 400; i++) {
        if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}) before listening`);
        const ok = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) }).then(() => true, () => false);
        if (ok) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`workerd did not listen on ${port} in 20 s`);
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
