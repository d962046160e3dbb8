// The policy of a shared HTTP cache (RFC 9111), as pure functions of field
// values and times: whether a response may be stored (§3, §3.5), how long
// it stays fresh (§4.2.1, §4.2.2), how old it is (§4.2.3), and whether a
// stored response may answer a request as it is, only after validation, or
// stale (§4.2.4, §5.2.1, §5.2.2, RFC 5861). No I/O and no clock: every time
// is passed in, in milliseconds since the epoch; ages and lifetimes are in
// whole seconds, as Age and max-age are.

import type { ReplyHeaders } from '../reply.js';
import type { RequestHeaders } from '../request.js';
import { getHeader } from '../stack-headers.js';
import { deltaSeconds, fieldNames, parseCacheControl, type CacheControl } from './cache-control.js';
import { varyNames } from './vary.js';

/** RFC 9110 §15.1: statuses cacheable by default ("heuristically cacheable"); 206 is stored by no one here. */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Statuses whose semantics this cache implements (§5.2.2.3 must-understand): final ones it may store. */
export const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);

/** §4.2.2: a heuristic lifetime is at most this (a day), as most caches cap it. */
export const HEURISTIC_MAX = 86_400;

/** When a stored response was asked for and received, and what its Date and Age said. */
export interface Timing {
  /** request_time: when the request that brought it (or its last validation) was sent, ms. */
  readonly requestTime: number;
  /** response_time: when its head arrived, ms. */
  readonly responseTime: number;
  /** date_value: its Date, ms; the response time when it had none or an invalid one. */
  readonly dateValue: number;
  /** age_value: its Age, seconds; 0 when it had none. */
  readonly ageValue: number;
}

/** An HTTP-date in ms, or NaN. RFC 9110 §5.6.7: IMF-fixdate, and the two obsolete forms. */
export function httpDateMs(value: string | undefined): number {
  if (value === undefined) return NaN;
  const v = value.trim();
  // Date.parse takes much that is not an HTTP-date (bare numbers like "0"): require a letter-led form.
  if (!/^[A-Za-z]{3}/.test(v)) return NaN;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? NaN : ms - (ms % 1000);
}

/** age_value (§5.1): the first Age as delta-seconds, else 0 (an invalid Age is ignored). */
export function ageValue(headers: ReplyHeaders): number {
  const v = getHeader(headers, 'Age');
  if (v === undefined) return 0;
  const first = v.split(',')[0]!.trim();
  if (!/^[0-9]+$/.test(first)) return 0;
  return Math.min(Number(first), 2_147_483_648);
}

/** §4.2.3: current_age in seconds at `now`. */
export function currentAge(t: Timing, now: number): number {
  const apparentAge = Math.max(0, t.responseTime - t.dateValue) / 1000;
  const responseDelay = Math.max(0, t.responseTime - t.requestTime) / 1000;
  const correctedAgeValue = t.ageValue + responseDelay;
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  const residentTime = Math.max(0, now - t.responseTime) / 1000;
  return Math.floor(correctedInitialAge + residentTime);
}

/**
 * §4.2.1: freshness_lifetime in seconds, for a shared cache: s-maxage, else
 * max-age, else Expires − Date, else a heuristic (§4.2.2) where allowed:
 * 10% of Date − Last-Modified, at most a day, only for a status cacheable
 * by default or a response marked `public`, and only without any explicit
 * expiration. An invalid s-maxage, max-age or Expires makes it 0 (stale).
 */
export function freshnessLifetime(status: number, headers: ReplyHeaders, cc: CacheControl, dateValue: number): number {
  const sMaxage = deltaSeconds(cc, 's-maxage');
  if (sMaxage !== undefined) return Number.isNaN(sMaxage) ? 0 : sMaxage;
  const maxAge = deltaSeconds(cc, 'max-age');
  if (maxAge !== undefined) return Number.isNaN(maxAge) ? 0 : maxAge;
  const expiresField = getHeader(headers, 'Expires');
  if (expiresField !== undefined) {
    // §5.3: an invalid date, "0" in particular, is a time in the past; so are two
    // Expires lines (an HTTP-date holds one comma): §4.2.1 allows taking it as stale.
    const expires = httpDateMs(expiresField.split(',').length > 2 ? undefined : expiresField);
    return Number.isNaN(expires) ? 0 : Math.max(0, Math.floor((expires - dateValue) / 1000));
  }
  if (!HEURISTIC_STATUSES.has(status) && !cc.has('public')) return 0;
  const lastModified = httpDateMs(getHeader(headers, 'Last-Modified'));
  if (Number.isNaN(lastModified) || lastModified >= dateValue) return 0;
  return Math.min(HEURISTIC_MAX, Math.floor((dateValue - lastModified) / 10_000));
}

/** Methods that change state (RFC 9110 §9.2.1): their responses invalidate (§4.4). */
export function isUnsafe(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && method !== 'TRACE';
}

/** The request's Cache-Control; a lone `Pragma: no-cache` counts as `no-cache` (RFC 9111 §5.4). */
export function requestDirectives(headers: RequestHeaders): CacheControl {
  const cc = parseCacheControl(headers['cache-control']);
  if (headers['cache-control'] === undefined && headers.pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(headers.pragma)) {
    return new Map([['no-cache', null]]);
  }
  return cc;
}

