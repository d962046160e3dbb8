// A byte range of an open file as a stream (libwww HTFile's reader). As a
// plain Readable it reads into fresh buffers, since a consumer may keep what
// it is given. When the HTTP writer sends it as it is, it writes itself to
// the socket (`writeTo`): two pooled buffers per stream, one being read
// while the other is in the socket, each reused once the socket has taken
// it. No allocation per chunk, so no garbage per megabyte sent, and memory
// bounded by 2 × CHUNK per download whatever the client's speed.

import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import type { DirectBody } from '../src/reply.js';

/** Read size: large enough that per-chunk costs vanish, small enough to pool. */
export const CHUNK = 64 * 1024;
/** Free buffers kept for reuse; more are garbage. */
const POOL_MAX = 64;
const pool: Buffer[] = [];

function take(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

function give(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

export class FileStream extends Readable implements DirectBody {
  readonly #fd: number;
  #pos: number;
  /** Inclusive. */
  readonly #end: number;
  /** A read in flight: destruction waits for it, so the descriptor is never closed under it. */
  #reading = false;
  #destroyed: (() => void) | null = null;

  /** Bytes `start`…`end` (inclusive) of the open descriptor `fd`, which the caller closes. */
  constructor(fd: number, start: number, end: number) {
    super({ highWaterMark: CHUNK });
    this.#fd = fd;
    this.#pos = start;
    this.#end = end;
  }

  override _read(): void {
    const size = Math.min(CHUNK, this.#end - this.#pos + 1);
    if (size <= 0) return void this.push(null);
    const buf = Buffer.allocUnsafe(size);
    this.#read(buf, size, (err, n) => {
      if (err) return void this.destroy(err);
      if (this.destroyed) return;
      // A file that shrank ends early; the writer sees a short body and closes.
      if (n === 0) return void this.push(null);
      this.#pos += n;
      this.push(n === size ? buf : buf.subarray(0, n));
    });
  }

  #read(buf: Buffer, size: number, callback: (err: Error | null, n: number) => void): void {
    this.#reading = true;
    fs.read(this.#fd, buf, 0, size, this.#pos, (err, n) => {
      this.#reading = false;
      const destroyed = this.#destroyed;
      if (destroyed !== null) {
        this.#destroyed = null;
        destroyed();
      }
      callback(err, n);
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.#reading) this.#destroyed = () => callback(err);
    else callback(err);
  }

  writeTo(socket: Writable, progress: () => void, done: (err: Error | null) => void): void {
    const free: Buffer[] = [take(), take()];
    let writing = 0;
    let finished = false;
    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      // Buffers still in the socket are not returned to the pool: the socket owns them now.
      for (const b of free) give(b);
      free.length = 0;
      this.destroy(); // 'close' tells whoever holds the descriptor that it may close it
      done(err);
    };
    const step = (): void => {
      if (finished || this.#reading) return;
      if (this.destroyed) return finish(new Error('file stream destroyed'));
      const size = Math.min(CHUNK, this.#end - this.#pos + 1);
      if (size <= 0) {
        if (writing === 0) finish(null);
        return;
      }
      const buf = free.pop();
      if (buf === undefined) return; // both buffers are in the socket: a write callback calls again
      this.#read(buf, size, (err, n) => {
        if (finished) return;
        if (err) return finish(err);
        if (this.destroyed) return finish(new Error('file stream destroyed'));
        if (n === 0) return finish(new Error('file shorter than its length'));
        this.#pos += n;
        writing++;
        socket.write(n === buf.length ? buf : buf.subarray(0, n), (werr) => {
          writing--;
          if (finished) return;
          if (werr) return finish(werr);
          free.push(buf);
          progress();
          step();
        });
        progress();
        step();
      });
    };
    step();
  }
}
