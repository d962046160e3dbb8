// The FILE module's options and the file system it is given (STYLE.md §10:
// I/O is injected). libwww kept these as HTFile globals (HTFile_setDirAccess,
// HTFile_setDirReadme…); here they are one object handed to `new FileProtocol`.
// Every disk access of the module goes through `fs`, so a test can count the
// calls of a cache hit (none) or make `write`/`sync` fail with ENOSPC; every
// watch through `watch`, so a test can make watching fail.

import * as fsp from 'node:fs/promises';
import type { MultipartLimits } from '../converters/multipart.js';
import type { SharedLock } from './file-write.js';
import { MAX_WATCHES, watchDirectory, type WatchFunction } from './file-watch.js';

/** The methods the FILE module answers (Protocol.methods); the rules say where. */
export const FILE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'POST']);

/** The part of `node:fs/promises` the FILE module uses. */
export type FileSystem = Pick<typeof fsp, 'open' | 'stat' | 'lstat' | 'realpath' | 'opendir' | 'rename' | 'link' | 'unlink'>;

export interface FileOptions {
  /** An fs/promises-like object; default `node:fs/promises`. */
  fs?: FileSystem;
  /** Dotfiles and dot-directories below the root: 'deny' (404, default) or 'allow'. `.well-known` is always allowed. */
  dotfiles?: 'deny' | 'allow';
  /** More ranges than this in one Range field → the whole 200 (RFC 9110 §14.2 lets a server ignore Range). Default 16. */
  maxRanges?: number;
  /** Documents up to this size are kept in memory on their anchor. Default 1 MiB; 0 turns the cache off. */
  cacheMaxFile?: number;
  /** All cached documents together, sidecars and on-the-fly encodings included. Default 64 MiB. */
  cacheMaxTotal?: number;
  /**
   * Watches the directories of cached documents (file-watch.ts); default
   * node's fs.watch. null: no watching, every cached document is stat'ed on
   * each request.
   */
  watch?: WatchFunction | null;
  /** Directories watched at once; past it, documents are stat'ed on each request. Default 256. */
  maxWatches?: number;
  /** A POST upload may replace an existing file of the same name. Default false: a free name `name (1).ext` is picked. */
  overwriteUploads?: boolean;
  /** Limits of a multipart upload; `fileSize` defaults to the request's body limit. */
  uploadLimits?: Partial<MultipartLimits>;
  /** One line per unexpected failure (the 500s); default stderr. */
  log?: (message: string) => void;
  /** The clock of FileDocument.checkedAt; default Date.now. */
  now?: () => number;
  /** Write commits held across processes too (workers); default none: this process only. */
  sharedLock?: SharedLock;
}

/** The options with every default filled in. */
export interface FileConfig {
  readonly fs: FileSystem;
  readonly dotfiles: 'deny' | 'allow';
  readonly maxRanges: number;
  readonly cacheMaxFile: number;
  readonly cacheMaxTotal: number;
  readonly watch: WatchFunction | null;
  readonly maxWatches: number;
  readonly overwriteUploads: boolean;
  readonly uploadLimits: Partial<MultipartLimits>;
  readonly log: (message: string) => void;
  readonly now: () => number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
/** The memory cache's default bounds (CacheMaxFile, CacheSize). */
export const CACHE_MAX_FILE = MiB;
export const CACHE_MAX_TOTAL = 64 * MiB;

export function fileConfig(options: FileOptions = {}): FileConfig {
  return Object.freeze({
    fs: options.fs ?? fsp,
    dotfiles: options.dotfiles ?? 'deny',
    maxRanges: options.maxRanges ?? 16,
    cacheMaxFile: options.cacheMaxFile ?? CACHE_MAX_FILE,
    cacheMaxTotal: options.cacheMaxTotal ?? CACHE_MAX_TOTAL,
    watch: options.watch === undefined ? watchDirectory : options.watch,
    maxWatches: options.maxWatches ?? MAX_WATCHES,
    overwriteUploads: options.overwriteUploads ?? false,
    uploadLimits: options.uploadLimits ?? {},
    log: options.log ?? ((message: string) => void process.stderr.write(`streamstack: file: ${message}\n`)),
    now: options.now ?? Date.now,
  });
}

/** `"size-mtime"` in hex, mtime in microseconds: strong, as nginx's (RFC 9110 §8.8.3). */
export function strongETag(size: number, mtimeMs: number, suffix = ''): string {
  return `"${size.toString(16)}-${Math.round(mtimeMs * 1000).toString(16)}${suffix}"`;
}
