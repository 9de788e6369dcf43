/**
 * Reading a bucket's versions: HEAD, root manifests, the manifest tree, block locations
 * and the version history. Every object is checked against the hash it is named by before it is
 * decoded, so a bucket can only ever be read as a version some writer committed.
 */
import pLimit from 'p-limit';
import { BucketliteError, isCode } from '../errors.js';
import { manifestKey } from '../format/keys.js';
import { blockCount, blocksPerNode, decodeLeaf, decodeNode, decodeRoot, locateBlock } from '../format/manifest.js';
import type { BlockRef, RootManifest } from '../format/manifest.js';
import { decodeHead } from '../format/head.js';
import type { Head } from '../format/head.js';
import { HEAD_KEY, LIMITS } from '../format/constants.js';
import { sha256Hex } from '../hash.js';
import { cacheControlFor } from '../storage/types.js';
import type { BucketStore } from '../storage/types.js';

export interface HeadState {
  head: Head;
  etag: string;
}

export interface FetchHeadOptions {
  /** Revalidate: when HEAD's ETag is still this, answer 'unchanged'. */
  ifNoneMatch?: string;
  signal?: AbortSignal;
}

/**
 * Reads HEAD (or revalidates it); null when the bucket has no version yet. Damaged
 * bytes are fetched once more before they are an error.
 */
export async function fetchHead(store: BucketStore, opts: FetchHeadOptions = {}): Promise<HeadState | 'unchanged' | null> {
  return withOneRefetch(async () => {
    let got;
    try {
      got = await store.get(HEAD_KEY, opts);
    } catch (err) {
      if (isCode(err, 'ERR_NOT_FOUND')) return null;
      throw err;
    }
    if (got.notModified) return 'unchanged';
    return { head: await parseHead(got.body), etag: got.etag };
  });
}

/**
 * Swaps HEAD conditionally: `ifMatch` the ETag read before, or `ifNoneMatch: '*'` for a
 * bucket's first version. A lost condition is ERR_PRECONDITION_FAILED.
 */
export function putHead(store: BucketStore, body: Uint8Array, condition: { ifMatch: string } | { ifNoneMatch: '*' }): Promise<{ etag: string }> {
  return store.put(HEAD_KEY, body, { ...condition, contentType: 'application/json', cacheControl: cacheControlFor(HEAD_KEY) });
}

/** Reads HEAD; null when the bucket has no version yet. */
export async function readHead(store: BucketStore): Promise<HeadState | null> {
  return fetchHead(store) as Promise<HeadState | null>;
}

/** Decodes HEAD and checks the inline root against the hash HEAD names. */
async function parseHead(bytes: Uint8Array): Promise<Head> {
  const head = decodeHead(bytes, HEAD_KEY);
  if (head.inline) await checkHash(head.inline, head.root, `${HEAD_KEY}#inline`);
  return head;
}

/**
 * HEAD is fetched once more when its bytes are damaged: a transient corruption on the
 * way (blocks and manifests get the same by their hash check). Damage that persists
 * is the error.
 */
async function withOneRefetch<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!isCode(err, 'ERR_BAD_HEAD') && !isCode(err, 'ERR_HASH_MISMATCH')) throw err;
    return read();
  }
}

/** Fetches a content-addressed manifest object and checks its bytes hash to its name. */
export async function getManifestObject(store: BucketStore, hash: string): Promise<Uint8Array> {
  const key = manifestKey(hash);
  const { body } = await store.get(key);
  if (body.length > LIMITS.manifestObjectBytes) {
    throw new BucketliteError('ERR_BAD_MANIFEST', `manifest object of ${body.length} bytes exceeds the limit`, { op: 'get', key });
  }
  await checkHash(body, hash, key);
  return body;
}

export async function checkHash(body: Uint8Array, hash: string, key: string, range?: { offset: number; length: number }): Promise<void> {
  const got = await sha256Hex(body);
  if (got !== hash) {
    throw new BucketliteError('ERR_HASH_MISMATCH', `content hashes to ${got.slice(0, 16)}…, expected ${hash.slice(0, 16)}…`, { op: 'verify', key, range });
  }
}

/**
 * Where a version's manifest objects come from: bytes already checked against the hash
 * that names them. A store directly (`storeObjects`), or a reader's caches.
 */
