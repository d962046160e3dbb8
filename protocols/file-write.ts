// Writing in the FILE module: PUT and DELETE (libwww HTFile had HTFileSaveStream
// for the client side; the CERN server's PUT wrote in place). Here a PUT streams
// the request body to a temporary file next to its target (`.name.tmp-RANDOM`,
// created exclusively), fsyncs it and renames it over the target: readers see
// the old file or the new one, never a partial one (rename(2) is atomic within
// a directory). Every failure — a body over the limit (413), a client gone,
// ENOSPC (507) — removes the temporary file. Two concurrent PUTs to one path
// each write their own temporary file; the last rename wins whole. Under
// workers the commit is serialised across processes too (a SharedLock that
// the cluster's primary arbitrates, src/cluster-lock.ts).
// RFC 9110 §9.3.4 (PUT), §9.3.5 (DELETE), §13.2.2 (preconditions before any change).

import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { decodeBody } from '../src/body.js';
import { HttpError } from '../src/errors.js';
import type { Reply } from '../src/reply.js';
import { errorReply } from '../src/reply.js';
import type { Request } from '../src/request.js';
import type { Validators } from './file-conditional.js';
import { PRECONDITION_FAILED, evaluatePreconditions } from './file-conditional.js';
import type { FileConfig, FileSystem } from './file-options.js';
import { strongETag } from './file-options.js';
import type { RealRoots } from './file-path.js';
import { confineParent, localName } from './file-path.js';

/** What the write code needs from the FILE module. */
export interface WriteContext {
  readonly config: FileConfig;
  readonly roots: RealRoots;
  readonly locks: PathLocks;
  /** Drops cached documents read from `real`, and the request's own. */
  invalidate(request: Request, ...reals: (string | null)[]): void;
}

/**
 * A lock per key held across processes: `acquire` resolves, once the key is
 * free in every process, to the function that frees it. Whoever arbitrates
 * it frees the keys of a process that dies, so no lock outlives its holder.
 */
export interface SharedLock {
  acquire(key: string): Promise<() => void>;
}

/**
 * Serialises the commit step (re-check preconditions, rename) per path in
 * this process, so `If-Match` and `If-None-Match: *` cannot both pass for two
 * writers. Bodies upload in parallel; only the commit waits. With a shared
 * lock (workers), the commit also holds the path in every process; a single
 * process has none and pays nothing for it.
 */
export class PathLocks {
  readonly #shared: SharedLock | null;
  #tails = new Map<string, Promise<void>>();
  /** Paths a PUT is writing, from its first look at the target to its commit, with their number of writers. */
  #writers = new Map<string, number>();

