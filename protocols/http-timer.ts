// The one timer of a connection, server side (http-connection.ts) and
// upstream side (http-client-pool.ts). What a connection waits for (a head,
// the next request, body bytes, the client to read; an upstream's answer, its
// body, its next use) changes with every request, and arming a Node timer
// each time would cost more than the request. So the timer fires at most
// every `period()` and compares the clock with the deadline of the current
// wait: switching between waits, or pushing a deadline back when bytes
// move, only stores numbers. A timeout of 0 means none: that wait never
// expires. The kinds of wait are each side's own numbers, 0 being none.

export const enum Wait {
  None,
  Header,
  KeepAlive,
  Body,
  Write,
  /** After our FIN, reading and dropping what the client still sends. */
  Linger,
}

/** The deadline `ms` from `now`; a timeout of 0 (or less) is none. */
function deadlineOf(now: number, ms: number): number {
  return ms > 0 ? now + ms : Infinity;
}

export class WaitTimer<K extends number = Wait> {
  /** What the connection waits for now (0: nothing). */
  kind = 0 as K;
  /** When that wait expires (ms since the epoch). */
  deadline = 0;
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires. */
  #timerAt = 0;
  readonly #period: () => number;
  readonly #expired: (kind: K) => void;
  readonly #keepRhythm: () => boolean;

  /**
   * `period` gives how far ahead an armed timer may fire at most (the
   * shortest timeout in force, or a tick); `expired` is called once a wait's
   * deadline has passed; `keepRhythm` says whether to keep ticking with
   * nothing to wait for (work in flight will soon wait again).
   */
  constructor(period: () => number, expired: (kind: K) => void, keepRhythm: () => boolean) {
    this.#period = period;
    this.#expired = expired;
    this.#keepRhythm = keepRhythm;
  }

  /** Starts waiting for `kind`, `ms` from now (0: no deadline). */
  set(kind: K, ms: number): void {
    this.kind = kind;
    const now = Date.now();
    const deadline = deadlineOf(now, ms);
    this.deadline = deadline;
    if (deadline === Infinity) return;
    // Every deadline lies at least one period ahead, so an armed timer fires in time.
    if (this.#timer !== null && this.#timerAt <= deadline) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#arm(now, Math.min(ms, this.#period()));
  }

  /** Moves the deadline of the current wait, if it is `kind`, to `ms` from now. */
  extend(kind: K, ms: number): void {
    if (this.kind === kind) this.deadline = deadlineOf(Date.now(), ms);
  }

  /** Nothing to wait for; the timer keeps its rhythm. */
  idle(): void {
    this.kind = 0 as K;
  }

  /** Stops for good (the connection closed). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.kind = 0 as K;
  }

  #arm(now: number, ms: number): void {
    this.#timerAt = now + ms;
    this.#timer = setTimeout(() => this.#fire(), ms);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = null;
    const now = Date.now();
    const left = this.kind === 0 ? Infinity : this.deadline - now;
    if (left > 0) {
      // Keep the rhythm even with nothing to wait for, so a later wait never re-arms.
      if (left !== Infinity || this.#keepRhythm()) this.#arm(now, Math.min(left, this.#period()));
      return;
    }
    const kind = this.kind;
    this.kind = 0 as K;
    this.#expired(kind);
  }
}
