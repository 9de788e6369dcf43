// Types for corpus.mjs (plain JavaScript so that every runtime loads it unchanged).
export type JsonValue = null | string | number | { int: string } | { blob: string };
export type NormalRows = [string, JsonValue][][];
export interface CorpusQuery { name: string; sql: string; params?: unknown[] | Record<string, unknown> }
export const BLOB_PARAM: Uint8Array;
export const QUERIES: CorpusQuery[];
export function normalizeValue(v: unknown): JsonValue;
export function normalizeRows(rows: Record<string, unknown>[]): NormalRows;
export function runCorpus(query: (sql: string, params?: unknown) => Promise<Record<string, unknown>[]>): Promise<Record<string, NormalRows>>;
export function runtimeVersion(): string;
