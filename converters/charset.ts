// Charset transcoding (libwww HTCharset / the CERN server's OutputCharset):
// a text body in one charset rewritten in another with iconv-lite, e.g.
// text/plain; charset=windows-1252 → text/plain; charset=utf-8. The stack
// (src/stack.ts) decides when; this file only converts.

import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import type * as Iconv from 'iconv-lite';
import { normalizeCharset } from '../src/negotiate.js';

// iconv-lite's tables cost a server that never transcodes about 7 MiB, so
// they load on the first conversion.
const require = createRequire(import.meta.url);
let lib: typeof Iconv | undefined;
function iconv(): typeof Iconv {
  return (lib ??= require('iconv-lite') as typeof Iconv);
}

/** Whether iconv-lite knows a charset (names are case- and punctuation-insensitive). */
export function charsetSupported(name: string): boolean {
  return iconv().encodingExists(name);
}

/** iconv-lite's name for a charset after its aliases (cp1252 → windows1252). */
function canonical(name: string): string {
  if (!iconv().encodingExists(name)) return normalizeCharset(name);
  let enc = iconv()._canonicalizeEncoding(name);
  for (let hops = 0; hops < 8; hops++) {
    const next: unknown = iconv().encodings?.[enc];
    if (typeof next !== 'string') break;
    enc = next;
  }
  return enc;
}

/** Whether two names denote the same charset: UTF-8 = utf8, latin1 = ISO-8859-1. */
export function sameCharset(a: string, b: string): boolean {
  return normalizeCharset(a) === normalizeCharset(b) || canonical(a) === canonical(b);
}

/** Transcodes a whole buffer at once (bodies already in memory). */
export function transcodeSync(input: Buffer, from: string, to: string): Buffer {
  return iconv().encode(iconv().decode(input, from), to);
}

/**
 * A Transform from one charset to another. Multi-byte sequences split across
 * chunks are held by iconv-lite's decoder until their last byte arrives;
 * characters the target cannot represent become iconv-lite's default ('?').
 */
export class CharsetTranscoder extends Transform {
  #decoder: Iconv.DecoderStream;
  #encoder: Iconv.EncoderStream;

  constructor(from: string, to: string) {
    super();
    if (!charsetSupported(from)) throw new RangeError(`unknown charset ${JSON.stringify(from)}`);
    if (!charsetSupported(to)) throw new RangeError(`unknown charset ${JSON.stringify(to)}`);
    this.#decoder = iconv().getDecoder(from);
    this.#encoder = iconv().getEncoder(to);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.#decoder.write(chunk);
    if (text.length > 0) {
      const out = this.#encoder.write(text);
      if (out.length > 0) this.push(out);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.#decoder.end();
    const out = this.#encoder.write(rest ?? '');
    if (out.length > 0) this.push(out);
    const tail = this.#encoder.end();
    if (tail !== undefined && tail.length > 0) this.push(tail);
    callback();
  }
}
