// The memory tier of the HTTP cache: stored responses by effective request
// URI (the primary key, RFC 9111 §4), several per URI when Vary selects
// among them (§4.1). They live in the memory cache the FILE module uses too
// (src/cache/): hung on the URI's anchor, bounded in bytes with the least
// recently used going first, encoded variants charged when the stack makes
// them. One source of truth for the accounting: an entry is counted while
// it is in the cache's ring, and only there.

import type { Format } from '../format.js';
import { Anchor } from '../anchor.js';
import { CacheEntry } from '../cache/entry.js';
import { MemoryCache, type Revalidator } from '../cache/memory-cache.js';
import type { ReplyHeaders } from '../reply.js';
import type { RequestHeaders } from '../request.js';
import type { CacheControl } from './cache-control.js';
import type { Timing } from './policy.js';
import { varyMatches } from './vary.js';
import type { Check } from './revalidator.js';

export interface StoredResponse extends Timing {
  readonly uri: string;
  /** The request fields Vary names (lower-case, sorted) and their normalised values when stored. */
  readonly vary: readonly string[];
  readonly varyValues: readonly (string | null)[];
  readonly status: number;
  /** The response's fields as the proxy passes them on, without Age and Date (computed when served). */
  headers: ReplyHeaders;
  /** Its Content-Type and Content-Encoding; a 304 may change the type (§3.2), never the codings. */
  format: Format | null;
  readonly body: Buffer;
  /** The Date sent with it: the origin's, else the time it was received. */
  date: string;
  /** Its Cache-Control, parsed; its freshness lifetime in seconds. */
  cc: CacheControl;
  lifetime: number;
  /** Its body and an estimate of its fields (entrySize); its encoded variants are charged besides. */
  size: number;
  /**
   * The anchor of its URI, which its replies carry: the memory cache hangs
   * it there (first while it is the most recently used), its bodies holding
   * the encoded variants the converter stack makes (src/stack.ts keeps a
   * gzip or br variant there), so a hit is compressed once, not per request.
   */
  anchor?: Anchor;
  /** Its entry in the memory cache, once put there (counted while `inCache`). */
  memory?: StoredEntry;
  requestTime: number;
  responseTime: number;
  dateValue: number;
  ageValue: number;
}

/**
 * What a stored response costs besides its body: its fields, and about a
 * kilobyte of objects (the entry, its parsed Cache-Control, its anchor),
 * so that many tiny responses cannot hold far more memory than the bound says.
 */
export const ENTRY_OVERHEAD = 1024;

/** Responses kept for one URI at most (Vary variants): selecting among them is a scan. */
export const MAX_VARIANTS = 32;

export function entrySize(headers: ReplyHeaders, body: Buffer): number {
  let n = ENTRY_OVERHEAD;
  for (const name in headers) {
    const v = headers[name]!;
    n += name.length + 4 + (typeof v === 'string' ? v.length : v.reduce((a, s) => a + s.length + 2, 0));
  }
  return n + body.length;
}

const NOTHING = Object.freeze({ entry: null, known: false });

/** §4.1: of the responses whose Vary values match, the most recent. */
function selectIn(set: ReadonlySet<StoredEntry>, headers: RequestHeaders): StoredResponse | null {
  let best: StoredResponse | null = null;
  for (const { response: e } of set) {
    if (varyMatches(e.vary, e.varyValues, headers) && (best === null || e.dateValue > best.dateValue || (e.dateValue === best.dateValue && e.responseTime >= best.responseTime))) best = e;
  }
  return best;
}

/**
 * A stored response in the memory cache (src/cache/): its body and the
 * encoded variants the stack makes of it are the entry's bodies, charged
 * when added; its fields and overhead are charged besides. Hung on the
 * anchor of its URI with the URI's other Vary variants.
 */
export class StoredEntry extends CacheEntry {
  readonly keys: readonly string[];
  readonly mtimeMs = 0;
  checkedAt = 0;

  constructor(anchor: Anchor, readonly response: StoredResponse) {
    super(anchor);
    this.keys = [response.uri];
    this.bodies.set('', response.body);
  }

