// Server-driven negotiation (RFC 9110 §12): Accept, Accept-Encoding and
// Accept-Charset parsed into ranges with q-values, and the quality a client
// gives a media type, a content coding or a charset. The stream stack
// (src/stack.ts) multiplies these with converter qualities; libwww kept the
// same preferences on HTRequest (HTRequest_conversion, _encoding, _charset).

/** One member of an Accept field: a media range, its parameters and its weight. */
export interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly params: Readonly<Record<string, string>>;
  readonly q: number;
  /** RFC 9110 §12.5.1: more specific ranges override less specific ones. */
  readonly specificity: number;
}

/** One member of Accept-Encoding or Accept-Charset: a token (or `*`) and its weight. */
export interface TokenRange {
  readonly token: string;
  readonly q: number;
}

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** A weight parameter's value, or NaN when it is not a valid qvalue. */
function parseQ(value: string): number {
  return QVALUE.test(value) ? Number(value) : NaN;
}

function splitList(header: string): string[] {
  const out: string[] = [];
  for (const member of header.split(',')) {
    const trimmed = member.trim();
    if (trimmed !== '') out.push(trimmed);
  }
  return out;
}

/** A small LRU of parsed fields: clients send the same few strings again and again. */
class ParseCache<T> {
  #entries = new Map<string, T>();
  #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(header: string, parse: (header: string) => T): T {
    let value = this.#entries.get(header);
    if (value !== undefined) {
      this.#entries.delete(header);
      this.#entries.set(header, value);
      return value;
    }
    value = parse(header);
    if (this.#entries.size >= this.#limit) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(header, value);
    return value;
  }
}

const acceptCache = new ParseCache<readonly MediaRange[]>(256);
const tokenCache = new ParseCache<readonly TokenRange[]>(256);

function parseAcceptUncached(header: string): readonly MediaRange[] {
  const out: MediaRange[] = [];
  for (const member of splitList(header)) {
    const parts = member.split(';');
    const range = parts[0]!.trim().toLowerCase();
    const slash = range.indexOf('/');
    if (slash <= 0 || slash === range.length - 1) continue;
    const type = range.slice(0, slash);
    const subtype = range.slice(slash + 1);
    if (type === '*' && subtype !== '*') continue;
    const params: Record<string, string> = {};
    let q = 1;
    let valid = true;
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i]!;
      const eq = part.indexOf('=');
      if (eq <= 0) continue;
      const name = part.slice(0, eq).trim().toLowerCase();
      let value = part.slice(eq + 1).trim();
      if (name === 'q') {
        q = parseQ(value);
        if (Number.isNaN(q)) valid = false;
        // RFC 9110 §12.5.1: the weight ends the media-range parameters.
        break;
      }
      if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') value = value.slice(1, -1);
      params[name] = name === 'charset' ? value.toLowerCase() : value;
    }
    if (!valid) continue;
    const specificity = (type === '*' ? 0 : 2000) + (subtype === '*' ? 0 : 1000) + Object.keys(params).length;
    out.push({ type, subtype, params, q, specificity });
  }
  return out;
}

function parseTokensUncached(header: string): readonly TokenRange[] {
  const out: TokenRange[] = [];
  for (const member of splitList(header)) {
    const parts = member.split(';');
    const token = parts[0]!.trim().toLowerCase();
    if (token === '') continue;
    let q = 1;
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i]!.trim();
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === 'q') {
        q = parseQ(part.slice(eq + 1).trim());
        break;
      }
    }
    if (!Number.isNaN(q)) out.push({ token, q });
  }
  return out;
}

/** Whether a comma-separated list field (Connection, Cache-Control…) holds `token`, case-insensitively. */
export function hasToken(list: string | undefined, token: string): boolean {
  if (list === undefined) return false;
  const lower = list.toLowerCase();
  if (lower === token) return true;
  // Most lists never name it: no split then.
  if (!lower.includes(token)) return false;
  for (const part of lower.split(',')) if (part.trim() === token) return true;
  return false;
}

