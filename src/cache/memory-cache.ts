// The memory cache (libwww's HyperDoc, documents kept on their anchors),
// one implementation for the FILE module's documents and the HTTP cache's
// stored responses. Entries (entry.ts) hang on anchors, several per anchor
// where the module selects among them by a secondary key (Vary, for the
// HTTP cache; the FILE module keeps one per anchor): the anchor's `document`
// is the first of a chain, most recently used first, so the converter stack
// finds the entry a reply was just made from. Bounded in bytes, least
// recently used first out (ring.ts), evictions counted. Bodies the stack
// adds are charged when added. An index from dependency keys (real paths,
// URIs) to entries serves invalidation. An entry that leaves, for whatever
// reason, leaves its anchor too: nothing stays reachable from an anchor that
// the cache no longer counts. Freshness is the module's: it supplies a
// Revalidator. Concurrent loads of one key share one through loads.ts.

import type { Anchor } from '../anchor.js';
import { CacheEntry, type Holder } from './entry.js';
import { Ring } from './ring.js';

/** How a module decides that an entry may still answer (its freshness). */
export interface Revalidator<E, C> {
  /** Usable as it is for this request, with no I/O (FILE: its watches hold). */
  fresh(entry: E, context: C): boolean;
  /** Checked against its source (FILE: a stat); true when it still holds. */
  revalidate(entry: E, context: C): Promise<boolean>;
}

const ALWAYS: Revalidator<unknown, unknown> = { fresh: () => true, revalidate: async () => true };

export interface MemoryCacheOptions<E, C> {
  /** Bytes held at most. */
  maxTotal: number;
  /** Entries per anchor at most (the oldest on the anchor goes); default 1. */
  maxPerAnchor?: number;
  revalidator?: Revalidator<E, C>;
}

export class MemoryCache<E extends CacheEntry, C = void> implements Holder {
  maxTotal: number;
  readonly maxPerAnchor: number;
  #total = 0;
  #count = 0;
  /**
   * Counted by the module that uses it: requests answered from memory and
   * those that were not. Plain integers, for the status page; a flush keeps
   * them, as it keeps `evictions` (entries pushed out by the bound).
   */
  hits = 0;
  misses = 0;
  evictions = 0;
  readonly #ring = new Ring<E>();
  /** Dependency key → the entries depending on it. */
  readonly #byKey = new Map<string, Set<E>>();
  readonly #revalidator: Revalidator<E, C>;

  constructor(options: MemoryCacheOptions<E, C>) {
    this.maxTotal = options.maxTotal;
    this.maxPerAnchor = options.maxPerAnchor ?? 1;
    this.#revalidator = options.revalidator ?? (ALWAYS as Revalidator<E, C>);
  }

  get total(): number {
    return this.#total;
  }

  get count(): number {
    return this.#count;
  }

  /** A new byte bound: the oldest entries leave until it holds. */
  setMaxTotal(maxTotal: number): void {
    this.maxTotal = maxTotal;
    this.#evict();
  }

  /** The entries on `anchor` (this cache's), most recently used first. */
  *on(anchor: Anchor): IterableIterator<E> {
    for (let e = first(anchor); e !== null; e = e.nextOnAnchor) if (e.home === this) yield e as E;
  }

  /** The entries indexed under `key`, or none. */
  under(key: string): ReadonlySet<E> | undefined {
    return this.#byKey.get(key);
  }

