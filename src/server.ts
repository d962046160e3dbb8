// The Mini Server: the glue between the wire and the trio. For each request
// the HTTP server module hands over, it decodes the path once, translates it
// with the rules in force, checks what the rules allow (method, body size),
// finds the anchor, asks the NetManager to load the address, and stacks the
// converters from what was loaded to what the client accepts.

import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { HttpServer, DEFAULT_WIRE } from '../protocols/http-server.js';
import type { WireEvents, WireOptions } from '../protocols/http-server.js';
import { FileProtocol } from '../protocols/file.js';
import { HttpClient } from '../protocols/http-client.js';
import type { FileOptions } from '../protocols/file.js';
import { CACHE_MAX_FILE, CACHE_MAX_TOTAL } from '../protocols/file-options.js';
import { NetManager } from './net.js';
import { ProxyCache, PROXY_CACHE_DIR_SIZE, PROXY_CACHE_SIZE, type ProxyCacheOptions } from './http-cache/proxy-cache.js';
import type { Protocol } from './net.js';
import { AnchorTable } from './anchor.js';
import { ConverterRegistry } from './registry.js';
import type { Converter } from './converter.js';
import { stackReply } from './stack.js';
import type { StackOptions } from './stack.js';
import { registerBuiltins } from '../converters/index.js';
import { decodePath, METHODS } from './rules/index.js';
import { normalAuthority } from './rules/authority.js';
import type { Route, RuleSet } from './rules/index.js';
import { Request } from './request.js';
import type { Reply } from './reply.js';
import { errorReply, textReply } from './reply.js';
import { HttpError } from './errors.js';
import { authorize } from './auth/guard.js';
import { addCorsFields, allowOrigin, isPreflight, preflightReply } from './cors.js';
import { fallbackPath, loadFallback } from './fallback.js';
import { builtInPage, errorDocument, type ErrorDocumentLoad } from './error-page.js';
import { StatusCounters, statusPage } from './status.js';
import type { Status } from './status.js';
import { redirectToHttps } from './tls.js';
import { LIVE_PATH, LiveReload, type LiveOptions } from './live.js';
import { liveReload } from '../converters/live-reload.js';

export interface ServerOptions {
  /** Wire limits and timeouts; rule-file settings fill what is not given. */
  wire?: Partial<WireOptions>;
  /** On-the-fly compression threshold in bytes. */
  compressMinSize?: number;
  events?: WireEvents;
  /** The FILE module's options: memory cache bounds, dotfiles, ranges, an injected fs. */
  file?: FileOptions;
  /** The HTTP cache of proxied responses: its size (over ProxyCacheSize) and clock. */
  proxyCache?: ProxyCacheOptions;
  /** `--cors`: an origin (or `*`) allowed everywhere, as a last `Cors /* ORIGIN`. */
  cors?: string;
  /** `--spa`: the fallback document's path, as a last `Fallback /* PATH`. */
  spa?: string;
  /** TLS: the certificate and key; every connection is then https. */
  tls?: SecureContextOptions;
  /** Under workers: this process's status page numbers with every worker's (src/workers.ts). */
  gatherStatus?: (own: Status) => Promise<Status>;
  /** `--live`: HTML pages reload themselves when a file under ServerRoot changes (src/live.ts). */
  live?: boolean | LiveOptions;
}

export class Server {
  readonly net = new NetManager();
  readonly anchors = new AnchorTable();
  readonly registry = new ConverterRegistry();
  readonly http: HttpServer;
  readonly file: FileProtocol;
  readonly proxy = new HttpClient();
  /** The HTTP cache in front of the Proxy rules a ProxyCache rule names (src/http-cache/). */
  readonly proxyCache: ProxyCache;
  /** What the status page counts: replies by status class, the start time. */
  readonly counters = new StatusCounters();
  /** Where the status page gets the numbers of the other workers, if there are any. */
  readonly gatherStatus: ((own: Status) => Promise<Status>) | undefined;
  /** RedirectHTTP: the plain listener that sends clients to https, when listening. */
  redirect: HttpServer | null = null;
  /** `--live`: the event stream at LIVE_PATH and the tree it watches; null without it. */
  live: LiveReload | null = null;
  readonly #liveOptions: LiveOptions | null;
  #rules: RuleSet;
  #stackOptions: StackOptions;
  #explicitWire: Partial<WireOptions>;
  #explicitFile: FileOptions;
  #cors: readonly string[];
  #spa: string | undefined;
  #explicitCache: ProxyCacheOptions;

