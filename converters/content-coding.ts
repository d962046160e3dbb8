// ContentCoding (libwww HTEncoding's coders): what a content coding is to the
// stream stack — a name as it appears in Content-Encoding and Accept-Encoding
// (RFC 9110 §8.4.1), an encoder for replies and a decoder for request bodies.
// Codings are not chosen by quality like type converters: they are stacked in
// header order (the README, "Converters"), so they live in their own small table
// (converters/index.ts) rather than in the ConverterRegistry.

import type { Transform } from 'node:stream';

export interface CodingOptions {
  /** Compression level in the coding's own scale: zlib 0–9, brotli 0–11. */
  readonly level?: number;
  /** The input length when known, so an encoder can size its window. */
  readonly sizeHint?: number;
}

export interface ContentCoding {
  /** The token in Content-Encoding: 'gzip', 'deflate', 'br'. */
  readonly name: string;
  /** Other tokens a client may send for it (RFC 9110 §8.4.1.3: x-gzip). */
  readonly aliases: readonly string[];
  encoder(options?: CodingOptions): Transform;
  decoder(): Transform;
  /** Encodes a small body at once; cheaper than a stream for a Buffer. */
  encodeSync(input: Buffer, options?: CodingOptions): Buffer;
}
