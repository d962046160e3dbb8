// Shared helpers of the stack and converter tests: requests without a
// socket, bodies collected with a bound, and a slow consumer that records how
// much the stack buffers while it waits.

import { Readable, Writable } from 'node:stream';
import { Request, type RequestHeaders } from '../../src/request.js';

export function makeRequest(headers: RequestHeaders = {}, method = 'GET', body?: () => Readable): Request {
  return new Request({
    method,
    target: '/doc',
    versionMinor: 1,
    headers,
    rawHeaders: [],
    bodyLength: body === undefined ? 0 : -1,
    openBody: body,
  });
}

export async function collect(stream: Readable, limit = 256 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new Error('collect: over the limit');
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/** The body of a reply as bytes, whatever its form. */
export async function bodyBytes(body: Buffer | Readable | null): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  return Buffer.isBuffer(body) ? body : collect(body);
}

/**
 * A Readable that makes `total` bytes on demand from `make(offset, size)`
 * and counts what it produced: it only runs when its consumer pulls.
 */
export class CountingSource extends Readable {
  produced = 0;
  readonly total: number;
  #make: (offset: number, size: number) => Buffer;
  #chunk: number;

  constructor(total: number, make: (offset: number, size: number) => Buffer, chunk = 64 * 1024) {
    super();
    this.total = total;
    this.#make = make;
    this.#chunk = chunk;
  }

  override _read(): void {
    if (this.produced >= this.total) {
      this.push(null);
      return;
    }
    const size = Math.min(this.#chunk, this.total - this.produced);
    const buf = this.#make(this.produced, size);
    this.produced += size;
    this.push(buf);
  }
}

/**
 * A consumer that takes one chunk per `delayMs` (0: per turn of the event
 * loop, still after any producer that is ready) and, before each, calls
 * `sample` so a test can record what sits in buffers meanwhile.
 */
export function slowConsumer(sample: () => void, delayMs = 1, onChunk?: (chunk: Buffer) => void): Writable & { received: number } {
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      sample();
      sink.received += chunk.length;
      onChunk?.(chunk);
      if (delayMs === 0) setImmediate(callback);
      else setTimeout(callback, delayMs);
    },
  }) as Writable & { received: number };
  sink.received = 0;
  return sink;
}

/** Text that compresses like real prose, deterministic from its offset. */
export function prose(offset: number, size: number): Buffer {
  const words = ['stream', 'stack', 'converter', 'anchor', 'request', 'libwww', 'format', 'quality', 'the', 'of', 'and', 'server'];
  const out = Buffer.allocUnsafe(size);
  let seed = (offset * 2654435761) >>> 0;
  let i = 0;
  while (i < size) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const word = words[seed % words.length]!;
    for (let j = 0; j < word.length && i < size; j++) out[i++] = word.charCodeAt(j);
    if (i < size) out[i++] = seed & 0x100 ? 0x0a : 0x20;
  }
  return out;
}
