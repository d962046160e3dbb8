// Cache-Control (RFC 9111 §5.2) as the HTTP cache reads it, request and
// response alike: a list of directives, each a name (case-insensitive) with
// an optional argument, a token or a quoted-string. Bad input never throws:
// a member that does not parse is skipped, and a numeric argument that is
// not a delta-seconds reads as invalid, which the policy treats as stale
// (§4.2.1). Repeated directives keep the first occurrence (§4.2.1 allows
// "either the first occurrence ... or ... stale"), and the field may come
// on several lines (RFC 9110 §5.3: they join with commas).

export type CacheControl = ReadonlyMap<string, string | null>;

export const NO_DIRECTIVES: CacheControl = new Map();

/** RFC 9111 §1.2.2: a delta-seconds past 2^31 is taken as 2^31. */
export const DELTA_MAX = 2_147_483_648;

/** Parses one or more Cache-Control field values. */
export function parseCacheControl(value: string | readonly string[] | undefined): CacheControl {
  if (value === undefined) return NO_DIRECTIVES;
  const text = typeof value === 'string' ? value : value.join(', ');
  if (text === '') return NO_DIRECTIVES;
  const out = new Map<string, string | null>();
  const n = text.length;
  let i = 0;
  while (i < n) {
    // Skip separators and whitespace (empty list members are allowed, RFC 9110 §5.6.1).
    while (i < n && (text[i] === ',' || text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && text[j] !== '=' && text[j] !== ',') j++;
    const name = text.slice(i, j).trim().toLowerCase();
    let arg: string | null = null;
    if (j < n && text[j] === '=') {
      j++;
      while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
      if (text[j] === '"') {
        // quoted-string with quoted-pair (RFC 9110 §5.6.4)
        let k = j + 1;
        let s = '';
        while (k < n && text[k] !== '"') {
          if (text[k] === '\\' && k + 1 < n) k++;
          s += text[k];
          k++;
        }
        arg = s;
        j = k + 1;
        while (j < n && text[j] !== ',') j++;
      } else {
        let k = j;
        while (k < n && text[k] !== ',') k++;
        arg = text.slice(j, k).trim();
        j = k;
      }
    }
    if (name !== '' && /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name) && !out.has(name)) out.set(name, arg);
    i = j + 1;
  }
  return out;
}

/**
 * A delta-seconds argument (RFC 9111 §1.2.2): undefined when the directive
 * is absent, NaN when present but not a non-negative integer (a bare
 * `max-age`, `max-age=-1`, `max-age=1.5`), capped at 2^31.
 */
export function deltaSeconds(cc: CacheControl, name: string): number | undefined {
  if (!cc.has(name)) return undefined;
  const arg = cc.get(name);
  if (arg === null || arg === undefined || !/^[0-9]+$/.test(arg)) return NaN;
  const v = Number(arg);
  return v > DELTA_MAX ? DELTA_MAX : v;
}

/**
 * The field names of a qualified `no-cache="a, b"` or `private="a"`
 * (RFC 9111 §5.2.2.4, §5.2.2.7): lower-case, or null for the unqualified form.
 */
export function fieldNames(cc: CacheControl, name: string): string[] | null {
  const arg = cc.get(name);
  if (arg === null || arg === undefined) return null;
  const names = arg.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  return names.length === 0 ? null : names;
}
