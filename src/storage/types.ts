/**
 * The one storage interface every bucket backend implements (local directory, memory,
 * and later S3 and GCS). Small on purpose: the format and commit logic live above it,
 * so a new backend is one module plus a run of the shared contract suite
 * (test/storage-contract.ts).
 *
 * ETags are opaque strings: an S3 ETag, a GCS generation, a local file's identity.
 * Callers only compare them and hand them back in `ifMatch`.
 */

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface GetOptions {
  /** Read only these bytes. A range past the end of the object is an ERR_RANGE error. */
  range?: ByteRange;
  /** Revalidation: when the object's ETag equals this, answer `notModified` and no body. */
  ifNoneMatch?: string;
  signal?: AbortSignal;
}

export interface GetResult {
  body: Uint8Array;
  etag: string;
  /** Size of the whole object, not of the range. */
  size: number;
  /** True when `ifNoneMatch` matched: `body` is empty. */
  notModified?: boolean;
}

export interface PutOptions {
  /** '*' = create only: fail with ERR_PRECONDITION_FAILED if the key exists. */
  ifNoneMatch?: '*';
  /** Replace only if the current ETag is this one; ERR_PRECONDITION_FAILED otherwise. */
  ifMatch?: string;
  contentType?: string;
  cacheControl?: string;
  signal?: AbortSignal;
}

export interface BucketStore {
  /** A printable name of the bucket for messages (never carries credentials). */
  readonly name: string;
  /** Throws ERR_NOT_FOUND when the key does not exist. */
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  /** null when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  put(key: string, body: Uint8Array, opts?: PutOptions): Promise<{ etag: string }>;
  /** Every object whose key starts with `prefix`, in lexicographic key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Optional: delete many keys in few requests (S3 batch delete). */
  deleteMany?(keys: string[]): Promise<void>;
  /**
   * Optional: whether an ETag from this store changes whenever the content does, so a
   * conditional GET can be trusted (absent: yes).
   */
  etagIsExact?(etag: string): boolean;
  /**
   * Optional: requests worth keeping in flight at once, once the store knows (an HTTP/2
   * connection carries many; undefined: the reader's default of 6, a browser's HTTP/1.1
   * limit per host).
   */
  inFlightHint?(): number | undefined;
  /** Optional: remove temporary files older than `olderThanMs` left by crashed writers. */
  sweepTemporary?(olderThanMs: number): Promise<number>;
  close?(): Promise<void>;
}

/** Cache headers for what a key holds: everything but HEAD is immutable. */
export function cacheControlFor(key: string): string {
  return key === 'HEAD' ? 'no-cache' : 'public, max-age=31536000, immutable';
}

const KEY_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** Keys are relative, slash-separated, no empty, "." or ".." segments, no leading dot. */
export function isSafeKey(key: string): boolean {
  return key.length > 0 && key.length <= 1024 && KEY_RE.test(key);
}
