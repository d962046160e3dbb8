// The gzip content coding (RFC 9110 §8.4.1.3, the format of RFC 1952):
// reply bodies encoded on the fly, request bodies decoded on the way in.
// libwww counterpart: the HTZip coder. Backpressure is node:zlib's own: the
// Transform stops reading while its output is not consumed.

import zlib from 'node:zlib';
import type { CodingOptions, ContentCoding } from './content-coding.js';

function options(o: CodingOptions | undefined): zlib.ZlibOptions {
  return o?.level === undefined ? {} : { level: o.level };
}

export const gzip: ContentCoding = {
  name: 'gzip',
  aliases: ['x-gzip'],
  encoder: (o) => zlib.createGzip(options(o)),
  // Concatenated gzip members are decoded as one body, as gzip(1) does.
  decoder: () => zlib.createGunzip(),
  encodeSync: (input, o) => zlib.gzipSync(input, options(o)),
};
