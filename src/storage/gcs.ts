/**
 * A bucket in Google Cloud Storage, on @google-cloud/storage. Node-only.
 *
 * - Credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
 *   gcloud's user credentials, the metadata server); never printed.
 * - ETags are object generations: exact, so conditional reads can trust them.
 * - Commits: create-only is `ifGenerationMatch: 0`, replace-if-unchanged is
 *   `ifGenerationMatch: <generation read>`; a 412 is ERR_PRECONDITION_FAILED.
 * - Large objects use resumable uploads.
 * - STORAGE_EMULATOR_HOST / `apiEndpoint` point it at an emulator (tests).
 */
import type { Bucket, File, Storage, StorageOptions } from '@google-cloud/storage';
import { BucketliteError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { BucketStore, GetOptions, GetResult, ObjectInfo, PutOptions } from './types.js';
import { isSafeKey } from './types.js';

export interface GcsStoreOptions {
  bucket: string;
  prefix?: string;
  /** Objects above this use a resumable upload. */
  resumableThreshold?: number;
  storage?: StorageOptions;
}

export class GcsStore implements BucketStore {
  readonly name: string;
  private readonly prefix: string;
  private storage: Promise<Storage> | null = null;

  constructor(private readonly opts: GcsStoreOptions) {
    this.prefix = opts.prefix ? opts.prefix.replace(/\/*$/, '/') : '';
    this.name = `gs://${opts.bucket}/${this.prefix}`;
  }

  /** The Cloud Storage SDK loads on first use: importing bucketlite stays light for everyone else. */
  private async bucket(): Promise<Bucket> {
    this.storage ??= import('@google-cloud/storage').then((m) => new m.Storage(this.opts.storage));
    return (await this.storage).bucket(this.opts.bucket);
  }

  private async file(key: string, op: string): Promise<File> {
    if (!isSafeKey(key)) throw new BucketliteError('ERR_BAD_KEY', `refusing key ${JSON.stringify(key)}`, { op });
    return (await this.bucket()).file(this.prefix + key);
  }

  private fail(err: unknown, op: string, key: string, range?: { offset: number; length: number }): BucketliteError {
    if (err instanceof BucketliteError) return err;
    const status = (err as { code?: number })?.code;
    const code: ErrorCode = status === 404 ? 'ERR_NOT_FOUND' : status === 412 ? 'ERR_PRECONDITION_FAILED' : status === 416 ? 'ERR_RANGE' : typeof status === 'number' ? 'ERR_HTTP' : 'ERR_IO';
    const what = code === 'ERR_NOT_FOUND' ? `${key} does not exist` : code === 'ERR_PRECONDITION_FAILED' ? `condition on ${key} failed` : `${op} ${key} failed: ${(err as Error)?.message ?? err}`;
    return new BucketliteError(code, `${what} (bucket ${this.opts.bucket})`, { op, key, range, status: typeof status === 'number' ? status : undefined, cause: err });
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const f = await this.file(key, 'get');
    const r = opts.range;
    try {
      const [meta] = await f.getMetadata();
      const etag = String(meta.generation);
      const size = Number(meta.size);
      if (opts.ifNoneMatch !== undefined && opts.ifNoneMatch === etag) return { body: new Uint8Array(0), etag, size, notModified: true };
      if (r && (r.offset + r.length > size || r.length <= 0)) {
        throw new BucketliteError('ERR_RANGE', `range is outside the ${size}-byte object`, { op: 'get', key, range: r });
      }
      // Pinned to the generation just read: never half of one version and half of another.
      const [buf] = await f.download({ ...(r ? { start: r.offset, end: r.offset + r.length - 1 } : {}), ifGenerationMatch: Number(meta.generation) } as never);
      const body = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      if (r && body.length !== r.length) throw new BucketliteError('ERR_RANGE', `short read: ${body.length} of ${r.length} bytes`, { op: 'get', key, range: r });
      return { body, etag, size };
    } catch (err) {
      throw this.fail(err, 'get', key, r);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const [meta] = await (await this.file(key, 'head')).getMetadata();
      return { key, size: Number(meta.size), etag: String(meta.generation), lastModified: new Date(meta.updated ?? meta.timeCreated ?? 0) };
    } catch (err) {
      const f = this.fail(err, 'head', key);
      if (f.code === 'ERR_NOT_FOUND') return null;
      throw f;
    }
  }

  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    const f = await this.file(key, 'put');
    const ifGenerationMatch = opts.ifNoneMatch === '*' ? 0 : opts.ifMatch !== undefined ? Number(opts.ifMatch) : undefined;
    try {
      await f.save(Buffer.from(body.buffer, body.byteOffset, body.byteLength), {
        resumable: body.length > (this.opts.resumableThreshold ?? 32 * 1024 * 1024),
        validation: false,
        metadata: { contentType: opts.contentType, cacheControl: opts.cacheControl },
        ...(ifGenerationMatch !== undefined ? { preconditionOpts: { ifGenerationMatch } } : {}),
      });
      return { etag: String(f.metadata.generation ?? (await this.head(key))?.etag ?? '') };
    } catch (err) {
      throw this.fail(err, 'put', key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let pageToken: string | undefined;
    do {
      let files: File[];
      let next: { pageToken?: string } | null;
      try {
        [files, next] = (await (await this.bucket()).getFiles({ prefix: this.prefix + prefix, autoPaginate: false, pageToken, maxResults: 1000 })) as unknown as [File[], { pageToken?: string } | null];
      } catch (err) {
        throw this.fail(err, 'list', prefix);
      }
      const page = files.map((f) => ({
        key: f.name.slice(this.prefix.length), size: Number(f.metadata.size), etag: String(f.metadata.generation),
        lastModified: new Date(f.metadata.updated ?? f.metadata.timeCreated ?? 0),
      })).filter((o) => isSafeKey(o.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      yield* page;
      pageToken = next?.pageToken;
    } while (pageToken);
  }

  async delete(key: string): Promise<void> {
    try {
      await (await this.file(key, 'delete')).delete({ ignoreNotFound: true });
    } catch (err) {
      throw this.fail(err, 'delete', key);
    }
  }

  /** A CORS rule allowing browsers at `origins` to read the bucket with Range requests. */
  async setCors(origins: string[]): Promise<void> {
    await (await this.bucket()).setCorsConfiguration([
      { origin: origins, method: ['GET', 'HEAD'], responseHeader: ['Content-Range', 'Content-Length', 'ETag', 'Accept-Ranges', 'Range'], maxAgeSeconds: 86400 },
    ]);
  }
}

export function parseGsUrl(target: string): { bucket: string; prefix: string } {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,221}[a-z0-9])(?:\/(.*))?$/.exec(target);
  if (!m) throw new BucketliteError('ERR_USAGE', `not a gs:// target: ${JSON.stringify(target)} (use gs://bucket/prefix)`);
  return { bucket: m[1], prefix: m[2] ?? '' };
}
