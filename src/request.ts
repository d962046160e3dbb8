// Request (libwww HTRequest): one per HTTP transaction. Method, target,
// headers, the client's preferences, the anchor, an error stack from which
// the status line and error body are generated, an AbortSignal that fires
// when the client goes away, and timings for the log.

import type { Readable } from 'node:stream';
import type { ReplyHeaders } from './reply.js';
import type { Anchor } from './anchor.js';
import type { Converter } from './converter.js';
import type { RuleSet } from './rules/types.js';
import { HttpError } from './errors.js';
import { hasToken } from './negotiate.js';

/** Lower-case field name → value; repeated fields joined with ", " (RFC 9110 §5.3). */
export type RequestHeaders = Record<string, string>;

export interface RequestInit {
  method: string;
  target: string;
  versionMinor: number;
  headers: RequestHeaders;
  rawHeaders: string[];
  /** -1 chunked, 0 none, >0 Content-Length. */
  bodyLength: number;
  /** Opens the body for reading; sends 100 Continue if the client expects it. */
  openBody?: () => Readable;
  /** Writes an interim (1xx) response for this request, when the connection may. */
  sendInterim?: (status: number, headers: ReplyHeaders) => void;
  /** The peer's address, or how to find it (a system call, so only when asked). */
  remoteAddress?: string | (() => string);
  /** The client's connection is TLS. */
  secure?: boolean;
  /** The connection's side of the request, in place of the three functions above (one object, no closures). */
  wire?: RequestWire;
}

/**
 * Told once when its request is aborted: a cheaper alternative to the
 * request's AbortSignal on a hot path (one object, no AbortController, no
 * listener closures), used by the HTTP client for each exchange.
 */
export interface AbortHook {
  onAbort(): void;
}

/** What the connection that received a request does for it. */
export interface RequestWire {
  openBody(): Readable;
  interim(status: number, headers: ReplyHeaders): void;
  remoteAddress(): string;
}

export class Request {
  readonly method: string;
  /** The request-target as received. */
  readonly target: string;
  /** The path part of the target, still percent-encoded. */
  readonly path: string;
  /** '' or the query with its leading '?'. */
  readonly query: string;
  readonly versionMinor: number;
  readonly headers: RequestHeaders;
  readonly rawHeaders: string[];
  readonly bodyLength: number;
  /** The client's connection is TLS (X-Forwarded-Proto: https). */
  readonly secure: boolean;
  #remoteAddress: string | (() => string) | null;
  readonly startedAt: number;
  /** The error stack; the newest error decides the status. */
  readonly errors: HttpError[] = [];
  /** Request-local converters, consulted before the global registry. */
  readonly converters: Converter[] = [];
  anchor: Anchor | null = null;
  /** The rules in force when the request arrived (a restart never changes them mid-request). */
  rules: RuleSet | null = null;
  /** The physical address the rules translated the path to (file:/…, http://…). */
  address: string | null = null;
  /** A Proxy rule's upstream group: every member's address, `address` first; null for one upstream. */
  upstreams: readonly string[] | null = null;
  /**
   * The destination was chosen by the client through a `*` of a Tunnel or
   * Forward rule: it must not be a private address (the HTTP client's guard).
   */
  guarded = false;
  /** The directory a passed address must stay inside. */
  root: string | null = null;
  /** The path the rules saw: percent-decoded once, dot-segments removed. */
  decodedPath: string | null = null;
  /** Created on first use: most requests never look at their signal. */
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  /** Hooks to call on abort; most requests have none, a proxied one has one. */
  #hooks: AbortHook[] | null = null;
  /** The trailer fields of a chunked body (name, value… as received), set before the body ends. */
  rawTrailers: readonly string[] | null = null;
  /** The request body cap in bytes, set from the rules before the body is opened. */
  maxBodySize = Infinity;
  /**
   * The user an authentication module has verified, for the access log's
   * authuser field; never a credential (a password, a token). Unset: `-`.
   */
  user?: string;
  #openBody: (() => Readable) | undefined;
  #sendInterim: ((status: number, headers: ReplyHeaders) => void) | undefined;
  readonly #wire: RequestWire | null;
  #body: Readable | null = null;

