/**
 * The query corpus every runtime runs (Node 20 and 22, Bun, Deno, workerd), and the
 * oracle checks: plain JavaScript with no imports, so each runtime loads it as it is.
 * Rows are normalized to JSON (blobs as hex, integers as decimal strings) so a result
 * from any runtime compares with better-sqlite3's.
 */

/** A blob with a zero byte and high bytes: a text path would mangle it. */
export const BLOB_PARAM = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);

export const QUERIES = [
  {
    name: 'join',
    sql: `SELECT u.id, u.name, count(o.id) AS orders, sum(o.amount_cents) AS total
          FROM users u JOIN orders o ON o.user_id = u.id
          GROUP BY u.id ORDER BY total DESC, u.id LIMIT 12`,
  },
  {
    name: 'aggregate',
    sql: `SELECT count(*) AS n, sum(amount_cents) AS total, min(placed_at) AS first, max(placed_at) AS last,
                 round(avg(amount_cents), 3) AS mean, count(note) AS with_note
          FROM orders`,
  },
  {
    name: 'positional-params',
    sql: 'SELECT id, name, email, score FROM users WHERE id BETWEEN ? AND ? ORDER BY id',
    params: [40, 55],
  },
  {
    name: 'named-params',
    sql: 'SELECT o.id, o.user_id, o.amount_cents, o.placed_at FROM orders o WHERE o.user_id BETWEEN :lo AND :hi AND o.amount_cents >= :min ORDER BY o.id',
    params: { ':lo': 7, ':hi': 12, ':min': 15000 },
  },
  {
    name: 'stored-text-blob-null',
    sql: `SELECT id, name, email, avatar, typeof(avatar) AS avatar_type, length(avatar) AS avatar_len,
                 big, typeof(big) AS big_type, score
          FROM users WHERE id <= 6 ORDER BY id`,
  },
  {
    name: 'bound-text-blob-null',
    sql: 'SELECT ? AS t, ? AS b, ? AS n, typeof(?) AS b_type, length(?) AS b_len, hex(?) AS b_hex',
    params: ['héllo ☃ 𝄞 日本', BLOB_PARAM, null, BLOB_PARAM, BLOB_PARAM, BLOB_PARAM],
  },
];

/** One value as JSON: blobs as hex, integers (number or bigint) as decimal strings. */
export function normalizeValue(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return { int: v.toString() };
  if (typeof v === 'number') return Number.isInteger(v) ? { int: String(v) } : Number(v.toPrecision(12));
  if (v instanceof Uint8Array) return { blob: Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('') };
  return v;
}

export function normalizeRows(rows) {
  return rows.map((r) => Object.entries(r).map(([k, v]) => [k, normalizeValue(v)]));
}

/** Runs every query through `query(sql, params)` and returns the normalized rows by query name. */
export async function runCorpus(query) {
  const out = {};
  for (const q of QUERIES) {
    try {
      out[q.name] = normalizeRows(await query(q.sql, q.params));
    } catch (err) {
      throw new Error(`query ${q.name} failed: ${err?.message ?? err}`);
    }
  }
  return out;
}

/** Which runtime this is, as it says itself. */
export function runtimeVersion() {
  const g = globalThis;
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.process?.versions?.node) return `node ${g.process.versions.node}`;
  return g.navigator?.userAgent ?? 'unknown';
}
