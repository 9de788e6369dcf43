/**
 * One error class with stable string codes (in the manner of undici's errors), so
 * callers branch on `err.code`, never on message text. Every error names what it
 * touched: the operation, the object key, the byte range, the HTTP status, the cause.
 * Credentials never go into an error: backends pass only keys and statuses here.
 */
export type ErrorCode =
  | 'ERR_NOT_FOUND' // an object the operation needs does not exist
  | 'ERR_VERSION_COLLECTED' // a version asked for by number, hash or time was deleted by gc (the message names the oldest kept version)
  | 'ERR_PRECONDITION_FAILED' // a conditional put lost (object exists / changed)
  | 'ERR_CONFLICT' // another writer committed first; nothing of ours became visible
  | 'ERR_NOT_SQLITE' // the input is not a SQLite database file
  | 'ERR_LIVE_DATABASE' // hot journal or un-checkpointed WAL frames
  | 'ERR_FILE_CHANGED' // the input changed while we read it
  | 'ERR_BAD_HEAD' // HEAD is malformed, hostile or too large
  | 'ERR_BAD_MANIFEST' // a manifest object is malformed, hostile or too large
  | 'ERR_UNSUPPORTED_VERSION' // written by a newer format than this reader knows
  | 'ERR_HASH_MISMATCH' // bytes do not hash to the name they were fetched by
  | 'ERR_DAMAGED' // verify found missing or corrupt objects
  | 'ERR_BAD_KEY' // an object key outside the allowed shape
  | 'ERR_RANGE' // a byte range outside the object
  | 'ERR_IO' // a storage or file-system operation failed
  | 'ERR_HTTP' // an HTTP status that is not success (after retries, if retryable)
  | 'ERR_BAD_RESPONSE' // a response that breaks the protocol (Range ignored, wrong Content-Range, short body, encoded)
  | 'ERR_TIMEOUT' // a request that took longer than its deadline
  | 'ERR_ABORTED' // the caller's AbortSignal fired
  | 'ERR_READ_ONLY' // a write to a read-only bucket (HTTP)
  | 'ERR_SQLITE' // SQLite reported an error running a statement
  | 'ERR_USAGE' // bad arguments
  | 'ERR_MISSING_DEPENDENCY' // an optional peer dependency a command needs is not installed or not built (the message says how to fix it)
  | 'ERR_WORKER' // the browser's Web Worker failed to start or crashed
  | 'ERR_INTERNAL'; // a bug in bucketlite (the CLI reports it without a stack; BUCKETLITE_DEBUG=1 shows it)

export interface ErrorDetails {
  op?: string;
  key?: string;
  range?: { offset: number; length: number };
  status?: number;
  path?: string;
  cause?: unknown;
}

export class BucketliteError extends Error {
  readonly code: ErrorCode;
  readonly op?: string;
  readonly key?: string;
  readonly range?: { offset: number; length: number };
  readonly status?: number;
  readonly path?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message + describe(details), details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'BucketliteError';
    this.code = code;
    this.op = details.op;
    this.key = details.key;
    this.range = details.range;
    this.status = details.status;
    this.path = details.path;
  }
}

function describe(d: ErrorDetails): string {
  const parts: string[] = [];
  if (d.op) parts.push(`op=${d.op}`);
  if (d.key !== undefined) parts.push(`key=${d.key}`);
  if (d.path !== undefined) parts.push(`path=${d.path}`);
  if (d.range) parts.push(`range=${d.range.offset}-${d.range.offset + d.range.length - 1}`);
  if (d.status !== undefined) parts.push(`status=${d.status}`);
  if (d.cause instanceof Error) parts.push(`cause=${(d.cause as Error & { code?: string }).code ?? d.cause.message}`);
  return parts.length ? ` (${parts.join(' ')})` : '';
}

export function isCode(err: unknown, code: ErrorCode): err is BucketliteError {
  return err instanceof BucketliteError && err.code === code;
}
