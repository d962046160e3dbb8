// Stored responses made and used: an entry from an upstream reply and its
// body, the reply a stored response gives a request (with Age, its Date,
// and a 304 when the client's own preconditions match, RFC 9111 §4.3.2),
// the fields of a conditional request that validates it (§4.3.1), and the
// update a 304 makes (§3.2, §4.3.4).

import type { Reply, ReplyHeaders } from '../reply.js';
import type { Request, RequestHeaders } from '../request.js';
import { getHeader } from '../stack-headers.js';
import { makeFormat } from '../format.js';
import { matchingTag } from '../../protocols/file-conditional.js';
import { fieldNames, parseCacheControl } from './cache-control.js';
import { ageValue, freshnessLifetime, httpDateMs } from './policy.js';
import { entrySize, type StoredResponse } from './store.js';
import { varyNames, varyValues } from './vary.js';

/** Fields never stored with a response nor taken from a 304 (§3.1, §3.2): computed, or framing. */
const NOT_STORED = new Set(['age', 'date', 'content-length', 'cache-status', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authentication-info']);

/** The fields of `headers` that are stored, without those a qualified no-cache or private names. */
function storedFields(headers: ReplyHeaders, except: readonly string[]): ReplyHeaders {
  const out: ReplyHeaders = {};
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (NOT_STORED.has(lower) || except.includes(lower)) continue;
    const v = headers[name]!;
    out[name] = typeof v === 'string' ? v : [...v];
  }
  return out;
}

export interface Received {
  readonly requestTime: number;
  readonly responseTime: number;
}

/** The Date a reply from upstream carried, in ms, or the time it arrived. */
function dateOf(reply: Reply, responseTime: number): { value: number; text: string } {
  const value = httpDateMs(reply.originDate);
  if (!Number.isNaN(value)) return { value, text: reply.originDate!.trim() };
  return { value: responseTime - (responseTime % 1000), text: new Date(responseTime).toUTCString() };
}

/** A stored response for `reply` (to `request`), with the body it turned out to have. */
export function makeEntry(uri: string, request: Request, reply: Reply, body: Buffer, t: Received): StoredResponse {
  const cc = parseCacheControl(reply.headers['Cache-Control']);
  const date = dateOf(reply, t.responseTime);
  const vary = varyNames(getHeader(reply.headers, 'Vary'));
  // §5.2.2.4, §5.2.2.7: the fields a qualified no-cache or private names are not kept.
  const headers = storedFields(reply.headers, [...(fieldNames(cc, 'no-cache') ?? []), ...(fieldNames(cc, 'private') ?? [])]);
  return {
    uri,
    vary,
    varyValues: varyValues(vary, request.headers),
    status: reply.status,
    headers,
    format: reply.format,
    body,
    date: date.text,
    cc,
    lifetime: freshnessLifetime(reply.status, reply.headers, cc, date.value),
    size: entrySize(headers, body),
    requestTime: t.requestTime,
    responseTime: t.responseTime,
    dateValue: date.value,
    ageValue: ageValue(reply.headers),
  };
}

/**
 * §4.3.4: a 304 brings the stored response up to date. Its fields replace
 * the stored ones (except those §3.2 keeps out), and its Date and Age and
 * the times of this exchange become the entry's, so the age starts over.
 * Returns the entry's new size.
 */
export function freshen(entry: StoredResponse, notModified: Reply, t: Received): number {
  const cc = parseCacheControl(notModified.headers['Cache-Control'] ?? entry.headers['Cache-Control']);
  const add = storedFields(notModified.headers, [...(fieldNames(cc, 'no-cache') ?? []), ...(fieldNames(cc, 'private') ?? [])]);
  // §3.2: Content-Type is updated like any field; the codings are what the stored body is, and stay.
  if (notModified.format !== null) entry.format = makeFormat(notModified.format.type, { ...notModified.format.params }, entry.format?.codings ?? []);
  for (const name in add) {
    const lower = name.toLowerCase();
    if (lower === 'content-type' || lower === 'content-encoding') continue;
    for (const old in entry.headers) if (old.toLowerCase() === lower) delete entry.headers[old];
    entry.headers[name] = add[name]!;
  }
  const date = dateOf(notModified, t.responseTime);
  entry.date = date.text;
  entry.dateValue = date.value;
  entry.ageValue = ageValue(notModified.headers);
  entry.requestTime = t.requestTime;
  entry.responseTime = t.responseTime;
  entry.cc = parseCacheControl(entry.headers['Cache-Control']);
  entry.lifetime = freshnessLifetime(entry.status, entry.headers, entry.cc, date.value);
  return entrySize(entry.headers, entry.body);
}

/**
 * §4.3.4: a 304 may update the entry only when it selects it: a strong
 * ETag in the 304 must be the stored one, strong too; a weak one must
 * correspond to it (weak comparison). A 304 without an ETag selects the
 * entry it validates. A different ETag means another representation, which
 * must not freshen this one.
 */
export function validatorsAgree(entry: StoredResponse, notModified: Reply): boolean {
  const raw = getHeader(notModified.headers, 'ETag');
  if (raw === undefined) return true;
  const etag = raw.trim();
  const stored = getHeader(entry.headers, 'ETag')?.trim();
  if (stored === undefined) return false;
  if (!etag.startsWith('W/')) return stored === etag;
  return stored.replace(/^W\//, '') === etag.slice(2);
}

/** §4.3.1: the validators of a stored response, as request fields; empty when it has none. */
export function conditionalFields(entry: StoredResponse): [string, string][] {
  const out: [string, string][] = [];
  const etag = getHeader(entry.headers, 'ETag');
  if (etag !== undefined) out.push(['If-None-Match', etag]);
  const lastModified = getHeader(entry.headers, 'Last-Modified');
  if (lastModified !== undefined) out.push(['If-Modified-Since', lastModified]);
  return out;
}

/** Fields §15.4.5 of RFC 9110 has a 304 carry, besides Date. */
const NOT_MODIFIED_FIELDS = ['Cache-Control', 'Content-Location', 'ETag', 'Expires', 'Vary', 'Last-Modified'];

/**
 * The client's preconditions against a stored response (RFC 9110 §13.2.2,
 * for GET and HEAD): If-None-Match by weak comparison, else If-Modified-Since
 * against Last-Modified. True: answer 304.
 */
export function notModified(entry: StoredResponse, h: RequestHeaders): boolean {
  if (entry.status !== 200) return false;
  const inm = h['if-none-match'];
  if (inm !== undefined) {
    const etag = getHeader(entry.headers, 'ETag');
    if (inm.trim() === '*') return true;
    return etag !== undefined && matchingTag(inm, etag, true) !== null;
  }
  const ims = h['if-modified-since'];
  if (ims === undefined) return false;
  const since = httpDateMs(ims);
  const lastModified = httpDateMs(getHeader(entry.headers, 'Last-Modified'));
  // RFC 9110 §13.1.3: an invalid date is ignored; without Last-Modified, Date stands in for it.
  const modified = Number.isNaN(lastModified) ? entry.dateValue : lastModified;
  return !Number.isNaN(since) && modified <= since;
}

/** The reply a stored response gives: its fields, its Date, Age, Cache-Status; a 304 when `unchanged`. */
export function entryReply(entry: StoredResponse, request: Request, age: number, status: string, unchanged: boolean): Reply {
  const anchor = entry.anchor ?? request.anchor;
  if (unchanged) {
    const headers: ReplyHeaders = {};
    for (const name of NOT_MODIFIED_FIELDS) {
      const v = entry.headers[name];
      if (v !== undefined) headers[name] = v;
    }
    headers.Date = entry.date;
    headers.Age = String(age);
    headers['Cache-Status'] = status;
    // RFC 9110 §15.4.5: the Vary a 200 would carry. The stored format lets the
    // converter stack add what it would to that 200 (src/stack.ts).
    return { status: 304, headers, format: entry.format, length: -1, body: null, anchor };
  }
  // Object.assign, not a spread literal with more fields: V8 (Node 20) takes a slow path for those, ~1 µs each.
  const headers: ReplyHeaders = Object.assign({}, entry.headers);
  headers.Date = entry.date;
  headers.Age = String(age);
  headers['Cache-Status'] = status;
  const noBody = entry.status === 204 || entry.status === 304;
  // HEAD gets GET's bytes: the writer sends none, and the length is GET's (src/stack.ts).
  return { status: entry.status, headers, format: entry.format, length: noBody ? -1 : entry.body.length, body: noBody ? null : entry.body, anchor };
}
