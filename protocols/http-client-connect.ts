// Opening a connection to an upstream origin for the HTTP client module
// (libwww HTTCP's HTDoConnect): DNS and TCP through node:net, then TLS
// through node:tls for https, all within one connect deadline. Each way of
// failing gets its own code, decided by the phase it happened in: the
// lookup (DNS), the TCP connect (refused, unreachable), the handshake (TLS).
// Certificates are always verified: against Node's root store, plus the
// ProxyCA file when the rules name one. Nothing here turns verification off.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { reusedReads } from './http-client-reads.js';
import { HttpError, type ErrorCode } from '../src/errors.js';
import { guardedLookup, isPrivateAddress, refused, type Resolver } from './http-client-guard.js';
import { lastValue } from '../src/last-value.js';

export interface Origin {
  readonly scheme: 'http' | 'https';
  /** Without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
  /** `scheme://host:port`, as pools are keyed. */
  readonly key: string;
}

/** The origin of an absolute http(s) address (a Proxy rule's, so already checked). */
export function originOf(url: URL): Origin {
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  return { scheme, host, port, key: `${scheme}://${url.host}` };
}

/** Where an address sends a request: its origin, the Host it names, and the origin-form target. */
export interface UpstreamTarget {
  readonly origin: Origin;
  /** `host[:port]` as URL's `host` gives it (the default port left out). */
  readonly authority: string;
  /** Path and query. */
  readonly target: string;
}

/** The characters a path or query keeps as they are under the WHATWG URL parser (not `'`, `"`, `<`, `>`, space, `#`, `\\`, `^`, `` ` ``, `{`, `|`, `}`, controls, non-ASCII). */
const KEPT = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&()*+,;=:@/%?") KEPT[c.charCodeAt(0)] = 1;

const MAX_ORIGINS = 256;
const origins = new Map<string, { origin: Origin; authority: string } | null>();

/**
 * The target of an absolute http(s) address (a Proxy or Forward rule's), as
 * `new URL` would give it, without parsing a URL per request: the origin part
 * is parsed once and kept, and a path of characters URL keeps as they are,
 * with no dot-segment, is taken as it is. Anything else goes through URL.
 * The last address's target is kept (a rule's translation of the same path).
 */
export const upstreamTarget: (address: string) => UpstreamTarget = lastValue(targetOf);

function targetOf(address: string): UpstreamTarget {
  const start = address.startsWith('https://') ? 8 : address.startsWith('http://') ? 7 : -1;
  const slash = start === -1 ? -1 : address.indexOf('/', start);
  if (slash !== -1 && keptAsIs(address, slash)) {
    const prefix = address.slice(0, slash);
    let known = origins.get(prefix);
    if (known === undefined) {
      const url = new URL(`${prefix}/`);
      // Userinfo, a query or a fragment in what looked like the authority: not a plain origin.
      known = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
        ? { origin: originOf(url), authority: url.host } : null;
      if (origins.size >= MAX_ORIGINS) origins.clear();
      origins.set(prefix, known);
    }
    if (known !== null) return { origin: known.origin, authority: known.authority, target: address.slice(slash) };
  }
  const url = new URL(address);
  return { origin: originOf(url), authority: url.host, target: url.pathname + url.search };
}

/** From `from` on: only characters URL keeps, no `.` segment (`/.`, or `%2e` which URL reads as one), no empty query. */
function keptAsIs(address: string, from: number): boolean {
  // URL drops an empty query's `?`.
  if (address.charCodeAt(address.length - 1) === 0x3f /* ? */) return false;
  for (let i = from; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c >= 128 || KEPT[c] === 0) return false;
    if (c === 0x2e /* . */ && address.charCodeAt(i - 1) === 0x2f /* / */) return false;
    if (c === 0x25 /* % */ && (address.charCodeAt(i + 1) === 0x32 && (address.charCodeAt(i + 2) | 0x20) === 0x65)) return false;
  }
  return true;
}

export interface ConnectOptions {
  readonly timeout: number;
  /** For https: the trust store (system roots plus a ProxyCA), or undefined for Node's default. */
  readonly secureContext: tls.SecureContext | undefined;
  /**
   * A destination the client chose through a `*` (Tunnel, Forward): resolved
   * with this, and refused when any address is private (http-client-guard.ts).
   */
  readonly guard?: Resolver | null;
}

const DNS_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

/** An error of a connection that was established, as the client reports it. */
export function resetError(err: unknown, detail?: string): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return new HttpError('WWW_ERR_PROXY_RESET', detail ?? code, { cause: err });
}

