// From the selected representation of a file to a Reply: preconditions
// (RFC 9110 §13.2.2), then Range and If-Range (§14), then 200, 206 (one range,
// or several as multipart/byteranges), 304, 412 or 416. The same code serves
// a memory-cached document (its bytes are a Buffer) and a file on disk (a
// Source that opens streams). libwww counterpart: the tail of HTLoadFile, where
// the CERN server answered If-Modified-Since; the rest is `send`'s territory.

import type { Readable } from 'node:stream';
import { byterangesBody } from '../converters/byteranges.js';
import { HttpError } from '../src/errors.js';
import { makeFormat } from '../src/format.js';
import type { Reply, ReplyHeaders } from '../src/reply.js';
import { errorReply } from '../src/reply.js';
import type { Request } from '../src/request.js';
import type { Representation } from './file-cache.js';
import {
  NOT_MODIFIED, PRECONDITION_FAILED, UNSATISFIABLE, evaluatePreconditions, ifRangeHolds, matchingTag, parseRange,
} from './file-conditional.js';

/** Where the bytes come from when they are not in memory. */
export interface Source {
  /** Bytes `start`…`end` (inclusive); the stream releases what it holds when it ends. */
  range(start: number, end: number): Readable | Buffer;
  /** A multipart body reads several ranges: the source stays open until `release`. */
  part(start: number, end: number): Readable | Buffer;
  /** No body will be read (HEAD, 304, 412, 416), or the multipart body closed. */
  release(): void;
}

export interface SendOptions {
  readonly maxRanges: number;
  /** Other variants exist (sidecars): every answer says `Vary: Accept-Encoding`. */
  readonly variants: boolean;
}

/** A Buffer is its own source. */
export function bufferSource(bytes: Buffer): Source {
  const slice = (start: number, end: number): Buffer => bytes.subarray(start, end + 1);
  return { range: slice, part: slice, release() {} };
}

/** The validator fields every answer about a representation carries. */
function validatorHeaders(rep: Representation, variants: boolean): ReplyHeaders {
  return variants
    ? { 'Content-Type': rep.contentType, ETag: rep.etag, 'Last-Modified': rep.lastModified, 'Accept-Ranges': 'bytes', Vary: 'Accept-Encoding' }
    : { 'Content-Type': rep.contentType, ETag: rep.etag, 'Last-Modified': rep.lastModified, 'Accept-Ranges': 'bytes' };
}

/** A 200 of the whole representation: the hit path's one allocation besides the Reply. */
export function whole(request: Request, rep: Representation, body: Buffer | Readable | null, variants: boolean): Reply {
  return { status: 200, headers: validatorHeaders(rep, variants), format: rep.format, length: rep.size, body, anchor: request.anchor };
}

/**
 * RFC 9110 §15.4.5: a 304 carries what a 200 would have in Cache-Control,
 * Content-Location, Date, ETag, Expires and Vary, and no content. The ETag is
 * the tag the client matched when it names a variant of this one.
 */
function notModified(request: Request, rep: Representation, variants: boolean): Reply {
  const ifNoneMatch = request.headers['if-none-match'];
  const matched = ifNoneMatch === undefined ? null : matchingTag(ifNoneMatch, rep.etag, true);
  const variant = matched !== null && matched !== '*' && (matched.startsWith('W/') ? matched.slice(2) : matched) !== rep.etag;
  const headers: ReplyHeaders = { ETag: variant ? matched : rep.etag, 'Last-Modified': rep.lastModified };
  const cacheControl = request.rules?.cacheControlFor(request.decodedPath ?? '');
  if (cacheControl !== undefined) headers['Cache-Control'] = cacheControl;
  // Sidecar variants vary the answer here; what the converter stack would do
  // to a 200, it says itself, given the representation's format (src/stack.ts).
  if (variants) headers.Vary = 'Accept-Encoding';
  return { status: 304, headers, format: rep.format, length: -1, body: null };
}

/**
 * The answer for one representation. GET is the only method with ranges
 * (§14.2); HEAD gets the 200's head. An empty representation ignores Range.
 */
export function send(request: Request, rep: Representation, source: Source, options: SendOptions): Reply {
  const h = request.headers;
  const method = request.method;
  const pre = evaluatePreconditions(method, h, rep);
  if (pre === PRECONDITION_FAILED) {
    source.release();
    return errorReply(request.fail(new HttpError('WWW_ERR_FILE_PRECONDITION')));
  }
  if (pre === NOT_MODIFIED) {
    source.release();
    return notModified(request, rep, options.variants);
  }
  const range = h.range;
  if (method === 'GET' && range !== undefined) {
    const ifRange = h['if-range'];
    if (ifRange === undefined || ifRangeHolds(ifRange, rep)) {
      const result = parseRange(range, rep.size, options.maxRanges);
      if (result === UNSATISFIABLE) {
        source.release();
        return errorReply(request.fail(new HttpError('WWW_ERR_FILE_RANGE', undefined, { headers: { 'Content-Range': `bytes */${rep.size}` } })));
      }
      if (result.kind === 'ranges') return partial(request, rep, source, result.ranges, options.variants);
    }
  }
  if (method === 'HEAD') {
    source.release();
    // Bytes in memory go along (the writer sends none for HEAD): the stack
    // then gives the HEAD the Content-Length the GET would have, encoded or not.
    return whole(request, rep, rep.bytes, options.variants);
  }
  return whole(request, rep, rep.bytes ?? source.range(0, rep.size - 1), options.variants);
}

/** 206: one range with Content-Range, or several as multipart/byteranges (§14.6). Never content-encoded by the stack. */
function partial(request: Request, rep: Representation, source: Source, ranges: readonly { start: number; end: number }[], variants: boolean): Reply {
  const headers = validatorHeaders(rep, variants);
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    headers['Content-Range'] = `bytes ${start}-${end}/${rep.size}`;
    return { status: 206, headers, format: rep.format, length: end - start + 1, body: source.range(start, end) };
  }
  const multi = byterangesBody(ranges, rep.size, rep.contentType, (start, end) => source.part(start, end));
  multi.body.once('close', () => source.release());
  headers['Content-Type'] = multi.contentType;
  const boundary = multi.contentType.slice(multi.contentType.indexOf('boundary=') + 9);
  return { status: 206, headers, format: makeFormat('multipart/byteranges', { boundary }), length: multi.length, body: multi.body };
}
