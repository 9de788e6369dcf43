/** Constants of the bucket format. docs/FORMAT.md is the normative text; keep both in step. */

/** The format version this code writes and the only one it reads (docs/FORMAT.md). */
export const FORMAT_VERSION = 2;

export const HEAD_KEY = 'HEAD';
export const MANIFEST_PREFIX = 'manifests/';
export const PACK_PREFIX = 'packs/';

export const HASH_BYTES = 32;
export const ZERO_HASH = '0'.repeat(64);

/** 4-byte magics of the binary objects (ASCII). */
export const MAGIC_ROOT = 'BLRT';
export const MAGIC_NODE = 'BLND';
export const MAGIC_LEAF = 'BLLF';

export const ROOT_HEADER_BYTES = 120;
export const NODE_HEADER_BYTES = 24;
export const LEAF_HEADER_BYTES = 24;
/** A run: first block (u64), pack index (u32), offset in the pack (u64). */
export const RUN_BYTES = 20;

/** Defaults chosen by measurement (bench/upload.ts, see docs/FORMAT.md §Choices). */
export const DEFAULT_BLOCK_SIZE = 16 * 1024;
export const DEFAULT_BLOCKS_PER_LEAF = 256;
export const DEFAULT_FANOUT = 512;
/** A fresh upload's packs: at least this size, larger for databases over 4 GiB (at most 256 packs). */
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
export const FRESH_PACKS_MAX = 256;
/**
 * The root travels inside HEAD (base64) when it is at most this size, so that a whole
 * open, HEAD included, stays under 64 KiB. The uploader fills what the tree and the
 * run table leave with embedded pages.
 */
export const ROOT_INLINE_MAX = 46 * 1024;
/** Run table and pack table bytes above which an upload rewrites every block (compaction). */
export const LOCATION_TABLE_MAX = 24 * 1024;

/**
 * Limits a reader enforces before it allocates or loops on anything it was told.
 * A hostile bucket can make a reader fail, never make it hang or exhaust memory.
 */
export const LIMITS = {
  headBytes: 64 * 1024,
  manifestObjectBytes: 4 * 1024 * 1024,
  minPageSize: 512,
  maxPageSize: 65536,
  minBlockSize: 1024,
  maxBlockSize: 16 * 1024 * 1024,
  maxBlocksPerLeaf: 4096,
  maxFanout: 4096,
  maxDepth: 8,
  maxDatabaseBytes: 2 ** 47, // 128 TiB
  maxRuns: 1 << 20,
  maxPacks: 0xffff,
  maxSeq: Number.MAX_SAFE_INTEGER,
} as const;
