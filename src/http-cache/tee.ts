// The body of a response being stored while it streams to the client: every
// chunk passes on as it comes (the client never waits for the whole), and
// a copy is kept up to a bound. The copy is handed over only when the
// upstream's body ended normally with the length it announced; an upstream
// that dies mid-body, a client that goes away, or a body over the bound
// hands over nothing, so an incomplete response is never stored (RFC 9111 §3.3).

import { Transform, pipeline, type Readable } from 'node:stream';

/**
 * `source` through a pass-through that keeps a copy of at most `max` bytes.
 * `done` is called once: with the whole body, or null.
 */
export function teeBody(source: Readable, expected: number, max: number, done: (body: Buffer | null) => void): Readable {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  let called = false;
  const finish = (body: Buffer | null): void => {
    if (called) return;
    called = true;
    chunks.length = 0;
    // Storing must never break the stream it copies (this runs inside the stream's callbacks).
    try {
      done(body);
    } catch {
      // Not stored.
    }
  };
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!over) {
        size += chunk.length;
        if (size > max) {
          over = true;
          chunks.length = 0;
        } else {
          chunks.push(chunk);
        }
      }
      callback(null, chunk);
    },
    flush(callback) {
      // The source ended: complete only with every byte it announced.
      finish(over || (expected >= 0 && size !== expected) ? null : Buffer.concat(chunks, size));
      callback();
    },
  });
  pipeline(source, tee, (err) => {
    if (err) finish(null);
  });
  return tee;
}