  /**
   * Hangs `entry` on its anchor, first there, replacing the entries of the
   * anchor that `replaces` says it replaces (all of them by default), and
   * evicts to stay in bounds. False when it does not fit (it is then not
   * cached, and has been told it left) or was evicted at once.
   */
  put(entry: E, replaces?: (old: E) => boolean): boolean {
    // Put again: out and back in, measured afresh, keeping what it holds outside.
    if (entry.newer !== null && entry.home === this) this.#take(entry);
    const anchor = entry.anchor;
    let kept = 0;
    for (let e = first(anchor); e !== null;) {
      const next = e.nextOnAnchor;
      if (e.home !== this || replaces === undefined || replaces(e as E)) e.release();
      else kept++;
      e = next;
    }
    // Too many on one anchor (a Vary on a field clients fill at will): the least recently used there goes.
    for (; kept >= this.maxPerAnchor; kept--) {
      this.remove(last(anchor) as E);
      this.evictions++;
    }
    entry.home = this;
    entry.cost = entry.measure();
    if (entry.cost > this.maxTotal) {
      entry.left();
      return false;
    }
    this.#ring.link(entry);
    this.#total += entry.cost;
    this.#count++;
    entry.nextOnAnchor = first(anchor);
    anchor.document = entry;
    for (const key of entry.keys) this.#index(key, entry);
    this.#evict();
    return entry.inCache;
  }

  /**
   * A hit: the entry is the most recently used now, and first on its anchor.
   * False, and nothing done, when it is no longer in the cache (a request
   * held it across an await while others evicted or invalidated it): a
   * removed entry is never linked back into a ring it no longer counts in.
   */
  touch(entry: E): boolean {
    if (entry.newer === null) return false;
    if (!this.#ring.isNewest(entry)) {
      this.#ring.unlink(entry);
      this.#ring.link(entry);
    }
    if (entry.anchor.document !== entry) {
      unchain(entry);
      entry.nextOnAnchor = first(entry.anchor);
      entry.anchor.document = entry;
    }
    return true;
  }

  /** In the cache and fresh as the module sees it, without I/O; touched when so. */
  fresh(entry: E, context: C): boolean {
    return entry.newer !== null && this.#revalidator.fresh(entry, context) && this.touch(entry);
  }

  /**
   * Checked by the module's revalidator, for this request (not shared with
   * another in flight: that one began before this request arrived, and may
   * have missed a change made since). True when it holds and is still in the
   * cache (touched); one found changed is removed.
   */
  async revalidate(entry: E, context: C): Promise<boolean> {
    const holds = await this.#revalidator.revalidate(entry, context).catch(() => false);
    // Another request may have evicted or invalidated it meanwhile (STYLE.md §15).
    if (holds) return this.touch(entry);
    this.remove(entry);
    return false;
  }

  /** `entry`'s bodies changed by `bytes` (Bodies.set): charged now, and the bound kept. */
  charge(entry: CacheEntry, bytes: number): void {
    entry.cost += bytes;
    this.#total += bytes;
    if (bytes > 0) this.#evict();
  }

  /** Takes `entry` out of the cache and off its anchor; nothing when it is not in. */
  remove(entry: CacheEntry): void {
    if (entry.newer === null || entry.home !== this) return;
    this.#take(entry);
    entry.left();
  }

