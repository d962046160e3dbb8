// Upstream groups of the HTTP client module: a Proxy rule with several URLs
// spreads its requests round-robin over them, and passive health keeps a
// member that refused a connection, timed out connecting or could not be
// resolved out of the rotation for a while (nginx's max_fails=1
// fail_timeout=10s). When every member is out, the rotation is tried as it
// is: better a failed attempt than no attempt.

/** How long a failed member is skipped. */
export const DOWN_FOR = 10_000;

/** `http://host:port` of an absolute address (a URL's href: the path always starts with '/'). */
export function originKey(address: string): string {
  const slash = address.indexOf('/', address.indexOf('//') + 2);
  return slash === -1 ? address : address.slice(0, slash);
}

export class UpstreamGroups {
  /** Group (its members' origins) → how many picks it has made. */
  readonly #turns = new Map<string, number>();
  /** Origin → until when it is skipped. */
  readonly #downUntil = new Map<string, number>();
  readonly #now: () => number;
  readonly #downFor: number;

  constructor(now: () => number = Date.now, downFor = DOWN_FOR) {
    this.#now = now;
    this.#downFor = downFor;
  }

  /** The member to try next, skipping `avoid` (the one that just failed) and members that are down. */
  pick(members: readonly string[], avoid: string | null = null): string {
    const n = members.length;
    const origins = members.map(originKey);
    const key = origins.join(' ');
    const turn = this.#turns.get(key) ?? 0;
    this.#turns.set(key, (turn + 1) % n);
    let fallback: string | null = null;
    for (let k = 0; k < n; k++) {
      const i = (turn + k) % n;
      if (origins[i] === avoid) continue;
      if (!this.isDown(origins[i]!)) return members[i]!;
      fallback ??= members[i]!;
    }
    return fallback ?? members[turn]!;
  }

  isDown(origin: string): boolean {
    const until = this.#downUntil.get(origin);
    if (until === undefined) return false;
    if (this.#now() < until) return true;
    this.#downUntil.delete(origin);
    return false;
  }

  down(origin: string): void {
    this.#downUntil.set(origin, this.#now() + this.#downFor);
  }

  up(origin: string): void {
    if (this.#downUntil.size > 0) this.#downUntil.delete(origin);
  }
}
