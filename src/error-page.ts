// Error pages: how an error of a request's error stack reaches the client
// (libwww's HTError presentation). The server renders the top of the stack
// by negotiation on Accept (RFC 9110 §12.5.1): a small self-contained HTML
// page for browsers, RFC 9457 problem details (application/problem+json) for
// JSON clients, one line of plain text otherwise; the answer says
// `Vary: Accept`. Or, where an `ErrorPage STATUS PATH` rule names a document
// of the site for the status, that document with the original status.
//
// What a page shows is public: the status, its reason, the error's public
// message (a client error's detail, never a server error's), the method and
// path of the request. Never a stack trace, a file system path, the query
// (it may carry tokens) or a header of the request.

import { Readable } from 'node:stream';
import type { Request, RequestInit } from './request.js';
import type { Reply, ReplyHeaders } from './reply.js';
import type { Route } from './rules/index.js';
import { HttpError, STATUS_TEXT } from './errors.js';
import { makeFormat } from './format.js';
import { parseAccept, qualityOfType } from './negotiate.js';
import { getHeader, mergeVary, withoutHeaders } from './stack-headers.js';

export type ErrorFormat = 'html' | 'problem' | 'text';

const HTML = makeFormat('text/html', { charset: 'utf-8' });
const PROBLEM = makeFormat('application/problem+json');
const TEXT = makeFormat('text/plain', { charset: 'utf-8' });

/** The media types a client may name for each format; the first is what is sent. */
const TYPES: Readonly<Record<ErrorFormat, readonly string[]>> = {
  text: ['text/plain'],
  html: ['text/html', 'application/xhtml+xml'],
  problem: ['application/problem+json', 'application/json'],
};
/** At equal weight and explicitness, in this order: plain text is what `*\/*` and no Accept get. */
const ORDER: readonly ErrorFormat[] = ['text', 'html', 'problem'];

/**
 * The format of an error page for this Accept field: the highest q wins; at
 * equal q a type the client names beats one only a wildcard matches; then
 * plain text, HTML, problem details. Nothing acceptable gives plain text:
 * RFC 9110 §15.5.7 lets an error answer disregard Accept rather than 406.
 */
