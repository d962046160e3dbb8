// The keep-alive pool of the HTTP client module, one per upstream origin
// (libwww HTNet's per-host channel list; undici's Pool). A bounded number of
// connections, requests beyond the bound wait in FIFO order, and idle
// connections are kept for reuse until their idle timeout, the upstream's
// Keep-Alive hint, or the upstream closing them, whichever comes first. An
// idle connection that receives a byte is broken (nothing was asked) and is
// destroyed. Only an exchange that read its response to the end gives its
// connection back; any other ending destroys it (http-client-exchange.ts).

import type { Socket } from 'node:net';
import { HttpError } from '../src/errors.js';
import type { AbortHook } from '../src/request.js';
import { connect, type ConnectOptions, type Origin } from './http-client-connect.js';
import { setReader, type ReadBuffer } from './http-client-reads.js';
import { WaitTimer } from './http-timer.js';

/** What an upstream connection waits for: its next use while idle, or the phase of its exchange. */
export const enum UpstreamWait {
  None,
  /** In the pool, until its idle timeout. */
  Idle,
  /** The request body held back for the upstream's 100 Continue (sent anyway at the end). */
  Continue,
  /** The response head. */
  Head,
  /** Body bytes either way. */
  Body,
}

/**
 * How far ahead a connection's timer may fire at most: a wait of its own
 * length is re-armed only when shorter than this, so with the default
 * timeouts (seconds) an exchange never arms a Node timer.
 */
const TICK = 1_000;

/** What an exchange hears from the connection it holds. */
export interface ConnectionUser {
  /** `owner`: the reused buffer `chunk` is in (http-client-reads.ts), to retain what is kept past the call; null: the chunk is the socket's own. */
  onData(chunk: Buffer, owner: ReadBuffer | null): void;
  onEnd(): void;
  onError(err: Error): void;
  onClose(): void;
  onDrain(): void;
  /** The wait the exchange set on the connection's timer (Continue, Head, Body) is over. */
  onTimeout(kind: UpstreamWait): void;
}

export interface PoolLimits {
  /** Connections to the origin at most, in use, being opened or idle. */
  readonly maxConnections: number;
  /** How long a request may wait for a connection when all are in use. */
  readonly queueTimeout: number;
  readonly connect: ConnectOptions;
}

export interface Lease {
  readonly conn: UpstreamConnection;
  /** The connection carried an exchange before: it may have died while idle. */
  readonly reused: boolean;
}

export class UpstreamConnection {
  readonly socket: Socket;
  readonly #pool: Pool;
  /** The exchange holding it; null while idle. */
  user: ConnectionUser | null = null;
  /** Its one timer: the idle timeout in the pool, the exchange's phases in use. */
  readonly timer: WaitTimer<UpstreamWait>;

