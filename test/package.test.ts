/**
 * The packed package, installed as a user installs it: `npm pack` of the built repo,
 * `npm install <tarball>` into a fresh project, then what a user meets there: no native
 * build, a tarball of only what runs, an import that leaves the cloud SDKs unloaded,
 * types that compile under a strict consumer, and a query in every runtime (the same
 * runners as test/runtimes.test.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import type { RunningServer } from './servers.js';
import { RUNTIMES, RUNTIME_VERSION, copyRunners, run, runCorpusIn, serveCorpus } from './runtimes/harness.js';
import type { NormalRows } from './runtimes/corpus.mjs';

const REPO = path.resolve(import.meta.dirname, '..');
const dir = tempDir('bl-package-');
const app = path.join(dir, 'app');

interface PackResult { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string; size: number }[] }
let pack: PackResult;
let installMs: number;
let installLog: string;
let nginx: RunningServer;
let url: string;
let expected: Record<string, NormalRows>;

/** The environment of a user's shell: none of the npm_* variables npm/npx set for this run. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^INIT_CWD$|^NODE_OPTIONS$/i.test(k)));
}

async function npm(args: string[], cwd: string, timeoutMs = 240_000): Promise<string> {
  const r = await run('npm', args, cwd, userEnv(), timeoutMs);
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) exited ${r.code}: ${r.stderr.trim().slice(-3000)}`);
  return `${r.stdout}\n${r.stderr}`;
}

beforeAll(async () => {
  if (!existsSync(path.join(REPO, 'dist/src/index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  // dist/ as built: --ignore-scripts keeps `prepare` from rebuilding it under other tests.
  const out = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], REPO);
  pack = (JSON.parse(out.slice(out.indexOf('['), out.lastIndexOf(']') + 1)) as PackResult[])[0];
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  const started = performance.now();
  installLog = await npm(['install', path.join(dir, pack.filename), '--no-audit', '--no-fund', '--prefer-offline'], app);
  installMs = Math.round(performance.now() - started);
  console.log(`tarball: ${pack.filename}, ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.entryCount} files; install ${installMs} ms`);

  ({ nginx, url, expected } = await serveCorpus(dir));
}, 420_000); // an install that builds better-sqlite3 from source takes minutes (the failure the first test names)
afterAll(async () => { await nginx?.stop(); });

/** Every directory under `root` (symlinks not followed). */
function* walk(root: string): Generator<string> {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, e.name);
    yield p;
    if (e.isDirectory()) yield* walk(p);
  }
}

/** Installed packages (each node_modules/<name> or <scope>/<name> with a package.json). */
function installedPackages(): { dir: string; json: { name?: string; scripts?: Record<string, string>; gypfile?: boolean } }[] {
  return [...walk(path.join(app, 'node_modules'))]
    .filter((p) => path.basename(p) === 'package.json' && /node_modules[/\\](@[^/\\]+[/\\])?[^/\\@][^/\\]*[/\\]package\.json$/.test(p))
    .map((p) => ({ dir: path.dirname(p), json: JSON.parse(readFileSync(p, 'utf8')) }));
}

