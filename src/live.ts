// `--live`: the event stream that tells open pages to reload. The server
// answers the reserved path (converters/live-reload.ts LIVE_PATH) itself,
// before the rules, with Server-Sent Events (WHATWG HTML §9.2: `text/event-
// stream`, one `event:`/`data:` block per change, `:` comment lines as
// heartbeats so proxies and the browser keep the stream open). Without
// `--live` neither the path nor the script exists.
//
// What changes is learnt from the file system: one `fs.watch` per directory
// of the tree under ServerRoot (node 20's recursive watch misses deletions on
// Linux, so the tree is walked here), bounded in number, new directories
// watched as they appear, hidden ones and node_modules left out. Events are
// gathered for a few milliseconds (an editor's save is several: a temporary
// file, a backup, a rename) and sent as one `change` event whose data is
// the JSON array of root-relative paths; editors' scratch files are left
// out. Clients are bounded; a stop ends every stream at once, so a graceful
// stop never waits for these idle responses.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { watchDirectory, type WatchFunction, type Watcher } from '../protocols/file-watch.js';
import { HttpError } from './errors.js';
import { makeFormat } from './format.js';
import { errorReply, type Reply } from './reply.js';
import type { Request } from './request.js';

export { LIVE_PATH } from '../converters/live-reload.js';

export interface LiveOptions {
  /** A comment line this often keeps idle streams open; default 15 s. */
  heartbeatMs?: number;
  /** Event streams open at once; default 64. Past it, 503. */
  maxClients?: number;
  /** Directories of the tree watched at once; default 1024. */
  maxWatches?: number;
  /** Changes within this window go out as one event; default 50 ms. */
  debounceMs?: number;
  /** The watch function (file-watch.ts); default node's fs.watch. */
  watch?: WatchFunction;
  log?: (message: string) => void;
}

const EVENT_STREAM = makeFormat('text/event-stream');
/** A client whose stream holds this much unsent is too slow to follow: it is dropped (it reconnects). */
const MAX_BUFFERED = 64 * 1024;

/** Editors' scratch files and hidden names: never news for a page. */
export function ignoredName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || name === '4913' || /\.(sw[a-p]|tmp|part|crdownload)$/i.test(name)
    || name.includes('___jb_');
}

