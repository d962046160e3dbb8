// The memory tier of the HTTP cache: stored responses by effective request
// URI (the primary key, RFC 9111 §4), several per URI when Vary selects
// among them (§4.1), bounded in bytes with the least recently used going
// first. One source of truth for the accounting: an entry is counted while
// it is in the recency list, and only there.

import type { Format } from '../format.js';
import { Anchor } from '../anchor.js';
import type { ReplyHeaders } from '../reply.js';
import type { RequestHeaders } from '../request.js';
import type { CacheControl } from './cache-control.js';
import type { Timing } from './policy.js';
import { varyMatches } from './vary.js';

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
  /** Bytes charged: the body, its encoded variants and an estimate of the fields. */
  size: number;
  /**
   * The anchor its replies carry: its document holds the body and the
   * encoded variants the converter stack makes of it (src/stack.ts keeps a
   * gzip or br variant there), so a hit is compressed once, not per request.
   */
  anchor?: Anchor;
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

/**
 * Variants of a stored body by coding ('' is the body itself); each one
 * added is charged to the store at once.
 */
class Variants extends Map<string, Buffer> {
  onAdd: ((bytes: number) => void) | null = null;

  override set(coding: string, bytes: Buffer): this {
    const had = this.get(coding);
    super.set(coding, bytes);
    if (had === undefined && coding !== '') this.onAdd?.(bytes.length);
    return this;
  }
}

/** The anchor of a stored response, its body and variants its document. */
export function entryAnchor(entry: StoredResponse, store: MemoryStore): Anchor {
  const anchor = new Anchor(entry.uri);
  const bodies = new Variants([['', entry.body]]);
  bodies.onAdd = (bytes) => store.resize(entry, entry.size + bytes);
  const etag = entry.headers.ETag;
  anchor.document = { bodies, size: entry.body.length, mtimeMs: 0, etag: typeof etag === 'string' ? etag : '', checkedAt: 0 };
  return anchor;
}

export class MemoryStore {
  readonly #byUri = new Map<string, StoredResponse[]>();
  /** Recency, oldest first (a Set keeps insertion order; a touch re-inserts). */
  readonly #lru = new Set<StoredResponse>();
  #bytes = 0;
  #max: number;
  evictions = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#lru.size;
  }

  get maxBytes(): number {
    return this.#max;
  }

  /** The largest single entry kept: an eighth of the whole, so one response never flushes the rest. */
  get maxEntry(): number {
    return Math.floor(this.#max / 8);
  }

  setMax(maxBytes: number): void {
    this.#max = maxBytes;
    this.#evict();
  }

  /**
   * The stored response this request selects (the most recent of those
   * whose Vary values match, §4.1), and whether the URI has any at all.
   */
  select(uri: string, headers: RequestHeaders): { entry: StoredResponse | null; known: boolean } {
    const list = this.#byUri.get(uri);
    if (list === undefined) return { entry: null, known: false };
    let best: StoredResponse | null = null;
    for (const e of list) {
      if (varyMatches(e.vary, e.varyValues, headers) && (best === null || e.dateValue > best.dateValue || (e.dateValue === best.dateValue && e.responseTime >= best.responseTime))) best = e;
    }
    return { entry: best, known: true };
  }

  /** Marks an entry as just used. */
  touch(entry: StoredResponse): void {
    if (!this.#lru.delete(entry)) return;
    this.#lru.add(entry);
  }

  /**
   * Stores `entry`, replacing what the request that brought it would have
   * selected (the older response of the same secondary key). False when
   * it is larger than one entry may be.
   */
  put(entry: StoredResponse, requestHeaders: RequestHeaders): boolean {
    if (entry.size > this.maxEntry) return false;
    const list = this.#byUri.get(entry.uri);
    if (list !== undefined) {
      for (const e of [...list]) if (varyMatches(e.vary, e.varyValues, requestHeaders)) this.remove(e);
    }
    const now = this.#byUri.get(entry.uri);
    if (now === undefined) this.#byUri.set(entry.uri, [entry]);
    else {
      // A URI with too many variants (a Vary on a field clients fill at will) loses its oldest.
      while (now.length >= MAX_VARIANTS) {
        this.remove(now[0]!);
        this.evictions++;
      }
      now.push(entry);
    }
    this.#lru.add(entry);
    this.#bytes += entry.size;
    this.#evict();
    return this.#lru.has(entry);
  }

  /** An entry's fields changed (a 304 merged in): its size is charged again. */
  resize(entry: StoredResponse, size: number): void {
    if (!this.#lru.has(entry)) return;
    this.#bytes += size - entry.size;
    entry.size = size;
    this.#evict();
  }

  remove(entry: StoredResponse): void {
    if (!this.#lru.delete(entry)) return;
    this.#bytes -= entry.size;
    const list = this.#byUri.get(entry.uri)!;
    const i = list.indexOf(entry);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.#byUri.delete(entry.uri);
  }

  /** Every stored response of `uri` (§4.4: invalidation); the number removed. */
  invalidate(uri: string): number {
    const list = this.#byUri.get(uri);
    if (list === undefined) return 0;
    const n = list.length;
    for (const e of [...list]) this.remove(e);
    return n;
  }

  flush(): void {
    this.#byUri.clear();
    this.#lru.clear();
    this.#bytes = 0;
  }

  #evict(): void {
    while (this.#bytes > this.#max) {
      const oldest = this.#lru.values().next().value as StoredResponse | undefined;
      if (oldest === undefined) break;
      this.remove(oldest);
      this.evictions++;
    }
  }
}
