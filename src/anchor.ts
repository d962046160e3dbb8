// Anchor (libwww HTAnchor): one per normalized absolute address. Holds what
// is known about the resource (type, codings, validators, variants) and,
// optionally, the document itself (the memory cache, libwww's HyperDoc).

export interface CachedDocument {
  /** The bytes, or an encoded variant's bytes, keyed by coding ('' = identity). */
  readonly bodies: Map<string, Buffer>;
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  /** When the file was last stat'ed to revalidate, in ms since the epoch. */
  checkedAt: number;
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
      if (this.#anchors.size >= this.#limit) {
        const oldest = this.#anchors.keys().next().value as string;
        this.#anchors.delete(oldest);
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
    this.#anchors.clear();
  }
}