/** The members of an Accept field; invalid members (bad range, bad q) are left out. */
export function parseAccept(header: string): readonly MediaRange[] {
  return acceptCache.get(header, parseAcceptUncached);
}

/** The members of Accept-Encoding or Accept-Charset; invalid members are left out. */
export function parseTokenList(header: string): readonly TokenRange[] {
  return tokenCache.get(header, parseTokensUncached);
}

function paramsMatch(range: Readonly<Record<string, string>>, params: Readonly<Record<string, string>> | undefined): boolean {
  for (const name in range) {
    const have = params?.[name];
    if (have === undefined) return false;
    if (name === 'charset' ? normalizeCharset(have) !== normalizeCharset(range[name]!) : have !== range[name]) return false;
  }
  return true;
}

/**
 * The client's q for a media type: the most specific matching range decides
 * (RFC 9110 §12.5.1); among equally specific ones the highest weight. No
 * Accept field accepts everything; a field that matches nothing gives 0.
 */
export function qualityOfType(accept: string | undefined, type: string, params?: Readonly<Record<string, string>>): number {
  if (accept === undefined) return 1;
  const slash = type.indexOf('/');
  const main = type.slice(0, slash).toLowerCase();
  const sub = type.slice(slash + 1).toLowerCase();
  let best = -1;
  let q = 0;
  for (const range of parseAccept(accept)) {
    if (range.type !== '*' && range.type !== main) continue;
    if (range.subtype !== '*' && range.subtype !== sub) continue;
    if (!paramsMatch(range.params, params)) continue;
    if (range.specificity > best || (range.specificity === best && range.q > q)) {
      best = range.specificity;
      q = range.q;
    }
  }
  return q;
}

/** Accept-Encoding treats `x-gzip` as `gzip` (RFC 9110 §8.4.1.3). */
function canonicalCoding(token: string): string {
  return token === 'x-gzip' ? 'gzip' : token;
}

/**
 * The client's q for a content coding (RFC 9110 §12.5.3). Without the field
 * any coding is acceptable; `identity` is acceptable unless `identity;q=0`
 * or `*;q=0` without an entry for identity excludes it.
 */
export function qualityOfCoding(acceptEncoding: string | undefined, coding: string): number {
  if (acceptEncoding === undefined) return 1;
  const wanted = canonicalCoding(coding.toLowerCase());
  return listQuality(acceptEncoding, wanted, canonicalCoding, wanted === 'identity' ? 1 : 0);
}

/**
 * The q a token list (Accept-Encoding, Accept-Charset) gives `wanted`, names
 * compared after `canonical`: its own entry, else `*`, else `otherwise`.
 */
function listQuality(field: string, wanted: string, canonical: (token: string) => string, otherwise: number): number {
  let star = -1;
  let q = -1;
  for (const member of parseTokenList(field)) {
    if (member.token === '*') star = Math.max(star, member.q);
    else if (canonical(member.token) === wanted) q = Math.max(q, member.q);
  }
  if (q !== -1) return q;
  return star !== -1 ? star : otherwise;
}

/**
 * Whether identity is acceptable only by default: the field does not name it
 * and has no `*`. A server may then prefer any acceptable coding over it.
 */
export function identityIsImplicit(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return true;
  for (const member of parseTokenList(acceptEncoding)) {
    if (member.token === 'identity' || member.token === '*') return false;
  }
  return true;
}

/** Charset names compared without case and punctuation: UTF-8 = utf8. */
export function normalizeCharset(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The client's q for a charset (RFC 9110 §12.5.2); no field accepts every charset. */
export function qualityOfCharset(acceptCharset: string | undefined, charset: string): number {
  if (acceptCharset === undefined) return 1;
  return listQuality(acceptCharset, normalizeCharset(charset), normalizeCharset, 0);
}
