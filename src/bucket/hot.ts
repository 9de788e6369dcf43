/** Reading a version's hot-page regions: the base, then the delta whose pages override it. */
import { decodeHotRegion } from '../format/hot.js';
import type { HotRegion } from '../format/hot.js';
import { packKey } from '../format/keys.js';
import type { RootManifest } from '../format/manifest.js';
import type { BucketStore } from '../storage/types.js';
import { checkHash } from './versions.js';

export interface HotPages {
  /** Each region decoded, in root order (base first). */
  regions: HotRegion[];
  /** Page number → bytes, the delta applied over the base. */
  pages: Map<number, Uint8Array>;
}

export async function loadHotPages(store: BucketStore, root: RootManifest): Promise<HotPages> {
  const regions = await Promise.all(root.hot.map(async (ref) => {
    const key = packKey(ref.pack);
    const range = { offset: ref.offset, length: ref.length };
    const { body } = await store.get(key, { range });
    await checkHash(body, ref.sha256, key, range);
    return decodeHotRegion(body, root, key);
  }));
  const pages = new Map<number, Uint8Array>();
  for (const r of regions) r.pages.forEach((p, i) => pages.set(p, r.data[i]));
  return { regions, pages };
}
