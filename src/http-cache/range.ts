// Range requests answered from a complete stored response (RFC 9110 §14,
// RFC 9111 §3.4 lets a cache do so): one range as a 206 with Content-Range,
// several as multipart/byteranges, 416 when none is satisfiable, the whole
// 200 when the Range is not usable or If-Range names another version.

import type { Reply } from '../reply.js';
import type { Request } from '../request.js';
import { errorReply } from '../reply.js';
import { HttpError } from '../errors.js';
import { contentType, makeFormat } from '../format.js';
import { getHeader } from '../stack-headers.js';
import { ifRangeHolds, parseRange, UNSATISFIABLE } from '../../protocols/file-conditional.js';
import { byterangesBody } from '../../converters/byteranges.js';
import { httpDateMs } from './policy.js';
import type { StoredResponse } from './store.js';

/** At most this many ranges in one request; more and the Range is ignored (as the FILE module's default). */
const MAX_RANGES = 16;

/**
 * The partial reply for the request's Range on `whole` (the 200 the entry
 * gives), or `whole` itself when it does not apply: only GET, only a 200,
 * and If-Range (§13.1.5) must name the stored version.
 */
export function rangeReply(entry: StoredResponse, request: Request, whole: Reply): Reply {
  const range = request.headers.range;
  if (range === undefined || request.method !== 'GET' || entry.status !== 200 || entry.format === null) return whole;
  const ifRange = request.headers['if-range'];
  if (ifRange !== undefined) {
    const lastModified = httpDateMs(getHeader(entry.headers, 'Last-Modified'));
    if (!ifRangeHolds(ifRange, { etag: getHeader(entry.headers, 'ETag') ?? '', mtimeSec: lastModified / 1000 })) return whole;
  }
  const body = entry.body;
  const size = body.length;
  const result = parseRange(range, size, MAX_RANGES);
  if (result === UNSATISFIABLE) {
    const reply = errorReply(request.fail(new HttpError('WWW_ERR_PROXY_RANGE', undefined, { headers: { 'Content-Range': `bytes */${size}` } })));
    reply.headers['Cache-Status'] = whole.headers['Cache-Status']!;
    reply.headers.Age = whole.headers.Age!;
    return reply;
  }
  if (result.kind !== 'ranges') return whole;
  const headers = { ...whole.headers };
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-range') delete headers[name];
  if (result.ranges.length === 1) {
    const { start, end } = result.ranges[0]!;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    return Object.assign({}, whole, { status: 206, headers, length: end - start + 1, body: body.subarray(start, end + 1) });
  }
  const multi = byterangesBody(result.ranges, size, contentType(entry.format), (start, end) => body.subarray(start, end + 1));
  const boundary = multi.contentType.slice(multi.contentType.indexOf('boundary=') + 9);
  return Object.assign({}, whole, { status: 206, headers, format: makeFormat('multipart/byteranges', { boundary }), length: multi.length, body: multi.body });
}
