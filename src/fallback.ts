// The fallback document of a single-page application (`Fallback` rules,
// `--spa`): a GET or HEAD for a path the FILE module found nothing at, from a
// client that takes HTML, gets the application's page instead of 404, so its
// router can read the path. Close to CERN httpd's error documents, except the
// status: the page is the answer, so 200. Only a 404 of the FILE module
// falls back: an existing file or directory is never hidden, and a request
// that takes no HTML (an image, a JSON API call) keeps its 404.

import type { Request } from './request.js';
import type { Reply } from './reply.js';
import type { Route, RuleSet } from './rules/index.js';
import { qualityOfType } from './negotiate.js';
import { getHeader, mergeVary } from './stack-headers.js';

/**
 * The decoded path of the fallback document for this reply, or null when
 * none applies. `spa` is `--spa`'s path, a last `Fallback /* PATH`.
 */
export function fallbackPath(reply: Reply, request: Request, rules: RuleSet, spa: string | undefined): string | null {
  if (reply.status !== 404 || (request.method !== 'GET' && request.method !== 'HEAD')) return null;
  if (request.errors.at(-1)?.code !== 'WWW_ERR_FILE_NOT_FOUND' || request.decodedPath === null) return null;
  const path = rules.fallbackFor(request.decodedPath) ?? spa;
  // The document itself missing is a 404, not a loop.
  if (path === undefined || path === request.decodedPath) return null;
  // The answer now depends on Accept: caches must keep the two apart (RFC 9110 §12.5.5).
  reply.headers.Vary = mergeVary(getHeader(reply.headers, 'Vary'), ['Accept']);
  return qualityOfType(request.headers.accept, 'text/html') > 0 ? path : null;
}

/** What the request is loaded from; swapped for the sub-request, restored when it fails. */
interface Target {
  address: string | null;
  root: string | null;
  anchor: Request['anchor'];
}

/**
 * Loads the fallback document as a sub-request: the same request (its
 * headers, conditionals and abort signal) at the address `route` translated
 * the fallback path to, through the same modules (`load`). A fallback that
 * cannot be served gives the original 404. `done` stacks what is returned.
 */
export function loadFallback(
  notFound: Reply, request: Request, route: Route,
  load: (request: Request) => Reply | Promise<Reply>,
  done: (reply: Reply, route: Route | null) => Reply,
): Reply | Promise<Reply> {
  const t = route.translation;
  if (t.kind !== 'pass') return done(notFound, null);
  const original: Target = { address: request.address, root: request.root, anchor: request.anchor };
  const errors = request.errors.length;
  request.address = t.address;
  request.root = t.root;
  const settle = (reply: Reply): Reply => {
    // 412 and 416 are answers about the fallback document itself; other failures are the original 404's.
    if (reply.status >= 400 && reply.status !== 412 && reply.status !== 416) {
      request.address = original.address;
      request.root = original.root;
      request.anchor = original.anchor;
      request.errors.length = errors;
      return done(notFound, null);
    }
    request.errors.length = errors - 1;
    reply.headers.Vary = mergeVary(getHeader(reply.headers, 'Vary'), ['Accept']);
    return done(reply, route);
  };
  const reply = load(request);
  return reply instanceof Promise ? reply.then(settle) : settle(reply);
}
