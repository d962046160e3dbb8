// Header helpers of the stream stack (src/stack.ts): the fields a conversion
// changes besides the body — Vary merged with what the origin said, and an
// ETag per representation (RFC 9110 §8.8.3: a strong validator must differ
// between representations, so a gzip variant cannot share its source's).
// libwww counterpart: the header rewriting in HTMIME / HTTPServ.

import type { ReplyHeaders } from './reply.js';

/**
 * A field by its canonical name (replies keep canonical names: src/reply.ts),
 * repeated values joined (RFC 9110 §5.3). One lookup: this runs per reply.
 */
export function getHeader(headers: ReplyHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A copy without the named fields (lower-case names). */
export function withoutHeaders(headers: ReplyHeaders, lowerNames: readonly string[]): ReplyHeaders {
  const out: ReplyHeaders = {};
  for (const key in headers) {
    if (!lowerNames.includes(key.toLowerCase())) out[key] = headers[key]!;
  }
  return out;
}

/** Vary with more fields, each once (case-insensitive); `*` absorbs everything (RFC 9110 §12.5.5). */
export function mergeVary(existing: string | undefined, add: readonly string[]): string {
  if (existing === undefined || existing.trim() === '') return add.join(', ');
  const fields = existing.split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (fields.includes('*')) return '*';
  const seen = new Set(fields.map((f) => f.toLowerCase()));
  for (const field of add) {
    if (!seen.has(field.toLowerCase())) {
      fields.push(field);
      seen.add(field.toLowerCase());
    }
  }
  return fields.join(', ');
}

function token(value: string): string {
  return value.replace(/[^A-Za-z0-9.+_-]/g, '_');
}

/**
 * The ETag of a converted representation: the origin's tag with a suffix per
 * step (`"abc"` → `"abc-cs.utf-8-gzip"`). A type conversion or a filter also
 * makes it weak: a converter's bytes may change between versions, its
 * meaning not (RFC 9110 §8.8.1). A malformed tag is left as it is.
 */
export function variantETag(etag: string, type: string | null, charset: string | null, coding: string | null, filtered: string | null = null): string {
  const weak = etag.startsWith('W/');
  const opaque = weak ? etag.slice(2) : etag;
  if (opaque.length < 2 || opaque[0] !== '"' || opaque[opaque.length - 1] !== '"') return etag;
  let suffix = '';
  if (type !== null) suffix += '-to.' + token(type.slice(type.indexOf('/') + 1));
  if (filtered !== null) suffix += '-f.' + token(filtered.slice(filtered.indexOf('/') + 1));
  if (charset !== null) suffix += '-cs.' + token(charset);
  if (coding !== null) suffix += '-' + coding;
  return (weak || type !== null || filtered !== null ? 'W/' : '') + opaque.slice(0, -1) + suffix + '"';
}

const VARIANT = /^(W\/)?"(.*?)(?:-to\.[A-Za-z0-9.+_-]+?)?(?:-f\.[A-Za-z0-9.+_-]+?)?(?:-cs\.[A-Za-z0-9.+_-]+?)?(?:-(?:br|gzip|deflate))?"$/;

/**
 * The origin's tag behind a variant tag, for comparing a client's
 * If-None-Match with the current validator (weak comparison, RFC 9110 §13.1.2).
 */
export function baseETag(etag: string): string {
  const m = VARIANT.exec(etag);
  return m === null ? etag : `${m[1] ?? ''}"${m[2]}"`;
}
