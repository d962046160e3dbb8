// The recency ring of the memory cache: an intrusive doubly linked list
// through a head node, least recently used first out. Intrusive, so that a
// hit moves its entry with four pointer writes and no allocation or lookup.
// The ring runs through its head, so every member has both links and no
// other node has any: being linked is being in the cache, with no separate
// flag to drift from the list (STYLE.md §13).

export class RingNode {
  /** Towards the most recently used; the head's is the oldest member. */
  newer: RingNode | null = null;
  /** Towards the least recently used; the head's is the newest member. */
  older: RingNode | null = null;
}

export class Ring<T extends RingNode> {
  /** `older` is the newest member, `newer` the oldest. */
  readonly head = new RingNode();

  constructor() {
    this.head.newer = this.head;
    this.head.older = this.head;
  }

  oldest(): T | null {
    const node = this.head.newer!;
    return node === this.head ? null : (node as T);
  }

  newerThan(node: T): T | null {
    const next = node.newer!;
    return next === this.head ? null : (next as T);
  }

  isNewest(node: T): boolean {
    return this.head.older === node;
  }

  /** In as the newest. */
  link(node: T): void {
    const head = this.head;
    const newest = head.older!;
    node.older = newest;
    node.newer = head;
    newest.newer = node;
    head.older = node;
  }

  unlink(node: T): void {
    node.newer!.older = node.older;
    node.older!.newer = node.newer;
    node.newer = null;
    node.older = null;
  }

  /**
   * The members, oldest first, after checking that the links agree both ways;
   * throws at the first broken link. The walk stops after `max` members, so
   * a broken ring cannot loop.
   */
  walk(max: number): T[] {
    const out: T[] = [];
    let prev: RingNode = this.head;
    for (let node = this.head.newer; node !== this.head; node = node.newer) {
      if (node === null || node.older !== prev) throw new Error(`cache: broken link after ${out.length} entries`);
      if (out.length === max) throw new Error(`cache: more entries in the ring than the ${max} counted`);
      out.push(node as T);
      prev = node;
    }
    if (this.head.older !== prev) throw new Error('cache: the head does not link back to the newest entry');
    return out;
  }
}
