// The memory cache of the FILE module: libwww's HyperDoc, a document kept
// on its anchor. Small files (≤ cacheMaxFile) live in `anchor.document` with
// their sidecar variants, the on-the-fly encodings the stack adds to
// `bodies`, and everything a reply needs precomputed (Content-Type,
// ETag, Last-Modified), so a hit touches no file system and allocates
// little more than its Reply. Bounded in bytes (cacheMaxTotal), least
// recently used first out; flush() on SIGHUP empties it. A document is
// fresh until the file system says otherwise: it holds a lease on the
// watched directories it depends on (file-watch.ts), and an event there drops
// it at once (`invalidateUnder`). There is no time window: a document whose
// directories could not be watched has no lease and is stat'ed on every
// request (`revalidate`: a changed size or mtime drops it, as does a
// vanished file). Several anchors may share a file (symlinks, a Welcome file
// under its directory): `invalidate(real)` drops them all after a write.

import type { Anchor, CachedDocument } from '../src/anchor.js';
import type { Format } from '../src/format.js';
import type { RuleSet } from '../src/rules/index.js';
import type { Validators } from './file-conditional.js';
import type { FileSystem } from './file-options.js';
import { strongETag } from './file-options.js';
import type { Binding, SidecarCoding } from './file-variants.js';
import type { WatchLease } from './file-watch.js';

/** The selected representation, as the reply builder sees it (file-send.ts). */
export interface Representation extends Validators {
  readonly size: number;
  readonly mtimeMs: number;
  readonly lastModified: string;
  readonly format: Format;
  readonly contentType: string;
  /** The bytes when in memory. */
  readonly bytes: Buffer | null;
}

/** One variant of a document in memory: its identity bytes or a sidecar's. */
export class CachedVariant implements Representation {
  readonly size: number;
  readonly etag: string;
  readonly mtimeSec: number;
  readonly lastModified: string;
  readonly format: Format;
  readonly contentType: string;

  constructor(
    /** The real path these bytes were read from. */
    readonly real: string,
    readonly bytes: Buffer,
    readonly mtimeMs: number,
    binding: Binding,
    coding: SidecarCoding | null,
  ) {
    this.size = bytes.length;
    this.etag = strongETag(bytes.length, mtimeMs, coding === null ? '' : '-' + coding);
    this.mtimeSec = Math.floor(mtimeMs / 1000);
    this.lastModified = new Date(mtimeMs).toUTCString();
    this.format = coding === null ? binding.format : { type: binding.format.type, params: binding.format.params, codings: [coding] };
    this.contentType = binding.contentType;
  }
}

/**
 * A place in the memory cache's LRU ring: a document, or the ring's head.
 * The ring runs through its head, so every member has both links and no
 * other node has any: being linked is being in the cache, with no separate
 * flag to drift from the list (STYLE.md §13).
 */
export class LruNode {
  /** Towards the most recently used; the head's is the oldest member. */
  newer: LruNode | null = null;
  /** Towards the least recently used; the head's is the newest member. */
  older: LruNode | null = null;
}

export class FileDocument extends LruNode implements CachedDocument {
  /** '' the identity bytes; the stream stack adds its on-the-fly encodings here. */
  readonly bodies = new Map<string, Buffer>();
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  /** When the document was last known to match its file: read, or stat'ed (unwatched). */
  checkedAt: number;
  /**
   * The paths it depends on, present or not: its file, both sidecar names,
   * the requested name (when a symlink led elsewhere) and, for a Welcome
   * file, every Welcome name of its directory (one created before it in
   * the list would be served instead).
   */
  readonly paths: readonly string[];
  /** Memo of the last Accept-Encoding seen and the variant it chose. */
  lastAcceptEncoding: string | undefined = undefined;
  lastChoice: CachedVariant;
  /** Owned by MemoryCache: bytes charged, bodies counted. */
  cost = 0;
  counted = 0;

  constructor(
    readonly anchor: Anchor,
    /** The request root and rules it was resolved under: a hit needs the same. */
    readonly root: string | null,
    readonly rules: RuleSet | null,
    readonly identity: CachedVariant,
    readonly br: CachedVariant | null,
    readonly gzip: CachedVariant | null,
    now: number,
    /** The watched directories that keep it fresh; null: stat'ed on every request. Released when it leaves the cache. */
    readonly lease: WatchLease | null,
    also: readonly string[] = [],
  ) {
    super();
    const real = identity.real;
    this.paths = [real, real + '.br', real + '.gz', ...also.filter((p) => p !== real)];
    this.size = identity.size;
    this.mtimeMs = identity.mtimeMs;
    this.etag = identity.etag;
    this.checkedAt = now;
    this.bodies.set('', identity.bytes);
    this.lastChoice = identity;
  }

