// Reads of plain upstream sockets into reused buffers (net's `onread`).
//
// A socket that reads the usual way gets a fresh 64 KiB buffer for every
// read. Relaying a 1 MiB body then allocates 1 MiB that nothing else holds:
// V8 counts those buffers as external memory and runs a full mark-compact
// for every few tens of MiB relayed, and the memory the kernel copies into
// is new pages, faulted in one by one. Measured on the proxy-1m benchmark:
// two thirds of the proxy's CPU went there.
//
// Here a read lands in a buffer from a small free list (a ReadBuffer), and
// the buffer goes back to the list once the read has been handled and every
// holder has released it: the exchange writes a body chunk straight to the
// client's socket with `retain().release` as the write's callback, which runs
// once the kernel has the bytes, and keeps bytes that wait for a slow reader
// the same way. Whoever keeps a chunk otherwise copies it.
//
// A socket with no reader set (a tunnel's, or one released from HTTP to a
// tunnel) has a copy of each read pushed into its stream, as a socket that
// reads the usual way does, so a consumer such as pipe() never sees a buffer
// change under it, and bytes that come before anyone reads wait.

import type { Socket } from 'node:net';

const READ_SIZE = 64 * 1024;
/** Free buffers kept for the next reads (4 MiB); more are left to the garbage collector. */
const KEPT = 64;

/** Read buffers held now: outside a read, those kept past it (written to a client and not yet taken by its kernel). For tests. */
export const readBuffers = { held: 0 };

/** One reusable read buffer and its holders: the reader while it runs, and every retain() since. */
export class ReadBuffer {
  readonly buf = Buffer.allocUnsafeSlow(READ_SIZE);
  #holders = 0;

  /** One more holder, who calls `release` (once) when done with the bytes. */
  retain(): this {
    if (this.#holders++ === 0) readBuffers.held++;
    return this;
  }

  /** Back to the free list when the last holder lets go. */
  release = (): void => {
    if (--this.#holders > 0) return;
    if (this.#holders < 0) throw new Error('a read buffer released more often than retained');
    readBuffers.held--;
    if (free.length < KEPT) free.push(this);
  };
}

const free: ReadBuffer[] = [];

/**
 * Handles one read. `owner` is the read's buffer (null: the chunk is the
 * socket's own, a TLS socket's 'data'); what is kept past the return is
 * retained from it or copied.
 */
export type Reader = (chunk: Buffer, owner: ReadBuffer | null) => void;

const readers = new WeakMap<Socket, Reader>();

/**
 * The `onread` option for a plain socket about to connect. `socket()`
 * returns that socket (it does not exist yet when the option is made).
 */
export function reusedReads(socket: () => Socket): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  /** The buffer net reads into next: it asks for one at the start and after every read. */
  let given: ReadBuffer | null = null;
  return {
    buffer: () => {
      given = free.pop() ?? new ReadBuffer();
      return given.buf;
    },
    callback: (n) => {
      const s = socket();
      const owner = given!.retain();
      const chunk = owner.buf.subarray(0, n);
      try {
        const reader = readers.get(s);
        if (reader !== undefined) reader(chunk, owner);
        // A copy into the stream, as a socket reading the usual way: kept until
        // someone reads it, and a full buffer stops the reads (false: net pauses).
        else return s.push(Buffer.from(chunk));
      } finally {
        owner.release();
      }
      return true;
    },
  };
}

/**
 * Who handles the reads of `socket` from now on (null: copies pushed into
 * its stream). Sockets connected without `reusedReads` emit 'data' as always and
 * never call it.
 */
export function setReader(socket: Socket, reader: Reader | null): void {
  if (reader === null) readers.delete(socket);
  else readers.set(socket, reader);
}
