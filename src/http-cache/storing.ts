// What comes back from upstream through a caching rule: passed on with its
// Cache-Status (RFC 9211), and stored once its body has arrived whole where
// a shared cache may store it (RFC 9111 §3), in memory and on disk. A 200 to
// a HEAD updates the stored GET it could have chosen (§4.3.5); a non-error
// response to an unsafe method invalidates its URI and the same-origin
// Location and Content-Location (§4.4). The invalidations are recorded, so a
// response requested before one is never stored after it.

import type { Request } from '../request.js';
import type { Reply } from '../reply.js';
import { getHeader } from '../stack-headers.js';
import { parseCacheControl, type CacheControl } from './cache-control.js';
import { isStorable } from './policy.js';
import { entrySize, type MemoryStore, type StoredResponse } from './store.js';
import { freshen, makeEntry, type Received } from './entry.js';
import { teeBody } from './tee.js';
import type { DiskStore } from './disk.js';
import type { Invalidations, Stamp } from './upstream.js';

/** The cache's name in Cache-Status. */
export const CACHE_NAME = 'streamstack';

const EMPTY = Buffer.alloc(0);

export class Storing {
  readonly #store: MemoryStore;
  readonly #disk: () => DiskStore | null;
  readonly #invalidations: Invalidations;
  /** Told of every URI this cache stops trusting (the other workers' caches follow: peers.ts). */
  readonly #forgotten: (uri: string) => void;

  constructor(store: MemoryStore, disk: () => DiskStore | null, invalidations: Invalidations, forgotten: (uri: string) => void) {
    this.#store = store;
    this.#disk = disk;
    this.#invalidations = invalidations;
    this.#forgotten = forgotten;
  }

  /**
   * A response from upstream, passed on, and stored when it may be (§3)
   * once its body has arrived whole. `done` learns whether it was.
   */
  passOn(request: Request, uri: string, reply: Reply, reqCC: CacheControl, t: Received & { stamp: Stamp }, why: string, done: ((stored: boolean) => void) | null): Reply {
    const cc = parseCacheControl(reply.headers['Cache-Control']);
    if (reply.originDate !== undefined) reply.headers.Date = reply.originDate;
    if (request.method === 'HEAD' && reply.status === 200 && this.#invalidations.unchanged(uri, t.stamp)) this.#headUpdate(uri, request, reply, t);
    const store = this.#store;
    const storable = !reply.tunnel && reply.length <= store.maxEntry
      && isStorable(request.method, request.headers, reqCC, reply.status, reply.headers, cc);
    let status = `${CACHE_NAME}; fwd=${why}; fwd-status=${reply.status}`;
    if (!storable) {
      done?.(false);
      reply.headers['Cache-Status'] = status;
      return reply;
    }
    // The fields as they came, before the stack adds to them.
    const draft = makeEntry(uri, request, reply, EMPTY, t);
    const keep = (body: Buffer): boolean => {
      const entry: StoredResponse = Object.assign({}, draft, { body, size: entrySize(draft.headers, body) });
      // Too large, or its URI was invalidated while it was on its way: not stored.
      if (entry.size > store.maxEntry || !this.#invalidations.unchanged(uri, t.stamp)) return false;
      this.#disk()?.write(entry, request.headers);
      store.put(entry, request.headers);
      return true;
    };
    status += '; stored';
    reply.headers['Cache-Status'] = status;
    const body = reply.body;
    if (body === null || Buffer.isBuffer(body)) {
      // (`done?.(keep(…))` would skip the keep when there is no `done`.)
      const stored = keep(body ?? EMPTY);
      done?.(stored);
      return reply;
    }
    reply.body = teeBody(body, reply.length, store.maxEntry, (whole) => {
      const stored = whole !== null && keep(whole);
      done?.(stored);
    });
    return reply;
  }

  /**
   * §4.3.5: a 200 to a HEAD updates the stored GET response that request
   * could have chosen when their validators agree (and the length, when the
   * HEAD gives one): its fields merged as a 304's are (§3.2). Otherwise the
   * stored response is considered stale: the next request validates it.
   */
  #headUpdate(uri: string, request: Request, reply: Reply, t: Received): void {
    const entry = this.#store.find(uri, request.headers);
    if (entry === null) return;
    if (headAgrees(entry, reply)) {
      this.#store.resize(entry, freshen(entry, reply, t));
      this.#disk()?.write(entry, request.headers);
    } else {
      entry.lifetime = 0;
      this.#disk()?.invalidate(uri);
      this.#forgotten(uri);
    }
  }

  /** §4.4: the target URI, and Location and Content-Location when they are of the same origin. */
  invalidate(uri: string, reply: Reply): void {
    this.#forget(uri);
    for (const name of ['Location', 'Content-Location']) {
      const value = getHeader(reply.headers, name);
      if (value === undefined) continue;
      try {
        const base = new URL(uri);
        const target = new URL(value.trim(), base);
        target.hash = '';
        if (target.origin === base.origin) this.#forget(target.href);
      } catch {
        // Not a URI reference: nothing to invalidate.
      }
    }
  }

  #forget(uri: string): void {
    this.#invalidations.mark(uri);
    this.#store.invalidate(uri);
    this.#disk()?.invalidate(uri);
    this.#forgotten(uri);
  }
}

/**
 * §4.3.5: the HEAD's validators (at least one) each match the stored
 * response's, and its Content-Length, if any, is the stored body's length.
 */
function headAgrees(entry: StoredResponse, head: Reply): boolean {
  let matched = false;
  for (const name of ['ETag', 'Last-Modified']) {
    const received = getHeader(head.headers, name)?.trim();
    if (received === undefined) continue;
    if (getHeader(entry.headers, name)?.trim() !== received) return false;
    matched = true;
  }
  return matched && (head.length < 0 || head.length === entry.body.length);
}
