// Request bodies with a Content-Encoding, decoded on the way in (README,
// the path of a request: transfer decoder → content decoders → type converter → sink). libwww
// counterpart: the HTEncoding decoders stacked by HTContentDecodingStack.
// Formats: gzip / x-gzip, deflate (zlib format), br → the identity bytes.
//
// The decoded size is capped: a decompression bomb (1 GiB of zeros is about
// 1 MiB of gzip) errors with 413 as soon as the cap is crossed, and the
// decoders never run ahead of the consumer, so memory stays bounded.

import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { HttpError } from './errors.js';
import type { Request } from './request.js';
import { codingByName, codings } from '../converters/index.js';

/** Passes bytes through and errors once more than `max` have gone by. */
class SizeCap extends Transform {
  #left: number;

  constructor(max: number) {
    super();
    this.#left = max;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#left -= chunk.length;
    if (this.#left < 0) callback(new HttpError('WWW_ERR_REQ_BODY_TOO_LARGE', 'decoded body over the limit'));
    else callback(null, chunk);
  }
}

/**
 * At most this many codings on one body. Each one is a decoder (a brotli
 * decoder holds several MiB), made when the body opens: without a bound a
 * single header line of `br,br,…` would cost memory per token. Two allow
 * any real stack (gzip on top of a br'ed body).
 */
export const MAX_CODINGS = 2;

/**
 * The codings of a Content-Encoding value in the order they were applied;
 * `identity` is dropped. Throws 415 for a coding we cannot decode or for more
 * than MAX_CODINGS, with the Accept-Encoding a client should use (RFC 9110
 * §12.5.3, §15.5.16).
 */
export function parseContentEncoding(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const member of value.split(',')) {
    const name = member.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    const coding = codingByName(name);
    if (coding === undefined) throw new HttpError('WWW_ERR_CONV_CODING_UNKNOWN', name, { headers: acceptEncoding() });
    if (out.length === MAX_CODINGS) throw new HttpError('WWW_ERR_CONV_TOO_MANY_CODINGS', `at most ${MAX_CODINGS}`, { headers: acceptEncoding() });
    out.push(coding.name);
  }
  return out;
}

function acceptEncoding(): Record<string, string> {
  return { 'Accept-Encoding': codings.map((c) => c.name).join(', ') };
}

/**
 * The request body with its content codings removed, or null when there is
 * no body. Throws (before the body is opened, so no 100 Continue goes out)
 * when a coding is unknown or there are too many. The returned stream errors with an HttpError:
 * 413 past `maxDecodedSize`, 400 when the bytes do not decode.
 */
export function decodeBody(request: Request, maxDecodedSize: number): Readable | null {
  if (!request.hasBody) return null;
  const applied = parseContentEncoding(request.headers['content-encoding']);
  const raw = request.body();
  if (raw === null || applied.length === 0) return raw;

  // Codings were applied in header order, so they come off in reverse.
  const decoders = applied.reverse().map((name) => codingByName(name)!.decoder());
  const cap = new SizeCap(maxDecodedSize);
  // The first failure decides what the consumer sees: listeners added before
  // pipeline() run before its own, so a zlib error reaches `cap` as a 400.
  for (const decoder of decoders) {
    decoder.once('error', (err: Error) => {
      if (!cap.destroyed) cap.destroy(new HttpError('WWW_ERR_CONV_DECODE', err.message, { cause: err }));
    });
  }
  const onAbort = (): void => {
    cap.destroy(request.signal.reason instanceof Error ? request.signal.reason : new HttpError('WWW_ERR_REQ_ABORTED'));
  };
  request.signal.addEventListener('abort', onAbort, { once: true });
  pipeline([raw, ...decoders, cap], () => request.signal.removeEventListener('abort', onAbort));
  return cap;
}