  constructor(init: RequestInit) {
    this.method = init.method;
    this.target = init.target;
    const q = init.target.indexOf('?');
    let path = q === -1 ? init.target : init.target.slice(0, q);
    this.query = q === -1 ? '' : init.target.slice(q);
    if (path[0] !== '/' && path !== '*') {
      // absolute-form (RFC 9112 §3.2.2): the path is what follows the authority.
      const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(path);
      if (m) path = path.slice(m[0].length) || '/';
    }
    this.path = path;
    this.versionMinor = init.versionMinor;
    this.headers = init.headers;
    this.rawHeaders = init.rawHeaders;
    this.bodyLength = init.bodyLength;
    this.secure = init.secure ?? false;
    this.#wire = init.wire ?? null;
    this.#remoteAddress = init.wire !== undefined ? null : init.remoteAddress ?? '';
    this.#openBody = init.openBody;
    this.#sendInterim = init.sendInterim;
    this.startedAt = Date.now();
  }

  /**
   * The authority of the effective request URI (RFC 9112 §3.3): an
   * absolute-form target's, else Host's; null when there is neither.
   */
  get authority(): string | null {
    const t = this.target;
    if (t[0] !== '/' && t !== '*' && this.method !== 'CONNECT') {
      const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(t);
      if (m) return m[1]!.slice(m[1]!.lastIndexOf('@') + 1);
    }
    return this.headers.host ?? null;
  }

  /** The request asks to switch protocols (RFC 9110 §7.8: Upgrade, named by Connection, in HTTP/1.1). */
  get upgrade(): boolean {
    const h = this.headers;
    return this.versionMinor === 1 && this.method !== 'CONNECT' && h.upgrade !== undefined && hasToken(h.connection, 'upgrade');
  }

  get remoteAddress(): string {
    const r = this.#remoteAddress;
    if (typeof r === 'string') return r;
    return (this.#remoteAddress = r === null ? this.#wire!.remoteAddress() : r());
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** Called by the connection when the client goes away or the server stops. */
  abort(reason?: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason ?? new HttpError('WWW_ERR_REQ_ABORTED');
    this.#controller?.abort(this.#abortReason);
    const hooks = this.#hooks;
    this.#hooks = null;
    if (hooks !== null) for (const hook of hooks) hook.onAbort();
  }

  /** Calls `hook.onAbort()` once if the request is aborted later; false (and not added) if it already is. */
  addAbortHook(hook: AbortHook): boolean {
    if (this.#abortReason !== undefined) return false;
    if (this.#hooks === null) this.#hooks = [hook];
    else this.#hooks.push(hook);
    return true;
  }

  removeAbortHook(hook: AbortHook): void {
    const hooks = this.#hooks;
    if (hooks === null) return;
    const k = hooks.indexOf(hook);
    if (k !== -1) hooks.splice(k, 1);
  }

  get hasBody(): boolean {
    return this.bodyLength !== 0;
  }

  /**
   * Accepts the request body and returns it as a stream. Only a protocol that
   * wants the body calls this; until then the body stays unread on the wire
   * (and `100 Continue` unsent).
   */
  body(): Readable | null {
    if (this.#body !== null) return this.#body;
    if (!this.hasBody) return null;
    if (this.#wire !== null) this.#body = this.#wire.openBody();
    else if (this.#openBody !== undefined) this.#body = this.#openBody();
    else return null;
    return this.#body;
  }


  /**
   * An interim response (100 Continue, 103 Early Hints) ahead of the final
   * reply. The connection writes it when this request is at the head of its
   * pipeline and not answered yet, never to an HTTP/1.0 client, and a 100
   * only when the client expects one and none was sent; otherwise it is
   * dropped (RFC 9110 §15.2: a client must accept any, none relies on one).
   */
  interim(status: number, headers: ReplyHeaders = {}): void {
    if (status < 100 || status > 199 || status === 101) throw new RangeError(`not an interim status: ${status}`);
    if (this.#wire !== null) this.#wire.interim(status, headers);
    else this.#sendInterim?.(status, headers);
  }

  /** Pushes an error on the stack and returns it. */
  fail(err: HttpError): HttpError {
    this.errors.push(err);
    return err;
  }

}
