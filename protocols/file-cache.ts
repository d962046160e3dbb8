// The memory cache of the FILE module: libwww's HyperDoc, a document kept
// on its anchor. Small files (≤ cacheMaxFile) live in `anchor.document` with
// their sidecar variants, the on-the-fly encodings the stack adds to
// `bodies`, and everything a reply needs precomputed (Content-Type,
// ETag, Last-Modified), so a hit touches no file system and allocates
// little more than its Reply. Bounded in bytes (cacheMaxTotal), least
// recently used first out; a document is stat'ed again at most once per
// revalidateMs (a changed size or mtime drops it, as does a vanished file);
// flush() on SIGHUP empties it. Several anchors may share a file (symlinks,
// a Welcome file under its directory): `invalidate(real)` drops them all
// after a write.

import type { Anchor, CachedDocument } from '../src/anchor.js';
import type { Format } from '../src/format.js';
import type { RuleSet } from '../src/rules/index.js';
import type { Validators } from './file-conditional.js';
import type { FileSystem } from './file-options.js';
import { strongETag } from './file-options.js';
import type { Binding, SidecarCoding } from './file-variants.js';

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

export class FileDocument implements CachedDocument {
  /** '' the identity bytes; the stream stack adds its on-the-fly encodings here. */
  readonly bodies = new Map<string, Buffer>();
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  checkedAt: number;
  /** Memo of the last Accept-Encoding seen and the variant it chose. */
  lastAcceptEncoding: string | undefined = undefined;
  lastChoice: CachedVariant;
  /** Owned by MemoryCache: LRU links, bytes charged, bodies counted. */
  newer: FileDocument | null = null;
  older: FileDocument | null = null;
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
  ) {
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
 * One stat per variant: true when all are as they were (checkedAt renewed),
 * false when one changed or vanished. A sidecar that appears behind the
 * server's back is noticed when the document changes or after a flush (one
 * written through PUT or POST at once); so is a Welcome file listed before
 * the one being served.
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
 * The paths a document depends on: its file and both sidecar names, present
 * or not, so that a PUT creating `x.gz` drops the `x` that had none.
 */
function pathsOf(doc: FileDocument): string[] {
  return [doc.real, doc.real + '.br', doc.real + '.gz'];
}

export class MemoryCache {
  /** Set through setLimits. */
  maxFile: number;
  maxTotal: number;
  #total = 0;
  #count = 0;
  /** Most and least recently used. */
  #newest: FileDocument | null = null;
  #oldest: FileDocument | null = null;
  /** Real path (document or sidecar) → the documents made from it. */
  #byReal = new Map<string, Set<FileDocument>>();

  constructor(maxFile: number, maxTotal: number) {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
  }

  /** New bounds: documents larger than `maxFile` leave, then the oldest until `maxTotal` holds. */
  setLimits(maxFile: number, maxTotal: number): void {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
    for (let doc = this.#oldest; doc !== null;) {
      const next = doc.newer;
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

  /** Hangs `doc` on its anchor, replacing what was there; evicts to stay in bounds. */
  put(doc: FileDocument): boolean {
    const old = doc.anchor.document;
    if (old instanceof FileDocument) this.remove(old);
    doc.cost = doc.measure();
    doc.counted = doc.bodies.size;
    if (doc.cost > this.maxTotal) return false;
    this.#link(doc);
    this.#total += doc.cost;
    this.#count++;
    doc.anchor.document = doc;
    for (const real of pathsOf(doc)) this.#index(real, doc);
    this.#evict();
    return true;
  }

  /** A hit: most recently used now; bodies the stack added since are charged. */
  touch(doc: FileDocument): void {
    if (doc.bodies.size !== doc.counted) {
      const cost = doc.measure();
      this.#total += cost - doc.cost;
      doc.cost = cost;
      doc.counted = doc.bodies.size;
    }
    if (this.#newest !== doc) {
      this.#unlink(doc);
      this.#link(doc);
    }
    if (this.#total > this.maxTotal) this.#evict();
  }

  remove(doc: FileDocument): void {
    if (doc.anchor.document === doc) doc.anchor.document = undefined;
    if (doc.newer === null && doc.older === null && this.#newest !== doc) return; // not in the cache
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

  flush(): void {
    while (this.#oldest !== null) this.remove(this.#oldest);
    this.#byReal.clear();
    this.#total = 0;
    this.#count = 0;
  }

  #index(real: string, doc: FileDocument): void {
    let set = this.#byReal.get(real);
    if (set === undefined) this.#byReal.set(real, (set = new Set()));
    set.add(doc);
  }

  #evict(): void {
    while (this.#total > this.maxTotal && this.#oldest !== null) this.remove(this.#oldest);
  }

  #link(doc: FileDocument): void {
    doc.older = this.#newest;
    doc.newer = null;
    if (this.#newest !== null) this.#newest.newer = doc;
    this.#newest = doc;
    if (this.#oldest === null) this.#oldest = doc;
  }

  #unlink(doc: FileDocument): void {
    if (doc.newer !== null) doc.newer.older = doc.older;
    else this.#newest = doc.older;
    if (doc.older !== null) doc.older.newer = doc.newer;
    else this.#oldest = doc.newer;
    doc.newer = null;
    doc.older = null;
  }
}
