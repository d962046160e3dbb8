// The secondary cache key (RFC 9111 §4.1): the request fields a stored
// response's Vary names, normalised so that requests that differ only in
// ways the fields' semantics ignore select the same response. `Vary: *`
// never matches anything. An absent field only matches an absent field.

import type { RequestHeaders } from '../request.js';

/** The lower-case names a Vary value lists; `['*']` when it holds `*`. */
export function varyNames(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = typeof value === 'string' ? value : value.join(',');
  const names: string[] = [];
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return ['*'];
    if (name !== '' && !names.includes(name)) names.push(name);
  }
  return names.sort();
}

/** Fields whose values are case-insensitive tokens or lists of them (RFC 9110 §8.4, §12.5). */
const CASELESS = new Set(['accept-encoding', 'accept-language', 'accept-charset', 'accept']);

/** Fields whose members' order means nothing (q-values say the preference, RFC 9110 §12.5.3). */
const UNORDERED = new Set(['accept-encoding']);

/**
 * A request field's value as the key holds it, or null when absent: the
 * request's lines are already joined with ", " (RFC 9110 §5.3); whitespace
 * around list separators and at the ends is dropped (§5.6.1), the case of
 * case-insensitive fields folded, and the members of Accept-Encoding put in
 * order (RFC 9111 §4.1 allows all three).
 */
export function normaliseField(name: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  let v = value.trim().replace(/[ \t]*,[ \t]*/g, ',');
  if (CASELESS.has(name)) v = v.toLowerCase();
  if (UNORDERED.has(name)) v = v.split(',').map((m) => m.replace(/[ \t]*;[ \t]*/g, ';')).filter((m) => m !== '').sort().join(',');
  return v;
}

/** The values of `names` in the request, normalised: what a stored response keeps to be selected by. */
export function varyValues(names: readonly string[], headers: RequestHeaders): (string | null)[] {
  return names.map((n) => normaliseField(n, headers[n]));
}

/** Whether a response stored with Vary `names` and request values `values` may answer this request. */
export function varyMatches(names: readonly string[], values: readonly (string | null)[], headers: RequestHeaders): boolean {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === '*') return false;
    if (normaliseField(name, headers[name]) !== values[i]) return false;
  }
  return true;
}
