// The HTTP client protocol module (libwww HTTP.c, the client half): loads the
// http: and https: addresses a Proxy rule produced, over a keep-alive pool
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

import { HttpError } from '../src/errors.js';
import type { NetManager, Protocol } from '../src/net.js';
import type { Reply } from '../src/reply.js';
import type { Request } from '../src/request.js';
import type { ServerSettings } from '../src/rules/index.js';
import { originOf, TrustStores } from './http-client-connect.js';
import { Exchange } from './http-client-exchange.js';
import { replyHead, requestHead } from './http-client-fields.js';
import { UpstreamGroups, originKey } from './http-client-group.js';
import { Pools, type PoolLimits } from './http-client-pool.js';

/** Defaults of the Proxy… directives, in milliseconds. */
export const CLIENT_DEFAULTS = Object.freeze({
  connectTimeout: 5_000,
  headTimeout: 60_000,
  bodyTimeout: 60_000,
  /** Below the 5 s after which Node's own servers close an idle connection. */
  idleTimeout: 4_000,
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
      const url = new URL(address);
      const origin = originOf(url);
      try {
        const secureContext = origin.scheme === 'https' ? await this.#trust.get(settings.proxyCA) : undefined;
        const limits: PoolLimits = {
          maxConnections: settings.proxyMaxConnections ?? CLIENT_DEFAULTS.maxConnections,
          queueTimeout: settings.proxyHeadTimeout ?? CLIENT_DEFAULTS.headTimeout,
          connect: { timeout: settings.proxyConnectTimeout ?? CLIENT_DEFAULTS.connectTimeout, secureContext },
        };
        const framing = request.bodyLength === 0 ? 'none' : request.bodyLength > 0 ? 'length' : 'chunked';
        const head = requestHead(request, { authority: url.host, target: url.pathname + url.search }, framing);
        const pool = this.pools.get(origin, origin.scheme === 'https' ? `${origin.key} ${settings.proxyCA ?? ''}` : origin.key);
        const lease = await pool.acquire(limits, request.signal, fresh);
        exchange = new Exchange(lease, pool, request, {
          head: settings.proxyHeadTimeout ?? CLIENT_DEFAULTS.headTimeout,
          body: settings.proxyBodyTimeout ?? CLIENT_DEFAULTS.bodyTimeout,
          idle: settings.proxyIdleTimeout ?? CLIENT_DEFAULTS.idleTimeout,
        });
        const response = await exchange.start(head, framing);
        this.groups.up(origin.key);
        const reply = replyHead(response.head, request.method, response.body);
        reply.anchor = request.anchor;
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