  constructor(rules: RuleSet, options: ServerOptions = {}) {
    this.#rules = rules;
    this.#explicitFile = options.file ?? {};
    this.#cors = options.cors === undefined ? [] : [options.cors.toLowerCase()];
    this.#spa = options.spa;
    this.gatherStatus = options.gatherStatus;
    this.file = new FileProtocol({ ...cacheLimits(rules, this.#explicitFile), ...options.file });
    this.net.register(this.file);
    for (const protocol of this.proxy.protocols) this.net.register(protocol);
    registerBuiltins(this.registry);
    this.#liveOptions = options.live === undefined || options.live === false ? null : options.live === true ? {} : options.live;
    if (this.#liveOptions !== null) {
      this.live = new LiveReload(rules.serverRoot, this.#liveOptions);
      this.registry.register(liveReload);
    }
    this.#stackOptions = { compressMinSize: options.compressMinSize ?? 1024, outputCharset: rules.outputCharset };
    this.#explicitWire = options.wire ?? {};
    this.#explicitCache = options.proxyCache ?? {};
    this.proxyCache = new ProxyCache({ ...this.#explicitCache, ...proxyCacheLimits(rules, this.#explicitCache) });
    this.http = new HttpServer((request) => this.handle(request), wireFrom(rules, options.wire), this.counters.observe(options.events), options.tls);
    // The wire's own errors (a stop's 503, a 417, a body cut short) get the built-in pages too.
    this.http.present = (reply, request) => (reply.error === undefined ? reply : builtInPage(reply, reply.error, request));
  }

  get rules(): RuleSet {
    return this.#rules;
  }

  /** Swaps the rules in atomically: requests in flight keep the ones they started with. */
  setRules(rules: RuleSet): void {
    this.#rules = rules;
    this.#stackOptions = { ...this.#stackOptions, outputCharset: rules.outputCharset };
    // Limits and timeouts apply to new reads at once: connections share this object.
    Object.assign(this.http.options, wireFrom(rules, this.#explicitWire));
    if (this.redirect !== null) Object.assign(this.redirect.options, this.http.options);
    const { cacheMaxFile, cacheMaxTotal } = cacheLimits(rules, this.#explicitFile);
    this.file.setCacheLimits(cacheMaxFile, cacheMaxTotal);
    if (this.live !== null && this.#liveOptions !== null && rules.serverRoot !== this.live.root) {
      this.live.close();
      this.live = new LiveReload(rules.serverRoot, this.#liveOptions);
    }
    this.anchors.flush();
    this.file.flush();
    this.proxy.restart();
    // The memory tier is flushed (the rules may send a path elsewhere); the disk tier is kept.
    const limits = proxyCacheLimits(rules, this.#explicitCache);
    this.proxyCache.flush();
    this.proxyCache.setMaxSize(limits.maxSize);
    this.proxyCache.setDisk(limits.dir, limits.dirSize);
  }

  registerProtocol(protocol: Protocol): void {
    this.net.register(protocol);
  }

  registerConverter(converter: Converter): void {
    this.registry.register(converter);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return this.http.listen(port, host);
  }

  /** RedirectHTTP: a plain listener answering every request with a 308 to https on `httpsPort`. */
  listenRedirect(port: number, host: string, httpsPort: number): Promise<AddressInfo> {
    const fallback = host.includes(':') ? `[${host}]` : host;
    this.redirect = new HttpServer(redirectToHttps(httpsPort, fallback), this.http.options, this.http.events);
    return this.redirect.listen(port, host);
  }

  close(graceMs?: number): Promise<void> {
    this.proxy.close();
    // Event streams never end by themselves: ended now, a graceful stop does not wait for them.
    this.live?.close();
    return Promise.all([this.http.close(graceMs), this.redirect?.close(graceMs)]).then(() => this.file.close());
  }

  /** A reply now when every step can give one without waiting (a cache hit, an error), else a promise. */
  handle(request: Request): Promise<Reply> | Reply {
    const handled = this.#handle(request);
    const reply = handled instanceof Promise ? handled.then((r) => this.#present(r, request)) : this.#present(handled, request);
    if (request.headers.origin === undefined || request.decodedPath === null) return reply;
    // CORS: every answer to an allowed origin, errors included, so the page can read them.
    const allowed = allowOrigin(this.#corsOrigins(request.rules!, request.decodedPath), request.headers.origin);
    if (allowed === null) return reply;
    return reply instanceof Promise ? reply.then((r) => addCorsFields(r, allowed)) : addCorsFields(reply, allowed);
  }

  /**
   * An error of the stack as the client sees it (src/error-page.ts): the
   * rules' ErrorPage document for its status, else the built-in page in the
   * format the request negotiates. Other replies pass untouched, an
   * upstream's own errors included.
   */
  #present(reply: Reply, request: Request): Promise<Reply> | Reply {
    const err = reply.error;
    if (err === undefined || reply.tunnel !== undefined) return reply;
    const rules = request.rules ?? this.#rules;
    const path = rules.settings.errorPages?.[reply.status];
    if (path === undefined) return builtInPage(reply, err, request);
    return errorDocument(reply, err, request, path, rules.route(path), this.#errorDocumentLoad);
  }

  /** How an ErrorPage document is loaded: through the FILE module and the converters, as any document. */
  readonly #errorDocumentLoad: ErrorDocumentLoad = {
    load: (sub) => {
      sub.anchor = this.anchors.get(sub.address!);
      return this.net.loadNow(sub) ?? this.net.load(sub);
    },
    stack: (reply, sub, route) => this.#stack(reply, sub, route, sub.rules ?? this.#rules),
    request: (init) => new Request(init),
  };

  /** The origins Cors rules and `--cors` allow at a decoded path. */
  #corsOrigins(rules: RuleSet, path: string): readonly string[] {
    const listed = rules.corsFor(path);
    return this.#cors.length === 0 ? listed : listed.length === 0 ? this.#cors : [...listed, ...this.#cors];
  }

  #handle(request: Request): Promise<Reply> | Reply {
    const rules = this.#rules;
    request.rules = rules;
    const method = request.method;
    // The server as a whole: what every address allows.
    if (request.target === '*') return { status: 204, headers: { Allow: this.net.allowed(request).join(', ') }, format: null, length: -1, body: null };
    if (method === 'CONNECT') return this.#connect(request, rules);
    // RFC 9112 §3.2.2: an absolute-form target a Forward rule names is forwarded; any other is one of our paths.
    if (request.target.charCodeAt(0) !== 0x2f) {
      const forwarded = this.#forward(request, rules);
      if (forwarded !== null) return forwarded;
    }
    let path: string;
    try {
      path = decodePath(request.path);
    } catch (err) {
      return errorReply(request.fail(err instanceof HttpError ? err : new HttpError('WWW_ERR_PARSE_PATH')));
    }
    request.decodedPath = path;
    // `Status PATH`: answered by the server itself, before translation.
    if (path === rules.settings.statusPath) return statusPage(this, request, rules);
    if (this.live !== null && path === LIVE_PATH) return this.live.reply(request);
    const route = rules.route(path, request.query);
    const t = route.translation;
    switch (t.kind) {
      case 'fail':
        return errorReply(request.fail(new HttpError(t.code)));
      case 'redirect': {
        return textReply(t.status, `Moved to ${t.location}`, { Location: t.location });
      }
      case 'proxy':
        request.address = t.address;
        request.upstreams = t.upstreams ?? null;
        break;
      case 'pass':
        request.address = t.address;
        request.root = t.root;
        break;
    }
    // GET and HEAD are always enabled; the module of the address answers
    // them, or refuses them from the same list (NetManager). Any other method
    // is checked against the one Allow list here.
    if (method !== 'GET' && method !== 'HEAD') {
      const allow = this.net.allowed(request);
      if (!allow.includes(method)) return this.#notAllowed(request, allow);
      // A preflight where a Cors rule names origins is ours, on proxied paths too; an unlisted origin gets the plain answer.
      if (isPreflight(request)) {
        const origins = this.#corsOrigins(rules, path);
        if (origins.length > 0) return preflightReply(request, allowOrigin(origins, request.headers.origin), allow);
      }
      // A proxied application answers its own OPTIONS (CORS preflights); `OPTIONS *` stays ours.
      if (method === 'OPTIONS' && t.kind !== 'proxy') return { status: 204, headers: { Allow: allow.join(', ') }, format: null, length: -1, body: null };
    }
    // Protect: the credentials are checked before the body is read or anything is loaded.
    const denied = authorize(request, rules, route.protect);
    if (denied !== null) return denied instanceof Promise ? denied.then((d) => d ?? this.#accept(request, route, rules)) : denied;
    return this.#accept(request, route, rules);
  }

  /** The body's size against the rules, then the load and the converters. */
  #accept(request: Request, route: Route, rules: RuleSet): Promise<Reply> | Reply {
    if (request.bodyLength !== 0 && this.#bodyTooLarge(request, route.maxBodySize)) return errorReply(request.fail(new HttpError('WWW_ERR_REQ_BODY_TOO_LARGE')));
    request.anchor = this.anchors.get(request.address!);
    const now = this.net.loadNow(request) ?? (route.proxyCache ? this.proxyCache.handleNow(request) : null);
    if (now !== null) return this.#loaded(now, request, route, rules);
    return this.#load(request, route).then((reply) => (reply.tunnel !== undefined ? reply : this.#loaded(reply, request, route, rules)));
  }

  /** The load; through the HTTP cache where a ProxyCache rule covers a proxied path. */
  #load(request: Request, route: Route): Promise<Reply> {
    if (!route.proxyCache) return this.net.load(request);
    return this.proxyCache.handle(request, (r) => this.net.load(r));
  }

  /** The load's reply, or the fallback document in place of a 404 (src/fallback.ts). */
  #loaded(reply: Reply, request: Request, route: Route, rules: RuleSet): Promise<Reply> | Reply {
    const fallback = reply.status === 404 ? fallbackPath(reply, request, rules, this.#spa) : null;
    if (fallback === null) return this.#stack(reply, request, route, rules);
    const load = (sub: Request) => {
      sub.anchor = this.anchors.get(sub.address!);
      return this.net.loadNow(sub) ?? this.net.load(sub);
    };
    return loadFallback(reply, request, rules.route(fallback), load, (r, used) => this.#stack(r, request, used ?? route, rules));
  }

  /** CONNECT: a tunnel where a Tunnel rule names the destination, else 403 (RFC 9110 §9.3.6). */
  #connect(request: Request, rules: RuleSet): Promise<Reply> | Reply {
    const authority = normalAuthority(request.target, 443);
    const rule = authority === null ? undefined : rules.tunnelFor(authority);
    if (rule === undefined) return errorReply(request.fail(new HttpError('WWW_ERR_PROXY_NOT_ALLOWED', request.target)));
    const colon = authority!.lastIndexOf(':');
    return this.proxy.tunnel(request, authority!.slice(0, colon), Number(authority!.slice(colon + 1)), rule.guarded)
      .catch((err: unknown) => errorReply(request.fail(err instanceof HttpError ? err : new HttpError('WWW_ERR_INTERNAL', undefined, { cause: err }))));
  }

  /**
   * A forward-proxied request (absolute-form http:// target whose authority
   * a Forward rule names), or null when the target is to be served as ours.
   * The HTTP client sends it upstream in origin-form, with the target's
   * authority as Host (RFC 9112 §3.3).
   */
  #forward(request: Request, rules: RuleSet): Promise<Reply> | Reply | null {
    const m = /^http:\/\/([^/?#]*)/i.exec(request.target);
    if (m === null) return null;
    const authority = normalAuthority(m[1]!.slice(m[1]!.lastIndexOf('@') + 1), 80);
    const rule = authority === null ? undefined : rules.forwardFor(authority);
    if (rule === undefined) return null;
    // TRACE would reflect credentials a proxy adds (RFC 9110 §9.3.8).
    if (request.method === 'TRACE') return this.#notAllowed(request, [...METHODS]);
    request.address = `http://${authority}${request.path}${request.query}`;
    request.guarded = rule.guarded;
    if (request.bodyLength !== 0 && this.#bodyTooLarge(request, rules.maxBodySizeFor(request.path))) {
      return errorReply(request.fail(new HttpError('WWW_ERR_REQ_BODY_TOO_LARGE')));
    }
    return this.net.load(request).then((reply) => (reply.tunnel !== undefined ? reply : stackReply(reply, request, this.registry, this.#stackOptions)));
  }

  /** Sets the request's body cap (the rules' MaxBodySize, else the wire's); true when the declared length is over it. */
  #bodyTooLarge(request: Request, ruled: number | undefined): boolean {
    request.maxBodySize = ruled ?? this.http.options.maxBodySize;
    return request.bodyLength > request.maxBodySize;
  }

  /** 405 with the Allow list of the request's address. */
  #notAllowed(request: Request, allow = this.net.allowed(request)): Reply {
    return errorReply(request.fail(new HttpError('WWW_ERR_REQ_METHOD_NOT_ALLOWED', request.method, { headers: { Allow: allow.join(', ') } })));
  }

  /** Cache-Control from the rules, then the converters from what was loaded to what the client accepts. */
  #stack(reply: Reply, request: Request, route: Route, rules: RuleSet): Reply {
    const cacheControl = route.cacheControl;
    if (cacheControl !== undefined && (reply.status === 200 || reply.status === 206) && reply.headers['Cache-Control'] === undefined) {
      reply.headers['Cache-Control'] = cacheControl;
    } else if (this.live !== null && (reply.status === 200 || reply.status === 206) && reply.headers['Cache-Control'] === undefined) {
      // --live: a reload revalidates every script and image, none kept by heuristic freshness (RFC 9111 §4.2.2).
      reply.headers['Cache-Control'] = 'no-cache';
    }
    const stackOptions = rules === this.#rules ? this.#stackOptions : { ...this.#stackOptions, outputCharset: rules.outputCharset };
    return stackReply(reply, request, this.registry, stackOptions);
  }
}

/** The memory cache's bounds: explicit options, then the rule file's CacheMaxFile and CacheSize, then defaults. */
function cacheLimits(rules: RuleSet, explicit: FileOptions): { cacheMaxFile: number; cacheMaxTotal: number } {
  const s = rules.settings;
  return {
    cacheMaxFile: explicit.cacheMaxFile ?? s.cacheMaxFile ?? CACHE_MAX_FILE,
    cacheMaxTotal: explicit.cacheMaxTotal ?? s.cacheMaxTotal ?? CACHE_MAX_TOTAL,
  };
}

/** The HTTP cache's bounds and disk tier: explicit options, then the rule file's, then defaults. */
function proxyCacheLimits(rules: RuleSet, explicit: ProxyCacheOptions): { maxSize: number; dir: string | null; dirSize: number } {
  const s = rules.settings;
  return {
    maxSize: explicit.maxSize ?? s.proxyCacheSize ?? PROXY_CACHE_SIZE,
    dir: explicit.dir !== undefined ? explicit.dir : s.proxyCacheDir ?? null,
    dirSize: explicit.dirSize ?? s.proxyCacheDirSize ?? PROXY_CACHE_DIR_SIZE,
  };
}

/** Wire options: defaults, then the rule file's settings, then explicit options. */
export function wireFrom(rules: RuleSet, explicit: Partial<WireOptions> = {}): WireOptions {
  const s = rules.settings;
  const fromRules: Partial<WireOptions> = {};
  if (s.maxHeaderSize !== undefined) fromRules.maxHeaderSize = s.maxHeaderSize;
  if (s.maxPipeline !== undefined) fromRules.maxPipeline = s.maxPipeline;
  if (s.headerTimeout !== undefined) fromRules.headerTimeout = s.headerTimeout;
  if (s.keepAliveTimeout !== undefined) fromRules.keepAliveTimeout = s.keepAliveTimeout;
  if (s.bodyTimeout !== undefined) fromRules.bodyTimeout = s.bodyTimeout;
  if (s.writeTimeout !== undefined) fromRules.writeTimeout = s.writeTimeout;
  return { ...DEFAULT_WIRE, ...fromRules, ...explicit };
}