  /** Runs `fn` with `key` marked as being written (see `writing`). */
  async write<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.#writers.set(key, (this.#writers.get(key) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = this.#writers.get(key)! - 1;
      if (n === 0) this.#writers.delete(key);
      else this.#writers.set(key, n);
    }
  }

  /** A PUT is writing `key`: an upload keeps its sidecar names free (file-upload.ts). */
  writing(key: string): boolean {
    return this.#writers.has(key);
  }

  constructor(shared: SharedLock | null = null) {
    this.#shared = shared;
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    // In this process first, so that one worker asks for a key once at a time.
    const shared = this.#shared;
    const result = previous.then(shared === null ? fn : () => holding(shared, key, fn));
    const tail = result.then(() => {}, () => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

async function holding<T>(shared: SharedLock, key: string, fn: () => Promise<T>): Promise<T> {
  const release = await shared.acquire(key);
  try {
    return await fn();
  } finally {
    release();
  }
}

export function validatorsOf(st: Stats): Validators {
  return { etag: strongETag(st.size, st.mtimeMs), mtimeSec: Math.floor(st.mtimeMs / 1000) };
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The current file at `file` (followed through a symlink), or null when there is none. */
export async function currentFile(fs: FileSystem, file: string): Promise<Stats | null> {
  try {
    return await fs.stat(file);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** A temporary name beside `base`: hidden (dotfile), unique, short enough for NAME_MAX. */
export function tempName(dir: string, base: string): string {
  let stem = base;
  while (Buffer.byteLength(stem) > 180) stem = stem.slice(0, -1);
  return path.join(dir, `.${stem}.tmp-${randomBytes(8).toString('hex')}`);
}

export interface Written {
  readonly temp: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * Streams `body` into a new temporary file in `dir`, then fsyncs it. At most
 * `max` bytes (413 past it). On any failure the temporary file is removed and
 * the error rethrown. Backpressure: one write in flight, the body is read
 * only as fast as the disk takes it.
 */
export async function writeTemp(fs: FileSystem, dir: string, base: string, body: Readable, max: number, signal?: AbortSignal): Promise<Written> {
  const temp = tempName(dir, base);
  let handle;
  try {
    handle = await fs.open(temp, 'wx');
  } catch (err) {
    body.destroy();
    throw err;
  }
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > max) throw new HttpError('WWW_ERR_REQ_BODY_TOO_LARGE');
      for (let off = 0; off < buf.length;) {
        const { bytesWritten } = await handle.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
    }
    if (signal?.aborted) throw new HttpError('WWW_ERR_REQ_ABORTED');
    await handle.sync();
    const st = await handle.stat();
    await handle.close();
    return { temp, size, mtimeMs: st.mtimeMs };
  } catch (err) {
    body.destroy();
    await handle.close().catch(() => {});
    await fs.unlink(temp).catch(() => {});
    throw err;
  }
}

/** Makes a rename durable: the directory's entry is synced too (best effort). */
export async function syncDir(fs: FileSystem, dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r');
    await handle.sync().catch(() => {});
    await handle.close();
  } catch {
    // Some file systems refuse to open or sync a directory: the rename stands.
  }
}

/** Errors of link(2) that mean "not supported here", not "exists". */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS']);

/**
 * Puts `temp` at `file` without replacing anything: link(2) fails with EEXIST
 * atomically, even across processes. Where hard links are not supported, a
 * check and rename under the path lock (null: the caller holds it). Returns
 * false when `file` exists.
 */
export async function linkNew(fs: FileSystem, locks: PathLocks | null, temp: string, file: string): Promise<boolean> {
  try {
    await fs.link(temp, file);
    await fs.unlink(temp).catch(() => {});
    return true;
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'EEXIST') return false;
    if (code === undefined || !NO_LINK.has(code)) throw err;
  }
  const checkAndRename = async (): Promise<boolean> => {
    if ((await fs.lstat(file).catch(() => null)) !== null) return false;
    await fs.rename(temp, file);
    return true;
  };
  return locks === null ? checkAndRename() : locks.run(file, checkAndRename);
}

const precondition = (request: Request): Reply => errorReply(request.fail(new HttpError('WWW_ERR_FILE_PRECONDITION')));

export async function put(ctx: WriteContext, request: Request): Promise<Reply> {
  // RFC 9110 §14.5: the body of a PUT with Content-Range is likely a part mistaken for the whole.
  if (request.headers['content-range'] !== undefined) throw new HttpError('WWW_ERR_REQ_PARTIAL_PUT');
  const { fs, dotfiles } = ctx.config;
  const name = localName(request.address!, request.root, dotfiles);
  const { dir, file, base } = await confineParent(fs, ctx.roots, name);
  return ctx.locks.write(file, () => putFile(ctx, request, dir, file, base));
}

async function putFile(ctx: WriteContext, request: Request, dir: string, file: string, base: string): Promise<Reply> {
  const fs = ctx.config.fs;
  const before = await currentFile(fs, file);
  if (before?.isDirectory()) throw new HttpError('WWW_ERR_FILE_CONFLICT', 'the target is a directory');
  // Preconditions before the body is read: a refused PUT never sends 100 Continue.
  if (evaluatePreconditions('PUT', request.headers, before && validatorsOf(before)) === PRECONDITION_FAILED) return precondition(request);
  const previousReal = before === null ? null : await fs.realpath(file).catch(() => null);

  // A gzip'ed or br'ed body is stored decoded (RFC 9110 §8.4: the coding is not part of the resource); 415 for one we cannot undo.
  const body = decodeBody(request, request.maxBodySize) ?? Readable.from([]);
  const written = await writeTemp(fs, dir, base, body, request.maxBodySize, request.signal);
  let created: boolean;
  try {
    created = await ctx.locks.run(file, async () => {
      // Another writer may have committed meanwhile: the preconditions again.
      const now = await currentFile(fs, file);
      if (now?.isDirectory()) throw new HttpError('WWW_ERR_FILE_CONFLICT', 'the target is a directory');
      if (evaluatePreconditions('PUT', request.headers, now && validatorsOf(now)) === PRECONDITION_FAILED) {
        throw new HttpError('WWW_ERR_FILE_PRECONDITION');
      }
      if (now === null && request.headers['if-none-match']?.trim() === '*') {
        // Create only: link(2) refuses atomically if another process won meanwhile.
        if (!(await linkNew(fs, null, written.temp, file))) throw new HttpError('WWW_ERR_FILE_PRECONDITION');
        return true;
      }
      await fs.rename(written.temp, file);
      return now === null;
    });
  } catch (err) {
    await fs.unlink(written.temp).catch(() => {});
    throw err;
  }
  await syncDir(fs, dir);
  ctx.invalidate(request, file, previousReal);
  const headers = { ETag: strongETag(written.size, written.mtimeMs) };
  return created
    ? { status: 201, headers, format: null, length: 0, body: null }
    : { status: 204, headers, format: null, length: -1, body: null };
}

export async function del(ctx: WriteContext, request: Request): Promise<Reply> {
  const { fs, dotfiles } = ctx.config;
  const name = localName(request.address!, request.root, dotfiles);
  // The root, or a path with a trailing slash, names a directory: look at it as at any other name.
  if (name.file === name.root) throw new HttpError('WWW_ERR_FILE_FORBIDDEN', 'a directory is not deleted');
  const { file } = await confineParent(fs, ctx.roots, { ...name, slash: false }).catch((err: unknown) => {
    // No parent, nothing to delete.
    throw err instanceof HttpError && err.code === 'WWW_ERR_FILE_CONFLICT' ? new HttpError('WWW_ERR_FILE_NOT_FOUND') : err;
  });
  // RFC 9110 §13.2.2: the preconditions hold for the file that is removed.
  // Under the path lock, as a PUT commits: a PUT cannot replace the file
  // between the check of If-Match and the unlink.
  const previousReal = await ctx.locks.run(file, async () => {
    const link = await fs.lstat(file).catch((err: unknown) => {
      const code = errnoOf(err);
      throw code === 'ENOENT' || code === 'ENOTDIR' ? new HttpError('WWW_ERR_FILE_NOT_FOUND') : err;
    });
    if (link.isDirectory()) throw new HttpError('WWW_ERR_FILE_FORBIDDEN', 'a directory is not deleted');
    if (name.slash) {
      // `x/` names a directory: a file x is not it, a link to a directory is one.
      const target = await currentFile(fs, file);
      throw target?.isDirectory() ? new HttpError('WWW_ERR_FILE_FORBIDDEN', 'a directory is not deleted') : new HttpError('WWW_ERR_FILE_NOT_FOUND');
    }
    const target = link.isSymbolicLink() ? await currentFile(fs, file) : link;
    if (evaluatePreconditions('DELETE', request.headers, target && validatorsOf(target)) === PRECONDITION_FAILED) {
      throw new HttpError('WWW_ERR_FILE_PRECONDITION');
    }
    const real = await fs.realpath(file).catch(() => null);
    await fs.unlink(file).catch((err: unknown) => {
      throw errnoOf(err) === 'ENOENT' ? new HttpError('WWW_ERR_FILE_NOT_FOUND') : err;
    });
    return real;
  });
  ctx.invalidate(request, file, previousReal);
  return { status: 204, headers: {}, format: null, length: -1, body: null };
}