export function chooseErrorFormat(accept: string | undefined): ErrorFormat {
  if (accept === undefined) return 'text';
  const ranges = parseAccept(accept);
  let best: ErrorFormat = 'text';
  let bestQ = 0;
  let bestNamed = false;
  for (const format of ORDER) {
    let q = 0;
    let named = false;
    for (const type of TYPES[format]) {
      const tq = qualityOfType(accept, type);
      const tNamed = tq > 0 && ranges.some((r) => `${r.type}/${r.subtype}` === type);
      if (tq > q || (tq === q && tNamed)) {
        q = tq;
        named = tNamed;
      }
    }
    if (q > bestQ || (q === bestQ && q > 0 && named && !bestNamed)) {
      best = format;
      bestQ = q;
      bestNamed = named;
    }
  }
  return best;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A path as shown on a page: controls replaced, at most 200 characters. */
function shownPath(path: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = path.replace(/[\x00-\x1f\x7f]/g, '\uFFFD');
  return clean.length > 200 ? clean.slice(0, 200) + '…' : clean;
}

/** What a person may try for each status; by class where a status has none of its own. */
function hints(status: number, headers: ReplyHeaders): string[] {
  const allow = getHeader(headers, 'Allow');
  const retry = getHeader(headers, 'Retry-After');
  const wait = retry !== undefined && /^\d+$/.test(retry) ? `Wait ${retry} seconds, then try again.` : 'Wait a moment, then try again.';
  const home = 'Go to the <a href="/">home page</a>.';
  switch (status) {
    case 400: return ['Check the address and the request: the server could not read it.'];
    case 401: return ['Sign in with a user name and password that may see this page.'];
    case 403: return ['This address is not open to you. Check that it is the one you meant.', home];
    case 404: return ['Check the address for a typing error.', 'The page may have moved or been removed.', home];
    case 405: return allow === undefined ? ['Use another method.'] : [`This address allows ${escapeHtml(allow)}.`];
    case 406: return ['Ask for another format or coding: nothing here matches what the request accepts.'];
    case 408: return ['Send the request again, without pausing in the middle.'];
    case 409: case 412: return ['Reload the page to see the current version, then try again.'];
    case 413: return ['Send a smaller body.'];
    case 414: return ['Use a shorter address.'];
    case 415: return ['Send the body in another format or coding.'];
    case 416: return ['Ask for a range inside the document, or for all of it.'];
    case 429: return [wait];
    case 431: return ['Send fewer or smaller header fields (large cookies are a common cause).'];
    case 502: case 504: return ['The server behind this one did not answer in time or in form.', wait];
    case 503: return [wait];
  }
  return status >= 500 ? [wait, 'If the problem stays, tell the administrator of this site.'] : ['Check the address and the request.', home];
}

const STYLE = ':root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fafafa;--muted:#66666e;--accent:#b3261e;--box:#fff;--line:#ddd}'
  + '@media (prefers-color-scheme:dark){:root{--fg:#e8e8ea;--bg:#17171a;--muted:#a0a0a8;--accent:#ff8a80;--box:#222226;--line:#38383e}}'
  + 'body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}'
  + 'main{max-width:36rem;margin:12vh auto;padding:2rem;background:var(--box);border:1px solid var(--line);border-radius:12px}'
  + '.status{font-size:3.5rem;font-weight:700;line-height:1;margin:0;color:var(--accent)}'
  + 'h1{font-size:1.5rem;margin:.3rem 0 1rem}h2{font-size:1rem;margin:1.5rem 0 .3rem}'
  + 'dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem;margin:0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}'
  + 'code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}ul{margin:.3rem 0;padding-left:1.2rem}'
  + 'a{color:inherit}footer{margin-top:1.5rem;color:var(--muted);font-size:.85rem}';

/** The built-in HTML page: inline style only, no script, no external request. */
export function errorHtml(err: HttpError, status: number, method: string, path: string, headers: ReplyHeaders): string {
  const reason = STATUS_TEXT[status] ?? 'Error';
  const items = hints(status, headers).map((h) => `<li>${h}</li>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${status} ${escapeHtml(reason)}</title>
<style>${STYLE}</style>
</head><body><main>
<p class="status">${status}</p>
<h1>${escapeHtml(reason)}</h1>
<p>${escapeHtml(err.publicMessage)}.</p>
<dl><dt>Request</dt><dd><code>${escapeHtml(method)} ${escapeHtml(shownPath(path))}</code></dd>
<dt>Error</dt><dd><code>${err.code}</code></dd></dl>
<h2>What to try</h2>
<ul>${items}</ul>
<footer>streamstack</footer>
</main></body></html>
`;
}

/** RFC 9457 §3: problem details; the error code as an extension member (§3.2). */
export function errorProblem(err: HttpError, status: number, instance: string): string {
  return JSON.stringify({
    // §4.2.1: about:blank says the problem is the status itself, so `title` is its reason phrase.
    type: 'about:blank',
    title: STATUS_TEXT[status] ?? 'Error',
    status,
    detail: err.publicMessage,
    instance,
    code: err.code,
  }, null, 2) + '\n';
}

/** One line, as the wire has always said it. */
export function errorText(err: HttpError, status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Error'}: ${err.publicMessage}\n`;
}

/** The headers of an error reply kept on its page: what the error says (Allow, WWW-Authenticate, Retry-After, Vary…), not its old body's. */
function errorHeaders(reply: Reply): ReplyHeaders {
  const headers = withoutHeaders(reply.headers, ['content-length', 'content-type', 'content-encoding', 'accept-ranges', 'content-security-policy']);
  headers.Vary = mergeVary(getHeader(reply.headers, 'Vary'), ['Accept']);
  return headers;
}

function dropBody(reply: Reply): void {
  if (reply.body instanceof Readable) reply.body.destroy();
}

/** The built-in page for the error `reply` was made from, in the format the request negotiates. */
export function builtInPage(reply: Reply, err: HttpError, request: Request): Reply {
  dropBody(reply);
  const status = reply.status;
  const headers = errorHeaders(reply);
  const chosen = chooseErrorFormat(request.headers.accept);
  let text: string;
  let format;
  if (chosen === 'html') {
    // RFC 9110 §9.3.2: HEAD gets GET's fields, Content-Length included, so its page is GET's.
    text = errorHtml(err, status, request.method === 'HEAD' ? 'GET' : request.method, request.decodedPath ?? request.path, headers);
    format = HTML;
    headers['Content-Security-Policy'] = "default-src 'none'; style-src 'unsafe-inline'";
  } else if (chosen === 'problem') {
    text = errorProblem(err, status, request.path);
    format = PROBLEM;
  } else {
    text = errorText(err, status);
    format = TEXT;
  }
  const body = Buffer.from(text, 'utf8');
  return { status, headers, format, length: body.length, body, error: err };
}

/** Request fields an error document's sub-request keeps: negotiation only, never a conditional or a range. */
const KEPT = ['host', 'accept', 'accept-encoding', 'accept-charset', 'accept-language', 'user-agent'];

/** Fields of the document that describe it, not the error's target resource (RFC 9110 §8.8). */
const DOCUMENT_ONLY = ['etag', 'last-modified', 'accept-ranges', 'cache-control', 'content-location', 'expires'];

export interface ErrorDocumentLoad {
  /** Loads the sub-request through the protocol modules. */
  load(sub: Request): Reply | Promise<Reply>;
  /** The converters from what was loaded to what the client accepts. */
  stack(reply: Reply, sub: Request, route: Route): Reply;
  /** Makes the sub-request (a Request of the same client). */
  request(init: RequestInit): Request;
}

/**
 * An `ErrorPage` document in place of the built-in page: the document at
 * `path` (a decoded path), loaded as a GET of its own (HEAD for a HEAD),
 * whatever the method of the request was, as nginx's error_page does; with
 * the request's negotiation fields only, so a conditional or a Range of the
 * request never turns it into a 304 or a 206. It is served with the
 * original status and the error's own fields, when the rules Pass the path
 * without a Protect rule, the FILE module answers 200, its type is one the
 * client accepts and its converters run. Anything else gives the built-in
 * page. The document's own errors are never presented again, so an error
 * page can never loop.
 */
export function errorDocument(reply: Reply, err: HttpError, request: Request, path: string, route: Route, via: ErrorDocumentLoad): Reply | Promise<Reply> {
  const t = route.translation;
  if (t.kind !== 'pass' || route.protect !== undefined) return builtInPage(reply, err, request);
  const headers: Record<string, string> = {};
  for (const name of KEPT) {
    const v = request.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  const sub = via.request({
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    target: encodeURI(path),
    versionMinor: request.versionMinor,
    headers,
    rawHeaders: [],
    bodyLength: 0,
    remoteAddress: () => request.remoteAddress,
    secure: request.secure,
  });
  sub.rules = request.rules;
  sub.decodedPath = path;
  sub.address = t.address;
  sub.root = t.root;
  if (request.aborted) sub.abort();
  else request.signal.addEventListener('abort', () => sub.abort(), { once: true });
  const settle = (doc: Reply): Reply => {
    if (doc.status !== 200 || doc.format === null || qualityOfType(request.headers.accept, doc.format.type, doc.format.params) === 0) {
      dropBody(doc);
      return builtInPage(reply, err, request);
    }
    const stacked = via.stack(doc, sub, route);
    if (stacked.status !== 200) {
      dropBody(stacked);
      return builtInPage(reply, err, request);
    }
    dropBody(reply);
    const kept = errorHeaders(reply);
    const own = withoutHeaders(stacked.headers, DOCUMENT_ONLY);
    const vary = mergeVary(getHeader(kept, 'Vary'), (getHeader(own, 'Vary') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
    const out = Object.assign(withoutHeaders(own, ['vary']), kept, { Vary: vary });
    return Object.assign({}, stacked, { status: reply.status, headers: out, error: err });
  };
  let loaded: Reply | Promise<Reply>;
  try {
    loaded = via.load(sub);
  } catch {
    return builtInPage(reply, err, request);
  }
  return loaded instanceof Promise ? loaded.then(settle, () => builtInPage(reply, err, request)) : settle(loaded);
}
