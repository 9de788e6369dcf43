/**
 * A bucket in S3 or an S3-compatible store (R2, MinIO, Ceph radosgw), on the AWS SDK.
 * Node-only: the browser reads buckets over plain HTTP (src/storage/http.ts).
 *
 * - Credentials: the SDK's default provider chain (environment, shared config and
 *   profiles, SSO, instance roles). Never printed: errors carry bucket, key and status.
 * - Commits: create-only with `If-None-Match: *`, replace-if-unchanged with `If-Match`.
 *   Quirk (Ceph radosgw): If-Match is compared literally against the stored ETag without
 *   quotes, so a quoted ETag gets 412 even when unchanged. On a 412 the backend checks
 *   the current ETag; if it is the one we hold, it retries once unquoted, and from then
 *   on this store instance sends it unquoted.
 * - Checksums: request/response checksums only when required; the SDK's default
 *   trailing checksums break some S3-compatible servers.
 * - Large objects go up in parts (multipart upload, bounded concurrency); radosgw may
 *   return no ETag from CompleteMultipartUpload, so the ETag then comes from HeadObject.
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { BucketliteError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { BucketStore, GetOptions, GetResult, ObjectInfo, PutOptions } from './types.js';
import { isSafeKey } from './types.js';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ("" or ending in "/"). */
  prefix?: string;
  /** S3-compatible endpoint (also AWS_ENDPOINT_URL); implies path-style addressing. */
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Objects above this go up as multipart uploads. */
  multipartThreshold?: number;
  partSize?: number;
  partConcurrency?: number;
  /** Extra SDK configuration (credentials for tests, a custom requestHandler …). */
  client?: Partial<S3ClientConfig>;
}

type S3Sdk = typeof import('@aws-sdk/client-s3');

interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  message?: string;
}

export class S3Store implements BucketStore {
  readonly name: string;
  private readonly bucket: string;
  private readonly prefix: string;
  /** Learned once: this server compares If-Match without quotes (radosgw). */
  private unquotedIfMatch = false;
  private sdk: Promise<{ s3: S3Sdk; client: S3Client }> | null = null;