  get size(): number {
    return this.response.body.length;
  }

  /** The validator the stack compares a reply's ETag with (src/stack.ts). */
  get etag(): string {
    const etag = this.response.headers.ETag;
    return typeof etag === 'string' ? etag : '';
  }

  /** Its fields and the overhead of its objects (ENTRY_OVERHEAD). */
  extra(): number {
    return this.response.size - this.response.body.length;
  }
}

/**
 * The stored responses in memory: the shared memory cache, by URI (its
 * index key and its anchor), selecting among a URI's responses by Vary.
 */
export class MemoryStore {
  readonly #cache: MemoryCache<StoredEntry, Check>;

  /** `revalidator`: the HTTP cache's (revalidator.ts); without one, every stored response is usable. */
  constructor(maxBytes: number, revalidator?: Revalidator<StoredEntry, Check>) {
    this.#cache = new MemoryCache<StoredEntry, Check>({ maxTotal: maxBytes, maxPerAnchor: MAX_VARIANTS, revalidator });
  }

  /** The memory cache itself (its invariants: `check()`). */
  get cache(): MemoryCache<StoredEntry, Check> {
    return this.#cache;
  }

  get bytes(): number {
    return this.#cache.total;
  }

  get count(): number {
    return this.#cache.count;
  }

  get evictions(): number {
    return this.#cache.evictions;
  }

  get maxBytes(): number {
    return this.#cache.maxTotal;
  }

  /** The largest single entry kept: an eighth of the whole, so one response never flushes the rest. */
  get maxEntry(): number {
    return Math.floor(this.#cache.maxTotal / 8);
  }

  setMax(maxBytes: number): void {
    this.#cache.setMaxTotal(maxBytes);
  }

  /**
   * The stored response this request selects (the most recent of those
   * whose Vary values match, §4.1), and whether the URI has any at all.
   */
  select(uri: string, headers: RequestHeaders): { entry: StoredResponse | null; known: boolean } {
    const set = this.#cache.under(uri);
    return set === undefined ? NOTHING : { entry: selectIn(set, headers), known: true };
  }

  /** What select() finds, without saying whether the URI has any (the hit path: nothing allocated). */
  find(uri: string, headers: RequestHeaders): StoredResponse | null {
    const set = this.#cache.under(uri);
    return set === undefined ? null : selectIn(set, headers);
  }

  /** Marks an entry as just used, first on its anchor (the stack finds its bodies there). */
  touch(entry: StoredResponse): void {
    if (entry.memory !== undefined) this.#cache.touch(entry.memory);
  }

  /**
   * Stores `entry` on the anchor of its URI, replacing what the request that
   * brought it would have selected (the older response of the same
   * secondary key). False when it is larger than one entry may be.
   */
  put(entry: StoredResponse, requestHeaders: RequestHeaders): boolean {
    if (entry.size > this.maxEntry) return false;
    if (entry.memory !== undefined) this.#cache.remove(entry.memory);
    const sibling = this.#cache.under(entry.uri)?.values().next().value;
    const anchor = sibling?.anchor ?? new Anchor(entry.uri);
    const stored = new StoredEntry(anchor, entry);
    entry.anchor = anchor;
    entry.memory = stored;
    return this.#cache.put(stored, (old) => varyMatches(old.response.vary, old.response.varyValues, requestHeaders));
  }

  /** An entry's fields changed (a 304 merged in): `size` is its fields and body, charged again with its variants. */
  resize(entry: StoredResponse, size: number): void {
    const stored = entry.memory;
    if (stored === undefined || !stored.inCache) {
      entry.size = size;
      return;
    }
    const delta = size - entry.size;
    entry.size = size;
    this.#cache.charge(stored, delta);
  }

  remove(entry: StoredResponse): void {
    if (entry.memory !== undefined) this.#cache.remove(entry.memory);
  }

  /** Every stored response of `uri` (§4.4: invalidation); the number removed. */
  invalidate(uri: string): number {
    return this.#cache.invalidate(uri);
  }

  flush(): void {
    this.#cache.flush();
  }
}
