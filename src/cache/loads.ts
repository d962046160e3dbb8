// Load coalescing: concurrent loads of one key share one. The first caller
// leads (it does the work and settles the outcome), the others wait for it
// and then look again at what the cache holds. Used by the FILE module for
// concurrent misses of a document and by the HTTP cache for collapsed
// forwarding (misses of a URI, validations of a stored response).

export type Settle = (usable: boolean) => void;

export class Loads<K> {
  readonly #inflight = new Map<K, Promise<boolean>>();

  /** The load on its way for `key`: resolves true when its outcome is in the cache and usable. */
  get(key: K): Promise<boolean> | undefined {
    return this.#inflight.get(key);
  }

  get size(): number {
    return this.#inflight.size;
  }

  /**
   * `key` has a load on its way, led by the caller; the function returned
   * settles it (true: the outcome is stored and usable) and forgets it. Only
   * the first call of it counts; a later lead for the same key (after a
   * waiter gave up) is not forgotten by an earlier one's settle.
   */
  lead(key: K): Settle {
    let settle!: (usable: boolean) => void;
    const promise = new Promise<boolean>((resolve) => (settle = resolve));
    this.#inflight.set(key, promise);
    return (usable) => {
      if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
      settle(usable);
    };
  }
}
