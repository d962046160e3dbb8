// The br content coding (RFC 7932, registered for HTTP by RFC 9110 §18.6):
// reply bodies encoded on the fly, request bodies decoded on the way in.
// No libwww counterpart (brotli came later); same shape as gzip.ts.
// Brotli's default quality (11) costs far too much CPU per request, so the
// stack passes its own level (4 by default, about gzip -6 in time).

import zlib from 'node:zlib';
import type { CodingOptions, ContentCoding } from './content-coding.js';

const DEFAULT_QUALITY = 4;

function options(o: CodingOptions | undefined): zlib.BrotliOptions {
  const params: Record<number, number> = {
    [zlib.constants.BROTLI_PARAM_QUALITY]: o?.level ?? DEFAULT_QUALITY,
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
  };
  if (o?.sizeHint !== undefined && o.sizeHint >= 0) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = o.sizeHint;
  return { params };
}

export const brotli: ContentCoding = {
  name: 'br',
  aliases: [],
  encoder: (o) => zlib.createBrotliCompress(options(o)),
  decoder: () => zlib.createBrotliDecompress(),
  encodeSync: (input, o) => zlib.brotliCompressSync(input, options({ level: o?.level, sizeHint: input.length })),
};