  constructor(private readonly opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? opts.prefix.replace(/\/*$/, '/') : '';
    this.name = `s3://${this.bucket}/${this.prefix}`;
  }

  /**
   * The AWS SDK and its client, loaded on first use: importing bucketlite stays light
   * for everyone who never touches s3:// (the SDK costs about 150 ms to load).
   */
  /** The SDK client this store uses (created on first use). */
  async sdkClient(): Promise<S3Client> {
    return (await this.api()).client;
  }

  private api(): Promise<{ s3: S3Sdk; client: S3Client }> {
    this.sdk ??= import('@aws-sdk/client-s3').then((s3) => {
      const endpoint = this.opts.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
      const client = new s3.S3Client({
        region: this.opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        ...(endpoint ? { endpoint, forcePathStyle: this.opts.forcePathStyle ?? true } : { forcePathStyle: this.opts.forcePathStyle }),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        ...this.opts.client,
      });
      return { s3, client };
    });
    return this.sdk;
  }

  private key(key: string, op: string): string {
    if (!isSafeKey(key)) throw new BucketliteError('ERR_BAD_KEY', `refusing key ${JSON.stringify(key)}`, { op });
    return this.prefix + key;
  }

  private fail(err: unknown, op: string, key: string, range?: { offset: number; length: number }): BucketliteError {
    const e = err as SdkError;
    const status = e?.$metadata?.httpStatusCode;
    const name = e?.name ?? e?.Code ?? '';
    let code: ErrorCode = 'ERR_IO';
    if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') code = 'ERR_NOT_FOUND';
    else if (status === 412 || status === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') code = 'ERR_PRECONDITION_FAILED';
    else if (status === 416 || name === 'InvalidRange') code = 'ERR_RANGE';
    else if (status !== undefined) code = 'ERR_HTTP';
    const what = code === 'ERR_NOT_FOUND' ? `${key} does not exist` : code === 'ERR_PRECONDITION_FAILED' ? `condition on ${key} failed` : `${op} ${key} failed: ${name || e?.message || err}`;
    return new BucketliteError(code, `${what} (bucket ${this.bucket})`, { op, key, range, status, cause: err });
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const { s3, client } = await this.api();
    const k = this.key(key, 'get');
    const r = opts.range;
    try {
      const res = await client.send(new s3.GetObjectCommand({
        Bucket: this.bucket, Key: k,
        Range: r ? `bytes=${r.offset}-${r.offset + r.length - 1}` : undefined,
        IfNoneMatch: opts.ifNoneMatch,
      }), { abortSignal: opts.signal });
      const body = await res.Body!.transformToByteArray();
      if (r && body.length !== r.length) {
        throw new BucketliteError('ERR_RANGE', `range is outside the object (got ${body.length} of ${r.length} bytes)`, { op: 'get', key, range: r });
      }
      const total = res.ContentRange ? Number(res.ContentRange.split('/')[1]) : body.length;
      return { body, etag: res.ETag ?? '', size: total };
    } catch (err) {
      if (err instanceof BucketliteError) throw err;
      if ((err as SdkError)?.$metadata?.httpStatusCode === 304) return { body: new Uint8Array(0), etag: opts.ifNoneMatch!, size: -1, notModified: true };
      throw this.fail(err, 'get', key, r);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const { s3, client } = await this.api();
    try {
      const res = await client.send(new s3.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key, 'head') }));
      return { key, size: res.ContentLength ?? 0, etag: res.ETag ?? '', lastModified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (err instanceof BucketliteError) throw err;
      const f = this.fail(err, 'head', key);
      if (f.code === 'ERR_NOT_FOUND') return null;
      throw f;
    }
  }

  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<{ etag: string }> {
    const { s3, client } = await this.api();
    const k = this.key(key, 'put');
    const threshold = this.opts.multipartThreshold ?? 64 * 1024 * 1024;
    if (body.length > threshold && opts.ifMatch === undefined) return this.putMultipart(key, k, body, opts);
    const send = (ifMatch?: string) => client.send(new s3.PutObjectCommand({
      Bucket: this.bucket, Key: k, Body: body,
      ContentType: opts.contentType, CacheControl: opts.cacheControl,
      IfNoneMatch: opts.ifNoneMatch, IfMatch: ifMatch,
    }), { abortSignal: opts.signal });
    const unquote = (etag: string) => etag.replace(/^"|"$/g, '');
    try {
      const res = await send(opts.ifMatch !== undefined && this.unquotedIfMatch ? unquote(opts.ifMatch) : opts.ifMatch);
      return { etag: res.ETag ?? (await this.head(key))?.etag ?? '' };
    } catch (err) {
      const f = this.fail(err, 'put', key);
      if (f.code === 'ERR_PRECONDITION_FAILED' && opts.ifMatch?.startsWith('"') && !this.unquotedIfMatch) {
        // radosgw compares If-Match without quotes: retry once if the object really is unchanged.
        const cur = await this.head(key);
        if (cur && cur.etag === opts.ifMatch) {
          try {
            const res = await send(unquote(opts.ifMatch));
            this.unquotedIfMatch = true;
            return { etag: res.ETag ?? (await this.head(key))?.etag ?? '' };
          } catch (err2) {
            throw this.fail(err2, 'put', key);
          }
        }
      }
      throw f;
    }
  }

  private async putMultipart(key: string, k: string, body: Uint8Array, opts: PutOptions): Promise<{ etag: string }> {
    const { s3, client } = await this.api();
    if (opts.ifNoneMatch === '*' && (await this.head(key))) {
      throw new BucketliteError('ERR_PRECONDITION_FAILED', `${key} already exists (bucket ${this.bucket})`, { op: 'put', key, status: 412 });
    }
    const partSize = this.opts.partSize ?? 16 * 1024 * 1024;
    let uploadId: string | undefined;
    try {
      const created = await client.send(new s3.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k, ContentType: opts.contentType, CacheControl: opts.cacheControl }));
      uploadId = created.UploadId!;
      const limit = pLimit(this.opts.partConcurrency ?? 4);
      const parts = await Promise.all(Array.from({ length: Math.ceil(body.length / partSize) }, (_, i) => limit(async () => {
        const res = await client.send(new s3.UploadPartCommand({
          Bucket: this.bucket, Key: k, UploadId: uploadId, PartNumber: i + 1, Body: body.subarray(i * partSize, (i + 1) * partSize),
        }), { abortSignal: opts.signal });
        return { ETag: res.ETag, PartNumber: i + 1 };
      })));
      const done = await client.send(new s3.CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: k, UploadId: uploadId, MultipartUpload: { Parts: parts },
        IfNoneMatch: opts.ifNoneMatch,
      }));
      // radosgw: CompleteMultipartUpload may carry no ETag.
      return { etag: done.ETag || (await this.head(key))?.etag || '' };
    } catch (err) {
      if (uploadId) await client.send(new s3.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId })).catch(() => undefined);
      throw err instanceof BucketliteError ? err : this.fail(err, 'put', key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const { s3, client } = await this.api();
    let token: string | undefined;
    do {
      let res;
      try {
        res = await client.send(new s3.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      } catch (err) {
        throw this.fail(err, 'list', prefix);
      }
      for (const o of res.Contents ?? []) {
        const key = o.Key!.slice(this.prefix.length);
        if (isSafeKey(key)) yield { key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified ?? new Date(0) };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const { s3, client } = await this.api();
    try {
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key, 'delete') }));
    } catch (err) {
      const f = this.fail(err, 'delete', key);
      if (f.code !== 'ERR_NOT_FOUND') throw f;
    }
  }

  /** Batch delete (up to 1000 keys a request). */
  async deleteMany(keys: string[]): Promise<void> {
    const { s3, client } = await this.api();
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let res;
      try {
        res = await client.send(new s3.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.key(k, 'delete') })), Quiet: true } }));
      } catch (err) {
        throw this.fail(err, 'delete', batch[0]);
      }
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) throw new BucketliteError('ERR_IO', `batch delete failed for ${failed.length} keys, first ${failed[0].Key}: ${failed[0].Code}`, { op: 'delete', key: failed[0].Key });
    }
  }

  /** A CORS rule allowing browsers at `origins` to read the bucket with Range requests. */
  async setCors(origins: string[]): Promise<void> {
    const { s3, client } = await this.api();
    await client.send(new s3.PutBucketCorsCommand({
      Bucket: this.bucket,
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: origins, AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['Range', 'If-None-Match', 'If-Match'], ExposeHeaders: ['Content-Range', 'Content-Length', 'ETag', 'Accept-Ranges'], MaxAgeSeconds: 86400 }] },
    }));
  }

  async close(): Promise<void> {
    if (this.sdk) (await this.sdk).client.destroy();
  }
}

/** Parses s3://bucket/prefix. */
export function parseS3Url(target: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(target);
  if (!m) throw new BucketliteError('ERR_USAGE', `not an s3:// target: ${JSON.stringify(target)} (use s3://bucket/prefix)`);
  return { bucket: m[1], prefix: m[2] ?? '' };
}
