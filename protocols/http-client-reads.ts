// Reads of plain upstream sockets into reused buffers (net's `onread`).
//
// A socket that reads the usual way gets a fresh 64 KiB buffer for every
// read. Relaying a 1 MiB body then allocates 1 MiB that nothing else holds:
// V8 counts those buffers as external memory and runs a full mark-compact
// for every few tens of MiB relayed, and the memory the kernel copies into
// is new pages, faulted in one by one. Measured on the proxy-1m benchmark:
// two thirds of the proxy's CPU went there.
//
// Here a read lands in a buffer from a small free list, and the buffer goes
// back to the list as soon as the read has been handled, unless its reader
// lent it out: the exchange writes a body chunk straight to the client's
// socket with the callback `lend()` returns, and that write's callback
// returns the buffer once the kernel has taken the bytes. Whoever keeps a
// chunk past the reader's return without lending copies it.
//
// A socket with no reader set (one released from HTTP to a tunnel) gets a
// copy of each read as a 'data' event, so a stream consumer such as pipe()
// never sees a buffer change under it.

import type { Socket } from 'node:net';

export const READ_SIZE = 64 * 1024;
/** Free buffers kept for the next reads (4 MiB); more are left to the garbage collector. */
const KEPT = 64;

const free: Buffer[] = [];
/** The read being handed to its reader now, if any, and its holds once lent. */
let reading: Buffer | null = null;
let holds: Holds | null = null;

/** Read buffers lent out now (written to a client and not yet taken by its kernel): for tests. */
export const readBuffers = { lent: 0 };

/** A lent read buffer: back to the list when its reader returned and every lender released it. */
class Holds {
  count = 1;
  constructor(readonly buf: Buffer) {
    readBuffers.lent++;
  }
  release = (): void => {
    if (--this.count > 0) return;
    readBuffers.lent--;
    giveBack(this.buf);
  };
}

export type Reader = (chunk: Buffer) => void;

const readers = new WeakMap<Socket, Reader>();

function take(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(READ_SIZE);
}

function giveBack(buf: Buffer): void {
  if (free.length < KEPT) free.push(buf);
}

/**
 * The `onread` option for a plain socket about to connect. `socket()`
 * returns that socket (it does not exist yet when the option is made).
 */
export function reusedReads(socket: () => Socket): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  return {
    buffer: take,
    callback: (n, buf) => {
      const s = socket();
      const reader = readers.get(s);
      const chunk = (buf as Buffer).subarray(0, n);
      if (reader === undefined) {
        s.emit('data', Buffer.from(chunk));
        giveBack(buf as Buffer);
        return true;
      }
      reading = buf as Buffer;
      try {
        reader(chunk);
      } finally {
        const held = holds;
        reading = null;
        holds = null;
        // The next read gets a buffer from the list (net asks after every read): this one unless lent.
        if (held === null) giveBack(buf as Buffer);
        else held.release();
      }
      return true;
    },
  };
}

/**
 * Who handles the reads of `socket` from now on (null: 'data' events with
 * copies). Sockets connected without `reusedReads` emit 'data' as always and
 * never call it.
 */
export function setReader(socket: Socket, reader: Reader | null): void {
  if (reader === null) readers.delete(socket);
  else readers.set(socket, reader);
}

/**
 * Keeps the buffer of the read being handled until the returned callback
 * runs (exactly once; a read may be lent several times, one chunk of a
 * chunked body each). Outside a reused read (a TLS socket's 'data'), a no-op.
 */
export function lend(): () => void {
  if (reading === null) return noop;
  holds ??= new Holds(reading);
  holds.count++;
  return holds.release;
}

function noop(): void {}
