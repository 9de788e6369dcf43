/**
 * A bucket in a local directory: the embedded default, and what any static host
 * (nginx, GitHub Pages, a CDN origin) serves as is.
 *
 * Every write goes to a temporary file under `.tmp/`, is fsynced, then appears under
 * its key atomically: `link()` for create-only (fails if the key exists, so two writers
 * cannot both create it) and `rename()` otherwise; the directory is fsynced after.
 * A replace-if-unchanged (`ifMatch`) compares the ETag and renames while holding a
 * lock directory (proper-lockfile: atomic mkdir, stale-lock recovery), so two
 * processes cannot both win a HEAD swap.
 *
 * ETag = inode, size and nanosecond mtime of the file: every write makes a new inode
 * (temp file + rename), so an unchanged ETag means an unchanged object.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BucketliteError } from '../errors.js';
import type { BucketStore, GetOptions, GetResult, ObjectInfo, PutOptions } from './types.js';
import { isSafeKey } from './types.js';

const TMP_DIR = '.tmp';
const LOCK_DIR = '.lock';

function etagOf(st: { ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}`;
}

/** What an errno means to someone publishing into a directory. */
const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a path component is a file, not a directory',
};

/**
 * A missing object on a read is ERR_NOT_FOUND; on a write, ENOENT means a directory
 * could not be made (a read-only mount reports it so), which is an I/O failure at `file`.
 */
function ioError(op: string, key: string, cause: unknown, file?: string): BucketliteError {
  const code = (cause as NodeJS.ErrnoException)?.code ?? '';
  const write = op === 'put' || op === 'delete';
  if (code === 'ENOENT' && !write) return new BucketliteError('ERR_NOT_FOUND', `${key} does not exist`, { op, key });
  const why = ERRNO_TEXT[code] ?? (code === 'ENOENT' ? 'its directory does not exist and could not be created' : (cause as Error)?.message ?? String(cause));
  return new BucketliteError('ERR_IO', `${op} ${key} failed: ${why}`, { op, key, path: file, cause });
}

/**
 * Node's recursive mkdir reports ENOENT where the real cause is EROFS or EACCES on an
 * ancestor: retry the first missing directory alone to learn the real errno.
 */
async function mkdirCause(dir: string, err: unknown): Promise<unknown> {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
  let missing = dir;
  while (path.dirname(missing) !== missing && !(await fs.stat(path.dirname(missing)).then(() => true, () => false))) missing = path.dirname(missing);
  return fs.mkdir(missing).then(() => err, (real: unknown) => real);
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, fsc.O_RDONLY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export class LocalDirStore implements BucketStore {
  readonly name: string;
  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.name = `file://${this.root}`;
  }

  private pathOf(key: string, op: string): string {
    if (!isSafeKey(key)) throw new BucketliteError('ERR_BAD_KEY', `refusing key ${JSON.stringify(key)}`, { op });
    return path.join(this.root, ...key.split('/'));
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const file = this.pathOf(key, 'get');
    let h: fs.FileHandle;
    try {
      h = await fs.open(file, 'r');
    } catch (err) {
      throw ioError('get', key, err);
    }
    try {
      const st = await h.stat({ bigint: true });
      const size = Number(st.size);
      if (opts.ifNoneMatch !== undefined && opts.ifNoneMatch === etagOf(st)) {
        return { body: new Uint8Array(0), etag: opts.ifNoneMatch, size, notModified: true };
      }
      const { offset, length } = opts.range ?? { offset: 0, length: size };
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new BucketliteError('ERR_RANGE', `range is outside the ${size}-byte object`, { op: 'get', key, range: { offset, length } });
      }
      const body = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await h.read(body, done, length - done, offset + done);
        if (bytesRead === 0) throw new BucketliteError('ERR_IO', 'object shrank while being read', { op: 'get', key, range: { offset, length } });
        done += bytesRead;
      }
      return { body, etag: etagOf(st), size };
    } catch (err) {
      throw err instanceof BucketliteError ? err : ioError('get', key, err);
    } finally {
      await h.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.pathOf(key, 'head');
    try {
      const st = await fs.stat(file, { bigint: true });
      if (!st.isFile()) return null;
      return { key, size: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError('head', key, err);
    }
  }

  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    const file = this.pathOf(key, 'put');
    const tmpDir = path.join(this.root, TMP_DIR);
    const tmp = path.join(tmpDir, `${key.replace(/\//g, '_')}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(tmpDir, { recursive: true });
      await fs.mkdir(path.dirname(file), { recursive: true });
      const h = await fs.open(tmp, 'wx');
      try {
        await h.writeFile(body);
        await h.sync();
      } finally {
        await h.close();
      }
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw ioError('put', key, await mkdirCause(tmpDir, err), this.root);
    }
    try {
      if (opts.ifNoneMatch === '*') {
        try {
          await fs.link(tmp, file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new BucketliteError('ERR_PRECONDITION_FAILED', `${key} already exists`, { op: 'put', key, status: 412 });
          }
          throw err;
        }
      } else if (opts.ifMatch !== undefined) {
        await this.withLock(key, async () => {
          const cur = await this.head(key);
          if (!cur || cur.etag !== opts.ifMatch) {
            throw new BucketliteError('ERR_PRECONDITION_FAILED', `${key} changed since it was read`, { op: 'put', key, status: 412 });
          }
          await fs.rename(tmp, file);
        });
      } else {
        await fs.rename(tmp, file);
      }
      await fsyncDir(path.dirname(file));
      const st = await fs.stat(file, { bigint: true });
      return { etag: etagOf(st) };
    } catch (err) {
      throw err instanceof BucketliteError ? err : ioError('put', key, err, file);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lockDir = path.join(this.root, LOCK_DIR);
    await fs.mkdir(lockDir, { recursive: true });
    let compromised: Error | undefined;
    let release: () => Promise<void>;
    try {
      // Loaded on the first write, not on import: readers never lock.
      const lockfile = (await import('proper-lockfile')).default;
      release = await lockfile.lock(path.join(lockDir, key.replace(/\//g, '_')), {
        realpath: false,
        stale: 10_000,
        retries: { retries: 100, minTimeout: 5, maxTimeout: 100, randomize: true },
        onCompromised: (err) => { compromised = err; },
      });
    } catch (err) {
      throw new BucketliteError('ERR_IO', `could not lock ${key}`, { op: 'lock', key, cause: err });
    }
    try {
      const out = await fn();
      if (compromised) throw new BucketliteError('ERR_IO', `lock on ${key} was lost`, { op: 'lock', key, cause: compromised });
      return out;
    } finally {
      await release().catch(() => undefined);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const keys: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(path.join(this.root, rel), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw ioError('list', rel, err);
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // .tmp, .lock and dot files are not objects
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await walk(key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          keys.push(key);
        }
      }
    };
    await walk(dirKey);
    keys.sort();
    for (const key of keys) {
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.unlink(this.pathOf(key, 'delete'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('delete', key, err, this.root);
    }
  }

  async sweepTemporary(olderThanMs: number): Promise<number> {
    const dir = path.join(this.root, TMP_DIR);
    let n = 0;
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const st = await fs.stat(path.join(dir, name)).catch(() => null);
      if (st && Date.now() - st.mtimeMs > olderThanMs) {
        await fs.rm(path.join(dir, name), { force: true });
        n++;
      }
    }
    return n;
  }
}
