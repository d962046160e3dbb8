// Where log lines go: a file opened for appending, or stdout, written with
// fs.write on libuv's thread pool so that a slow disk or a slow reader of a
// pipe never blocks the event loop (process.stdout writes synchronously to
// files and, on Linux, to pipes). Lines wait in a bounded queue and leave in
// one write per turn; beyond the bound they are dropped and counted, never
// held without limit. `reopen()` opens the file again under its name, for
// rotation (SIGUSR1): what is being written goes to the old file, what
// follows to the new one.

import * as fs from 'node:fs';

export interface LogSinkOptions {
  /** Bytes waiting to be written at most; lines beyond are dropped (default 1 MiB). */
  maxQueued?: number;
  /** Told once the queue has drained after lines were dropped (default: one line on stderr). */
  onDropped?: (lines: number) => void;
  /** A write or reopen failed (default: one line on stderr). */
  onError?: (err: Error) => void;
  /** The file system, injected by tests. */
  fs?: Pick<typeof fs, 'openSync' | 'write' | 'writeSync' | 'close'>;
}

const STDOUT = 1;

export class LogSink {
  /** The file name, or `-` for stdout. */
  readonly path: string;
  #fd: number;
  readonly #fs: NonNullable<LogSinkOptions['fs']>;
  readonly #maxQueued: number;
  readonly #onDropped: (lines: number) => void;
  readonly #onError: (err: Error) => void;
  #queue: string[] = [];
  #queued = 0;
  #writing = false;
  #scheduled = false;
  #closed: Promise<void> | null = null;
  #idle: (() => void)[] = [];
  /** Lines dropped since the queue last drained. */
  #dropping = 0;
  /** Lines dropped in all. */
  dropped = 0;

  /** Opens `path` for appending (`-`: stdout); throws when it cannot. */
  static open(path: string, options: LogSinkOptions = {}): LogSink {
    const f = options.fs ?? fs;
    return new LogSink(path, path === '-' ? STDOUT : f.openSync(path, 'a', 0o640), options);
  }

  private constructor(path: string, fd: number, options: LogSinkOptions) {
    this.path = path;
    this.#fd = fd;
    this.#fs = options.fs ?? fs;
    this.#maxQueued = options.maxQueued ?? 1024 * 1024;
    this.#onDropped = options.onDropped ?? ((n) => void process.stderr.write(`streamstack: access log: ${n} lines dropped (the log could not keep up)\n`));
    this.#onError = options.onError ?? ((err) => void process.stderr.write(`streamstack: access log ${path}: ${err.message}\n`));
  }

  /** Bytes (characters) waiting to be written. */
  get queued(): number {
    return this.#queued;
  }

  /** Queues one line (with its LF); drops it when the queue is full. */
  write(line: string): void {
    if (this.#closed !== null) return;
    if (this.#queued + line.length > this.#maxQueued) {
      this.#dropping++;
      this.dropped++;
      return;
    }
    this.#queue.push(line);
    this.#queued += line.length;
    // Lines of the same turn leave in one write.
    if (!this.#writing && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#next();
      });
    }
  }

  /** Opens the file again under its name (after a rotation renamed it); stdout stays. */
  reopen(): void {
    if (this.path === '-' || this.#closed !== null) return;
    let fd: number;
    try {
      fd = this.#fs.openSync(this.path, 'a', 0o640);
    } catch (err) {
      this.#onError(err as Error);
      return;
    }
    const old = this.#fd;
    this.#fd = fd;
    // A write in progress holds the old descriptor: it closes it when done.
    if (!this.#writing) this.#release(old);
  }

  /** Writes what is queued, then closes the file. */
  close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    return (this.#closed = new Promise((resolve) => {
      const done = () => {
        this.#release(this.#fd);
        resolve();
      };
      if (!this.#writing && this.#queue.length === 0) done();
      else this.#idle.push(done);
    }));
  }

  /** What is queued, written now and synchronously: for an exit that cannot wait. */
  flushSync(): void {
    const data = this.#queue.join('');
    this.#queue = [];
    this.#queued = 0;
    if (data === '') return;
    try {
      this.#fs.writeSync(this.#fd, data);
    } catch {
      // Exiting: nothing more can be done for these lines.
    }
  }

  #next(): void {
    if (this.#writing) return;
    if (this.#queue.length === 0) {
      if (this.#dropping > 0) {
        const n = this.#dropping;
        this.#dropping = 0;
        this.#onDropped(n);
      }
      for (const f of this.#idle.splice(0)) f();
      return;
    }
    const data = Buffer.from(this.#queue.join(''), 'utf8');
    const chars = this.#queued;
    this.#queue = [];
    this.#writing = true;
    this.#writeAll(this.#fd, data, 0, () => {
      this.#queued -= chars;
      this.#writing = false;
      this.#next();
    });
  }

  /** Writes `data` from `offset` to `fd`, through short writes and EAGAIN (a non-blocking pipe). */
  #writeAll(fd: number, data: Buffer, offset: number, done: () => void): void {
    this.#fs.write(fd, data, offset, data.length - offset, null, (err, n) => {
      if (err !== null && err.code === 'EAGAIN') {
        setTimeout(() => this.#writeAll(fd, data, offset, done), 10).unref();
        return;
      }
      if (err !== null) this.#onError(err);
      else if (offset + n < data.length) return this.#writeAll(fd, data, offset + n, done);
      // Reopened meanwhile: this was the old file's last write.
      if (fd !== this.#fd) this.#release(fd);
      done();
    });
  }

  #release(fd: number): void {
    if (fd !== STDOUT) this.#fs.close(fd, () => {});
  }
}
