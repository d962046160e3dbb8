// The FILE protocol module (libwww HTFile): documents on disk, for the
// `file:` addresses the rules produced, confined to the directory the rule
// passed. GET and HEAD with validators, preconditions and ranges
// (file-send.ts, file-conditional.ts), precompressed sidecars
// (file-variants.ts), directories (file-dir.ts), PUT and DELETE
// (file-write.ts) and multipart uploads (file-upload.ts) where an Enable
// rule let the method through. Small documents are kept in memory on their
// anchor (file-cache.ts, libwww's HyperDoc), fresh until a watched directory
// reports a change (file-watch.ts): a hit costs no system call.
// Formats produced: the file's own (AddType, then `mime`), its sidecar's
// coding, `www/dir` for a listing, `multipart/byteranges` for several ranges.

import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Anchor } from '../src/anchor.js';
import { HttpError, fromOsError } from '../src/errors.js';
import { allowedMethods, type NetManager, type Protocol } from '../src/net.js';
import type { Reply } from '../src/reply.js';
import type { Request } from '../src/request.js';
import { Loads } from '../src/cache/loads.js';
import { CachedVariant, FileCache, FileDocument, fileRevalidator, type Representation } from './file-cache.js';
import { directory, type DirContext } from './file-dir.js';
import { diskRep, handleSource, openForRead, readAll, sidecarStat } from './file-disk.js';
import { FILE_METHODS, fileConfig, type FileConfig, type FileOptions } from './file-options.js';
import { RealRoots, confine, localName, type LocalName } from './file-path.js';
import { bufferSource, send, whole } from './file-send.js';
import { upload } from './file-upload.js';
import { SIDECARS, bindingFor, chooseSidecar, type Binding, type SidecarCoding } from './file-variants.js';
import { PathLocks, del, put, type WriteContext } from './file-write.js';
import { DirWatches, dependencies, type WatchLease } from './file-watch.js';

export type { FileOptions, FileSystem } from './file-options.js';

/**
 * A document being read into memory: a change reported under one of its
 * paths meanwhile makes it stale, and it is then served once but not kept
 * (STYLE.md §15: the read may hold the old bytes, or half of the new).
 */
interface PendingLoad {
  readonly paths: readonly string[];
  stale: boolean;
}

/** Whether `changed` is `p` or a directory above it. */
function covers(changed: string, p: string): boolean {
  return p === changed || (p.startsWith(changed) && p.charCodeAt(changed.length) === 0x2f);
}

export class FileProtocol implements Protocol {
  readonly scheme = 'file';
  readonly methods = FILE_METHODS;
  readonly config: FileConfig;
  readonly cache: FileCache;
  readonly #roots: RealRoots;
  /** The directories cached documents depend on, watched. */
  readonly watches: DirWatches;
  readonly #pending = new Set<PendingLoad>();
  /** Misses in progress by anchor, so concurrent misses share one read. */
  readonly #loading = new Loads<Anchor>();
  /** Anchors whose file was last seen too big for the memory cache. */
  #big = new WeakSet<Anchor>();
  readonly #dir: DirContext;
  readonly #write: WriteContext;

