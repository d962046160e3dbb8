// File-system notifications for the FILE module's memory cache (libwww had
// none: HyperDocs lived until the user reloaded). One `fs.watch` per
// directory that a cached document depends on — the directory of its real
// path and every directory above it up to the real root (so that renaming or
// deleting a parent is seen), and those of the requested name where symlinks
// made them differ (`dependencies`) — shared between documents by reference count,
// bounded in number (maxWatches), closed when its last document leaves the
// cache. An event names an entry of a watched directory: the cache drops
// everything at or below that path (file-cache.ts `invalidateUnder`).
//
// Where a directory cannot be watched (the bound is reached, inotify is out of
// watches: ENOSPC, out of descriptors: EMFILE, a file system without
// notifications), `acquire` answers null and the document is stat'ed on every
// request instead (file.ts). A watcher that fails later, or whose directory is
// itself renamed or deleted, reports its whole directory as changed and
// closes: what depended on it is dropped and watched afresh when next read.
// Nothing a watcher does may throw into the process: every callback is an
// edge (STYLE.md §14).

import * as nodeFs from 'node:fs';
import * as path from 'node:path';

/** What a watch function returns: node's FSWatcher has these. */
export interface Watcher {
  close(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Starts watching the entries of `dir`; throws when it cannot. `listener`
 * gets the entry's name, or null when the platform did not say which.
 */
export type WatchFunction = (dir: string, listener: (event: string, name: string | null) => void) => Watcher;

/**
 * File systems (statfs f_type on Linux) where inotify sees only the changes
 * made through this machine, never those made on the server or another
 * client: NFS, SMB/CIFS, FUSE (sshfs…), 9p, Coda, AFS, Ceph, VirtualBox
 * shared folders. Their documents are stat'ed instead.
 */
const REMOTE = new Set([0x6969, 0x517b, 0xfe534d42, 0xff534d42, 0x65735546, 0x01021997, 0x73757245, 0x5346414f, 0x00c36400, 0x786f4256]);

/** Whether changes on a file system of this statfs type are all reported. */
export function notifiesAll(fsType: number): boolean {
  return !REMOTE.has(fsType);
}

/** node's fs.watch, not keeping the process alive; refused (EREMOTE) on a network file system. */
export const watchDirectory: WatchFunction = (dir, listener) => {
  if (process.platform === 'linux' && !notifiesAll(Number(nodeFs.statfsSync(dir).type))) {
    throw Object.assign(new Error(`${dir}: a network file system, whose changes are not all reported`), { code: 'EREMOTE' });
  }
  return nodeFs.watch(dir, { persistent: false }, (event, name) => listener(event, name === null ? null : String(name)));
};

/** Called with a watched directory and the entry that changed; null: anything in it may have. */
export type ChangeListener = (dir: string, name: string | null) => void;

/** The default bound on directories watched at once. */
export const MAX_WATCHES = 256;

class DirWatch {
  refs = 0;
  closed = false;
  constructor(
    readonly dir: string,
    readonly watcher: Watcher,
  ) {}
}

/** Directories held for one document (or one load): released once. */
export class WatchLease {
  #watches: DirWatch[] | null;
  readonly #owner: DirWatches;

  constructor(owner: DirWatches, watches: DirWatch[]) {
    this.#owner = owner;
    this.#watches = watches;
  }

  /** Not released, and every watch still open (one that failed has dropped its documents already). */
  get held(): boolean {
    return this.#watches !== null && this.#watches.every((w) => !w.closed);
  }

  release(): void {
    const watches = this.#watches;
    if (watches === null) return;
    this.#watches = null;
    for (const w of watches) this.#owner.unref(w);
  }
}

export class DirWatches {
  readonly #watch: WatchFunction | null;
  readonly #onChange: ChangeListener;
  readonly #log: (message: string) => void;
  #max: number;
  #watches = new Map<string, DirWatch>();
  /** Why watching last failed, logged once per reason so a full inotify table does not flood the log. */
  #logged = new Set<string>();

  constructor(watch: WatchFunction | null, max: number, onChange: ChangeListener, log: (message: string) => void) {
    this.#watch = watch;
    this.#max = max;
    this.#onChange = onChange;
    this.#log = log;
  }

  /** Directories watched now. */
  get size(): number {
    return this.#watches.size;
  }

  /** Whether `dir` is watched now (for tests and the status of a document). */
  has(dir: string): boolean {
    return this.#watches.has(dir);
  }

  /** Whether `dir` or a directory below it is watched (bounded by maxWatches). */
  hasUnder(dir: string): boolean {
    if (this.#watches.has(dir)) return true;
    const prefix = dir.endsWith('/') ? dir : dir + '/';
    for (const d of this.#watches.keys()) if (d.startsWith(prefix)) return true;
    return false;
  }

  /**
   * Watches every one of `dirs` (those already watched are shared), or none:
   * null when one of them cannot be watched, and nothing is held then.
   */
  acquire(dirs: readonly string[]): WatchLease | null {
    if (this.#watch === null) return null;
    const held: DirWatch[] = [];
    for (const dir of dirs) {
      const w = this.#watches.get(dir) ?? this.#open(dir);
      if (w === null) {
        for (const h of held) this.unref(h);
        return null;
      }
      w.refs++;
      held.push(w);
    }
    return new WatchLease(this, held);
  }

  /** A lease let go of a directory: the last one closes its watcher. */
  unref(w: DirWatch): void {
    if (w.closed || --w.refs > 0) return;
    this.#close(w);
  }

  /** Every watcher closed (stop, flush); leases still out become no-ops. */
  closeAll(): void {
    for (const w of [...this.#watches.values()]) this.#close(w);
  }

  #open(dir: string): DirWatch | null {
    if (this.#watches.size >= this.#max) {
      this.#once('limit', `${this.#max} directories watched (the bound): documents elsewhere are stat'ed on each request`);
      return null;
    }
    let w: DirWatch | null = null;
    try {
      const watcher = this.#watch!(dir, (_event, name) => {
        if (w !== null) this.#event(w, name);
      });
      w = new DirWatch(dir, watcher);
      watcher.on('error', (err) => {
        if (w !== null) this.#fail(w, err);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException | null)?.code ?? (err as Error | null)?.message ?? String(err);
      // A directory that vanished between the read and the watch is no news.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.#once(code, `cannot watch directories (${code}): their documents are stat'ed on each request`);
      return null;
    }
    this.#watches.set(dir, w);
    return w;
  }

  #event(w: DirWatch, name: string | null): void {
    if (w.closed) return;
    try {
      // inotify names the directory itself (by its base name) when it is
      // renamed or deleted; an entry of the same name cannot be told apart,
      // so both count as the whole directory, and the watcher is done.
      if (name === null || name === '' || name === path.basename(w.dir)) {
        this.#close(w);
        this.#onChange(w.dir, null);
        return;
      }
      this.#onChange(w.dir, name);
    } catch (err) {
      this.#log(`watch ${w.dir}: ${(err as Error)?.stack ?? String(err)}`);
    }
  }

  #fail(w: DirWatch, err: Error): void {
    if (w.closed) return;
    this.#close(w);
    this.#once((err as NodeJS.ErrnoException).code ?? err.message, `watch ${w.dir} failed (${(err as NodeJS.ErrnoException).code ?? err.message})`);
    try {
      this.#onChange(w.dir, null);
    } catch (e) {
      this.#log(`watch ${w.dir}: ${(e as Error)?.stack ?? String(e)}`);
    }
  }

  #close(w: DirWatch): void {
    w.closed = true;
    if (this.#watches.get(w.dir) === w) this.#watches.delete(w.dir);
    try {
      w.watcher.close();
    } catch {
      // Already closed by the platform: nothing is held.
    }
  }

  #once(reason: string, message: string): void {
    if (this.#logged.has(reason)) return;
    this.#logged.add(reason);
    this.#log(message);
  }
}

/**
 * The directories a document read from `real` (asked for as `file`) depends
 * on: the real directory and each above it up to `realRoot`; the requested
 * directory and each above it up to `root` where symlinks made them others
 * (fs.watch follows a link, so a link retargeted is reported by the
 * directory holding it); and the directory holding `root` when the root
 * itself is a symlink (a deploy that swaps it). Without symlinks: the real
 * directory and those above it, nothing more.
 */
export function dependencies(real: string, file: string, root: string, realRoot: string): string[] {
  const dirs: string[] = [];
  const chain = (from: string, top: string): void => {
    for (let dir = path.dirname(from); ; dir = path.dirname(dir)) {
      if (!dirs.includes(dir)) dirs.push(dir);
      if (dir === top || dir.length <= top.length || dir === path.dirname(dir)) break;
    }
  };
  chain(real, realRoot);
  if (file !== real) chain(file, root);
  if (root !== realRoot) {
    const holder = path.dirname(root);
    if (!dirs.includes(holder)) dirs.push(holder);
  }
  return dirs;
}