/** Directories not walked: hidden ones and package trees. */
function skippedDir(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

export class LiveReload {
  readonly #root: string;
  readonly #heartbeatMs: number;
  readonly #maxClients: number;
  readonly #maxWatches: number;
  readonly #debounceMs: number;
  readonly #watch: WatchFunction;
  readonly #log: (message: string) => void;
  readonly #clients = new Set<PassThrough>();
  readonly #watches = new Map<string, Watcher>();
  #heartbeat: NodeJS.Timeout | null = null;
  #batch = new Set<string>();
  #flushTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #limitLogged = false;
  /** Watch failures logged, once per reason. */
  #logged = new Set<string>();
  /** Changes sent since start, for tests and the log. */
  sent = 0;

  constructor(root: string, options: LiveOptions = {}) {
    this.#root = path.resolve(root);
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#maxClients = options.maxClients ?? 64;
    this.#maxWatches = options.maxWatches ?? 1024;
    this.#debounceMs = options.debounceMs ?? 50;
    this.#watch = options.watch ?? watchDirectory;
    this.#log = options.log ?? ((m) => void process.stderr.write(`streamstack: live: ${m}\n`));
    this.#walk(this.#root);
  }

  /** The directory whose tree is watched. */
  get root(): string {
    return this.#root;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Directories watched now. */
  get watched(): number {
    return this.#watches.size;
  }

  /** The answer at LIVE_PATH: an event stream for GET, its head for HEAD. */
  reply(request: Request): Reply {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return errorReply(request.fail(new HttpError('WWW_ERR_REQ_METHOD_NOT_ALLOWED', method, { headers: { Allow: 'GET, HEAD' } })));
    }
    if (this.#closed) return errorReply(request.fail(new HttpError('WWW_ERR_REQ_STOPPING')));
    // no-transform: no coding on the fly would let an event out before the end.
    const headers = { 'Cache-Control': 'no-store, no-transform', 'X-Accel-Buffering': 'no' };
    if (method === 'HEAD') return { status: 200, headers, format: EVENT_STREAM, length: -1, body: null };
    if (this.#clients.size >= this.#maxClients) {
      return errorReply(request.fail(new HttpError('WWW_ERR_FILE_BUSY', 'too many live-reload clients', { headers: { 'Retry-After': '5' } })));
    }
    const stream = new PassThrough();
    this.#clients.add(stream);
    const drop = (): void => {
      this.#clients.delete(stream);
      request.signal.removeEventListener('abort', drop);
      if (!stream.destroyed) stream.destroy();
      if (this.#clients.size === 0) this.#stopHeartbeat();
    };
    stream.once('close', drop);
    request.signal.addEventListener('abort', drop, { once: true });
    if (request.aborted) drop();
    // A reconnection after a restart comes back within a second.
    stream.write('retry: 1000\n: streamstack live reload\n\n');
    this.#startHeartbeat();
    return { status: 200, headers, format: EVENT_STREAM, length: -1, body: stream };
  }

  /** Ends every stream and closes every watcher; later requests get 503. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    for (const stream of [...this.#clients]) stream.end();
    for (const w of this.#watches.values()) closeQuietly(w);
    this.#watches.clear();
  }

  #send(block: string): void {
    for (const stream of [...this.#clients]) {
      if (stream.writableLength > MAX_BUFFERED) stream.destroy();
      else stream.write(block);
    }
  }

  #startHeartbeat(): void {
    if (this.#heartbeat !== null) return;
    this.#heartbeat = setInterval(() => this.#send(': ping\n\n'), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat === null) return;
    clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  /** Watches `dir` and every directory below it, breadth first, within the bound. */
  #walk(top: string): void {
    const queue = [top];
    while (queue.length > 0 && !this.#closed) {
      const dir = queue.shift()!;
      if (this.#watches.has(dir)) continue;
      if (this.#watches.size >= this.#maxWatches) {
        if (!this.#limitLogged) this.#log(`${this.#maxWatches} directories watched (the bound): changes deeper in the tree are not seen`);
        this.#limitLogged = true;
        return;
      }
      let watcher: Watcher;
      try {
        watcher = this.#watch(dir, (_event, name) => this.#event(dir, name));
        watcher.on('error', () => this.#unwatch(dir));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException | null)?.code ?? (err as Error | null)?.message ?? String(err);
        if (code !== 'ENOENT' && code !== 'ENOTDIR' && !this.#logged.has(code)) {
          this.#logged.add(code);
          this.#log(`cannot watch ${path.relative(this.#root, dir) || '.'} (${code}): changes there are not seen`);
        }
        continue;
      }
      this.#watches.set(dir, watcher);
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) if (e.isDirectory() && !skippedDir(e.name)) queue.push(path.join(dir, e.name));
    }
  }

  #unwatch(dir: string): void {
    const prefix = dir + path.sep;
    for (const [d, w] of this.#watches) {
      if (d === dir || d.startsWith(prefix)) {
        closeQuietly(w);
        this.#watches.delete(d);
      }
    }
  }

  /** Every watcher callback is an edge: nothing thrown here may reach the process. */
  #event(dir: string, name: string | null): void {
    if (this.#closed) return;
    try {
      if (name === null || name === '') {
        this.#queue(dir);
        return;
      }
      const full = path.join(dir, name);
      // The watched directory itself renamed or deleted (inotify names it by its base name).
      if (name === path.basename(dir) && !fs.existsSync(full)) {
        this.#unwatch(dir);
        this.#queue(dir);
        return;
      }
      if (ignoredName(name)) return;
      let isDir = false;
      try {
        isDir = fs.statSync(full).isDirectory();
      } catch {
        // Gone: a deletion, or the first half of a rename.
        if (this.#watches.has(full)) this.#unwatch(full);
      }
      if (isDir && !skippedDir(name)) this.#walk(full);
      this.#queue(full);
    } catch (err) {
      this.#log(`${dir}: ${(err as Error)?.stack ?? String(err)}`);
    }
  }

  #queue(full: string): void {
    const rel = path.relative(this.#root, full).split(path.sep).join('/');
    this.#batch.add(rel === '' ? '.' : rel);
    if (this.#flushTimer === null) {
      this.#flushTimer = setTimeout(() => this.#flush(), this.#debounceMs);
      this.#flushTimer.unref();
    }
  }

  #flush(): void {
    this.#flushTimer = null;
    const paths = [...this.#batch].sort();
    this.#batch.clear();
    if (paths.length === 0 || this.#closed) return;
    this.sent++;
    this.#send(`event: change\ndata: ${JSON.stringify(paths)}\n\n`);
  }
}

function closeQuietly(w: Watcher): void {
  try {
    w.close();
  } catch {
    // Closed by the platform already.
  }
}
