// The HTTP cache's revalidator (src/cache/memory-cache.ts asks it, as it asks
// the FILE module's): whether a stored response may answer a request as it
// is (RFC 9111 §4.2: fresh, or stale where the request and the response
// allow), and, when it may not, its validation with the upstream (§4.3): a
// conditional request whose 304 freshens it (§4.3.4). A response other than
// that 304 is handed back in the Check for the cache to pass on or store; an
// error (a 5xx, the upstream unreachable) says nothing of the stored response,
// which is kept (stale-if-error may still answer with it), while any other
// answer means it changed: the memory cache then drops it.

import type { Request } from '../request.js';
import type { Reply } from '../reply.js';
import type { Revalidator } from '../cache/memory-cache.js';
import type { CacheControl } from './cache-control.js';
import { currentAge, usability, type Usability } from './policy.js';
import { conditionalFields, freshen, validatorsAgree, type Received } from './entry.js';
import type { StoredEntry, StoredResponse } from './store.js';
import { upstreamRequest, type Stamp } from './upstream.js';

export type Load = (request: Request) => Promise<Reply>;

/** One request's look at one stored response: what fresh() works out, and what revalidate() brings. */
export class Check {
  /** Filled by fresh(): the response's current age (§4.2.3) and what it may do for the request. */
  age = 0;
  use: Usability = { kind: 'fresh', ttl: 0 };
  /** Filled by revalidate(): the upstream's answer unless a 304 freshened the entry (null then), its times, the request sent. */
  reply: Reply | null = null;
  received: (Received & { stamp: Stamp }) | null = null;
  sub: Request | null = null;
  /** The load failed outright (rejected): the caller rethrows it. */
  failed: unknown = null;

  constructor(
    readonly request: Request,
    readonly reqCC: CacheControl,
    /** For revalidate(): the URI, how to load, and whether the client's going away aborts the validation. */
    readonly uri = '',
    readonly load: Load | null = null,
    readonly linked = true,
  ) {}
}

export interface RevalidatorDeps {
  now(): number;
  /** Marks the URI's invalidations (§4.4) at the start of an exchange. */
  stamp(uri: string): Stamp;
  /** A freshened response is saved again (the disk tier), unless its URI was invalidated since `stamp`. */
  saved(entry: StoredResponse, request: Request, stamp: Stamp): void;
  /** Its fields changed: charged again. */
  resize(entry: StoredResponse, size: number): void;
}

/** fresh() for a response, in the cache or not (one read back from disk and not kept). */
export function checkFreshness(entry: StoredResponse, c: Check, now: number): boolean {
  c.age = currentAge(entry, now);
  c.use = usability(entry.lifetime, c.age, entry.cc, c.reqCC);
  return c.use.kind !== 'validate';
}

export function httpRevalidator(deps: RevalidatorDeps): Revalidator<StoredEntry, Check> {
  return {
    fresh: (stored, c) => checkFreshness(stored.response, c, deps.now()),
    revalidate: (stored, c) => validate(stored.response, c, deps),
  };
}

/** §4.3: the conditional request. True when the stored response still holds (a matching 304, or an error). */
export async function validate(entry: StoredResponse, c: Check, deps: RevalidatorDeps): Promise<boolean> {
  const sub = upstreamRequest(c.request, conditionalFields(entry), c.linked);
  c.sub = sub;
  const requestTime = deps.now();
  const stamp = deps.stamp(c.uri);
  let reply: Reply;
  try {
    reply = await c.load!(sub);
  } catch (err) {
    c.failed = err;
    return true;
  }
  const t = { requestTime, responseTime: deps.now(), stamp };
  c.received = t;
  if (reply.status === 304 && validatorsAgree(entry, reply)) {
    deps.resize(entry, freshen(entry, reply, t));
    deps.saved(entry, c.request, stamp);
    c.reply = null;
    return true;
  }
  c.reply = reply;
  return reply.status >= 500;
}
