// The shapes of the rule-file module: what translation answers, the server
// settings a rule file carries, and the RuleSet the server consults per
// request. CERN httpd kept these as globals filled by HTConfig.c (sc.*,
// the rule list of HTRules.c, the suffix lists of HTBind.c); here they are
// one immutable object, so a restart swaps them atomically.

import type { Template } from './template.js';

/** What the translation rules (Map / Pass / Fail / Redirect / Proxy) made of a path. */
export type Translation =
  /**
   * Accepted by a Pass rule. `address` is a `file:` URL (path percent-encoded);
   * `root` is the absolute directory (no trailing slash, except `/` itself) the
   * address must stay inside: the FILE module checks the realpath against it
   * with `isInsideRoot`.
   */
  | { kind: 'pass'; address: string; root: string }
  /**
   * Handed to the HTTP client module: an absolute http(s) URL, the request's
   * query appended. A rule naming several URLs (an upstream group) also gives
   * `upstreams`: every member's address in rule order, `address` first.
   */
  | { kind: 'proxy'; address: string; upstreams?: readonly string[] }
  /** `location` is an absolute URL or an absolute path, the request's query appended. */
  | { kind: 'redirect'; location: string; status: RedirectStatus }
  | { kind: 'fail'; code: 'WWW_ERR_RULE_FORBIDDEN' | 'WWW_ERR_RULE_NOT_PASSED' };

export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

/** Sizes in bytes, durations in milliseconds. Command-line flags override these. */
export interface ServerSettings {
  /** Always set: the effective ServerRoot (option, directive, else the rule file's directory). */
  serverRoot?: string;
  port?: number;
  host?: string;
  /** In file order; `template: null` is the default for paths no template matches. */
  maxBodySize: { size: number; template: string | null }[];
  maxHeaderSize?: number;
  maxPipeline?: number;
  headerTimeout?: number;
  keepAliveTimeout?: number;
  bodyTimeout?: number;
  writeTimeout?: number;
  /** The memory cache: the largest document kept, and all documents together. */
  cacheMaxFile?: number;
  cacheMaxTotal?: number;
  /** The HTTP client: time to connect (TLS included), to the response head, of silence in a body. */
  proxyConnectTimeout?: number;
  proxyHeadTimeout?: number;
  proxyBodyTimeout?: number;
  /** How long an idle upstream connection is kept for reuse. */
  proxyIdleTimeout?: number;
  /** Connections to one upstream origin at most; requests beyond wait for one. */
  proxyMaxConnections?: number;
  /** A CA certificate file (PEM, absolute) trusted for https upstreams besides the system's. */
  proxyCA?: string;
  /** `ProxyCacheSize`: bytes of memory for the HTTP cache of proxied responses. */
  proxyCacheSize?: number;
  /** `ProxyCacheDir DIR [SIZE]`: the HTTP cache's disk tier, absolute (relative to ServerRoot), and its bound. */
  proxyCacheDir?: string;
  proxyCacheDirSize?: number;
  /** The Host sent upstream: the client's (default) or the upstream's own authority. */
  proxyHost?: 'client' | 'upstream';
  /** Peers whose X-Forwarded-* and Forwarded fields are kept and appended to: addresses and CIDR blocks. */
  trustProxy?: readonly string[];
  /** The access log: an absolute file name, or `-` for stdout. */
  accessLog?: string;
  /** The access log's format (default common). */
  logFormat?: 'common' | 'combined' | 'json';
  /** How long a stop waits for what is in flight before closing every connection; 0 is no limit. */
  graceTimeout?: number;
  /** `Status PATH`: the decoded path the server answers with its status page itself. */
  statusPath?: string;
  /** `ErrorPage STATUS… PATH`: by status (400–599), the decoded path of the document served for that error. */
  errorPages?: Readonly<Record<number, string>>;
  /** TLS: the certificate chain and its private key (PEM, absolute; relative to the rule file's directory). */
  tlsCertificate?: string;
  tlsKey?: string;
  /** A plain port whose requests are redirected (308) to https. */
  redirectHttp?: number;
  /** `Workers N|auto`: worker processes sharing the port (read at start; 1 is a single process). */
  workers?: number | 'auto';
}

/** Where a directive was written, for messages from the modules that use it. */
export interface RuleSource {
  readonly file: string;
  readonly line: number;
}

/** `AddType`: CERN's ENCODING was a transfer encoding; 7bit, 8bit and binary mean none. */
export interface TypeBinding {
  type: string;
  encoding?: string;
  quality?: number;
}

/** `Converter MODULE [QUALITY]`: an absolute path, or a package name as written. */
export interface ConverterRule extends RuleSource {
  readonly module: string;
  readonly quality?: number;
}