  /** Out of the ring, the total, the index and its anchor's chain. */
  #take(entry: CacheEntry): void {
    this.#ring.unlink(entry as E);
    this.#total -= entry.cost;
    this.#count--;
    for (const key of entry.keys) {
      const set = this.#byKey.get(key);
      set?.delete(entry as E);
      if (set?.size === 0) this.#byKey.delete(key);
    }
    unchain(entry);
  }

  /** Drops every entry depending on `key`; the number dropped. */
  invalidate(key: string): number {
    const set = this.#byKey.get(key);
    if (set === undefined) return 0;
    const n = set.size;
    for (const e of [...set]) this.remove(e);
    return n;
  }

  /** Drops every entry depending on `dir` or on a key below it (`dir/…`). */
  invalidateUnder(dir: string): void {
    this.invalidate(dir);
    const prefix = dir.endsWith('/') ? dir : dir + '/';
    for (const [key, set] of this.#byKey) {
      if (key.startsWith(prefix)) for (const e of [...set]) this.remove(e);
    }
  }

  /** Removes the entries `drop` picks, oldest first. */
  removeIf(drop: (entry: E) => boolean): void {
    for (let e = this.#ring.oldest(); e !== null;) {
      const next = this.#ring.newerThan(e);
      if (drop(e)) this.remove(e);
      e = next;
    }
  }

  flush(): void {
    for (let e = this.#ring.oldest(); e !== null; e = this.#ring.oldest()) this.remove(e);
  }

  /**
   * The invariants, for tests: the ring's links agree both ways; it holds
   * `count` entries costing `total` bytes, within maxTotal; each entry's cost
   * is what it holds; each is on its anchor's chain (no longer than
   * maxPerAnchor) and indexed under its keys, and the index holds nothing
   * else; the anchors given (the test's) hold no entry the cache dropped.
   * Returns the entries, oldest first; throws at the first broken invariant.
   */
  check(anchors: Iterable<Anchor> = []): E[] {
    const entries = this.#ring.walk(this.#count);
    if (entries.length !== this.#count) throw new Error(`cache: ${entries.length} entries in the ring, ${this.#count} counted`);
    let total = 0;
    const members = new Set<CacheEntry>(entries);
    for (const e of entries) {
      const name = e.keys[0] ?? e.anchor.address;
      if (e.home !== this) throw new Error(`cache: ${name} is in the ring of another cache`);
      const held = e.measure();
      if (held !== e.cost) throw new Error(`cache: ${name} holds ${held} bytes, charged ${e.cost}`);
      total += e.cost;
      let onAnchor = 0;
      let found = false;
      for (let c = first(e.anchor); c !== null; c = c.nextOnAnchor) {
        if (++onAnchor > this.maxPerAnchor) throw new Error(`cache: more than ${this.maxPerAnchor} entries on ${e.anchor.address}`);
        if (c === e) found = true;
      }
      if (!found) throw new Error(`cache: ${name} is not on its anchor`);
      for (const key of e.keys) if (this.#byKey.get(key)?.has(e) !== true) throw new Error(`cache: ${key} not indexed`);
      e.verify();
    }
    if (total !== this.#total) throw new Error(`cache: ${total} bytes in the ring, ${this.#total} counted`);
    if (total > this.maxTotal) throw new Error(`cache: ${total} bytes held, over ${this.maxTotal}`);
    for (const [key, set] of this.#byKey) {
      if (set.size === 0) throw new Error(`cache: an empty index entry for ${key}`);
      for (const e of set) if (!members.has(e)) throw new Error(`cache: ${key} indexes an entry not in the ring`);
    }
    for (const anchor of anchors) {
      for (let c = first(anchor); c !== null; c = c.nextOnAnchor) {
        if (c.home === this && !members.has(c)) throw new Error(`cache: ${anchor.address} holds an entry the cache dropped`);
        if (c.anchor !== anchor) throw new Error(`cache: ${anchor.address} holds an entry of another anchor`);
      }
    }
    return entries;
  }

  #index(key: string, entry: E): void {
    let set = this.#byKey.get(key);
    if (set === undefined) this.#byKey.set(key, (set = new Set()));
    set.add(entry);
  }

  #evict(): void {
    for (let e = this.#ring.oldest(); this.#total > this.maxTotal && e !== null; e = this.#ring.oldest()) {
      this.remove(e);
      this.evictions++;
    }
  }
}

/** The first cache entry on `anchor`, or null (its document may be something else, or nothing). */
function first(anchor: Anchor): CacheEntry | null {
  const doc = anchor.document;
  return doc instanceof CacheEntry ? doc : null;
}

function last(anchor: Anchor): CacheEntry | null {
  let e = first(anchor);
  while (e?.nextOnAnchor != null) e = e.nextOnAnchor;
  return e;
}

/** `entry` off its anchor's chain; the anchor's document is the next one, or nothing. */
function unchain(entry: CacheEntry): void {
  const anchor = entry.anchor;
  if (anchor.document === entry) {
    anchor.document = entry.nextOnAnchor ?? undefined;
  } else {
    for (let e = first(anchor); e !== null; e = e.nextOnAnchor) {
      if (e.nextOnAnchor === entry) {
        e.nextOnAnchor = entry.nextOnAnchor;
        break;
      }
    }
  }
  entry.nextOnAnchor = null;
}
