// Anchor (libwww HTAnchor): one per normalized absolute address. Holds what
// is known about the resource (type, codings, validators, variants) and,
// optionally, the document itself (the memory cache, libwww's HyperDoc,
// src/cache/): the first of the entries hung on it, most recently used
// first, so the converter stack finds the entry a reply was made from.

export interface CachedDocument {
  /** The bytes, or an encoded variant's bytes, keyed by coding ('' = identity). */
  readonly bodies: Map<string, Buffer>;
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  /** When the file was last stat'ed to revalidate, in ms since the epoch. */
  checkedAt: number;
  /** Out of the cache that counts it, and off its anchor (the anchor is dropped). */
  release?(): void;
}

export class Anchor {
  readonly address: string;
  type: string | undefined;
  charset: string | undefined;
  codings: string[] | undefined;
  length: number | undefined;
  etag: string | undefined;
  lastModified: number | undefined;
  /** Sidecar variants by content coding: 'br' → address of x.br. */
  variants: Map<string, string> | undefined;
  document: CachedDocument | undefined;

  constructor(address: string) {
    this.address = address;
  }

  /** Lets go of its documents: each leaves the cache that counts it, so none stays counted and unreachable. */
  release(): void {
    for (let doc = this.document; doc?.release !== undefined; doc = this.document) {
      doc.release();
      if (this.document === doc) this.document = undefined;
    }
  }
}

/** The anchors of one server, by address; flushed on restart. */
export class AnchorTable {
  #anchors = new Map<string, Anchor>();
  #limit: number;

  constructor(limit = 100_000) {
    this.#limit = limit;
  }

  get(address: string): Anchor {
    let anchor = this.#anchors.get(address);
    if (anchor === undefined) {
      // Bounded: the oldest anchors go first (Map keeps insertion order).
      // An anchor dropped takes its cached documents with it.
      if (this.#anchors.size >= this.#limit) {
        const [oldest, dropped] = this.#anchors.entries().next().value as [string, Anchor];
        this.#anchors.delete(oldest);
        dropped.release();
      }
      anchor = new Anchor(address);
      this.#anchors.set(address, anchor);
    }
    return anchor;
  }

  get size(): number {
    return this.#anchors.size;
  }

  flush(): void {
    for (const anchor of this.#anchors.values()) anchor.release();
    this.#anchors.clear();
  }
}