/**
 * Connects to `origin`. Resolves with the socket once it can carry a request
 * (TLS handshake done and the certificate verified); rejects with
 * WWW_ERR_PROXY_DNS, _CONNECT, _TLS or _CONNECT_TIMEOUT. `signal` aborts.
 */
export function connect(origin: Origin, options: ConnectOptions, signal: AbortSignal | null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const literal = net.isIP(origin.host) !== 0;
    const guard = options.guard ?? null;
    if (guard !== null && literal && isPrivateAddress(origin.host)) return reject(refused(origin.host, origin.host));
    let phase: 'dns' | 'tcp' | 'tls' = literal ? 'tcp' : 'dns';
    // Half-open: a tunnel carries each direction's end on its own.
    const tcp: net.Socket = net.connect({
      host: origin.host, port: origin.port, noDelay: true, allowHalfOpen: true,
      // TLS reads the socket itself; a plain one reads into reused buffers.
      ...(origin.scheme === 'http' && { onread: reusedReads(() => tcp) }),
      ...(guard !== null && !literal && { lookup: guardedLookup(guard) }),
    });
    let socket: net.Socket = tcp;
    let settled = false;
    const fail = (code: ErrorCode, err?: unknown): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      const reason = (err as NodeJS.ErrnoException | undefined)?.code ?? (err as Error | undefined)?.message;
      reject(err instanceof HttpError && err.code === code ? err : new HttpError(code, `${origin.key}${reason ? ` ${reason}` : ''}`, { cause: err }));
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err instanceof HttpError) return fail(err.code, err);
      if (phase === 'tls') return fail('WWW_ERR_PROXY_TLS', err);
      if (err.code !== undefined && DNS_ERRORS.has(err.code)) return fail('WWW_ERR_PROXY_DNS', err);
      fail('WWW_ERR_PROXY_CONNECT', err);
    };
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(new HttpError('WWW_ERR_REQ_ABORTED'));
    };
    const timer = options.timeout > 0
      ? setTimeout(() => fail('WWW_ERR_PROXY_CONNECT_TIMEOUT', new Error(`no connection after ${options.timeout} ms (${phase})`)), options.timeout)
      : undefined;
    // A close with no error (a TLS peer hanging up mid-handshake) fails the phase too.
    const onClose = (): void => fail(phase === 'tls' ? 'WWW_ERR_PROXY_TLS' : 'WWW_ERR_PROXY_CONNECT', new Error(`closed during ${phase}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const done = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(socket);
    };
    socket.once('lookup', (err) => {
      if (err === null || err === undefined) phase = 'tcp';
    });
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => {
      if (origin.scheme === 'http') return done();
      phase = 'tls';
      tcp.off('error', onError);
      tcp.off('close', onClose);
      // The TLS socket reports what happens to the one it wraps.
      tcp.on('error', () => {});
      socket = tls.connect({
        socket: tcp,
        // The name the certificate must match (without it, checkServerIdentity checks "localhost").
        host: origin.host,
        // SNI carries host names only (RFC 6066 §3).
        servername: net.isIP(origin.host) === 0 ? origin.host : undefined,
        secureContext: options.secureContext,
        rejectUnauthorized: true,
        ALPNProtocols: ['http/1.1'],
      });
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.once('secureConnect', done);
    });
    if (signal !== null) {
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/**
 * The trust store for https upstreams: Node's roots, plus the ProxyCA file.
 * Read once per file; a file that cannot be read fails every https
 * connection with WWW_ERR_PROXY_TLS rather than trusting less or more.
 */
export class TrustStores {
  readonly #byFile = new Map<string, Promise<tls.SecureContext>>();

  get(caFile: string | undefined): Promise<tls.SecureContext | undefined> {
    if (caFile === undefined) return Promise.resolve(undefined);
    let context = this.#byFile.get(caFile);
    if (context === undefined) {
      context = readFile(caFile, 'utf8').then(
        (pem) => tls.createSecureContext({ ca: [...tls.rootCertificates, pem] }),
        (err: NodeJS.ErrnoException) => {
          this.#byFile.delete(caFile);
          throw new HttpError('WWW_ERR_PROXY_TLS', `ProxyCA ${caFile}: ${err.code ?? err.message}`, { cause: err });
        },
      );
      this.#byFile.set(caFile, context);
    }
    return context;
  }

  /** A restart may have changed the file. */
  flush(): void {
    this.#byFile.clear();
  }
}
