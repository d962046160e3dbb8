// One entry of the memory cache (libwww's HyperDoc): a document hung on its
// anchor, with its bodies by content coding. The converter stack adds the
// encodings it makes to `bodies` (src/stack.ts); each addition is charged
// to the cache at once, so the byte bound holds right after a gzip variant
// is made, not on the next hit. Modules extend it: the FILE module's
// FileDocument, the HTTP cache's StoredEntry.

import type { Anchor, CachedDocument } from '../anchor.js';
import { RingNode } from './ring.js';

/** The cache an entry is in, as the entry sees it (memory-cache.ts). */
export interface Holder {
  /** `entry`'s bodies grew or shrank by `bytes` (negative: shrank). */
  charge(entry: CacheEntry, bytes: number): void;
  /** `entry` out, and off its anchor. */
  remove(entry: CacheEntry): void;
}

/**
 * The bodies of an entry by coding ('' is the identity bytes). Every change
 * is charged to the cache that holds the entry, and to nothing once the
 * entry has left it (a request holding it then encodes for itself).
 */
export class Bodies extends Map<string, Buffer> {
  readonly #entry: CacheEntry;

  constructor(entry: CacheEntry) {
    super();
    this.#entry = entry;
  }

  override set(coding: string, bytes: Buffer): this {
    const had = this.get(coding);
    super.set(coding, bytes);
    // (The Map constructor calls set before #entry exists; this one never passes it entries.)
    const delta = bytes.length - (had?.length ?? 0);
    if (delta !== 0) this.#entry.charged(delta);
    return this;
  }

  override delete(coding: string): boolean {
    const had = this.get(coding);
    if (had === undefined) return false;
    super.delete(coding);
    if (had.length !== 0) this.#entry.charged(-had.length);
    return true;
  }

  override clear(): void {
    for (const coding of [...this.keys()]) this.delete(coding);
  }

  /** Bytes held in all bodies. */
  bytes(): number {
    let n = 0;
    for (const b of this.values()) n += b.length;
    return n;
  }
}

export abstract class CacheEntry extends RingNode implements CachedDocument {
  readonly bodies: Bodies = new Bodies(this);
  /** The next entry hung on the same anchor (the anchor's document is the first). */
  nextOnAnchor: CacheEntry | null = null;
  /** Bytes charged while in the cache: `extra` and every body; owned by the cache. */
  cost = 0;
  /** The cache it was put in; it counts it only while linked (in the ring). */
  home: Holder | null = null;
  abstract readonly size: number;
  abstract readonly mtimeMs: number;
  abstract readonly etag: string;
  abstract checkedAt: number;

  constructor(readonly anchor: Anchor) {
    super();
  }

  /** The dependency keys it is indexed under: invalidating one of them drops it. */
  abstract readonly keys: readonly string[];

  /** Bytes held besides the bodies (sidecars, fields, bookkeeping). */
  abstract extra(): number;

  /** In the cache's ring, i.e. counted. */
  get inCache(): boolean {
    return this.newer !== null;
  }

  /** Everything it holds, in bytes: what the cache must have charged. */
  measure(): number {
    return this.extra() + this.bodies.bytes();
  }

  /** It left the cache (evicted, invalidated, replaced, flushed, or never let in): let go of what it holds outside. */
  left(): void {}

  /** The module's own invariants, for `check()`: throws when one is broken. */
  verify(): void {}

  /** Bodies changed (Bodies): charged to the cache while in it. */
  charged(bytes: number): void {
    if (this.newer !== null) this.home!.charge(this, bytes);
  }

  /** Out of the cache that holds it (its anchor was dropped). */
  release(): void {
    if (this.newer !== null) this.home!.remove(this);
  }
}
