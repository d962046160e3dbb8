// The memory cache of the FILE module: libwww's HyperDoc, a document kept
// on its anchor. Small files (≤ cacheMaxFile) live in `anchor.document` with
// their sidecar variants, the on-the-fly encodings the stack adds to
// `bodies`, and everything a reply needs precomputed (Content-Type,
// ETag, Last-Modified), so a hit touches no file system and allocates
// little more than its Reply. The cache itself is the one the HTTP cache
// uses too (src/cache/): bounded in bytes (cacheMaxTotal), least recently
// used first out, encodings charged when the stack adds them; flush() on
// SIGHUP empties it. This file holds what is the FILE module's: the
// document, its sidecars, its freshness (the Revalidator) and the bound on
// one document (cacheMaxFile). A document is
// fresh until the file system says otherwise: it holds a lease on the
// watched directories it depends on (file-watch.ts), and an event there drops
// it at once (`invalidateUnder`). There is no time window: a document whose
// directories could not be watched has no lease and is stat'ed on every
// request (`revalidate`: a changed size or mtime drops it, as does a
// vanished file). Several anchors may share a file (symlinks, a Welcome file
// under its directory): `invalidate(real)` drops them all after a write.

import type { Anchor } from '../src/anchor.js';
import { CacheEntry } from '../src/cache/entry.js';
import { MemoryCache, type Revalidator } from '../src/cache/memory-cache.js';
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
 * A document in the memory cache (src/cache/): its identity bytes in
 * `bodies` (where the stack adds its encodings, charged when added), its
 * sidecars beside them. One per anchor.
 */
export class FileDocument extends CacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  /** When the document was last known to match its file: read, or stat'ed (unwatched). */
  checkedAt: number;
  /**
   * The paths it depends on, present or not: its file, both sidecar names,
   * the requested name (when a symlink led elsewhere) and, for a Welcome
   * file, every Welcome name of its directory (one created before it in
   * the list would be served instead). Its keys in the cache's index.
   */
  readonly keys: readonly string[];
  /** Memo of the last Accept-Encoding seen and the variant it chose. */
  lastAcceptEncoding: string | undefined = undefined;
  lastChoice: CachedVariant;

  constructor(
    anchor: Anchor,
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
    super(anchor);
    const real = identity.real;
    this.keys = [real, real + '.br', real + '.gz', ...also.filter((p) => p !== real)];
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

  /** The sidecars, held besides the bodies. */
  extra(): number {
    return (this.br?.size ?? 0) + (this.gzip?.size ?? 0);
  }

  override left(): void {
    this.lease?.release();
  }

  override verify(): void {
    if (this.lease !== null && !this.lease.held) throw new Error(`cache: ${this.real} has let go of its watches`);
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
 * The FILE module's freshness: a document is fresh while its watches hold
 * (no system call, no time window); one without a lease is stat'ed.
 */
export function fileRevalidator(fs: FileSystem, now: () => number): Revalidator<FileDocument, void> {
  return {
    fresh: (doc) => doc.lease !== null,
    revalidate: (doc) => revalidate(fs, doc, now()),
  };
}

/**
 * The documents in memory: the shared memory cache, with the FILE module's
 * own bound on one document (cacheMaxFile), checked before a file is read.
 */
export class FileCache extends MemoryCache<FileDocument> {
  maxFile: number;

  constructor(maxFile: number, maxTotal: number, revalidator?: Revalidator<FileDocument, void>) {
    super({ maxTotal, maxPerAnchor: 1, revalidator });
    this.maxFile = maxFile;
  }

  /** New bounds: documents larger than `maxFile` leave, then the oldest until `maxTotal` holds. */
  setLimits(maxFile: number, maxTotal: number): void {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
    this.removeIf((doc) => doc.size > maxFile);
    this.setMaxTotal(maxTotal);
  }
}
