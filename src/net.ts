// NetManager (libwww HTNet): the protocol registry (scheme → module) and the
// running loads. It starts a load, bounds concurrency, propagates aborts,
// and turns a failure into an error reply from the request's error stack.

import type { Request } from './request.js';
import type { Reply } from './reply.js';
import { errorReply } from './reply.js';
import { HttpError } from './errors.js';

/** The protocol contract: every module in protocols/ that loads has this shape. */
export interface Protocol {
  /** URL scheme of the addresses it loads: 'file', 'http'. */
  readonly scheme: string;
  load(request: Request, net: NetManager): Promise<Reply>;
  /** The reply it can give without waiting for anything (a memory-cache hit), or null: then `load`. */
  loadNow?(request: Request): Reply | null;
}

export class NetManager {
  #protocols = new Map<string, Protocol>();
  #running = new Set<Request>();

  register(protocol: Protocol): void {
    this.#protocols.set(protocol.scheme, protocol);
  }

  protocol(scheme: string): Protocol | undefined {
    return this.#protocols.get(scheme);
  }

  get running(): number {
    return this.#running.size;
  }

  /** The reply the module of the address's scheme can give at once, or null. */
  loadNow(request: Request): Reply | null {
    return this.#protocolOf(request.address)?.loadNow?.(request) ?? null;
  }

  #protocolOf(address: string | null): Protocol | undefined {
    const colon = address === null ? -1 : address.indexOf(':');
    return colon > 0 ? this.#protocols.get(address!.slice(0, colon)) : undefined;
  }

  /** Loads `request.address` with the module of its scheme. Never rejects. */
  async load(request: Request): Promise<Reply> {
    const protocol = this.#protocolOf(request.address);
    if (protocol === undefined) return errorReply(request.fail(new HttpError('WWW_ERR_RULE_NO_PROTOCOL', request.address ?? undefined)));
    this.#running.add(request);
    try {
      return await protocol.load(request, this);
    } catch (err) {
      return errorReply(request.fail(toHttpError(err)));
    } finally {
      this.#running.delete(request);
    }
  }

  /** Aborts every running load (shutdown). */
  abortAll(): void {
    for (const request of this.#running) request.abort();
  }
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  return new HttpError('WWW_ERR_INTERNAL', undefined, { cause: err });
}
