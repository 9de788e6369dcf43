/** Constants of the bucket format. docs/FORMAT.md is the normative text; keep both in step. */

/** The format version this code writes and the newest it reads. */
export const FORMAT_VERSION = 1;

export const HEAD_KEY = 'HEAD';
export const MANIFEST_PREFIX = 'manifests/';
export const PACK_PREFIX = 'packs/';

export const HASH_BYTES = 32;
export const ZERO_HASH = '0'.repeat(64);

/** 4-byte magics of the binary objects (ASCII). */
export const MAGIC_ROOT = 'BLRT';
export const MAGIC_NODE = 'BLND';
export const MAGIC_LEAF = 'BLLF';
export const MAGIC_HOT = 'BLHP';

export const ROOT_HEADER_BYTES = 272;
/** Hot-page region slots in a root: a base and a delta. */
export const MAX_HOT_REGIONS = 2;
export const NODE_HEADER_BYTES = 24;
export const LEAF_HEADER_BYTES = 24;
export const LEAF_ENTRY_BYTES = 48;
export const HOT_HEADER_BYTES = 16;

/** Block encodings (leaf entry field). Only raw exists in version 1. */
export const ENCODING_RAW = 0;

/** Defaults chosen by measurement (bench/upload.ts, see docs/FORMAT.md §Choices). */
export const DEFAULT_BLOCK_SIZE = 64 * 1024;
export const DEFAULT_BLOCKS_PER_LEAF = 512;
export const DEFAULT_FANOUT = 512;
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

/**
 * Limits a reader enforces before it allocates or loops on anything it was told.
 * A hostile bucket can make a reader fail, never make it hang or exhaust memory.
 */
export const LIMITS = {
  headBytes: 64 * 1024,
  manifestObjectBytes: 4 * 1024 * 1024,
  minPageSize: 512,
  maxPageSize: 65536,
  minBlockSize: 4096,
  maxBlockSize: 16 * 1024 * 1024,
  maxBlocksPerLeaf: 4096,
  maxFanout: 4096,
  maxDepth: 8,
  maxDatabaseBytes: 2 ** 47, // 128 TiB
  maxHotRegionBytes: 64 * 1024 * 1024,
  maxSeq: Number.MAX_SAFE_INTEGER,
} as const;