/**
 * §3: whether a shared cache may store this response to a GET. `private`
 * (without field names) and `no-store` forbid it (so does a `no-store` request, §5.2.1.5), as do
 * credentials without `public`, `s-maxage` or `must-revalidate` (§3.5), and
 * `Vary: *` (it could never be selected, §4.1). A final status is stored
 * when it is cacheable by default or carries explicit freshness or `public`.
 */
export function isStorable(
  method: string, requestHeaders: RequestHeaders, reqCC: CacheControl, status: number, headers: ReplyHeaders, cc: CacheControl,
): boolean {
  if (method !== 'GET') return false;
  // 206 is never stored as a complete response; 304 only updates (§4.3.4); 1xx never reaches here.
  if (status < 200 || status === 206 || status === 304) return false;
  // §5.2.2.7: private with field names lets a shared cache store the rest (entry.ts leaves them out).
  if (reqCC.has('no-store') || (cc.has('private') && fieldNames(cc, 'private') === null)) return false;
  // §5.2.2.3: must-understand stores only statuses the cache implements, and then overrides no-store.
  if (cc.has('must-understand')) {
    if (!UNDERSTOOD_STATUSES.has(status)) return false;
  } else if (cc.has('no-store')) {
    return false;
  }
  if (requestHeaders.authorization !== undefined && !cc.has('public') && !cc.has('s-maxage') && !cc.has('must-revalidate')) return false;
  if (varyNames(getHeader(headers, 'Vary'))[0] === '*') return false;
  return HEURISTIC_STATUSES.has(status) || cc.has('public') || cc.has('max-age') || cc.has('s-maxage') || getHeader(headers, 'Expires') !== undefined;
}

/** What a stored response can do for a request, and its remaining freshness (ttl, negative when stale). */
export type Usability =
  | { readonly kind: 'fresh'; readonly ttl: number }
  /** Stale, served without validation: the request's max-stale allows it. */
  | { readonly kind: 'stale'; readonly ttl: number }
  /** Must be validated with the origin first; `staleIfError`/`staleWhileRevalidate` in seconds of staleness allowed. */
  | { readonly kind: 'validate'; readonly ttl: number; readonly staleIfError: boolean; readonly staleWhileRevalidate: boolean };

/**
 * §4.2.4 and §5.2: how a stored response of `lifetime` seconds and current
 * age `age` answers a request with directives `reqCC`.
 * - `no-cache` in the request or the response: validate. A response's
 *   `no-cache="field, …"` only forbids those fields without validation
 *   (§5.2.2.4), and they are never stored (entry.ts): it is served.
 * - the request's max-age (age over it), min-fresh (less than that left):
 *   not fresh enough, validate.
 * - stale: served only when the request's max-stale covers it and the
 *   response has none of must-revalidate, proxy-revalidate, s-maxage
 *   (§5.2.2.10: s-maxage implies proxy-revalidate), no-cache.
 */
export function usability(lifetime: number, age: number, cc: CacheControl, reqCC: CacheControl): Usability {
  const ttl = lifetime - age;
  // The common hit: the request asks nothing, the response forbids nothing, and it is fresh.
  if (reqCC.size === 0 && ttl > 0 && !cc.has('no-cache')) return { kind: 'fresh', ttl };
  const staleness = -ttl;
  const mustRevalidate = cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('s-maxage');
  const noCache = cc.has('no-cache') && fieldNames(cc, 'no-cache') === null;
  const swr = deltaSeconds(cc, 'stale-while-revalidate');
  const sie = deltaSeconds(cc, 'stale-if-error') ?? deltaSeconds(reqCC, 'stale-if-error');
  const validate = (): Usability => ({
    kind: 'validate',
    ttl,
    staleIfError: !mustRevalidate && !noCache && sie !== undefined && !Number.isNaN(sie) && staleness <= sie,
    staleWhileRevalidate: !mustRevalidate && !noCache && !reqCC.has('no-cache') && swr !== undefined && !Number.isNaN(swr) && ttl <= 0 && staleness <= swr,
  });
  if (reqCC.has('no-cache') || noCache) return validate();
  const maxAge = deltaSeconds(reqCC, 'max-age');
  if (maxAge !== undefined && (Number.isNaN(maxAge) || age > maxAge)) return validate();
  const minFresh = deltaSeconds(reqCC, 'min-fresh');
  if (minFresh !== undefined && !Number.isNaN(minFresh) && ttl < minFresh) return validate();
  if (ttl > 0) return { kind: 'fresh', ttl };
  if (!mustRevalidate && reqCC.has('max-stale')) {
    const maxStale = reqCC.get('max-stale');
    // §5.2.1.2: max-stale without a value: any staleness.
    if (maxStale === null) return { kind: 'stale', ttl };
    const limit = deltaSeconds(reqCC, 'max-stale')!;
    if (!Number.isNaN(limit) && staleness <= limit) return { kind: 'stale', ttl };
  }
  return validate();
}