describe('the packed package, installed as a user installs it', () => {
  it('installs with no native build: no install script, no binding.gyp, no .node binary, no node-gyp build/ dir, no better-sqlite3', () => {
    const scripted = installedPackages()
      .filter(({ dir, json }) => ['preinstall', 'install', 'postinstall'].some((s) => json.scripts?.[s]) || existsSync(path.join(dir, 'binding.gyp')))
      .map(({ json }) => json.name);
    // Soft: one run reports every way the install went native, not only the first.
    expect.soft(scripted, 'packages that would run an install script or node-gyp').toEqual([]);
    // npm also lists bucketlite's own `prepare`, which never runs for a tarball or registry install.
    expect.soft(installLog.split('\n').filter((l) => /\((preinstall|install|postinstall):|gyp|prebuild/i.test(l)), 'npm install output naming install scripts').toEqual([]);
    const all = [...walk(path.join(app, 'node_modules'))];
    expect.soft(all.filter((p) => p.endsWith('.node')).map((p) => path.relative(app, p)), '.node binaries').toEqual([]);
    // node-gyp's output (build/config.gypi, build/Release); many pure-JS packages ship their JS in build/.
    const gypBuild = (p: string) => path.basename(p) === 'build' && statSync(p).isDirectory() && ['config.gypi', 'Release', 'Debug', 'Makefile'].some((f) => existsSync(path.join(p, f)));
    expect.soft(all.filter(gypBuild).map((p) => path.relative(app, p)), 'node-gyp build/ directories').toEqual([]);
    expect.soft(existsSync(path.join(app, 'node_modules', 'better-sqlite3')), 'better-sqlite3 installed').toBe(false);
  });

  it('checkpoint and site without better-sqlite3 (an optional peer): ERR_MISSING_DEPENDENCY naming the command and `npm install better-sqlite3`, no stack; query works', async () => {
    const cli = path.join(app, 'node_modules', '.bin', 'bucketlite');
    const db = path.join(dir, 'app.db');
    for (const [args, command] of [[['checkpoint', db, path.join(dir, 'cp-bucket')], 'checkpoint'], [['site', dir, path.join(dir, 'site-bucket')], 'site']] as const) {
      const r = await run(cli, [...args], app, userEnv(), 60_000);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^bucketlite: ERR_MISSING_DEPENDENCY: \`${command}\` needs better-sqlite3, an optional peer dependency of bucketlite: run \`npm install better-sqlite3\``, 'm'));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const q = await run(cli, ['query', url, 'SELECT count(*) AS n FROM sqlite_schema', '--json'], app, userEnv(), 60_000);
    expect(q.code, q.stderr).toBe(0);
    // bucketlite/site throws the root entry's BucketliteError (one class across entry points).
    writeFileSync(path.join(app, 'site-probe.mjs'), `import { BucketliteError, isCode, MemoryStore } from 'bucketlite';
import { buildSite } from 'bucketlite/site';
try { await buildSite('.', new MemoryStore()); console.log('built'); }
catch (e) { console.log(JSON.stringify({ same: e instanceof BucketliteError, missing: isCode(e, 'ERR_MISSING_DEPENDENCY') })); }`);
    const probe = await run(process.execPath, ['site-probe.mjs'], app, userEnv(), 60_000);
    expect(probe.code, probe.stderr).toBe(0);
    expect(JSON.parse(probe.stdout)).toEqual({ same: true, missing: true });
  });

  it('the tarball holds only what runs: no tests, benches, demo, CI, or .ts sources (only .d.ts)', () => {
    const files = pack.files.map((f) => f.path);
    expect(files).toContain('dist/src/index.js');
    expect(files.filter((f) => /^(dist\/)?(test|bench|demo-site|\.ci)\//.test(f)), 'test/bench/demo/CI files').toEqual([]);
    expect(files.filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f)), '.ts sources').toEqual([]);
    console.log(`tarball files: ${files.length}; largest: ${[...pack.files].sort((a, b) => b.size - a.size).slice(0, 5).map((f) => `${f.path} ${(f.size / 1024).toFixed(0)} KiB`).join(', ')}`);
  });

  it("import('bucketlite') loads no @aws-sdk/* or @google-cloud/* module", async () => {
    // ESM resolutions through a loader hook (its own thread: it appends to a file), CJS
    // loads from require.cache after the import.
    const log = path.join(dir, 'resolved.txt');
    writeFileSync(path.join(app, 'hook.mjs'), `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`);
    writeFileSync(path.join(app, 'register.mjs'), `import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n`);
    writeFileSync(path.join(app, 'probe.mjs'), `import { createRequire } from 'node:module';
await import('bucketlite');
process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`);
    const r = await run(process.execPath, ['--import', './register.mjs', 'probe.mjs'], app, userEnv(), 60_000);
    expect(r.code, r.stderr).toBe(0);
    const loaded = new Set([...readFileSync(log, 'utf8').split('\n').filter(Boolean), ...(JSON.parse(r.stdout) as string[])]);
    const sdk = [...loaded].filter((m) => /node_modules[/\\]@(aws-sdk|google-cloud)[/\\]/.test(m));
    console.log(`import('bucketlite'): ${loaded.size} modules, ${sdk.length} of them @aws-sdk/@google-cloud; ${await importMs()} ms (median of 10, less a bare node)`);
    expect(sdk.length, `SDK modules loaded: ${sdk.slice(0, 5).join(', ')}`).toBe(0);
    // The bundle (dist/node) keeps this at ~22; unbundled it was ~80, and on Node 20 each
    // ES module file costs about a millisecond to resolve and compile (docs/INSTALL.md).
    expect(loaded.size, 'modules loaded by the import').toBeLessThanOrEqual(30);
  });

  describe('types under a strict consumer (skipLibCheck: false)', () => {
    beforeAll(async () => {
      const ts = JSON.parse(readFileSync(path.join(REPO, 'node_modules/typescript/package.json'), 'utf8')).version;
      const types = JSON.parse(readFileSync(path.join(REPO, 'node_modules/@types/node/package.json'), 'utf8')).version;
      await npm(['install', '-D', `typescript@${ts}`, `@types/node@${types}`, '--no-audit', '--no-fund', '--prefer-offline'], app);
      // The three programs compile at once: each reads the whole dependency type graph.
      for (const [name, c] of Object.entries(CONSUMERS)) compiles[name] = compile(name, c.options, c.source);
      for (const p of Object.values(compiles)) p.catch(() => undefined);
    });

    it("(a) code importing 'bucketlite' compiles with @types/node", async () => {
      await expectCompiled('node');
    });

    it("(b) code importing 'bucketlite/browser' compiles with only lib ES2022 + DOM and no @types", async () => {
      await expectCompiled('browser');
    });

    it('(c) db.query<{ id: number; name: string }>(sql) gives rows of that type', async () => {
      await expectCompiled('rows');
    });
  });

  describe('a query through the installed package in every runtime', () => {
    beforeAll(() => copyRunners(app));
    for (const runtime of RUNTIMES) {
      it(`${runtime}: the corpus gives the oracle's rows`, async () => {
        const got = await runCorpusIn(runtime, app, url);
        expect(got.runtime).toMatch(RUNTIME_VERSION[runtime]);
        expect(got.results).toEqual(expected);
        console.log(`installed package, ${runtime} (${got.runtime}): corpus in ${got.ms} ms`);
      });
    }
  });
});

