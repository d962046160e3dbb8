// Cross-origin resource sharing (Fetch standard §3.2, "CORS protocol"): the
// origins `Cors` rules (and `--cors`) let read a path, the answer to a
// preflight, and the fields an actual response carries. The methods a
// preflight is told are the one Allow list (src/net.ts), so a browser is
// never promised a method the server would refuse. No libwww counterpart:
// CORS came after it.

import type { Request } from './request.js';
import type { Reply } from './reply.js';
import { getHeader, mergeVary } from './stack-headers.js';

/** How long a browser may keep a preflight's answer, in seconds. */
export const CORS_MAX_AGE = 600;

/** A preflight's answer depends on these request fields (Fetch §3.2.5, caching). */
const PREFLIGHT_VARY = ['Origin', 'Access-Control-Request-Method', 'Access-Control-Request-Headers'];

// RFC 9110 §5.6.2: tchar.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The Access-Control-Allow-Origin for `origin` at a path whose Cors lines
 * list `origins`: the origin itself when listed, else `*` when listed, else
 * null (no CORS fields at all).
 */
export function allowOrigin(origins: readonly string[], origin: string | undefined): string | null {
  if (origin === undefined || origins.length === 0) return null;
  // Origins are compared serialized; rules keep them lower-cased, and schemes and hosts are case-insensitive.
  if (origins.includes(origin.toLowerCase())) return origin;
  return origins.includes('*') ? '*' : null;
}

/** An OPTIONS with Origin and Access-Control-Request-Method (Fetch §3.2.2). */
export function isPreflight(request: Request): boolean {
  return request.method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
}

/**
 * The answer to a preflight from an allowed origin: 204 with the methods
 * `allow` lists and the requested headers that are tokens, lower-cased. An
 * unlisted origin gets the plain OPTIONS answer (`allowed` null): no CORS
 * fields, so the browser refuses the actual request.
 */
export function preflightReply(request: Request, allowed: string | null, allow: readonly string[]): Reply {
  const headers: Record<string, string> = { Allow: allow.join(', ') };
  if (allowed !== null) {
    headers['Access-Control-Allow-Origin'] = allowed;
    headers['Access-Control-Allow-Methods'] = allow.join(', ');
    const asked = requestedHeaders(request.headers['access-control-request-headers']);
    if (asked.length > 0) headers['Access-Control-Allow-Headers'] = asked.join(', ');
    headers['Access-Control-Max-Age'] = String(CORS_MAX_AGE);
    headers.Vary = PREFLIGHT_VARY.join(', ');
  }
  return { status: 204, headers, format: null, length: -1, body: null };
}

/** Access-Control-Request-Headers as tokens, lower-cased; anything else is dropped, never echoed. */
function requestedHeaders(field: string | undefined): string[] {
  if (field === undefined) return [];
  const out: string[] = [];
  for (const member of field.split(',')) {
    const name = member.trim().toLowerCase();
    if (TOKEN.test(name) && !out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * The field an actual response carries (errors included, so a page can read
 * them); a named origin also varies the response by Origin (Fetch §3.2.5),
 * merged with the Vary the stack set.
 */
export function addCorsFields(reply: Reply, allowed: string): Reply {
  reply.headers['Access-Control-Allow-Origin'] = allowed;
  if (allowed !== '*') reply.headers.Vary = mergeVary(getHeader(reply.headers, 'Vary'), ['Origin']);
  return reply;
}
