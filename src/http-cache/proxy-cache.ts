// The HTTP cache in front of Proxy rules (RFC 9111, a shared cache): the
// server hands it a request that a `ProxyCache` rule covers, with the way
// to load it upstream, and gets back the reply to stack, from the store or
// from the upstream. It decides, by the policy (policy.ts):
//   hit       a stored response fresh enough for the request (or stale
//             within the request's max-stale) answers it, with Age;
//   validate  a stale one (or one that no-cache marks) is validated with a
//             conditional request (§4.3, revalidator.ts, which the memory
//             cache asks): a 304 freshens and serves it, a
//             full response replaces it, an error serves it stale where
//             stale-if-error allows (RFC 5861);
//   miss      the request goes upstream and a storable response is stored
//             as it streams to the client (storing.ts, tee.ts); concurrent misses of a
//             URI (and validations of one entry) wait for the first one
//             instead of going upstream too.
// Stored responses live in memory (store.ts) and, with ProxyCacheDir, on
// disk too (disk.ts), where a restart finds them.
// Unsafe methods pass through, and a non-error answer to one invalidates
// the target URI and the same-origin Location and Content-Location (§4.4,
// storing.ts).
// Every reply says what happened in Cache-Status (RFC 9211).
// libwww counterpart: HTCache.c, which kept documents on their anchors too.

import { Readable } from 'node:stream';
import type { Request } from '../request.js';
import type { Reply } from '../reply.js';
import { errorReply } from '../reply.js';
import { HttpError } from '../errors.js';
import type { CacheControl } from './cache-control.js';
import { currentAge, isUnsafe, requestDirectives, type Usability } from './policy.js';
import { Loads } from '../cache/loads.js';
import { MemoryStore, entrySize, type StoredResponse } from './store.js';
import { entryReply, notModified } from './entry.js';
import { Check, checkFreshness, httpRevalidator, validate, type Load, type RevalidatorDeps } from './revalidator.js';
import { CACHE_NAME as NAME, Storing } from './storing.js';
import { rangeReply } from './range.js';
import { DiskStore } from './disk.js';
import type { CacheMessage, CachePeers } from './peers.js';
import { CONDITIONAL, Invalidations, effectiveUri, within } from './upstream.js';

/** `ProxyCacheSize`'s default: 64 MiB. */
export const PROXY_CACHE_SIZE = 64 * 1024 * 1024;
/** A collapsed miss waits this long at most (a slow first client must not hold the others). */
export const COLLAPSE_WAIT = 10_000;
/** `ProxyCacheDir`'s default bound: 1 GiB. */
export const PROXY_CACHE_DIR_SIZE = 1024 * 1024 * 1024;

/** The name in Cache-Status (RFC 9211 §2). */

export interface ProxyCacheOptions {
  /** Bytes of memory for stored responses. */
  maxSize?: number;
  /** The disk tier: a directory (absolute) and its bound in bytes. */
  dir?: string | null;
  dirSize?: number;
  /** The clock, in ms since the epoch (tests move it). */
  now?: () => number;
  /** How long a collapsed miss waits for the one on its way before going upstream itself, ms. */
  collapseWait?: number;
  /** The disk tier's directory could not be used (default: one line on stderr). */
  onDiskError?: (dir: string, err: Error) => void;
}

export class ProxyCache {
  readonly store: MemoryStore;
  /** The disk tier, when ProxyCacheDir names one; `ready` once its index is read. */
  disk: DiskStore | null = null;
  #ready: Promise<void> = Promise.resolve();
  /** The disk tier's index is being read: requests wait for it (`#ready`). */
  #opening = false;
  readonly #now: () => number;
  readonly #collapseWait: number;
  readonly #onDiskError: (dir: string, err: Error) => void;
  /** Misses on their way upstream, by URI: resolve true once the response is stored. */
  readonly #pending = new Loads<string>();
  /** Stale entries being revalidated in the background (stale-while-revalidate). */
  readonly #revalidating = new Set<StoredResponse>();
  /** Stale entries being validated for a client: resolve true once freshened or replaced. */
  readonly #validating = new Loads<StoredResponse>();
  hits = 0;
  misses = 0;
  /** Invalidations (§4.4) by URI, so that a response requested before one is not stored after it. */
  readonly #invalidations = new Invalidations();

  /** What the revalidator (revalidator.ts) needs of this cache. */
  readonly #deps: RevalidatorDeps = {
    now: () => this.#now(),
    stamp: (uri) => this.#invalidations.stamp(uri),
    saved: (entry, request, stamp) => {
      if (this.#invalidations.unchanged(entry.uri, stamp)) this.disk?.write(entry, request.headers);
    },
    resize: (entry, size) => this.store.resize(entry, size),
  };