  constructor(options: FileOptions = {}) {
    const config = fileConfig(options);
    this.config = config;
    this.cache = new FileCache(config.cacheMaxFile, config.cacheMaxTotal, fileRevalidator(config.fs, config.now));
    const roots = new RealRoots(config.fs);
    this.#roots = roots;
    this.watches = new DirWatches(config.watch, config.maxWatches, (dir, name) => this.#changed(dir, name), config.log);
    this.#dir = {
      config,
      roots,
      serveFile: (request, name, real, handle, stat) => this.#serveFile(request, name, real, handle, stat, true),
      open: (real) => this.#open(real),
    };
    const cache = this.cache;
    this.#write = {
      config,
      roots,
      locks: new PathLocks(options.sharedLock ?? null),
      invalidate(request, ...reals) {
        const doc = request.anchor?.document;
        if (doc instanceof FileDocument) cache.remove(doc);
        for (const real of reals) if (real !== null) cache.invalidate(real);
      },
    };
  }

  /**
   * The hit path: a cached document whose directories are watched. No system
   * call, no time window, one Reply; one that is not watched waits for its stat.
   */
  loadNow(request: Request): Reply | null {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') return null;
    const doc = request.anchor?.document;
    if (!(doc instanceof FileDocument) || doc.root !== request.root || doc.rules !== request.rules) return null;
    if (!this.cache.fresh(doc)) return null;
    this.cache.hits++;
    return this.#sendDocument(request, doc);
  }

  async load(request: Request, _net: NetManager): Promise<Reply> {
    const method = request.method;
    if (method === 'GET' || method === 'HEAD') {
      const hit = this.loadNow(request);
      if (hit !== null) return hit;
      // A cached document no watch covers: one stat per request.
      const doc = request.anchor?.document;
      if (doc instanceof FileDocument && doc.lease === null && doc.root === request.root && doc.rules === request.rules) {
        // While the stat ran, other requests may have evicted the document
        // or a write invalidated it (STYLE.md §15): only one still in the
        // cache is served; one that left it is read again below, never
        // linked back (and one found changed is dropped).
        if (await this.cache.revalidate(doc)) {
          this.cache.hits++;
          return this.#sendDocument(request, doc);
        }
      }
      // loadNow, called twice on this path, counts only hits: the miss is counted once, here.
      this.cache.misses++;
    }
    try {
      switch (method) {
        case 'GET':
        case 'HEAD':
          return await this.#read(request);
        case 'PUT':
          return await put(this.#write, request);
        case 'DELETE':
          return await del(this.#write, request);
        case 'POST':
          return await upload(this.#write, request);
        default: // NetManager refuses what `methods` does not list; OPTIONS is the server's
          throw new HttpError('WWW_ERR_REQ_METHOD_NOT_ALLOWED', method, {
            headers: { Allow: allowedMethods(request.rules, request.decodedPath, this.methods).join(', ') },
          });
      }
    } catch (err) {
      throw this.#failure(request, err);
    }
  }

  /** New bounds for the memory cache (SIGHUP): documents beyond them go now. */
  setCacheLimits(maxFile: number, maxTotal: number): void {
    this.cache.setLimits(maxFile, maxTotal);
  }

  /** Empties the memory cache; its watches close with it (restart, SIGHUP). */
  flush(): void {
    this.cache.flush();
    this.#big = new WeakSet();
  }

  /** The server stops: nothing cached, nothing watched. */
  close(): void {
    this.flush();
    this.watches.closeAll();
  }

  /**
   * A watched directory reported `name` (null: anything in it, or itself):
   * whatever depends on that path or lies below it is dropped, and a read of
   * it in progress is not kept.
   */
  #changed(dir: string, name: string | null): void {
    const changed = name === null ? dir : path.join(dir, name);
    // Watched documents below `changed` exist only if a watched directory is
    // at or below it (each document's directory is): otherwise one lookup, no
    // walk of the index, whatever the rate of events (a log file appended to).
    if (name === null || this.watches.hasUnder(changed)) this.cache.invalidateUnder(changed);
    else this.cache.invalidate(changed);
    for (const load of this.#pending) if (!load.stale && load.paths.some((p) => covers(changed, p))) load.stale = true;
  }

  /** OS errors mapped in one place (src/errors.ts); the unexpected ones logged. */
  #failure(request: Request, err: unknown): HttpError {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (!(err instanceof HttpError) && (request.aborted || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR')) {
      return new HttpError('WWW_ERR_REQ_ABORTED', undefined, { cause: err });
    }
    const mapped = fromOsError(err);
    if (mapped.code === 'WWW_ERR_FILE_IO' || mapped.code === 'WWW_ERR_INTERNAL') {
      this.config.log(`${request.method} ${request.decodedPath ?? request.path}: ${code ?? (err as Error)?.message ?? String(err)}`);
    }
    return mapped;
  }

  #sendDocument(request: Request, doc: FileDocument): Reply {
    const h = request.headers;
    let rep = doc.identity;
    // A range is of the identity bytes: a 206 is never content-encoded.
    if (doc.hasSidecars && (request.method !== 'GET' || h.range === undefined)) {
      const ae = h['accept-encoding'];
      if (ae !== doc.lastAcceptEncoding) {
        const choice = chooseSidecar(ae, (c) => doc[c] !== null);
        doc.lastChoice = choice === null ? doc.identity : doc[choice]!;
        doc.lastAcceptEncoding = ae;
      }
      rep = doc.lastChoice;
    }
    if (h['if-none-match'] === undefined && h['if-modified-since'] === undefined && h.range === undefined
        && h['if-match'] === undefined && h['if-unmodified-since'] === undefined) {
      return whole(request, rep, rep.bytes, doc.hasSidecars);
    }
    return send(request, rep, bufferSource(rep.bytes), { maxRanges: this.config.maxRanges, variants: doc.hasSidecars });
  }

  async #read(request: Request): Promise<Reply> {
    const name = localName(request.address!, request.root, this.config.dotfiles);
    // A cold document asked for by many clients at once is read once: the
    // first miss holds a gate on the anchor, the others wait for it and then
    // find the document in memory, instead of each reading the file (and
    // holding a copy of it). Files known to be too big for memory skip this.
    const anchor = request.anchor;
    let settle: ((usable: boolean) => void) | undefined;
    if (anchor !== null && !this.#big.has(anchor)) {
      const gate = this.#loading.get(anchor);
      if (gate !== undefined) {
        await gate;
        const doc = anchor.document;
        if (doc instanceof FileDocument && doc.root === request.root && doc.rules === request.rules && this.cache.touch(doc)) {
          return this.#sendDocument(request, doc);
        }
      } else {
        settle = this.#loading.lead(anchor);
      }
    }
    try {
      return await this.#miss(request, name);
    } finally {
      settle?.(anchor?.document instanceof FileDocument);
    }
  }

  async #miss(request: Request, name: LocalName): Promise<Reply> {
    // No memo of realpaths: what is not in memory is resolved again, so a
    // symlink or directory replaced on disk is seen at once.
    const real = await confine(this.config.fs, this.#roots, name);
    const { handle, stat } = await this.#open(real);
    if (stat.isDirectory()) {
      await handle.close();
      return directory(this.#dir, request, name, real);
    }
    if (!stat.isFile() || name.slash) {
      await handle.close();
      throw new HttpError('WWW_ERR_FILE_NOT_FOUND');
    }
    return this.#serveFile(request, name, real, handle, stat);
  }

  #open(real: string): Promise<{ handle: FileHandle; stat: Stats }> {
    return openForRead(this.config.fs, real);
  }

  /** A regular file, opened: into the memory cache when small, else streamed from the handle. */
  async #serveFile(request: Request, name: LocalName, real: string, handle: FileHandle, stat: Stats, welcome = false): Promise<Reply> {
    const config = this.config;
    const binding = bindingFor(path.basename(name.file), request.rules);
    // A file that is itself encoded (AddEncoding, `.svgz`) has no sidecars.
    const sidecars = binding.format.codings.length === 0;
    const anchor = request.anchor;
    if (anchor !== null && this.cache.maxTotal > 0 && stat.size <= this.cache.maxFile) {
      this.#big.delete(anchor);
      return this.#sendDocument(request, await this.#loadDocument(request, anchor, name, real, handle, stat, binding, sidecars, welcome));
    }
    if (anchor !== null) this.#big.add(anchor);

    const found = sidecars ? await Promise.all(SIDECARS.map((s) => sidecarStat(config.fs, real + s.suffix, stat))) : [null, null];
    const has = (c: SidecarCoding): boolean => found[c === 'br' ? 0 : 1] !== null;
    const variants = found[0] !== null || found[1] !== null;
    let rep: Representation = diskRep(stat, binding, null);
    let source = handle;
    if (variants && (request.method !== 'GET' || request.headers.range === undefined)) {
      const choice = chooseSidecar(request.headers['accept-encoding'], has);
      if (choice !== null) {
        const opened = await this.#open(real + (choice === 'br' ? '.br' : '.gz')).catch(() => null);
        if (opened !== null && opened.stat.isFile()) {
          await handle.close();
          source = opened.handle;
          rep = diskRep(opened.stat, binding, choice);
        } else {
          await opened?.handle.close();
        }
      }
    }
    return send(request, rep, handleSource(source, request), { maxRanges: config.maxRanges, variants });
  }

  /**
   * The document and its sidecars into memory, hung on the anchor, with a
   * lease on the directories it depends on. The watches are in place before
   * the read, and the path is stat'ed once more after they are, so that a
   * change is either seen by that stat (made before) or reported (made
   * after): a document changed during its read is served but not kept.
   */
  async #loadDocument(
    request: Request, anchor: Anchor, name: LocalName, real: string, handle: FileHandle, stat: Stats,
    binding: Binding, sidecars: boolean, welcome: boolean,
  ): Promise<FileDocument> {
    const also = [name.file];
    if (welcome) {
      const dir = path.dirname(name.file);
      for (const w of request.rules?.welcome ?? ['index.html']) also.push(path.join(dir, w));
    }
    let lease: WatchLease | null = null;
    let pending: PendingLoad | null = null;
    let doc: FileDocument;
    try {
      try {
        lease = this.watches.acquire(dependencies(real, name.file, name.root, await this.#roots.get(name.root)));
        if (lease !== null) {
          pending = { paths: [real, real + '.br', real + '.gz', ...also], stale: false };
          this.#pending.add(pending);
          const now = await this.config.fs.stat(real).catch(() => null);
          if (now === null || now.ino !== stat.ino || now.dev !== stat.dev || now.size !== stat.size || now.mtimeMs !== stat.mtimeMs) pending.stale = true;
        }
        const bytes = await readAll(handle, stat.size);
        const identity = new CachedVariant(real, bytes, stat.mtimeMs, binding, null);
        const [br, gzip] = sidecars
          ? await Promise.all(SIDECARS.map((s) => this.#readSidecar(real + s.suffix, stat, binding, s.coding)))
          : [null, null];
        doc = new FileDocument(anchor, request.root, request.rules, identity, br ?? null, gzip ?? null, this.config.now(), lease, also);
      } finally {
        await handle.close();
      }
    } catch (err) {
      lease?.release();
      throw err;
    } finally {
      if (pending !== null) this.#pending.delete(pending);
    }
    if (pending?.stale === true || (lease !== null && !lease.held)) doc.lease?.release();
    else this.cache.put(doc);
    return doc;
  }

  /** A sidecar into memory: a regular file (not a symlink), not older than its document, small. */
  async #readSidecar(file: string, of: Stats, binding: Binding, coding: SidecarCoding): Promise<CachedVariant | null> {
    const st = await sidecarStat(this.config.fs, file, of);
    if (st === null || st.size > this.cache.maxFile) return null;
    try {
      const { handle, stat } = await this.#open(file);
      try {
        if (!stat.isFile()) return null;
        return new CachedVariant(file, await readAll(handle, stat.size), stat.mtimeMs, binding, coding);
      } finally {
        await handle.close();
      }
    } catch {
      return null;
    }
  }
}

