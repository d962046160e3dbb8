// The one timer of a connection. What the connection waits for (a head, the
// next request, body bytes, the client to read) changes with every request,
// and arming a Node timer each time would cost more than the request. So the
// timer fires at most every `period()` (the shortest timeout) and compares the
// clock with the deadline of the current wait: switching between waits, or
// pushing a deadline back when bytes move, only stores numbers. A timeout
// of 0 means none: that wait never expires.

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

export class WaitTimer {
  /** What the connection waits for now. */
  kind = Wait.None;
  /** When that wait expires (ms since the epoch). */
  deadline = 0;
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires. */
  #timerAt = 0;
  readonly #period: () => number;
  readonly #expired: (kind: Wait) => void;
  readonly #keepRhythm: () => boolean;

  /**
   * `period` gives the shortest timeout in force; `expired` is called once a
   * wait's deadline has passed; `keepRhythm` says whether to keep ticking with
   * nothing to wait for (work in flight will soon wait again).
   */
  constructor(period: () => number, expired: (kind: Wait) => void, keepRhythm: () => boolean) {
    this.#period = period;
    this.#expired = expired;
    this.#keepRhythm = keepRhythm;
  }

  /** Starts waiting for `kind`, `ms` from now (0: no deadline). */
  set(kind: Wait, ms: number): void {
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
  extend(kind: Wait, ms: number): void {
    if (this.kind === kind) this.deadline = deadlineOf(Date.now(), ms);
  }

  /** Nothing to wait for; the timer keeps its rhythm. */
  idle(): void {
    this.kind = Wait.None;
  }

  /** Stops for good (the connection closed). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.kind = Wait.None;
  }

  #arm(now: number, ms: number): void {
    this.#timerAt = now + ms;
    this.#timer = setTimeout(() => this.#fire(), ms);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = null;
    const now = Date.now();
    const left = this.kind === Wait.None ? Infinity : this.deadline - now;
    if (left > 0) {
      // Keep the rhythm even with nothing to wait for, so a later wait never re-arms.
      if (left !== Infinity || this.#keepRhythm()) this.#arm(now, Math.min(left, this.#period()));
      return;
    }
    const kind = this.kind;
    this.kind = Wait.None;
    this.#expired(kind);
  }
}
