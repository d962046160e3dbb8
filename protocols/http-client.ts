// The HTTP client protocol module (libwww HTTP.c, the client half): loads the
// http: and https: addresses a Proxy or Forward rule produced, over a keep-alive pool
// per upstream origin (http-client-pool.ts), one exchange per request
// (http-client-exchange.ts), fields rewritten as a proxy must
// (http-client-fields.ts). Its Reply is shaped like the FILE module's: a
// status, canonical headers, a Format parsed from Content-Type and
// Content-Encoding, a length or -1, and a body stream, so the converter
// stack treats both alike. Formats produced: whatever the upstream sent,
// with its content codings (never encoded twice).
//
// Retries, each at most once and only when nothing of the request can have
// been acted on: a reused connection that turns out dead before answering
// (the upstream closed it while idle) is replaced by a fresh one; a member
// of an upstream group that cannot be connected to is replaced by another.
//
// Tunnels: a 101 to an Upgrade request, and a CONNECT a Tunnel rule allows,
// end with a Reply whose `tunnel` joins the client's socket to the upstream's
// (http-tunnel.ts). Destinations the client chose through a `*` go through
// the address guard (http-client-guard.ts), in pools of their own.

import { HttpError } from '../src/errors.js';
import type { NetManager, Protocol } from '../src/net.js';
import type { Reply } from '../src/reply.js';
import type { Request } from '../src/request.js';
import type { ServerSettings } from '../src/rules/index.js';
import { connect, TrustStores, upstreamTarget } from './http-client-connect.js';
import { Exchange, type ExchangeTimeouts } from './http-client-exchange.js';
import { replyHead, requestHead } from './http-client-fields.js';
import { UpstreamGroups, originKey } from './http-client-group.js';
import { Pools, type PoolLimits } from './http-client-pool.js';
import { dnsResolver, type Resolver } from './http-client-guard.js';
import { joinSockets } from './http-tunnel.js';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';

/** Defaults of the Proxy… directives, in milliseconds. */
export const CLIENT_DEFAULTS = Object.freeze({
  connectTimeout: 5_000,
  headTimeout: 60_000,
  bodyTimeout: 60_000,
  /** Below the 5 s after which Node's own servers close an idle connection. */
  idleTimeout: 4_000,
  /**
   * How long a body whose client expects 100 Continue waits for the
   * upstream's before it is sent anyway (RFC 9110 §10.1.1: a client need not
   * wait indefinitely): curl's wait.
   */
  continueWait: 1_000,
  maxConnections: 32,
});

/** Failures where nothing reached the upstream, and which say it is not there. */
const UNREACHABLE = new Set(['WWW_ERR_PROXY_CONNECT', 'WWW_ERR_PROXY_CONNECT_TIMEOUT', 'WWW_ERR_PROXY_DNS']);

export class HttpClient {
  readonly pools = new Pools();
  readonly groups: UpstreamGroups;
  readonly #trust = new TrustStores();
  /** One Protocol per scheme it loads, to register with a NetManager. */
  readonly protocols: readonly Protocol[];
  /** How guarded destinations are resolved (DNS; tests inject their own). */
  resolver: Resolver = dnsResolver;

  constructor(groups: UpstreamGroups = new UpstreamGroups()) {
    this.groups = groups;
    const load = (request: Request, _net: NetManager): Promise<Reply> => this.load(request);
    this.protocols = [{ scheme: 'http', load }, { scheme: 'https', load }];
  }

  /** Loads the request's address (or a member of its group). Rejects with an HttpError. */
  async load(request: Request): Promise<Reply> {
    const settings: Partial<ServerSettings> = request.rules?.settings ?? {};
    const members = request.upstreams ?? [request.address!];
    let address = members.length > 1 ? this.groups.pick(members) : members[0]!;
    let fresh = false;
    let replaced = false;
    let movedOn = false;
    for (;;) {
      if (request.aborted) throw new HttpError('WWW_ERR_REQ_ABORTED');
      let exchange: Exchange | null = null;
      const { origin, authority, target } = upstreamTarget(address);
      try {
        const secureContext = origin.scheme === 'https' ? await this.#trust.get(settings.proxyCA) : undefined;
        const guard = request.guarded ? this.resolver : null;
        const limits = secureContext === undefined && guard === null ? plainLimits(settings) : poolLimits(settings, secureContext, guard);
        const framing = request.bodyLength === 0 ? 'none' : request.bodyLength > 0 ? 'length' : 'chunked';
        // A switch is asked for only without a body: the tunnel starts where the request ends.
        const upgrade = request.upgrade && framing === 'none';
        // RFC 9110 §10.1.1: the expectation of an HTTP/1.1 client goes on with the request (a 1.0 client's is ignored).
        const expectContinue = framing !== 'none' && request.versionMinor === 1 && expects100(request.headers.expect);
        const head = requestHead(request, { authority, target }, framing, upgrade, expectContinue);
        // Guarded connections were checked as such: never shared with a rule that named the upstream.
        const key = `${origin.key}${origin.scheme === 'https' ? ` ${settings.proxyCA ?? ''}` : ''}${guard !== null ? ' guarded' : ''}`;
        const pool = this.pools.get(origin, key);
        const acquired = pool.acquire(limits, request, fresh);
        const lease = acquired instanceof Promise ? await acquired : acquired;
        exchange = new Exchange(lease, pool, request, timeoutsOf(settings));
        const response = await exchange.start(head, framing, upgrade, expectContinue);
        this.groups.up(origin.key);
        const reply = replyHead(response.head, request.method, response.body);
        reply.anchor = request.anchor;
        if (response.head.headers.date !== undefined) reply.originDate = response.head.headers.date;
        if (response.trailers !== undefined) reply.trailers = response.trailers;
        if (response.switched !== undefined) {
          // RFC 9110 §15.2.2: the 101 names the protocol switched to; the writer sends it with Connection: upgrade.
          reply.headers.Upgrade = response.head.headers.upgrade ?? request.headers.upgrade!;
          return tunnelReply(reply, request, response.switched.socket, response.switched.rest);
        }
        return reply;
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError('WWW_ERR_INTERNAL', undefined, { cause: err });
        if (exchange === null && UNREACHABLE.has(e.code)) this.groups.down(originKey(address));
        if (exchange !== null && exchange.retryable && !replaced) {
          replaced = true;
          fresh = true;
          continue;
        }
        if (exchange === null && UNREACHABLE.has(e.code) && members.length > 1 && !movedOn && !request.aborted) {
          movedOn = true;
          fresh = false;
          address = this.groups.pick(members, originKey(address));
          continue;
        }
        // Giving up with the client's body half read: the server closes the connection after the error.
        exchange?.requestBody?.destroy();
        throw e;
      }
    }
  }