  get real(): string {
    return this.identity.real;
  }

  /** In a memory cache's list, i.e. linked (LruNode). */
  get inCache(): boolean {
    return this.newer !== null;
  }

  get hasSidecars(): boolean {
    return this.br !== null || this.gzip !== null;
  }

  /** Bytes held: every body and sidecar. */
  measure(): number {
    let n = 0;
    for (const b of this.bodies.values()) n += b.length;
    return n + (this.br?.size ?? 0) + (this.gzip?.size ?? 0);
  }
}

/**
 * For a document no watch covers: one stat per variant, true when all are
 * as they were (checkedAt renewed), false when one changed or vanished. A
 * sidecar that appears behind the server's back is noticed when the
 * document changes or after a flush (one written through PUT or POST at
 * once); so is a Welcome file listed before the one being served.
 */
export async function revalidate(fs: FileSystem, doc: FileDocument, now: number): Promise<boolean> {
  try {
    for (const v of [doc.identity, doc.br, doc.gzip]) {
      if (v === null) continue;
      const st = await fs.stat(v.real);
      if (!st.isFile() || st.size !== v.size || st.mtimeMs !== v.mtimeMs) return false;
    }
  } catch {
    return false;
  }
  doc.checkedAt = now;
  return true;
}

/**
 * The paths a document depends on (FileDocument.paths): a PUT creating
 * `x.gz` drops the `x` that had none.
 */
function pathsOf(doc: FileDocument): readonly string[] {
  return doc.paths;
}

/**
 * The documents in memory, least recently used first out. A request may hold
 * a document across an await (its stat) while others evict or invalidate it:
 * `touch` then answers false and leaves it out, so a removed document is
 * never linked back into a list it no longer counts in.
 */
export class MemoryCache {
  /** Set through setLimits. */
  maxFile: number;
  maxTotal: number;
  #total = 0;
  #count = 0;
  /**
   * Since start, counted by the FILE module: GETs and HEADs answered from
   * memory, and those it had to read from disk (or found missing). Plain
   * integers, for the status page; a flush keeps them.
   */
  hits = 0;
  misses = 0;
  /** The ring's head: `older` is the newest document, `newer` the oldest. */
  readonly #head = new LruNode();
  /** Real path (document or sidecar) → the documents made from it. */
  #byReal = new Map<string, Set<FileDocument>>();

  constructor(maxFile: number, maxTotal: number) {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
    this.#head.newer = this.#head;
    this.#head.older = this.#head;
  }

  /** New bounds: documents larger than `maxFile` leave, then the oldest until `maxTotal` holds. */
  setLimits(maxFile: number, maxTotal: number): void {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
    for (let doc = this.#oldest(); doc !== null;) {
      const next = this.#newerThan(doc);
      if (doc.size > maxFile) this.remove(doc);
      doc = next;
    }
    this.#evict();
  }

  get total(): number {
    return this.#total;
  }

  get count(): number {
    return this.#count;
  }

  /**
   * Hangs `doc` on its anchor, replacing what was there; evicts to stay in
   * bounds. False when it cannot fit: it is then not cached and its lease
   * is let go.
   */
  put(doc: FileDocument): boolean {
    const old = doc.anchor.document;
    if (old instanceof FileDocument && old !== doc) this.remove(old);
    if (doc.inCache) this.#take(doc);
    doc.cost = doc.measure();
    doc.counted = doc.bodies.size;
    if (doc.cost > this.maxTotal) {
      if (doc.anchor.document === doc) doc.anchor.document = undefined;
      doc.lease?.release();
      return false;
    }
    this.#link(doc);
    this.#total += doc.cost;
    this.#count++;
    doc.anchor.document = doc;
    for (const real of pathsOf(doc)) this.#index(real, doc);
    this.#evict();
    return true;
  }

  /**
   * A hit: most recently used now; bodies the stack added since are charged.
   * False, and nothing done, when `doc` is no longer in the cache.
   */
  touch(doc: FileDocument): boolean {
    if (!doc.inCache) return false;
    if (doc.bodies.size !== doc.counted) {
      const cost = doc.measure();
      this.#total += cost - doc.cost;
      doc.cost = cost;
      doc.counted = doc.bodies.size;
    }
    if (this.#head.older !== doc) {
      this.#unlink(doc);
      this.#link(doc);
    }
    if (this.#total > this.maxTotal) this.#evict();
    return true;
  }

  /** Takes `doc` out of the cache and off its anchor, its watches let go; nothing more when it is not in. */
  remove(doc: FileDocument): void {
    if (doc.anchor.document === doc) doc.anchor.document = undefined;
    if (!doc.inCache) return;
    this.#take(doc);
    doc.lease?.release();
  }

  /** Out of the ring, the totals and the index. */
  #take(doc: FileDocument): void {
    this.#unlink(doc);
    this.#total -= doc.cost;
    this.#count--;
    for (const real of pathsOf(doc)) {
      const set = this.#byReal.get(real);
      set?.delete(doc);
      if (set?.size === 0) this.#byReal.delete(real);
    }
  }

