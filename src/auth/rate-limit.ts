// Failed authentication attempts per client address: past a number of
// failures in a window, the address is refused (429) until the window ends,
// even with the right password, so a password cannot be guessed faster than
// that. The table is bounded: past its size the oldest address is dropped.

export interface LimiterOptions {
  /** Failures allowed in one window (default 10). */
  maxFailures?: number;
  /** The window in ms (default one minute), counted from an address's first failure. */
  windowMs?: number;
  /** Addresses tracked at most (default 10,000). */
  maxAddresses?: number;
}

interface Window {
  start: number;
  failures: number;
}

export class FailureLimiter {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #table = new Map<string, Window>();

  constructor(options: LimiterOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
  }

  get size(): number {
    return this.#table.size;
  }

  /** 0 when `address` may try, else the seconds until it may (for Retry-After). */
  blockedFor(address: string, now: number): number {
    const w = this.#current(address, now);
    if (w === undefined || w.failures < this.#maxFailures) return 0;
    return Math.max(1, Math.ceil((w.start + this.#windowMs - now) / 1000));
  }

  fail(address: string, now: number): void {
    const w = this.#current(address, now);
    if (w !== undefined) {
      w.failures++;
      return;
    }
    if (this.#table.size >= this.#maxAddresses) this.#table.delete(this.#table.keys().next().value!);
    this.#table.set(address, { start: now, failures: 1 });
  }

  /** The address's window, unless it has ended (then it is forgotten). */
  #current(address: string, now: number): Window | undefined {
    const w = this.#table.get(address);
    if (w !== undefined && now - w.start >= this.#windowMs) {
      this.#table.delete(address);
      return undefined;
    }
    return w;
  }
}
