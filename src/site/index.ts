/**
 * `bucketlite/site`: site search from Node, what `bucketlite site` and `bucketlite search`
 * run. A subpath of its own, so `import('bucketlite')` never loads the HTML parser.
 * The browser's search box is `bucketlite/search` (worker/search.ts).
 */
export { buildSite, buildSiteFromPages, SITE_UPLOAD } from './build.js';
export type { SiteOptions, SiteResult } from './build.js';
export type { SitePage } from './extract.js';
export { runSearch, isSearchable, SEARCH_READ_OPTIONS } from './query.js';
export type { SearchOptions, SearchResult, SubResult, RunSql } from './query.js';
