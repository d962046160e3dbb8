// The multipart/byteranges writer (RFC 9110 §14.6; libwww had none, the
// CERN server sent one range at most): several ranges of one representation
// as one body, each part with its own Content-Type and Content-Range. The
// exact length is computed up front so the reply carries a Content-Length.
// The FILE module calls byterangesBody() for a multi-range 206; it is not a
// registry converter because its input is a set of ranges, not a stream.
//
// Parts are opened one at a time, only when the consumer has read the one
// before (an async generator behind Readable.from), so a slow client holds
// one file stream open, never all of them.

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive (RFC 9110 §14.1.1). */
  readonly end: number;
}

export interface ByterangesBody {
  readonly body: Readable;
  /** Exact length in bytes of `body`. */
  readonly length: number;
  /** `multipart/byteranges; boundary=…` */
  readonly contentType: string;
}

export type OpenRange = (start: number, end: number) => Readable | Buffer;

/** A boundary that cannot occur in the parts' own headers (RFC 2046 §5.1.1). */
function newBoundary(): string {
  return 'streamstack-' + randomBytes(12).toString('hex');
}

function validate(ranges: readonly ByteRange[], size: number, boundary: string): void {
  if (ranges.length === 0) throw new RangeError('byteranges: no ranges');
  if (!/^[0-9A-Za-z'()+_,./:=?-]{1,70}$/.test(boundary)) throw new RangeError('byteranges: invalid boundary');
  for (const r of ranges) {
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start || r.end >= size) {
      throw new RangeError(`byteranges: range ${r.start}-${r.end} outside 0-${size - 1}`);
    }
  }
}

export function byterangesBody(
  ranges: readonly ByteRange[],
  size: number,
  contentType: string,
  openRange: OpenRange,
  boundary: string = newBoundary(),
): ByterangesBody {
  validate(ranges, size, boundary);
  // Each part: "[CRLF]--B CRLF headers CRLF CRLF data", then "CRLF--B-- CRLF";
  // the CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
  const heads = ranges.map((r, i) => Buffer.from(
    `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    'latin1',
  ));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  let length = tail.length;
  ranges.forEach((r, i) => {
    length += heads[i]!.length + (r.end - r.start + 1);
  });

  async function* parts(): AsyncGenerator<Buffer> {
    for (let i = 0; i < ranges.length; i++) {
      const { start, end } = ranges[i]!;
      yield heads[i]!;
      const expected = end - start + 1;
      const source = openRange(start, end);
      let seen = 0;
      if (Buffer.isBuffer(source)) {
        seen = source.length;
        if (seen === expected) yield source;
      } else {
        // for-await destroys the part's stream when the body is destroyed early.
        for await (const chunk of source) {
          seen += (chunk as Buffer).length;
          if (seen > expected) break;
          yield chunk as Buffer;
        }
      }
      // A file that changed under us would break the announced Content-Length:
      // fail the body so the wire closes the connection instead of lying.
      if (seen !== expected) throw new Error(`byteranges: range ${start}-${end} yielded ${seen} bytes, expected ${expected}`);
    }
    yield tail;
  }

  return {
    body: Readable.from(parts(), { objectMode: false }),
    length,
    contentType: `multipart/byteranges; boundary=${boundary}`,
  };
}
