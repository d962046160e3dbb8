// Where a rule sends a path (CERN httpd HTRules.c, the RESULT half of
// HTTranslate): a FileTarget for Pass (a directory path or a `file:` URL,
// confined to the directory it names) and a UrlTarget for Redirect and
// Proxy (an http(s) URL whose host the client can never choose). RESULTs are
// compiled once at load time; substitution is all that happens per request.

import { posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { substitute } from './template.js';
import { Expected, quote } from './values.js';

/**
 * Whether an absolute, normalised path lies inside `root` (a directory
 * without trailing slash). A plain `startsWith(root)` would let
 * `/srv/www-private` pass for `/srv/www`; the FILE module uses this on the
 * realpath.
 */
export function isInsideRoot(p: string, root: string): boolean {
  if (root === '/') return p.startsWith('/');
  return p === root || (p.startsWith(root) && p.charCodeAt(root.length) === 0x2f);
}

export class FileTarget {
  /** Filesystem text pieces; parts[0] is absolute. */
  readonly parts: readonly string[];
  readonly root: string;
  /** What must follow `root/` in every result: the text after the last '/' before the first '*'. */
  readonly #rest: string;

  private constructor(parts: readonly string[]) {
    this.parts = parts;
    const p0 = parts[0]!;
    const slash = p0.lastIndexOf('/');
    const dir = posix.normalize(p0.slice(0, slash + 1));
    this.root = dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
    this.#rest = p0.slice(slash + 1);
  }

  /**
   * A Pass RESULT as written: an absolute path, a `file:` URL, or a path
   * relative to `base` (ServerRoot, else the rule file's directory). A
   * RESULT that reads `*` is relative too: `Pass /* *` keeps the path under `base`.
   */
  static compile(parts: readonly string[], base: string): FileTarget | Expected {
    const p0 = parts[0]!;
    if (/^file:/i.test(p0)) return FileTarget.#fromFileUrl(parts);
    if (/^[a-z][a-z0-9+.-]*:/i.test(p0)) {
      return new Expected(`expected a directory path or a file: URL as RESULT, got ${quote(parts.join('*'))} (Proxy hands a request to http)`);
    }
    if (p0.startsWith('/')) return new FileTarget(parts);
    return new FileTarget([base + '/' + p0, ...parts.slice(1)]);
  }

  static #fromFileUrl(parts: readonly string[]): FileTarget | Expected {
    const bad = (why: string) => new Expected(`expected a file: URL with an absolute path before the first *, got ${quote(parts.join('*'))} (${why})`);
    let url: URL;
    try {
      url = new URL(parts[0]!);
    } catch {
      return bad('not a URL');
    }
    if (url.protocol !== 'file:' || (url.hostname !== '' && url.hostname !== 'localhost')) return bad('the host must be empty or localhost');
    if (url.search !== '' || url.hash !== '' || parts.some((p) => /[?#]/.test(p))) return bad('a query or fragment');
    const out: string[] = [];
    try {
      // The URL's own percent-encoding is decoded here, once, at load time;
      // captures are substituted as the decoded path already is.
      out.push(fileURLToPath(url));
      for (const p of parts.slice(1)) out.push(decodeURIComponent(p));
    } catch (err) {
      return bad((err as Error).message.split('\n')[0]!);
    }
    return new FileTarget(out);
  }

  /** The pass for these captures, or null when the result leaves its directory. */
  resolve(captures: readonly string[]): { kind: 'pass'; address: string; root: string } | null {
    // Normalising resolves '..' a Map may have smuggled in; confinement decides.
    const p = posix.normalize(substitute(this.parts, captures));
    if (!isInsideRoot(p, this.root)) return null;
    if (this.#rest !== '' && !p.slice(this.root === '/' ? 1 : this.root.length + 1).startsWith(this.#rest)) return null;
    return { kind: 'pass', address: pathToFileURL(p).href, root: this.root };
  }
}

// Characters a capture keeps in a URL; everything else is percent-encoded
// (RFC 3986 §3.3 pchar and '/'; in a query or fragment also '?', but not the
// '&', '=', '+', ';' that would split a parameter).
const PATH_SAFE = new Uint8Array(128);
const QUERY_SAFE = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$'()*,:@/") {
  PATH_SAFE[c.charCodeAt(0)] = 1;
  QUERY_SAFE[c.charCodeAt(0)] = 1;
}
for (const c of '&+;=') PATH_SAFE[c.charCodeAt(0)] = 1;
QUERY_SAFE['?'.charCodeAt(0)] = 1;

/**
 * A capture (decoded text) back into URL text. `%2F` stays as it is, the
 * encoded slash the decoded path kept; any other '%' is data and becomes %25.
 */
export function encodeCapture(s: string, inQuery: boolean): string {
  const safe = inQuery ? QUERY_SAFE : PATH_SAFE;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && safe[c] === 1) out += s[i];
    else if (c === 0x25) out += /^%2f/i.test(s.slice(i, i + 3)) ? '%' : '%25';
    else if (c < 128) out += '%' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
    else {
      const ch = String.fromCodePoint(s.codePointAt(i)!);
      out += encodeURIComponent(ch);
      i += ch.length - 1;
    }
  }
  return out;
}

const BASE = 'http://streamstack.invalid';

export class UrlTarget {
  readonly parts: readonly string[];
  /** A path on this server (`/new/*`), not an absolute URL: Redirect only. */
  readonly isPath: boolean;
  readonly #inQuery: readonly boolean[];
  /** The directory of the URL path before the first '*' in it, which a result must stay under. */
  readonly #pathPrefix: string | null;

  private constructor(parts: readonly string[], isPath: boolean) {
    this.parts = parts;
    this.isPath = isPath;
    this.#inQuery = parts.slice(0, -1).map((_, k) => /[?#]/.test(parts.slice(0, k + 1).join('')));
    let prefix: string | null = null;
    if (parts.length > 1 && !this.#inQuery[0]) {
      const path = new URL(parts[0]! + 'x', BASE).pathname;
      prefix = path.slice(0, path.lastIndexOf('/') + 1);
    }
    this.#pathPrefix = prefix;
  }

  /** A Redirect (`allowPath`) or Proxy URL, validated with its wildcards in place. */
  static compile(parts: readonly string[], allowPath: boolean): UrlTarget | Expected {
    const text = parts.join('*');
    const probe = parts.join('x');
    if (allowPath && text.startsWith('/') && !text.startsWith('//')) return new UrlTarget(parts, true);
    const expected = new Expected(`expected an absolute http(s) URL${allowPath ? ' or a path starting with "/"' : ''}, got ${quote(text)}`);
    if (!/^https?:\/\/[^/?#]/i.test(text)) return expected;
    try {
      if (new URL(probe).hostname === '') return expected;
    } catch {
      return expected;
    }
    // SSRF / open redirect: a '*' before the end of the authority lets the client pick the host.
    if (parts.length > 1 && !/^https?:\/\/[^/?#]+[/?#]/i.test(parts[0]!)) {
      return new Expected(`expected the first * after the host, got ${quote(text)} (a * in the host lets the client choose the server)`);
    }
    return new UrlTarget(parts, false);
  }

  /** The location or upstream address for these captures; null if it is no URL. */
  build(captures: readonly string[]): string | null {
    let s = substitute(this.parts, captures, (c, k) => encodeCapture(c, this.#inQuery[k]!));
    // A leading '//' would be read as another host (RFC 3986 §4.2).
    if (this.isPath) s = s.replace(/^\/{2,}/, '/');
    let u: URL;
    try {
      u = new URL(s, BASE);
    } catch {
      return null;
    }
    // URL parsing resolves a '..' a capture formed with the RESULT's own text
    // (`/v1/.*` + `./admin`): it must not climb out of what the RESULT names.
    if (this.#pathPrefix !== null && !u.pathname.startsWith(this.#pathPrefix)) return null;
    return this.isPath ? u.pathname + u.search + u.hash : u.href;
  }
}