/** The consumers: what each compiles with, and its code. */
const CONSUMERS: Record<string, { options: Record<string, unknown>; source: string }> = {
  node: {
    options: { types: ['node'] },
    source: `import { openDatabase, BucketliteError } from 'bucketlite';
import type { Row, OpenOptions } from 'bucketlite';
const options: OpenOptions = { cacheBytes: 1 << 20, headTtlMs: 0 };
const db = await openDatabase('https://example.com/app/', options);
const rows: Row[] = await db.query('SELECT 1 AS one', []);
if (!(rows[0] instanceof Object)) throw new BucketliteError('ERR_USAGE', 'no row');
await db.close();
`,
  },
  browser: {
    options: { types: [], lib: ['ES2022', 'DOM'] },
    source: `import { openDatabase } from 'bucketlite/browser';
const db = await openDatabase('https://example.com/app/');
const rows = await db.query('SELECT 1 AS one', [], { signal: AbortSignal.timeout(1000) });
console.log(rows.length, db.lastQuery?.requests);
await db.close();
`,
  },
  rows: {
    options: { types: ['node'] },
    source: `import { openDatabase } from 'bucketlite';
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const db = await openDatabase('https://example.com/app/');
const rows = await db.query<{ id: number; name: string }>('SELECT id, name FROM users');
const exact: Equal<typeof rows, { id: number; name: string }[]> = true;
const id: number = rows[0].id;
// @ts-expect-error: a column the row type does not have
console.log(rows[0].email);
// @ts-expect-error: name is a string
const n: number = rows[0].name;
console.log(exact, id, n);
`,
  },
};

const compiles: Record<string, Promise<string>> = {};

/** Compiles `source` as the consumer's `name`.ts under a strict tsconfig; resolves to tsc's errors ('' when it compiles). */
async function compile(name: string, options: Record<string, unknown>, source: string): Promise<string> {
  writeFileSync(path.join(app, `${name}.ts`), source);
  writeFileSync(path.join(app, `tsconfig.${name}.json`), JSON.stringify({
    compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', ...options },
    files: [`${name}.ts`],
  }, null, 2));
  const started = performance.now();
  const r = await run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), '-p', `tsconfig.${name}.json`], app, userEnv(), 300_000);
  console.log(`tsc (${name}): ${Math.round(performance.now() - started)} ms, exit ${r.code}`);
  return r.code === 0 ? '' : `${r.stdout}${r.stderr}`.slice(0, 4000) || `exit ${r.code}`;
}

async function expectCompiled(name: string): Promise<void> {
  expect(await compiles[name], `tsc (${name}) failed`).toBe('');
}

/** Median of 10 `node -e "await import('bucketlite')"` less the median of 10 bare `node -e 0`, in ms. */
async function importMs(): Promise<number> {
  const median = async (args: string[]) => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const r = await run(process.execPath, args, app, userEnv(), 60_000);
      if (r.code !== 0) throw new Error(`node ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 1000)}`);
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[5];
  };
  return Math.round((await median(['--input-type=module', '-e', "await import('bucketlite')"])) - (await median(['-e', '0'])));
}
