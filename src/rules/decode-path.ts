// The path the rules see (libwww HTUnEscape + HTSimplify): the request path
// percent-decoded once, here and nowhere else, then made canonical. `%2F`
// stays encoded, so an encoded slash never becomes a separator (the FILE
// module answers 404 for it); an encoded or raw NUL, a malformed escape and
// invalid UTF-8 (overlong forms included) are a 400 before any rule runs.

import { HttpError } from '../errors.js';

// WHATWG Encoding: `fatal` rejects overlong forms, surrogates and code points past U+10FFFF.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

const HEX: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries([...'0123456789abcdefABCDEF'].map((c) => [c, parseInt(c, 16)])),
);

function bad(detail: string): HttpError {
  return new HttpError('WWW_ERR_PARSE_PATH', detail);
}

/**
 * The request path (no query) → the decoded, canonical path that the rules
 * match. Throws HttpError 'WWW_ERR_PARSE_PATH'. The result starts with '/',
 * has no empty, '.' or '..' segment, and keeps a trailing slash.
 */
export function decodePath(rawPath: string): string {
  if (rawPath.charCodeAt(0) !== 0x2f) throw bad('path does not start with "/"');
  let simple = true;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw bad('control character in path');
    if (c === 0x25 || c > 0x7e) simple = false;
  }
  return canonicalPath(simple ? rawPath : percentDecode(rawPath), true)!;
}

function percentDecode(raw: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hi = HEX[raw[i + 1] ?? ''];
      const lo = HEX[raw[i + 2] ?? ''];
      if (hi === undefined || lo === undefined) throw bad('malformed percent-encoding');
      const b = hi * 16 + lo;
      if (b === 0) throw bad('encoded NUL');
      // %2F stays as the text "%2F": an encoded slash is data, never a separator.
      if (b === 0x2f) bytes.push(0x25, 0x32, 0x46);
      else bytes.push(b);
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // A raw non-ASCII character (the string is Unicode): its UTF-8 bytes.
      const cp = raw.codePointAt(i)!;
      if (cp >= 0xd800 && cp <= 0xdfff) throw bad('lone surrogate');
      const s = String.fromCodePoint(cp);
      for (const b of utf8Encoder.encode(s)) bytes.push(b);
      i += s.length - 1;
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw bad('invalid UTF-8');
  }
}

/**
 * Removes dot-segments (RFC 3986 §5.2.4) and empty segments (so `//private`
 * cannot slip past a `Fail /private/*`), keeping a trailing slash. Above the
 * root: `clamp` drops the '..' as §5.2.4 does; otherwise returns null (a Map
 * output climbing out of the URL space). `path` starts with '/'.
 */
export function canonicalPath(path: string, clamp: boolean): string | null {
  if (!needsWork(path)) return path;
  const out: string[] = [];
  const segments = path.split('/');
  let trailing = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '' || seg === '.') {
      trailing = last;
    } else if (seg === '..') {
      if (out.length > 0) out.pop();
      else if (!clamp) return null;
      trailing = last;
    } else {
      out.push(seg);
      trailing = false;
    }
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailing ? '/' : '');
}

/** Fast check for the common case: no '//', no '/./', no '/../' (nor at the end). */
function needsWork(path: string): boolean {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const a = path.charCodeAt(i + 1);
    if (a === 0x2f) return true;
    if (a === 0x2e) {
      const b = path.charCodeAt(i + 2);
      if (Number.isNaN(b) || b === 0x2f) return true;
      if (b === 0x2e) {
        const c = path.charCodeAt(i + 3);
        if (Number.isNaN(c) || c === 0x2f) return true;
      }
    }
  }
  return false;
}
