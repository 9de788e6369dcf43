import { MANIFEST_PREFIX, PACK_PREFIX } from './constants.js';

export const manifestKey = (hash: string): string => MANIFEST_PREFIX + hash;
export const packKey = (hash: string): string => PACK_PREFIX + hash;