/** A `Protection NAME { … }` block: CERN's protection setup, fields by canonical key. */
export interface Protection extends RuleSource {
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * `Protect TEMPLATE SETUP`: SETUP names a Protection block, or (containing a
 * '/') a CERN protection setup file, resolved to an absolute path.
 */
export interface ProtectRule extends RuleSource {
  readonly template: string;
  readonly setup: string;
  readonly protection: Protection | undefined;
}

/** `CacheControl TEMPLATE VALUE`: the Cache-Control field for passed documents. */
export interface CacheControlRule extends RuleSource {
  readonly template: string;
  readonly value: string;
}

export type DirAccess = 'on' | 'off' | 'selective';

/**
 * `Tunnel HOST:PORT-TEMPLATE` and `Forward HOST[:PORT]-TEMPLATE`: the
 * destinations a CONNECT may reach and an absolute-form request may be
 * forwarded to, matched against `host:port`. `guarded` (the template has a
 * `*`): never a loopback, link-local or private address.
 */
export interface AuthorityRule {
  readonly template: Template;
  readonly guarded: boolean;
}

/** What the rules say of one path, all at once. */
export interface Route {
  readonly translation: Translation;
  readonly maxBodySize: number | undefined;
  readonly cacheControl: string | undefined;
  /** The Protect rule of the path, if any. */
  readonly protect: ProtectRule | undefined;
  /** A Proxy route a ProxyCache rule covers: through the HTTP cache. */
  readonly proxyCache: boolean;
}

export interface RuleSet {
  /** The rule file, or null for the built-in default (`streamstack ROOT`). */
  readonly file: string | null;
  /** Absolute. */
  readonly serverRoot: string;
  /**
   * `path` is the output of decodePath. `query` ('' or '?…', Request.query)
   * is carried to Redirect locations and Proxy addresses; a Pass ignores it.
   */
  translate(path: string, query?: string): Translation;
  /**
   * What the rules say of one path: its translation, and the MaxBodySize,
   * CacheControl, Protect and ProxyCache rules that apply. A rule set keeps
   * up to 10,000 routes: a Pass or Fail by its path alone (the query does not
   * change it), a Redirect or Proxy by path and query (it carries the query
   * into its result); a new rule set (a restart) starts with none.
   */
  route(path: string, query?: string): Route;

  /** AddType by suffix: case-insensitive, longest suffix wins, then the last listed. */
  typeFor(fileName: string): TypeBinding | undefined;
  /** AddEncoding: the content coding a suffix means (`.gz` → gzip). */
  encodingFor(fileName: string): string | undefined;
  /** AddCharset. */
  charsetFor(fileName: string): string | undefined;
  /** Welcome file names, first listed first; default ['index.html']. */
  readonly welcome: readonly string[];
  readonly alwaysWelcome: boolean;
  /** Default 'off', as nginx and Caddy. */
  readonly dirAccess: DirAccess;
  /** GET, HEAD and OPTIONS always; any other method where an Enable template matches the decoded path. */
  isEnabled(method: string, path: string): boolean;
  /** First MaxBodySize whose template matches the decoded path, else the template-less one. */
  maxBodySizeFor(path: string): number | undefined;
  readonly outputCharset: string | undefined;
  readonly converters: readonly ConverterRule[];
  /** Protect rules in file order. */
  readonly protections: readonly ProtectRule[];
  /** Protection blocks by name. */
  readonly protectionBlocks: ReadonlyMap<string, Protection>;
  /** The first Protect rule whose template matches the decoded path. */
  protectFor(path: string): ProtectRule | undefined;
  readonly cacheControl: readonly CacheControlRule[];
  /** The first CacheControl value whose template matches the decoded path. */
  cacheControlFor(path: string): string | undefined;
  readonly settings: ServerSettings;
  /** The origins (or `*`) of every Cors line whose template matches the decoded path, in file order. */
  corsFor(path: string): readonly string[];
  /** The path of the first Fallback rule whose template matches the decoded path. */
  fallbackFor(path: string): string | undefined;
  /** The Tunnel rule a CONNECT to `host:port` (see normalAuthority) may use; none: 403. */
  tunnelFor(authority: string): AuthorityRule | undefined;
  /** The Forward rule an absolute-form request to `host:port` may use; none: the path is served as ours. */
  forwardFor(authority: string): AuthorityRule | undefined;
  /** Whether a ProxyCache template matches the decoded path: its proxied responses go through the HTTP cache. */
  proxyCacheFor(path: string): boolean;
}

export interface RuleOptions {
  /** Overrides the ServerRoot directive; relative to the current directory. */
  serverRoot?: string;
}