  constructor(socket: Socket, pool: Pool) {
    this.socket = socket;
    this.#pool = pool;
    this.timer = new WaitTimer<UpstreamWait>(
      () => TICK,
      (kind) => this.#edge(() => (kind === UpstreamWait.Idle ? this.#broken() : this.user?.onTimeout(kind))),
      () => !socket.destroyed,
    );
    // A plain socket hands its reads here directly (http-client-reads.ts); a TLS one emits 'data'.
    setReader(socket, this.#onData);
    this.#listeners = [
      ['data', this.#onData],
      ['end', () => this.#edge(() => (this.user === null ? this.#broken() : this.user.onEnd()))],
      ['error', (err: Error) => this.#edge(() => (this.user === null ? this.#broken() : this.user.onError(err)))],
      ['close', () => {
        this.timer.stop();
        this.#edge(() => (this.user === null ? this.#broken() : this.user.onClose()));
      }],
      ['drain', () => this.#edge(() => this.user?.onDrain())],
    ];
    for (const [event, listener] of this.#listeners) socket.on(event, listener);
  }

  readonly #listeners: [string, (...args: any[]) => void][];

  #onData = (chunk: Buffer, owner: ReadBuffer | null = null): void => {
    try {
      if (this.user === null) this.#broken();
      else this.user.onData(chunk, owner);
    } catch (err) {
      this.#thrown(err);
    }
  };

  /**
   * The socket leaves HTTP (a 101 to an Upgrade): paused, so no byte is
   * lost, and without this connection's listeners. An error before its new
   * owner listens must not reach the process.
   */
  release(): Socket {
    const socket = this.socket;
    this.timer.stop();
    socket.pause();
    setReader(socket, null);
    for (const [event, listener] of this.#listeners) socket.off(event, listener);
    socket.on('error', () => {});
    this.user = null;
    return socket;
  }

  /**
   * A socket callback is an edge: a throw below it belongs to this
   * connection, never to the process. The socket is destroyed with it, so
   * the exchange ends with the error as its cause.
   */
  #edge(handle: () => void): void {
    try {
      handle();
    } catch (err) {
      this.#thrown(err);
    }
  }

  #thrown(err: unknown): void {
    this.socket.destroy(err instanceof Error ? err : new Error(String(err)));
  }

  /** Idle: it no longer keeps the process alive, and goes after `ms`. */
  idle(ms: number): void {
    this.socket.unref();
    this.timer.set(UpstreamWait.Idle, ms);
  }

  lease(user: ConnectionUser | null): void {
    this.timer.idle();
    this.socket.ref();
    this.user = user;
  }

  /** Closed, timed out or sent something while idle. */
  #broken(): void {
    this.timer.stop();
    this.socket.destroy();
    this.#pool.forgetIdle(this);
  }
}

export interface PoolStats {
  origin: string;
  idle: number;
  busy: number;
  waiting: number;
  /** Bytes written to the upstream connections in use and not yet taken by the kernel. */
  writableLength: number;
}

/**
 * Whose abort stops a wait or a connect (a Request): a wait hears it through
 * a hook, and only a connect makes its AbortSignal.
 */
export interface Abortable {
  readonly signal: AbortSignal;
  addAbortHook(hook: AbortHook): boolean;
  removeAbortHook(hook: AbortHook): void;
}

/** A request waiting for a connection: one object, its abort heard through a hook. */
class Waiter implements AbortHook {
  readonly limits: PoolLimits;
  readonly by: Abortable | null;
  /** When it stops waiting (ms since the epoch); Infinity without a queue timeout. */
  readonly deadline: number;
  readonly #pool: Pool;
  readonly #resolve: (lease: Lease) => void;
  readonly #reject: (err: unknown) => void;

  constructor(pool: Pool, limits: PoolLimits, by: Abortable | null, resolve: (lease: Lease) => void, reject: (err: unknown) => void) {
    this.#pool = pool;
    this.limits = limits;
    this.by = by;
    this.deadline = limits.queueTimeout > 0 ? Date.now() + limits.queueTimeout : Infinity;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  resolve(lease: Lease): void {
    this.by?.removeAbortHook(this);
    this.#resolve(lease);
  }

  reject(err: unknown): void {
    this.by?.removeAbortHook(this);
    this.#reject(err);
  }

  onAbort(): void {
    this.#pool.leave(this, new HttpError('WWW_ERR_REQ_ABORTED'));
  }
}

export class Pool {
  readonly origin: Origin;
  /** Most recently used last: the one the upstream is least likely to have closed goes first. */
  readonly #idle: UpstreamConnection[] = [];
  /** Connections in use or being opened. */
  #busy = 0;
  /** The connections in use (for stats). */
  readonly #active = new Set<UpstreamConnection>();
  readonly #waiting: Waiter[] = [];
  /** Fires at the earliest deadline of the waiters (null: none armed). */
  #queueTimer: NodeJS.Timeout | null = null;
  readonly #onEmpty: (pool: Pool) => void;

  constructor(origin: Origin, onEmpty: (pool: Pool) => void) {
    this.origin = origin;
    this.#onEmpty = onEmpty;
  }

  /** What the pool holds now: connections by state, and bytes queued for the upstream. */
  stats(): PoolStats {
    let writableLength = 0;
    for (const conn of this.#active) writableLength += conn.socket.writableLength;
    return { origin: this.origin.key, idle: this.#idle.length, busy: this.#busy, waiting: this.#waiting.length, writableLength };
  }

  #take(conn: UpstreamConnection): UpstreamConnection {
    this.#busy++;
    this.#active.add(conn);
    conn.lease(null);
    return conn;
  }

  /**
   * A connection for one exchange: an idle one unless `fresh` (at once, with
   * no promise), else a new one while under the bound, else the next one
   * freed. `by`'s abort stops a wait or a connect.
   */
  acquire(limits: PoolLimits, by: Abortable | null, fresh: boolean): Promise<Lease> | Lease {
    if (!fresh) {
      const conn = this.#idle.pop();
      if (conn !== undefined) return { conn: this.#take(conn), reused: true };
    }
    if (this.#busy + this.#idle.length < limits.maxConnections) return this.#open(limits, by);
    if (fresh && this.#idle.length > 0) {
      // Room for a fresh one: the idle connection that stands in its way goes.
      this.#idle.shift()!.socket.destroy();
      return this.#open(limits, by);
    }
    return this.#wait(limits, by);
  }

  /** The exchange read its response to the end: keep the connection for `keepFor` ms, or hand it on. */
  release(conn: UpstreamConnection, keepFor: number): void {
    conn.user = null;
    this.#busy--;
    this.#active.delete(conn);
    if (conn.socket.destroyed || !conn.socket.writable || keepFor <= 0) {
      conn.socket.destroy();
      return this.#next();
    }
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) return waiter.resolve({ conn: this.#take(conn), reused: true });
    conn.idle(keepFor);
    this.#idle.push(conn);
  }

  /** The connection became a tunnel (a 101): it leaves the pool for good, its slot freed. */
  detach(conn: UpstreamConnection): Socket {
    this.#busy--;
    this.#active.delete(conn);
    const socket = conn.release();
    this.#next();
    return socket;
  }

  /** The exchange ended any other way: the connection is destroyed. */
  discard(conn: UpstreamConnection): void {
    conn.user = null;
    conn.socket.destroy();
    this.#busy--;
    this.#active.delete(conn);
    this.#next();
  }

  forgetIdle(conn: UpstreamConnection): void {
    const k = this.#idle.indexOf(conn);
    if (k === -1) return;
    this.#idle.splice(k, 1);
    this.#next();
  }

  /** Destroys the idle connections (shutdown, restart). */
  close(): void {
    for (const conn of this.#idle.splice(0)) conn.socket.destroy();
    this.#next();
  }

  #open(limits: PoolLimits, by: Abortable | null): Promise<Lease> {
    this.#busy++;
    return connect(this.origin, limits.connect, by === null ? null : by.signal).then(
      (socket) => {
        const conn = new UpstreamConnection(socket, this);
        this.#active.add(conn);
        conn.lease(null);
        return { conn, reused: false };
      },
      (err: unknown) => {
        this.#busy--;
        this.#next();
        throw err;
      },
    );
  }

  #wait(limits: PoolLimits, by: Abortable | null): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
      const waiter = new Waiter(this, limits, by, resolve, reject);
      if (by !== null && !by.addAbortHook(waiter)) return reject(new HttpError('WWW_ERR_REQ_ABORTED'));
      this.#waiting.push(waiter);
      if (this.#queueTimer === null && waiter.deadline !== Infinity) this.#armQueueTimer(waiter.deadline);
    });
  }

  /** A waiter leaves the queue with `err` (its request aborted, its wait too long). */
  leave(waiter: Waiter, err: HttpError): void {
    const k = this.#waiting.indexOf(waiter);
    if (k === -1) return;
    this.#waiting.splice(k, 1);
    waiter.reject(err);
    this.#next();
  }

  /** One timer for the whole queue, set for the earliest deadline. */
  #armQueueTimer(deadline: number): void {
    this.#queueTimer = setTimeout(this.#onQueueTimer, Math.max(1, deadline - Date.now()));
    this.#queueTimer.unref();
  }

  #onQueueTimer = (): void => {
    this.#queueTimer = null;
    const now = Date.now();
    let earliest = Infinity;
    for (const waiter of [...this.#waiting]) {
      if (waiter.deadline <= now) this.leave(waiter, new HttpError('WWW_ERR_PROXY_HEAD_TIMEOUT', `${this.origin.key}: no free connection`));
      else if (waiter.deadline < earliest) earliest = waiter.deadline;
    }
    if (earliest !== Infinity && this.#queueTimer === null) this.#armQueueTimer(earliest);
  };

  /** A connection slot may have freed: the first waiter gets an idle connection or a new one. */
  #next(): void {
    const waiter = this.#waiting[0];
    if (waiter === undefined) {
      if (this.#busy === 0 && this.#idle.length === 0) this.#onEmpty(this);
      return;
    }
    const conn = this.#idle.pop();
    if (conn !== undefined) {
      this.#waiting.shift();
      return waiter.resolve({ conn: this.#take(conn), reused: true });
    }
    if (this.#busy < waiter.limits.maxConnections) {
      this.#waiting.shift();
      this.#open(waiter.limits, waiter.by).then((lease) => waiter.resolve(lease), (err: unknown) => waiter.reject(err));
    }
  }
}

/** The pools of one client, by origin (and trust store, for https). */
export class Pools {
  readonly #pools = new Map<string, Pool>();

  get(origin: Origin, key: string): Pool {
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new Pool(origin, (p) => {
        if (this.#pools.get(key) === p) this.#pools.delete(key);
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  stats(): PoolStats[] {
    return [...this.#pools.values()].map((pool) => pool.stats());
  }

  close(): void {
    for (const pool of [...this.#pools.values()]) pool.close();
  }
}
