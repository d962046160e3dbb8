// NetManager (libwww HTNet): the protocol registry (scheme → module). It
// starts a load with the module of the address's scheme and turns a failure
// into an error reply from the request's error stack. Aborts travel on the
// request's signal, which its connection fires when the client goes away or
// the server stops: the one source of truth for what is still wanted.

import type { Request } from './request.js';
import type { Reply } from './reply.js';
import { errorReply } from './reply.js';
import { HttpError } from './errors.js';
import { METHODS, type RuleSet } from './rules/index.js';

/** The protocol contract: every module in protocols/ that loads has this shape. */
export interface Protocol {
  /** URL scheme of the addresses it loads: 'file', 'http'. */
  readonly scheme: string;
  /**
   * The methods it answers. Without it, any method the rules let through (a
   * module that passes requests on, as a proxy does, leaves it to its peer).
   */
  readonly methods?: ReadonlySet<string>;
  load(request: Request, net: NetManager): Promise<Reply>;
  /** The reply it can give without waiting for anything (a memory-cache hit), or null: then `load`. */
  loadNow?(request: Request): Reply | null;
}

export class NetManager {
  #protocols = new Map<string, Protocol>();

  register(protocol: Protocol): void {
    this.#protocols.set(protocol.scheme, protocol);
  }

  protocol(scheme: string): Protocol | undefined {
    return this.#protocols.get(scheme);
  }

  /** The reply the module of the address's scheme can give at once, or null. */
  loadNow(request: Request): Reply | null {
    const protocol = this.#protocolOf(request.address);
    if (protocol === undefined) return null;
    if (protocol.methods !== undefined && !protocol.methods.has(request.method)) return notAllowed(request, protocol);
    return protocol.loadNow?.(request) ?? null;
  }

  /** The methods allowed at the request's address (see `allowedMethods`). */
  allowed(request: Request): string[] {
    return allowedMethods(request.rules, request.decodedPath, this.#protocolOf(request.address)?.methods);
  }

  #protocolOf(address: string | null): Protocol | undefined {
    const colon = address === null ? -1 : address.indexOf(':');
    return colon > 0 ? this.#protocols.get(address!.slice(0, colon)) : undefined;
  }

  /** Loads `request.address` with the module of its scheme. Never rejects. */
  async load(request: Request): Promise<Reply> {
    const protocol = this.#protocolOf(request.address);
    if (protocol === undefined) return errorReply(request.fail(new HttpError('WWW_ERR_RULE_NO_PROTOCOL', request.address ?? undefined)));
    if (protocol.methods !== undefined && !protocol.methods.has(request.method)) return notAllowed(request, protocol);
    try {
      return await protocol.load(request, this);
    } catch (err) {
      return errorReply(request.fail(toHttpError(err)));
    }
  }
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  return new HttpError('WWW_ERR_INTERNAL', undefined, { cause: err });
}

/** Allow lists methods in this order: the safe ones, then writes, then WebDAV's. */
const ALLOW_ORDER: readonly string[] = (() => {
  const first = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'POST', 'PATCH'];
  return [...first, ...[...METHODS].filter((m) => !first.includes(m))];
})();
const EVERYWHERE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The one Allow list (RFC 9110 §10.2.1): the methods the rules enable at
 * `path` (GET, HEAD and OPTIONS always) that the module of the address
 * answers (`supported`, its Protocol.methods; undefined: any). Every OPTIONS reply and every 405 carries it, so a method is
 * refused exactly when it is not listed. `path` null (`OPTIONS *`, CONNECT)
 * asks for what every address allows.
 */
export function allowedMethods(rules: RuleSet | null, path: string | null, supported: ReadonlySet<string> | undefined): string[] {
  const out: string[] = [];
  for (const m of ALLOW_ORDER) {
    const enabled = path === null || rules === null ? EVERYWHERE.has(m) : rules.isEnabled(m, path);
    if (enabled && (supported === undefined || supported.has(m))) out.push(m);
  }
  return out;
}

function notAllowed(request: Request, protocol: Protocol): Reply {
  const allow = allowedMethods(request.rules, request.decodedPath, protocol.methods).join(', ');
  return errorReply(request.fail(new HttpError('WWW_ERR_REQ_METHOD_NOT_ALLOWED', request.method, { headers: { Allow: allow } })));
}
