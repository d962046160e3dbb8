// A byte range of an open file as a stream (libwww HTFile's reader). As a
// plain Readable it reads into fresh buffers, since a consumer may keep what
// it is given. When the HTTP writer sends it as it is, it writes itself to
// the socket (`writeTo`): two pooled buffers per download, one being read
// while the other is in the socket, each reused once the socket has taken
// it. No allocation per chunk, so no garbage per megabyte sent.
//
// Every read is a round trip through libuv's thread pool and every write a
// system call, so a download reads 512 KiB at a time while one of the few
// large buffers is free (two thirds of the CPU per byte of 64 KiB reads),
// and 64 KiB otherwise. The large buffers are few and never garbage, so
// memory stays bounded whatever the number of downloads.

import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import type { DirectBody } from '../src/reply.js';

/** Read size of the plain Readable and of a download without a large buffer. */
export const CHUNK = 64 * 1024;
/** Read size of a download with a large buffer. */
export const LARGE = 512 * 1024;
/** Large buffers that may exist (two per download): 8 MiB. */
const LARGE_MAX = 16;
/** Free small buffers kept for reuse; more are garbage. */
const SMALL_MAX = 64;

const small: Buffer[] = [];
const large: Buffer[] = [];
const stats = { large: 0, allocated: 0 };

/** Large buffers in existence, and buffers ever allocated. */
export function bufferStats(): Readonly<typeof stats> {
  return stats;
}

/** Two buffers for a download of `length` bytes: large ones while any are left. */
function takePair(length: number): Buffer[] {
  if (length > 2 * CHUNK && large.length + LARGE_MAX - stats.large >= 2) {
    return [takeLarge(), takeLarge()];
  }
  return [takeSmall(), takeSmall()];
}

function takeLarge(): Buffer {
  const buf = large.pop();
  if (buf !== undefined) return buf;
  stats.large++;
  stats.allocated++;
  return Buffer.allocUnsafeSlow(LARGE);
}

function takeSmall(): Buffer {
  const buf = small.pop();
  if (buf !== undefined) return buf;
  stats.allocated++;
  return Buffer.allocUnsafeSlow(CHUNK);
}

function give(buf: Buffer): void {
  if (buf.length === LARGE) large.push(buf);
  else if (small.length < SMALL_MAX) small.push(buf);
}

/** A pooled buffer of a download and what runs when a read into it or a write of it ends. */
interface Slot {
  readonly buf: Buffer;
  readonly afterRead: (err: Error | null, n: number) => void;
  readonly afterWrite: (err?: Error | null) => void;
}

export class FileStream extends Readable implements DirectBody {
  readonly #fd: number;
  #pos: number;
  /** Inclusive. */
  readonly #end: number;
  /** A read in flight: destruction waits for it, so the descriptor is never closed under it. */
  #reading = false;
  #readDone: ((err: Error | null, n: number) => void) | null = null;
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
    this.#readDone = callback;
    fs.read(this.#fd, buf, 0, size, this.#pos, this.#onRead);
  }

  /** The end of every read: one function, so a read allocates no closure of ours. */
  readonly #onRead = (err: Error | null, n: number): void => {
    this.#reading = false;
    const callback = this.#readDone!;
    this.#readDone = null;
    const destroyed = this.#destroyed;
    if (destroyed !== null) {
      this.#destroyed = null;
      destroyed();
    }
    callback(err, n);
  };

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.#reading) this.#destroyed = () => callback(err);
    else callback(err);
  }

  writeTo(socket: Writable, progress: () => void, done: (err: Error | null) => void): void {
    const buffers = takePair(this.#end - this.#pos + 1);
    const size = buffers[0]!.length;
    let writing = 0;
    let finished = false;
    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      // A buffer still in the socket comes back through its write callback.
      for (const slot of free) give(slot.buf);
      free.length = 0;
      this.destroy(); // 'close' tells whoever holds the descriptor that it may close it
      done(err);
    };
    // Each buffer has its callbacks made once, so a chunk allocates no closure of ours.
    const slot = (buf: Buffer): Slot => {
      const s: Slot = {
        buf,
        afterRead: (err, n) => {
          if (finished) return give(buf);
          if (err || this.destroyed || n === 0) {
            free.push(s);
            return finish(err ?? new Error(n === 0 ? 'file shorter than its length' : 'file stream destroyed'));
          }
          this.#pos += n;
          writing++;
          socket.write(n === buf.length ? buf : buf.subarray(0, n), s.afterWrite);
          progress();
          step();
        },
        // Called once the socket is done with the buffer, also when it failed.
        afterWrite: (werr) => {
          writing--;
          if (finished) return give(buf);
          free.push(s);
          if (werr) return finish(werr);
          progress();
          step();
        },
      };
      return s;
    };
    const free: Slot[] = buffers.map(slot);
    const step = (): void => {
      if (finished || this.#reading) return;
      if (this.destroyed) return finish(new Error('file stream destroyed'));
      const want = Math.min(size, this.#end - this.#pos + 1);
      if (want <= 0) {
        if (writing === 0) finish(null);
        return;
      }
      const s = free.pop();
      if (s === undefined) return; // both buffers are in the socket: a write callback calls again
      this.#read(s.buf, want, s.afterRead);
    };
    step();
  }
}