  /** Drops every document read from `real` (after a PUT, DELETE or upload). */
  invalidate(real: string): void {
    const set = this.#byReal.get(real);
    if (set === undefined) return;
    for (const doc of [...set]) this.remove(doc);
  }

  /**
   * Drops every document depending on `changed` or on anything below it (a
   * watched directory reported it: a file edited, created, deleted or
   * renamed, or a directory renamed or deleted with all it held).
   */
  invalidateUnder(changed: string): void {
    this.invalidate(changed);
    const prefix = changed.endsWith('/') ? changed : changed + '/';
    for (const [real, set] of this.#byReal) {
      if (real.startsWith(prefix)) for (const doc of [...set]) this.remove(doc);
    }
  }

  flush(): void {
    for (let doc = this.#oldest(); doc !== null; doc = this.#oldest()) this.remove(doc);
  }

  /**
   * The invariants, for tests: the ring's links agree both ways, it holds
   * `count` documents costing `total` bytes in all, within maxTotal, each
   * the document of its anchor and indexed under its paths, and the index
   * holds nothing else. Returns the documents, oldest first; throws at the
   * first broken invariant (a walk is bounded by the count, so a broken ring
   * cannot loop).
   */
  check(): FileDocument[] {
    const docs: FileDocument[] = [];
    let total = 0;
    let prev: LruNode = this.#head;
    for (let node = this.#head.newer; node !== this.#head; node = node.newer) {
      if (node === null || node.older !== prev) throw new Error(`cache: broken link after ${docs.length} documents`);
      if (docs.length === this.#count) throw new Error(`cache: more documents in the list than the ${this.#count} counted`);
      const doc = node as FileDocument;
      if (doc.anchor.document !== doc) throw new Error(`cache: ${doc.real} is not its anchor's document`);
      if (doc.lease !== null && !doc.lease.held) throw new Error(`cache: ${doc.real} has let go of its watches`);
      for (const real of pathsOf(doc)) if (this.#byReal.get(real)?.has(doc) !== true) throw new Error(`cache: ${real} not indexed`);
      docs.push(doc);
      total += doc.cost;
      prev = node;
    }
    if (this.#head.older !== prev) throw new Error('cache: the head does not link back to the newest document');
    if (docs.length !== this.#count) throw new Error(`cache: ${docs.length} documents in the list, ${this.#count} counted`);
    if (total !== this.#total) throw new Error(`cache: ${total} bytes in the list, ${this.#total} counted`);
    if (total > this.maxTotal) throw new Error(`cache: ${total} bytes held, over ${this.maxTotal}`);
    const members = new Set(docs);
    for (const [real, set] of this.#byReal) {
      if (set.size === 0) throw new Error(`cache: an empty index entry for ${real}`);
      for (const doc of set) if (!members.has(doc)) throw new Error(`cache: ${real} indexes a document not in the list`);
    }
    return docs;
  }

  #oldest(): FileDocument | null {
    const node = this.#head.newer!;
    return node === this.#head ? null : (node as FileDocument);
  }

  #newerThan(doc: FileDocument): FileDocument | null {
    const node = doc.newer!;
    return node === this.#head ? null : (node as FileDocument);
  }

  #index(real: string, doc: FileDocument): void {
    let set = this.#byReal.get(real);
    if (set === undefined) this.#byReal.set(real, (set = new Set()));
    set.add(doc);
  }

  #evict(): void {
    for (let doc = this.#oldest(); this.#total > this.maxTotal && doc !== null; doc = this.#oldest()) this.remove(doc);
  }

  /** In as the newest. */
  #link(doc: FileDocument): void {
    const head = this.#head;
    const newest = head.older!;
    doc.older = newest;
    doc.newer = head;
    newest.newer = doc;
    head.older = doc;
  }

  #unlink(doc: FileDocument): void {
    doc.newer!.older = doc.older;
    doc.older!.newer = doc.newer;
    doc.newer = null;
    doc.older = null;
  }
}
