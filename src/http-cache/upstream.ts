// What the HTTP cache sends upstream and how it keys it: the effective
// request URI (the primary key), the request that validates a stored
// response (the client's, with the stored validators instead of its own
// preconditions), and the record of invalidations (RFC 9111 §4.4) that
// keeps a response requested before one from being stored after it.

import { Request } from '../request.js';

/** Request fields that make a request conditional or partial. */
export const CONDITIONAL = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

/**
 * The effective request URI (RFC 9112 §3.3): the primary cache key. The
 * origin is normalised (scheme and host lower-cased, a default port
 * dropped); the path and query stay as received, since the rules translate
 * those very bytes: normalising them (a backslash read as `/`, `%2e%2e` as `..`)
 * could give two targets the rules send to different upstream resources
 * one key, and the response to one would answer the other.
 */
export function effectiveUri(request: Request): string | null {
  const authority = request.authority;
  if (authority === null || authority === '' || request.path[0] !== '/') return null;
  const origin = originOf(request.secure ? 'https' : 'http', authority);
  return origin === null ? null : origin + request.path + request.query;
}

/** Normalised origins by authority, one map per scheme: a server's requests name few, and repeat them. */
const origins = { http: new Map<string, string | null>(), https: new Map<string, string | null>() };
const ORIGINS_KEPT = 1024;

function originOf(scheme: 'http' | 'https', authority: string): string | null {
  const known = origins[scheme];
  let origin = known.get(authority);
  if (origin !== undefined) return origin;
  try {
    const u = new URL(`${scheme}://${authority}`);
    origin = u.pathname !== '/' || u.search !== '' || u.username !== '' || u.password !== '' ? null : u.origin;
  } catch {
    origin = null;
  }
  if (known.size >= ORIGINS_KEPT) known.clear();
  known.set(authority, origin);
  return origin;
}

/**
 * The request sent upstream to validate a stored response: the client's,
 * without its own preconditions and Range (the answer is for the cache),
 * with the stored validators. `linked`: the client's going away aborts it;
 * a background validation outlives the client.
 */
export function upstreamRequest(request: Request, fields: readonly [string, string][], linked: boolean): Request {
  const raw: string[] = [];
  const headers: Record<string, string> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (CONDITIONAL.includes(lower) || lower === 'content-length' || lower === 'transfer-encoding') continue;
    raw.push(name, request.rawHeaders[i + 1]!);
  }
  for (const key in request.headers) if (!CONDITIONAL.includes(key)) headers[key] = request.headers[key]!;
  for (const [name, value] of fields) {
    raw.push(name, value);
    headers[name.toLowerCase()] = value;
  }
  const sub = new Request({
    method: 'GET', target: request.target, versionMinor: request.versionMinor, headers, rawHeaders: raw, bodyLength: 0,
    remoteAddress: request.remoteAddress, secure: request.secure,
  });
  sub.rules = request.rules;
  sub.address = request.address;
  sub.upstreams = request.upstreams;
  sub.guarded = request.guarded;
  sub.anchor = request.anchor;
  sub.decodedPath = request.decodedPath;
  if (linked) {
    if (request.aborted) sub.abort();
    else request.signal.addEventListener('abort', () => sub.abort(), { once: true });
  }
  return sub;
}

/** `promise`'s value, or false when it takes longer than `ms`. */
export function within(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}


/** What was known of a URI's invalidations when a request for it left. */
export interface Stamp {
  readonly epoch: number;
  readonly at: number;
}

/**
 * Invalidations by URI: a counter per URI, and an epoch that moves when the
 * map is cleared past its bound (then every response in flight is dropped).
 */
export class Invalidations {
  readonly #at = new Map<string, number>();
  #count = 0;
  #epoch = 0;

  stamp(uri: string): Stamp {
    return { epoch: this.#epoch, at: this.#at.get(uri) ?? 0 };
  }

  /** No invalidation of `uri` since `stamp`. */
  unchanged(uri: string, stamp: Stamp): boolean {
    return stamp.epoch === this.#epoch && (this.#at.get(uri) ?? 0) === stamp.at;
  }

  mark(uri: string): void {
    if (this.#at.size >= 10_000) {
      this.#at.clear();
      this.#epoch++;
    }
    this.#at.set(uri, ++this.#count);
  }
}