  /**
   * Opens a CONNECT tunnel to `host:port` (RFC 9110 §9.3.6): a 200 whose
   * tunnel joins the client to the new connection once it is written.
   * Rejects as a connect does: 502/504 WWW_ERR_PROXY_…, 403
   * WWW_ERR_PROXY_ADDRESS for a guarded destination that is private.
   */
  async tunnel(request: Request, host: string, port: number, guarded: boolean): Promise<Reply> {
    const settings: Partial<ServerSettings> = request.rules?.settings ?? {};
    const bare = host.startsWith('[') ? host.slice(1, -1) : host;
    const origin = { scheme: 'http' as const, host: bare, port, key: `${host}:${port}` };
    const options = { timeout: settings.proxyConnectTimeout ?? CLIENT_DEFAULTS.connectTimeout, secureContext: undefined, guard: guarded ? this.resolver : null };
    const socket = await connect(origin, options, request.signal);
    socket.on('error', () => {});
    return tunnelReply({ status: 200, headers: {}, format: null, length: -1, body: null }, request, socket, Buffer.alloc(0));
  }

  /** Closes the idle connections (shutdown). */
  close(): void {
    this.pools.close();
  }

  /** New rules: a ProxyCA file may have changed; idle connections were verified under the old one. */
  restart(): void {
    this.#trust.flush();
    this.pools.close();
  }
}

function poolLimits(settings: Partial<ServerSettings>, secureContext: SecureContext | undefined, guard: Resolver | null): PoolLimits {
  return {
    maxConnections: settings.proxyMaxConnections ?? CLIENT_DEFAULTS.maxConnections,
    queueTimeout: settings.proxyHeadTimeout ?? CLIENT_DEFAULTS.headTimeout,
    connect: { timeout: settings.proxyConnectTimeout ?? CLIENT_DEFAULTS.connectTimeout, secureContext, guard },
  };
}

/** Per rule set (its settings object), made once: the limits of a plain http upstream, and the exchange's timeouts. */
const plainLimitsOf = new WeakMap<Partial<ServerSettings>, PoolLimits>();
const timeoutsByRules = new WeakMap<Partial<ServerSettings>, ExchangeTimeouts>();

function plainLimits(settings: Partial<ServerSettings>): PoolLimits {
  let limits = plainLimitsOf.get(settings);
  if (limits === undefined) plainLimitsOf.set(settings, (limits = poolLimits(settings, undefined, null)));
  return limits;
}

function timeoutsOf(settings: Partial<ServerSettings>): ExchangeTimeouts {
  let timeouts = timeoutsByRules.get(settings);
  if (timeouts === undefined) {
    timeouts = {
      head: settings.proxyHeadTimeout ?? CLIENT_DEFAULTS.headTimeout,
      body: settings.proxyBodyTimeout ?? CLIENT_DEFAULTS.bodyTimeout,
      idle: settings.proxyIdleTimeout ?? CLIENT_DEFAULTS.idleTimeout,
      continue: CLIENT_DEFAULTS.continueWait,
    };
    timeoutsByRules.set(settings, timeouts);
  }
  return timeouts;
}

function expects100(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === '100-continue';
}

/**
 * A reply that switches the client's connection to a tunnel to `socket` (the
 * upstream's 101, a CONNECT's 200): the two sockets are joined once the
 * server has written it. Until then the upstream socket is this request's:
 * a client gone before its turn takes it along. Joined, it lasts until
 * ProxyBodyTimeout of silence both ways.
 */
function tunnelReply(reply: Reply, request: Request, socket: Socket, rest: Buffer): Reply {
  const drop = (): void => {
    socket.destroy();
  };
  if (request.aborted) {
    drop();
    throw new HttpError('WWW_ERR_REQ_ABORTED');
  }
  request.signal.addEventListener('abort', drop, { once: true });
  reply.tunnel = (client, clientHead) => {
    request.signal.removeEventListener('abort', drop);
    joinSockets(client, socket, clientHead, rest, request.rules?.settings.proxyBodyTimeout ?? CLIENT_DEFAULTS.bodyTimeout);
  };
  return reply;
}
