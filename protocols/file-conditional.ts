// Preconditions and byte ranges of the FILE module, as pure functions: no
// I/O, only header values and the validators of the selected representation.
// libwww counterpart: HTFile's If-Modified-Since check (the CERN server knew
// that one field); the rest follows RFC 9110 §13 (conditional requests) and
// §14 (range requests), the way `send` and nginx read them.

import { baseETag } from '../src/stack-headers.js';
import type { RequestHeaders } from '../src/request.js';
import type { ByteRange } from '../converters/byteranges.js';

/** What preconditions are checked against; null when there is no current representation. */
export interface Validators {
  /** A strong entity-tag, quoted. */
  readonly etag: string;
  /** Last-Modified in whole seconds (HTTP-dates have no finer grain). */
  readonly mtimeSec: number;
}

export const PROCEED = 0;
export const NOT_MODIFIED = 304;
export const PRECONDITION_FAILED = 412;
export type Precondition = typeof PROCEED | typeof NOT_MODIFIED | typeof PRECONDITION_FAILED;

/**
 * The client tag in an If-Match / If-None-Match list that matches `etag`,
 * or null. `*` matches any current representation (RFC 9110 §13.1.1).
 * Strong comparison: both tags strong and equal. Weak comparison (§8.8.3.2):
 * the opaque parts equal; a variant tag the stack made on the fly
 * (`"x-gzip"`) matches its origin's `"x"`.
 */
export function matchingTag(list: string, etag: string, weak: boolean): string | null {
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  const n = list.length;
  let i = 0;
  while (i < n) {
    const c = list.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x2c) {
      i++;
      continue;
    }
    if (c === 0x2a) return '*';
    let start = i;
    const isWeak = c === 0x57 && list.charCodeAt(i + 1) === 0x2f; // W/
    if (isWeak) i += 2;
    if (list.charCodeAt(i) !== 0x22) {
      // Not an entity-tag: skip to the next member.
      const comma = list.indexOf(',', i);
      i = comma === -1 ? n : comma + 1;
      continue;
    }
    const close = list.indexOf('"', i + 1);
    if (close === -1) return null;
    const tag = list.slice(start, close + 1);
    const tagOpaque = list.slice(i, close + 1);
    start = close + 1;
    i = start;
    if (weak) {
      if (tagOpaque === opaque) return tag;
      const base = baseETag(tagOpaque);
      if (base !== tagOpaque && base === opaque) return tag;
    } else if (!isWeak && !etag.startsWith('W/') && tagOpaque === opaque) {
      return tag;
    }
  }
  return null;
}

/** An HTTP-date in whole seconds, or NaN (RFC 9110 §5.6.7: IMF-fixdate, RFC 850, asctime). */
export function parseHttpDate(value: string): number {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? NaN : Math.floor(ms / 1000);
}

/**
 * RFC 9110 §13.2.2, in its order:
 *   1. If-Match false → 412;
 *   2. else If-Unmodified-Since, modified since → 412;
 *   3. If-None-Match true → 304 for GET/HEAD, 412 otherwise;
 *   4. else If-Modified-Since (GET/HEAD only), not modified → 304.
 * Range and If-Range come after (step 5) and are the caller's.
 */
export function evaluatePreconditions(method: string, h: RequestHeaders, current: Validators | null): Precondition {
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    if (current === null || matchingTag(ifMatch, current.etag, false) === null) return PRECONDITION_FAILED;
  } else {
    const ius = h['if-unmodified-since'];
    if (ius !== undefined && current !== null) {
      const since = parseHttpDate(ius);
      // §13.1.4: an invalid date is ignored.
      if (!Number.isNaN(since) && current.mtimeSec > since) return PRECONDITION_FAILED;
    }
  }
  const read = method === 'GET' || method === 'HEAD';
  const ifNoneMatch = h['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (current !== null && matchingTag(ifNoneMatch, current.etag, true) !== null) return read ? NOT_MODIFIED : PRECONDITION_FAILED;
  } else if (read) {
    const ims = h['if-modified-since'];
    if (ims !== undefined && current !== null) {
      const since = parseHttpDate(ims);
      if (!Number.isNaN(since) && current.mtimeSec <= since) return NOT_MODIFIED;
    }
  }
  return PROCEED;
}

