// The orders of a directory listing: `?sort=name|size|date&order=asc|desc`,
// directories always first. The query selects one of six renderings of the
// same entries; anything it does not name exactly gives the default, so an
// odd query never reaches the page. Used by converters/dir-listing.ts and by
// the upload's redirect back to the listing (protocols/file-upload.ts).

import type { DirEntry } from './dir-listing.js';

export type SortKey = 'name' | 'size' | 'date';
export type SortOrder = 'asc' | 'desc';
export interface Sort {
  readonly key: SortKey;
  readonly order: SortOrder;
}

export const DEFAULT_SORT: Sort = { key: 'name', order: 'asc' };
/** The order a column sorts in when first chosen: names A to Z, the largest and the newest first. */
export const FIRST_ORDER: Readonly<Record<SortKey, SortOrder>> = { name: 'asc', size: 'desc', date: 'desc' };

/**
 * The sort a query asks for (`?sort=size&order=desc`). Anything else, an
 * unknown key or order, a repeated or malformed parameter, gives the
 * default: the query only ever selects one of six renderings.
 */
export function parseSort(query: string | undefined): Sort {
  if (query === undefined || query.length < 2) return DEFAULT_SORT;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return DEFAULT_SORT;
  }
  const key = params.getAll('sort');
  if (key.length !== 1 || (key[0] !== 'name' && key[0] !== 'size' && key[0] !== 'date')) return DEFAULT_SORT;
  const order = params.getAll('order');
  if (order.length === 0) return { key: key[0], order: FIRST_ORDER[key[0]] };
  if (order.length !== 1 || (order[0] !== 'asc' && order[0] !== 'desc')) return DEFAULT_SORT;
  return { key: key[0], order: order[0] };
}

/** The query of a sort, '' for the default: what a link back to the same rendering carries. */
export function sortQuery(sort: Sort): string {
  return sort.key === DEFAULT_SORT.key && sort.order === DEFAULT_SORT.order ? '' : `?sort=${sort.key}&order=${sort.order}`;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function byName(a: DirEntry, b: DirEntry): number {
  return collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** A plugin's source may leave a number out; it sorts as 0 rather than breaking the sort. */
function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

/**
 * Directories first whatever the sort; then the key in the order asked,
 * ties by name A to Z. Directories have no size of their own: by size they
 * stay in name order.
 */
export function comparator(sort: Sort): (a: DirEntry, b: DirEntry) => number {
  const sign = sort.order === 'asc' ? 1 : -1;
  return (a, b) => {
    if (a.isDirectory !== b.isDirectory) return a.isDirectory ? -1 : 1;
    let c = 0;
    if (sort.key === 'name') c = byName(a, b);
    else if (sort.key === 'size') c = a.isDirectory ? 0 : finite(a.size) - finite(b.size);
    else c = finite(a.mtimeMs) - finite(b.mtimeMs);
    return c !== 0 ? sign * c : byName(a, b);
  };
}