export type ObjectSource = (hash: string) => Promise<Uint8Array>;

export function storeObjects(store: BucketStore): ObjectSource {
  return (hash) => getManifestObject(store, hash);
}

/** A root manifest: HEAD's inline copy (checked against its name) or the object. */
export async function rootOf(objects: ObjectSource, hash: string, inline?: Uint8Array): Promise<RootManifest> {
  if (inline) {
    await checkHash(inline, hash, `${HEAD_KEY}#inline`);
    return decodeRoot(inline, manifestKey(hash));
  }
  return decodeRoot(await objects(hash), manifestKey(hash));
}

export async function loadRoot(store: BucketStore, hash: string, inline?: Uint8Array): Promise<RootManifest> {
  return rootOf(storeObjects(store), hash, inline);
}

/** The hash of the leaf covering leaf index `i`, when the root names it directly (depth 1). */
export function leafHashInRoot(root: RootManifest, i: number): string | undefined {
  return root.depth === 1 ? root.children[i] : undefined;
}

/**
 * The block hashes of leaf `i` of a version: the one place that descends the manifest
 * tree, from the root through interior nodes to the leaf covering block i x blocksPerLeaf.
 * `visit` sees every object hash on the path.
 */
export function leafEntries(objects: ObjectSource, root: RootManifest, i: number, visit?: (hash: string) => void): Promise<string[]> {
  return descend(objects, root, i, 0, visit);
}

/** Fetches the interior nodes above leaf `i` (none at depth 1), not the leaf. */
export async function nodesAbove(objects: ObjectSource, root: RootManifest, i: number): Promise<void> {
  if (root.depth >= 2) await descend(objects, root, i, 1);
}

/** Down toward leaf `i` to level `stop`: the leaf's block hashes (stop 0), or the children of the level-`stop` node. */
async function descend(objects: ObjectSource, root: RootManifest, i: number, stop: number, visit?: (hash: string) => void): Promise<string[]> {
  let children = root.children;
  let first = 0;
  for (let level = root.depth - 1; ; level--) {
    const span = blocksPerNode(root, level);
    const idx = Math.floor((i * root.blocksPerLeaf - first) / span);
    const hash = children[idx];
    first += idx * span;
    visit?.(hash);
    const bytes = await objects(hash);
    if (level === 0) return decodeLeaf(bytes, root, { firstBlock: first }, manifestKey(hash)).hashes;
    children = decodeNode(bytes, root, { level, firstBlock: first }, manifestKey(hash)).children;
    if (level === stop) return children;
  }
}

export interface Version {
  hash: string;
  root: RootManifest;
}

export async function currentVersion(store: BucketStore): Promise<(Version & HeadState) | null> {
  const hs = await readHead(store);
  if (!hs) return null;
  const root = await loadRoot(store, hs.head.root, hs.head.inline);
  if (root.seq !== hs.head.seq) {
    throw new BucketliteError('ERR_BAD_HEAD', `HEAD says version ${hs.head.seq} but its root is version ${root.seq}`, { op: 'decode', key: HEAD_KEY });
  }
  return { ...hs, hash: hs.head.root, root };
}

/**
 * Versions from `start` back along parent links, newest first. Stops quietly where
 * gc has collected the older roots; a root that exists but is damaged is an error.
 */
export function history(store: BucketStore, start: Version): AsyncGenerator<Version> {
  return walkBack(start, (hash) => rootIfPresent(storeObjects(store), hash));
}

/**
 * The walk behind `history`, with roots from `parentRoot` (null: the root does not
 * exist). The last version yielded still names a parent when gc cut the history there.
 */
async function* walkBack(start: Version, parentRoot: (hash: string) => Promise<RootManifest | null>): AsyncGenerator<Version> {
  for (let v: Version = start; ;) {
    yield v;
    const parent = v.root.parent;
    const root = parent ? await parentRoot(parent) : null;
    if (!parent || !root) return;
    if (root.seq !== v.root.seq - 1) {
      throw new BucketliteError('ERR_BAD_MANIFEST', `version ${v.root.seq} names a parent with version ${root.seq}`, { op: 'decode', key: manifestKey(parent) });
    }
    v = { hash: parent, root };
  }
}