/**
 * If-Range (RFC 9110 §13.1.5): the Range applies only when the validator
 * names the current representation. An entity-tag needs the strong
 * comparison (so a weak tag never holds); a date must equal Last-Modified.
 */
export function ifRangeHolds(value: string, current: Validators): boolean {
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) {
    return !v.startsWith('W/') && !current.etag.startsWith('W/') && v === current.etag;
  }
  const date = parseHttpDate(v);
  return !Number.isNaN(date) && date === current.mtimeSec;
}

export type RangeResult =
  /** No usable Range: bad syntax, another unit, too many ranges → the whole 200. */
  | { readonly kind: 'ignore' }
  /** 416 with `Content-Range: bytes *\/SIZE`. */
  | { readonly kind: 'unsatisfiable' }
  /** Coalesced, in the order first requested. */
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

export const IGNORE: RangeResult = Object.freeze({ kind: 'ignore' });
export const UNSATISFIABLE: RangeResult = Object.freeze({ kind: 'unsatisfiable' });

const SPEC = /^(\d*)-(\d*)$/;

/**
 * A Range field value for a representation of `size` bytes (RFC 9110 §14.1.2).
 * `bytes=0-499`, `bytes=-500` (the last 500), `bytes=500-` (from 500 on),
 * several separated by commas. A member that does not parse makes the whole
 * field ignored (§14.2); members past the end are dropped, and when none is
 * left the answer is 416. An empty representation has no satisfiable range
 * that a Content-Range could name, so its Range is ignored.
 */
export function parseRange(value: string, size: number, maxRanges: number): RangeResult {
  const eq = value.indexOf('=');
  if (eq === -1 || value.slice(0, eq).trim().toLowerCase() !== 'bytes') return IGNORE;
  if (size === 0) return IGNORE;
  const out: ByteRange[] = [];
  let count = 0;
  for (const member of value.slice(eq + 1).split(',')) {
    const spec = member.trim();
    if (spec === '') continue; // RFC 9110 §5.6.1: empty list elements are allowed
    if (++count > maxRanges) return IGNORE;
    const m = SPEC.exec(spec);
    if (m === null) return IGNORE;
    const [, first, last] = m as unknown as [string, string, string];
    if (first === '') {
      if (last === '') return IGNORE;
      // suffix-range: the last N bytes; N = 0 is unsatisfiable.
      const n = Number(last);
      if (n > 0) out.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Number(last);
    if (last !== '' && end < start) return IGNORE; // §14.1.1: last-pos below first-pos is invalid
    if (start >= size) continue;
    out.push({ start, end: Math.min(end, size - 1) });
  }
  if (count === 0) return IGNORE;
  if (out.length === 0) return UNSATISFIABLE;
  return { kind: 'ranges', ranges: coalesce(out) };
}

/**
 * Overlapping and adjacent ranges merged (RFC 9110 §14.6 allows it, and it
 * defeats the many-overlapping-ranges attack of §17.15), then put back in
 * the order their first member was asked for.
 */
export function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  if (ranges.length < 2) return ranges.slice();
  const sorted = ranges.map((r, index) => ({ start: r.start, end: r.end, index })).sort((a, b) => a.start - b.start);
  const merged = [sorted[0]!];
  for (let k = 1; k < sorted.length; k++) {
    const r = sorted[k]!;
    const last = merged[merged.length - 1]!;
    if (r.start <= last.end + 1) {
      last.end = Math.max(last.end, r.end);
      last.index = Math.min(last.index, r.index);
    } else {
      merged.push(r);
    }
  }
  return merged.sort((a, b) => a.index - b.index).map((r) => ({ start: r.start, end: r.end }));
}