  /** What comes back from upstream: passed on, and stored where it may be (storing.ts). */
  readonly #storing: Storing;
  /** The other workers' caches (peers.ts); null in a single process. */
  #peers: CachePeers | null = null;

  constructor(options: ProxyCacheOptions = {}) {
    this.store = new MemoryStore(options.maxSize ?? PROXY_CACHE_SIZE, httpRevalidator(this.#deps));
    this.#storing = new Storing(this.store, () => this.disk, this.#invalidations, (uri) => this.#peers?.('invalidate', uri));
    this.#now = options.now ?? Date.now;
    this.#collapseWait = options.collapseWait ?? COLLAPSE_WAIT;
    this.#onDiskError = options.onDiskError ?? ((dir, err) => void process.stderr.write(`streamstack: ProxyCacheDir ${dir}: ${err.message}; caching in memory only\n`));
    this.setDisk(options.dir ?? null, options.dirSize ?? PROXY_CACHE_DIR_SIZE);
  }

  /** Resolves once the disk tier's index is read (at once without one). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Uses `dir` as the disk tier (null: none). The same directory keeps its
   * index and files; another one is opened and indexed in the background,
   * and requests wait for that. A directory that cannot be used leaves the
   * cache in memory only.
   */
  setDisk(dir: string | null, maxBytes: number): void {
    if (dir === (this.disk?.dir ?? null)) return;
    if (dir === null) {
      this.disk = null;
      this.#ready = Promise.resolve();
      return;
    }
    const disk = new DiskStore(dir, maxBytes);
    disk.peers = this.#peers;
    this.disk = disk;
    this.#opening = true;
    const ready: Promise<void> = disk.open().catch((err: unknown) => {
      if (this.disk === disk) this.disk = null;
      this.#onDiskError(dir, err instanceof Error ? err : new Error(String(err)));
    }).finally(() => {
      if (this.#ready === ready) this.#opening = false;
    });
    this.#ready = ready;
  }

  /** Under workers: what this cache changes is told to `peers`, and `fromPeer` hears theirs. */
  setPeers(peers: CachePeers): void {
    this.#peers = peers;
    if (this.disk !== null) this.disk.peers = peers;
  }

  /** What another worker's cache changed (peers.ts); resolves once this cache follows. */
  async fromPeer(m: CacheMessage): Promise<void> {
    if (m.op === 'invalidate') {
      this.#invalidations.mark(m.key);
      this.store.invalidate(m.key);
      this.disk?.peerInvalidated(m.key);
    } else if (m.op === 'stored') await this.disk?.peerStored(m.key);
    else await this.disk?.peerRemoved(m.key);
  }

  /**
   * The reply to `request` when a fresh response stored in memory gives it
   * at once, with no promise between (as the FILE module's loadNow), else
   * null: then `handle`, which would give the same reply.
   */
  handleNow(request: Request): Reply | null {
    const method = request.method;
    if (this.#opening || (method !== 'GET' && method !== 'HEAD')) return null;
    const h = request.headers;
    // If-Match and If-Unmodified-Since go upstream (handle).
    if (h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined) return null;
    const uri = effectiveUri(request);
    if (uri === null) return null;
    const entry = this.store.find(uri, h);
    if (entry === null) return null;
    const c = new Check(request, requestDirectives(h));
    return this.#fresh(entry, c) ? this.#hit(request, entry, c.age, `hit; ttl=${c.use.ttl}`) : null;
  }

  /** The reply to `request`, from the store or through `load`. Never rejects. */
  async handle(request: Request, load: Load): Promise<Reply> {
    const uri = effectiveUri(request);
    const method = request.method;
    if (uri === null) return withStatus(await load(request), 'fwd=bypass');
    if (method !== 'GET' && method !== 'HEAD') {
      const reply = await load(request);
      if (isUnsafe(method) && reply.status >= 200 && reply.status < 400) this.#storing.invalidate(uri, reply);
      return withStatus(reply, 'fwd=method');
    }
    const reqCC = requestDirectives(request.headers);
    await this.#ready;
    const selected = this.store.select(uri, request.headers);
    const entry = selected.entry ?? (await this.#fromDisk(uri, request));
    const known = selected.known || entry !== null;
    // If-Match and If-Unmodified-Since are the origin's to evaluate (RFC 9110 §13.2.1): forwarded as they are.
    if (entry !== null && request.headers['if-match'] === undefined && request.headers['if-unmodified-since'] === undefined) {
      return this.#fromEntry(request, uri, entry, reqCC, load);
    }
    // §5.2.1.7: nothing stored that may answer it.
    if (reqCC.has('only-if-cached')) return onlyIfCached(request);
    this.misses++;
    return this.#miss(request, uri, reqCC, known ? 'vary-miss' : 'uri-miss', load);
  }

  /** Forgets everything (a restart). */
  flush(): void {
    this.store.flush();
  }

  setMaxSize(bytes: number): void {
    this.store.setMax(bytes);
  }

  /** A response the disk tier holds for this request, read back and kept in memory too. */
  async #fromDisk(uri: string, request: Request): Promise<StoredResponse | null> {
    const disk = this.disk;
    if (disk === null || !disk.has(uri, request.headers)) return null;
    const entry = await disk.load(uri, request.headers);
    if (entry === null) return null;
    entry.size = entrySize(entry.headers, entry.body);
    this.store.put(entry, request.headers);
    return entry;
  }

  /** Whether `entry` may answer as it is: the memory cache asks the revalidator (and touches it), or, not kept, it is asked here. */
  #fresh(entry: StoredResponse, c: Check): boolean {
    const m = entry.memory;
    return m !== undefined && m.inCache ? this.store.cache.fresh(m, c) : checkFreshness(entry, c, this.#now());
  }

  /** §4.3 through the memory cache (which drops a response found changed), or directly when it is not kept. */
  #revalidate(entry: StoredResponse, c: Check): Promise<boolean> {
    const m = entry.memory;
    return m !== undefined && m.inCache ? this.store.cache.revalidate(m, c) : validate(entry, c, this.#deps);
  }

  async #fromEntry(request: Request, uri: string, entry: StoredResponse, reqCC: CacheControl, load: Load): Promise<Reply> {
    const c = new Check(request, reqCC);
    if (this.#fresh(entry, c)) return this.#hit(request, entry, c.age, `hit; ttl=${c.use.ttl}`);
    const use = c.use as Extract<Usability, { kind: 'validate' }>;
    const age = c.age;
    if (reqCC.has('only-if-cached')) return onlyIfCached(request);
    if (use.staleWhileRevalidate) {
      // RFC 5861 §3: served stale while one background revalidation runs.
      this.#background(request, uri, entry, load);
      return this.#hit(request, entry, age, `hit; ttl=${use.ttl}; detail=stale-while-revalidate`);
    }
    return this.#validate(request, uri, entry, reqCC, use, load);
  }

  #hit(request: Request, entry: StoredResponse, age: number, status: string): Reply {
    this.hits++;
    this.store.touch(entry);
    const unchanged = notModified(entry, request.headers);
    const reply = entryReply(entry, request, age, `${NAME}; ${status}`, unchanged);
    return unchanged ? reply : rangeReply(entry, request, reply);
  }

  /**
   * §4.3: the stored response validated with the upstream, then served,
   * replaced, or served stale. Concurrent validations of one entry are
   * collapsed: the later ones wait for the first and use what it brought.
   */
  async #validate(request: Request, uri: string, entry: StoredResponse, reqCC: CacheControl, use: Extract<Usability, { kind: 'validate' }>, load: Load): Promise<Reply> {
    const inflight = this.#validating.get(entry);
    if (inflight !== undefined) {
      await within(inflight, this.#collapseWait);
      const again = this.store.find(uri, request.headers);
      if (again !== null) {
        const c = new Check(request, reqCC);
        if (this.#fresh(again, c)) return this.#hit(request, again, c.age, `fwd=stale; fwd-status=${again.status}; collapsed`);
        if (again !== entry) return this.#validate(request, uri, again, reqCC, c.use as Extract<Usability, { kind: 'validate' }>, load);
      }
    }
    const done = this.#validating.lead(entry);
    try {
      return await this.#validateNow(request, uri, entry, reqCC, use, load, done);
    } catch (err) {
      done(false);
      throw err;
    }
  }

  async #validateNow(
    request: Request, uri: string, entry: StoredResponse, reqCC: CacheControl, use: Extract<Usability, { kind: 'validate' }>, load: Load,
    done: (validated: boolean) => void,
  ): Promise<Reply> {
    const c = new Check(request, reqCC, uri, load, true);
    await this.#revalidate(entry, c);
    if (c.failed !== null) throw c.failed;
    const reply = c.reply;
    if (reply === null) {
      done(true);
      return this.#hit(request, entry, currentAge(entry, this.#now()), 'fwd=stale; fwd-status=304');
    }
    const sub = c.sub!;
    const t = c.received!;
    if (reply.status >= 500 && use.staleIfError) {
      // RFC 5861 §4: an error within the allowed staleness: the stale response instead.
      discard(reply);
      done(false);
      return this.#hit(request, entry, currentAge(entry, this.#now()), `fwd=stale; fwd-status=${reply.status}; detail=stale-if-error`);
    }
    request.errors.push(...sub.errors);
    if (reply.error !== undefined && reply.status === 502 && mayNotServeStale(entry.cc)) {
      // §5.2.2.2, §5.2.2.8: disconnected, the cache must answer with an error of its own, 504 rather than 502.
      done(false);
      return mustRevalidate(request, reply.error);
    }
    if (reply.status === 304) {
      // Another representation's validator: the entry (dropped by the memory cache) cannot be freshened with it; fetch it whole.
      done(false);
      this.store.remove(entry);
      return this.#miss(request, uri, reqCC, 'stale', load);
    }
    return this.#storing.passOn(request, uri, reply, reqCC, t, 'stale', done);
  }

  /** RFC 5861 §3: one background validation of a stale entry, nobody waiting for it. */
  #background(request: Request, uri: string, entry: StoredResponse, load: Load): void {
    if (this.#revalidating.has(entry)) return;
    this.#revalidating.add(entry);
    const c = new Check(request, NO_CC, uri, load, false);
    void this.#revalidate(entry, c).then(() => {
      const reply = c.reply;
      // Freshened by a 304, or the load failed: nothing more to do.
      if (reply === null || c.failed !== null) return;
      if (reply.status < 500 && reply.status !== 304) {
        const stored = this.#storing.passOn(c.sub!, uri, reply, NO_CC, c.received!, 'stale', null);
        // Nobody reads it: the body is drained into the store.
        if (stored.body instanceof Readable) stored.body.resume();
        return;
      }
      discard(reply);
    }).catch(() => {
      // Nobody waits for it: a failure leaves the entry stale, and the next request validates it.
    }).finally(() => this.#revalidating.delete(entry));
  }

  /** A miss: upstream, or after the miss already on its way for this URI. */
  async #miss(request: Request, uri: string, reqCC: CacheControl, why: string, load: Load): Promise<Reply> {
    const plain = request.method === 'GET' && !request.upgrade && !reqCC.has('no-store') && CONDITIONAL.every((f) => request.headers[f] === undefined);
    const pending = plain ? this.#pending.get(uri) : undefined;
    if (pending !== undefined) {
      // Collapsed forwarding: wait for the one on its way; if it was stored, it may answer this one too.
      if (await within(pending, this.#collapseWait)) {
        const entry = this.store.find(uri, request.headers);
        const c = new Check(request, reqCC);
        if (entry !== null && this.#fresh(entry, c)) return this.#hit(request, entry, c.age, `fwd=${why}; fwd-status=${entry.status}; collapsed`);
      }
      return this.#forward(request, uri, reqCC, why, load, null);
    }
    if (!plain) return this.#forward(request, uri, reqCC, why, load, null);
    const done = this.#pending.lead(uri);
    try {
      return await this.#forward(request, uri, reqCC, why, load, done);
    } catch (err) {
      done(false);
      throw err;
    }
  }

  async #forward(request: Request, uri: string, reqCC: CacheControl, why: string, load: Load, done: ((stored: boolean) => void) | null): Promise<Reply> {
    const requestTime = this.#now();
    const stamp = this.#invalidations.stamp(uri);
    const reply = await load(request);
    return this.#storing.passOn(request, uri, reply, reqCC, { requestTime, responseTime: this.#now(), stamp }, why, done);
  }
}

const NO_CC: CacheControl = new Map();

function withStatus(reply: Reply, status: string): Reply {
  reply.headers['Cache-Status'] = `${NAME}; ${status}${status.startsWith('fwd=') && status !== 'fwd=bypass' ? `; fwd-status=${reply.status}` : ''}`;
  if (reply.originDate !== undefined) reply.headers.Date = reply.originDate;
  return reply;
}

function onlyIfCached(request: Request): Reply {
  const reply = errorReply(request.fail(new HttpError('WWW_ERR_PROXY_ONLY_IF_CACHED')));
  reply.headers['Cache-Status'] = `${NAME}; detail=only-if-cached`;
  return reply;
}

/** must-revalidate, proxy-revalidate, or s-maxage (which implies proxy-revalidate for a shared cache, §5.2.2.10). */
function mayNotServeStale(cc: CacheControl): boolean {
  return cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('s-maxage');
}

function mustRevalidate(request: Request, cause: HttpError): Reply {
  const reply = errorReply(request.fail(new HttpError('WWW_ERR_PROXY_MUST_REVALIDATE', cause.message, { cause })));
  reply.headers['Cache-Status'] = `${NAME}; fwd=stale; detail=must-revalidate`;
  return reply;
}

/** A reply not passed on: its body is let go. */
function discard(reply: Reply): void {
  if (reply.body instanceof Readable) reply.body.destroy();
}