/**
 * A version asked for by a reader or a command: a version number (seq) or a manifest
 * hash prefix, or a time (the version that was current then). At most one of the two.
 */
export interface VersionPin {
  /** A version number (1, 2, …; digits in a string too) or at least 8 hex digits of its root manifest's hash. */
  version?: number | string;
  /**
   * The version current at this time: the newest whose root was created at or before it.
   * A Date, milliseconds since the Unix epoch, or an ISO 8601 string (`2024-05-01T12:00:00Z`;
   * without an offset it is local time, as JavaScript's Date reads it).
   */
  at?: Date | string | number;
}

/** A parsed VersionPin: by number and/or hash prefix (a string of 8+ digits may be either), or by time. */
export type VersionSpec =
  | { kind: 'version'; seq: number | null; prefix: string | null; text: string }
  | { kind: 'at'; at: number };

/** How options are called in error messages: `version`/`at` in the API, `--version`/`--at` in the CLI. */
export interface PinNames {
  version: string;
  at: string;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Milliseconds since the epoch of an ISO 8601 time, or NaN (also for 2024-02-31, which Date would roll over). */
function parseIsoTime(s: string): number {
  const m = ISO_TIME.exec(s.trim());
  if (!m) return NaN;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return NaN;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return NaN;
  return Date.parse(s.trim().replace(' ', 'T'));
}

/**
 * Checks a VersionPin without touching the bucket: null when it names nothing (the
 * current version), ERR_USAGE when a value is malformed or both are given.
 */
export function parseVersionPin(pin: VersionPin, names: PinNames = { version: 'version', at: 'at' }): VersionSpec | null {
  const { version, at } = pin;
  if (version !== undefined && version !== null && at !== undefined && at !== null) {
    throw new BucketliteError('ERR_USAGE', `give ${names.version} or ${names.at}, not both`);
  }
  if (at !== undefined && at !== null) {
    const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : typeof at === 'string' ? parseIsoTime(at) : NaN;
    if (!Number.isFinite(ms)) {
      const shown = at instanceof Date ? 'an invalid Date' : JSON.stringify(at);
      const alternatives = names.at.startsWith('-') ? '' : ' (or a Date, or ms since the epoch)';
      throw new BucketliteError('ERR_USAGE', `${names.at} wants an ISO 8601 time such as 2024-05-01T12:00:00Z${alternatives}, not ${shown}`);
    }
    return { kind: 'at', at: ms };
  }
  if (version === undefined || version === null) return null;
  const wants = () => new BucketliteError('ERR_USAGE', `${names.version} wants a version number or at least 8 hex digits of a manifest hash, not ${JSON.stringify(version)}`);
  if (typeof version === 'number') {
    if (!Number.isSafeInteger(version) || version < 1) throw wants();
    return { kind: 'version', seq: version, prefix: null, text: String(version) };
  }
  if (typeof version !== 'string') throw wants();
  const text = version.trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  const seq = Number.isSafeInteger(n) && n >= 1 ? n : null;
  const prefix = /^[0-9a-f]{8,64}$/i.test(text) ? text.toLowerCase() : null;
  if (seq === null && prefix === null) throw wants();
  return { kind: 'version', seq, prefix, text };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Finds the version `spec` names by walking parent links back from `start` (the current
 * version): one root per version passed, fetched one after another (each names the
 * next), so a version k back costs k root fetches; the current version costs none.
 * The walk ends at version 1 or where gc deleted the older roots; `parentRoot` answers
 * null for a root that does not exist. Errors: ERR_NOT_FOUND for a version that never
 * existed (a number above the current one, a time before the first version, an unknown
 * hash prefix), ERR_VERSION_COLLECTED for one gc deleted, naming the oldest kept version.
 */
export async function resolveVersion(start: Version, spec: VersionSpec, parentRoot: (hash: string) => Promise<RootManifest | null>): Promise<Version> {
  const newest = start.root.seq;
  if (spec.kind === 'version' && spec.prefix === null && spec.seq! > newest) {
    throw new BucketliteError('ERR_NOT_FOUND', `no version ${spec.seq} (current is ${newest})`, { op: 'find-version' });
  }
  const matches = (v: Version) => spec.kind === 'at' ? v.root.created <= spec.at : v.root.seq === spec.seq || (spec.prefix !== null && v.hash.startsWith(spec.prefix));
  let oldest = start;
  for await (const v of walkBack(start, parentRoot)) {
    if (matches(v)) return v;
    oldest = v;
  }
  // The history goes on past the oldest root found when gc deleted the older ones.
  throw notInHistory(spec, oldest, newest, oldest.root.parent !== null);
}

/** Why the walk back from version `newest` ended at `oldest` without finding `spec`. */
function notInHistory(spec: VersionSpec, oldest: Version, newest: number, collected: boolean): BucketliteError {
  const op = { op: 'find-version' };
  const kept = `oldest kept version is ${oldest.root.seq}`;
  if (spec.kind === 'at') {
    return collected
      ? new BucketliteError('ERR_VERSION_COLLECTED', `the version current at ${iso(spec.at)} was collected by gc (${kept}, created ${iso(oldest.root.created)})`, op)
      : new BucketliteError('ERR_NOT_FOUND', `no version existed at ${iso(spec.at)}: the first version was created at ${iso(oldest.root.created)}`, op);
  }
  if (spec.seq !== null && spec.seq < oldest.root.seq && collected) {
    return new BucketliteError('ERR_VERSION_COLLECTED', `version ${spec.seq} was collected by gc (${kept})`, op);
  }
  const range = oldest.root.seq === newest ? `version ${newest}` : `versions ${oldest.root.seq} to ${newest}`;
  return collected
    ? new BucketliteError('ERR_NOT_FOUND', `no kept version has a manifest hash starting with ${spec.text} (kept: ${range}; older ones were collected by gc)`, op)
    : new BucketliteError('ERR_NOT_FOUND', `no version ${spec.seq !== null && spec.prefix !== null ? `${spec.seq} and no manifest hash starting with ${spec.text}` : `has a manifest hash starting with ${spec.text}`} (${range})`, op);
}

/** A root from the bucket, or null when it does not exist (collected by gc). */
export async function rootIfPresent(objects: ObjectSource, hash: string): Promise<RootManifest | null> {
  try {
    return await rootOf(objects, hash);
  } catch (err) {
    if (isCode(err, 'ERR_NOT_FOUND')) return null;
    throw err;
  }
}

/**
 * Finds a version by sequence number or by a hash prefix (at least 8 hex digits);
 * undefined means the current version. See resolveVersion for the cost and the errors.
 */
export async function findVersion(store: BucketStore, spec?: string): Promise<Version> {
  const cur = await currentVersion(store);
  if (!cur) throw new BucketliteError('ERR_NOT_FOUND', `${store.name} holds no bucketlite version (no HEAD)`, { op: 'open', key: HEAD_KEY });
  const parsed = parseVersionPin({ version: spec }, { version: '--version', at: '--at' });
  if (!parsed) return cur;
  const found = await resolveVersion(cur, parsed, (hash) => rootIfPresent(storeObjects(store), hash));
  return found.hash === cur.hash ? cur : found;
}

export interface BlockTable {
  /** Block refs by block index: hashes from the leaves, locations from the root's runs. */
  blocks: BlockRef[];
  /** Hashes of the interior nodes and leaves of this version's tree. */
  manifestObjects: string[];
}

/** Loads every leaf of a version's tree (a bounded number of fetches at once). */
export async function loadBlockTable(store: BucketStore, root: RootManifest, concurrency = 8): Promise<BlockTable> {
  const limit = pLimit(concurrency);
  // Interior nodes are shared by many leaves: each object is fetched once.
  const fetched = new Map<string, Promise<Uint8Array>>();
  const objects: ObjectSource = (hash) => {
    let p = fetched.get(hash);
    if (!p) fetched.set(hash, (p = limit(() => getManifestObject(store, hash))));
    return p;
  };
  const leaves = Math.ceil(blockCount(root.dbSize, root.blockSize) / root.blocksPerLeaf);
  const hashes = (await Promise.all(Array.from({ length: leaves }, (_, i) => leafEntries(objects, root, i)))).flat();
  return { blocks: hashes.map((hash, i) => ({ hash, ...locateBlock(root, i) })), manifestObjects: [...fetched.keys()] };
}
