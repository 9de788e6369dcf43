/**
 * better-sqlite3, loaded on first use. It is an optional peer dependency: only
 * `checkpoint` (live snapshots) and `site` (building a search index) write SQLite
 * locally, and a read-only install should compile nothing native (docs/INSTALL.md).
 * A missing or unbuilt addon becomes an error that names the command and the fix.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { BucketliteError } from '../errors.js';

export type SqliteDatabase = BetterSqlite3.Database;
type Constructor = typeof BetterSqlite3;

const require = createRequire(import.meta.url);
let loaded: Constructor | null = null;

/** The better-sqlite3 constructor; `feature` names what needs it ("checkpoint", "site"). */
export function betterSqlite(feature: string): Constructor {
  if (loaded) return loaded;
  try {
    loaded = require('better-sqlite3') as Constructor;
  } catch (cause) {
    throw missing(feature, cause);
  }
  return loaded;
}

/** Opens `path`, mapping a missing addon to ERR_MISSING_DEPENDENCY (other errors pass through). */
export function openSqlite(feature: string, path: string, options?: BetterSqlite3.Options): SqliteDatabase {
  const Database = betterSqlite(feature);
  try {
    return new Database(path, options);
  } catch (cause) {
    if (isUnbuilt(cause)) throw missing(feature, cause);
    throw cause;
  }
}

/** Fails now, before minutes of work, when better-sqlite3 is absent or unbuilt. */
export function checkSqlite(feature: string): void {
  openSqlite(feature, ':memory:').close();
}

function missing(feature: string, cause: unknown): BucketliteError {
  const absent = (cause as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /better-sqlite3/.test((cause as Error).message);
  const message = absent
    ? `\`${feature}\` needs better-sqlite3, an optional peer dependency of bucketlite: run \`npm install better-sqlite3\``
    : `\`${feature}\` needs better-sqlite3, which is installed but its native addon did not load (npm 11 builds it only when allowed: ` +
      `\`npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3\`): ${(cause as Error).message.split('\n')[0]}`;
  return new BucketliteError('ERR_MISSING_DEPENDENCY', message, { op: feature });
}

/** better-sqlite3 loads its addon lazily, so an unbuilt install fails at `new Database`. */
function isUnbuilt(cause: unknown): boolean {
  return /Could not locate the bindings file|NODE_MODULE_VERSION|invalid ELF header|cannot open shared object/i.test((cause as Error)?.message ?? '');
}
