/** bucketlite for Node: publish and read SQLite databases in buckets. */
export { openDatabase, readerStore } from './node/open.js';
export type { OpenOptions } from './node/open.js';
export { BucketDatabase } from './database.js';
export type { Row, Params, SqlValue, QueryOptions, QueryStats, DatabaseStats } from './database.js';
export type { ReaderOptions, ReaderStats } from './reader/reader.js';
export { BucketliteError, isCode } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { BucketStore, ObjectInfo, GetOptions, GetResult, PutOptions } from './storage/types.js';
export { LocalDirStore } from './storage/local.js';
export { MemoryStore } from './storage/memory.js';
export { HttpStore } from './storage/http.js';
export type { HttpStoreOptions, HttpTransport } from './storage/http.js';
export { UndiciTransport } from './node/undici-transport.js';
// The cloud SDKs load on the first use of a store, not on import.
export { S3Store } from './storage/s3.js';
export type { S3StoreOptions } from './storage/s3.js';
export { GcsStore } from './storage/gcs.js';
export type { GcsStoreOptions } from './storage/gcs.js';
export { openStore } from './storage/open.js';
export { upload } from './upload/upload.js';
export type { UploadOptions, UploadResult } from './upload/upload.js';
export { restore } from './ops/restore.js';
export { verify } from './ops/verify.js';
export { gc } from './ops/gc.js';
export { info, log } from './ops/info.js';
export { serveDirectory } from './serve/server.js';
export { MemoryBlockCache, TieredBlockCache } from './cache/memory.js';
export { DiskBlockCache } from './node/disk-cache.js';
