// The deflate content coding: despite its name, the zlib format (RFC 9110
// §8.4.1.2, RFC 1950 wrapping RFC 1951), not a raw deflate stream. Reply
// bodies encoded on the fly, request bodies decoded on the way in.
// libwww counterpart: the HTZip coder in its zlib mode.

import zlib from 'node:zlib';
import type { CodingOptions, ContentCoding } from './content-coding.js';

function options(o: CodingOptions | undefined): zlib.ZlibOptions {
  return o?.level === undefined ? {} : { level: o.level };
}

export const deflate: ContentCoding = {
  name: 'deflate',
  aliases: [],
  encoder: (o) => zlib.createDeflate(options(o)),
  decoder: () => zlib.createInflate(),
  encodeSync: (input, o) => zlib.deflateSync(input, options(o)),
};
