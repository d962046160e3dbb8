// The one memory cache (src/cache/) on its own: random sequences of put,
// hit, add-variant, invalidate, evict (an entry removed, an anchor
// dropped), resize (the bound, an entry's fields) over anchors holding
// several entries by secondary key, with check() after every step: bytes
// counted = bytes held, the bound held, the index consistent, no anchor
// holding an entry the cache dropped. A plain model says which entries
// must be in. Fixed seeds; a seed that once failed stays as a case.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Anchor, AnchorTable } from '../../src/anchor.js';
import { CacheEntry } from '../../src/cache/entry.js';
import { MemoryCache } from '../../src/cache/memory-cache.js';
import { Loads } from '../../src/cache/loads.js';

/** An entry as a module makes one: its identity bytes, a secondary key, fields charged besides. */
class Entry extends CacheEntry {
  readonly size: number;
  readonly mtimeMs = 0;
  readonly etag = '';
  checkedAt = 0;
  fields: number;
  readonly keys: readonly string[];
  gone = 0;

  constructor(anchor: Anchor, readonly secondary: string, keys: string[], size: number, fields: number) {
    super(anchor);
    this.size = size;
    this.fields = fields;
    this.keys = keys;
    this.bodies.set('', Buffer.alloc(size, 'x'));
  }

  extra(): number {
    return this.fields;
  }

  override left(): void {
    this.gone++;
  }
}

const ANCHORS = 4;
const KEYS = ['a', 'b', 'c'];

type Op =
  | { op: 'put'; anchor: number; key: number; size: number; fields: number; dep: number }
  | { op: 'hit'; i: number }
  | { op: 'variant'; i: number; coding: 'gzip' | 'br'; size: number }
  | { op: 'invalidate'; dep: number }
  | { op: 'remove'; i: number }
  | { op: 'drop'; anchor: number }
  | { op: 'bound'; max: number }
  | { op: 'fields'; i: number; fields: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), anchor: fc.nat(ANCHORS - 1), key: fc.nat(KEYS.length - 1), size: fc.nat(900), fields: fc.nat(200), dep: fc.nat(5) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('hit' as const), i: fc.nat(40) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('variant' as const), i: fc.nat(40), coding: fc.constantFrom('gzip' as const, 'br' as const), size: fc.nat(700) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('invalidate' as const), dep: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), i: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('drop' as const), anchor: fc.nat(ANCHORS - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('bound' as const), max: fc.nat(6000) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fields' as const), i: fc.nat(40), fields: fc.nat(300) }) },
);

/** Runs `ops` on a fresh cache, checking after each. */
function run(ops: readonly Op[], maxTotal = 4000): void {
  const anchors = Array.from({ length: ANCHORS }, (_, k) => new Anchor(`http://t/${k}`));
  const cache = new MemoryCache<Entry>({ maxTotal, maxPerAnchor: 2 });
  const made: Entry[] = [];
  const pick = (i: number): Entry | undefined => made[i % Math.max(1, made.length)];
  for (const o of ops) {
    const before = new Set(cache.check(anchors));
    switch (o.op) {
      case 'put': {
        const e = new Entry(anchors[o.anchor]!, KEYS[o.key]!, [`dep${o.dep}`, `dep${(o.dep + 1) % 6}`], o.size, o.fields);
        made.push(e);
        const others = [...cache.on(e.anchor)].filter((x) => x.secondary !== e.secondary);
        const stored = cache.put(e, (old) => old.secondary === e.secondary);
        expect(stored).toBe(e.inCache);
        if (stored) {
          expect(e.anchor.document).toBe(e);
          // The other secondary keys stay, but for the least recently used when the anchor is full.
          expect([...cache.on(e.anchor)].slice(1)).toEqual(others.slice(0, 1).filter((x) => x.inCache));
        }
        for (const x of cache.on(e.anchor)) expect(x === e || x.secondary !== e.secondary).toBe(true);
        break;
      }
      case 'hit': {
        const e = pick(o.i);
        if (e === undefined) break;
        expect(cache.touch(e)).toBe(before.has(e));
        if (before.has(e)) expect(e.anchor.document).toBe(e);
        break;
      }
      case 'variant': {
        // The converter stack adds an encoding, to an entry in the cache or one a request still holds.
        const e = pick(o.i);
        if (e === undefined || e.bodies.has(o.coding)) break;
        const [total, evictions] = [cache.total, cache.evictions];
        e.bodies.set(o.coding, Buffer.alloc(o.size, 'z'));
        // Charged at once: the bound holds now, not at the next hit.
        if (before.has(e) && cache.evictions === evictions) expect(cache.total).toBe(total + o.size);
        if (!before.has(e)) expect(cache.total).toBe(total);
        break;
      }
      case 'invalidate':
        cache.invalidate(`dep${o.dep}`);
        for (const e of before) expect(e.inCache).toBe(!e.keys.includes(`dep${o.dep}`));
        break;
      case 'remove': {
        const e = pick(o.i);
        if (e !== undefined) cache.remove(e);
        expect(e?.inCache ?? false).toBe(false);
        break;
      }
      case 'drop': {
        // The anchor table lets go of the anchor: its entries leave the cache.
        const anchor = anchors[o.anchor]!;
        const on = [...cache.on(anchor)];
        anchor.release();
        expect(anchor.document).toBeUndefined();
        for (const e of on) expect(e.inCache).toBe(false);
        break;
      }
      case 'bound':
        cache.setMaxTotal(o.max);
        break;
      case 'fields': {
        // A 304 merged new fields in: the entry is charged again.
        const e = pick(o.i);
        if (e === undefined || !e.inCache) break;
        const delta = o.fields - e.fields;
        e.fields = o.fields;
        cache.charge(e, delta);
        break;
      }
    }
    const after = cache.check(anchors);
    expect(cache.count).toBe(after.length);
    expect(cache.total).toBeLessThanOrEqual(cache.maxTotal);
    // Whatever left (or was never let in) was told so once, and its anchor no longer reaches it.
    for (const e of made) {
      expect(e.gone).toBe(e.inCache ? 0 : 1);
      if (!e.inCache) expect([...cache.on(e.anchor)]).not.toContain(e);
    }
  }
}

describe('the memory cache under random sequences', () => {
  for (const seed of [1, 0x5eed, 0xcafe, 20261204]) {
    it(`keeps its invariants after every step (seed ${seed})`, () => {
      fc.assert(fc.property(fc.array(op, { maxLength: 80 }), (ops) => run(ops)), { seed, numRuns: 300 });
    });
  }

  it('a variant that pushes the total over the bound evicts at once', () => {
    run([
      { op: 'put', anchor: 0, key: 0, size: 900, fields: 100, dep: 0 },
      { op: 'put', anchor: 1, key: 0, size: 900, fields: 100, dep: 1 },
      { op: 'put', anchor: 2, key: 0, size: 900, fields: 100, dep: 2 },
      { op: 'variant', i: 2, coding: 'gzip', size: 700 },
    ], 3000);
  });
});

describe('evictions', () => {
  it('are counted: the bound, and an anchor over its share of entries', () => {
    const anchors = [new Anchor('http://t/0'), new Anchor('http://t/1')];
    const cache = new MemoryCache<Entry>({ maxTotal: 1000, maxPerAnchor: 2 });
    for (const k of KEYS) cache.put(new Entry(anchors[0]!, k, [], 10, 0), () => false);
    expect([cache.count, cache.evictions]).toEqual([2, 1]);
    cache.put(new Entry(anchors[1]!, 'a', [], 995, 0));
    expect(cache.evictions).toBe(3);
    expect(anchors[0]!.document).toBeUndefined();
    cache.check(anchors);
  });
});

describe('an anchor the anchor table drops', () => {
  it('takes its entries with it, so nothing stays counted that no anchor reaches', () => {
    const table = new AnchorTable(2);
    const cache = new MemoryCache<Entry>({ maxTotal: 10_000 });
    const a = table.get('file:/r/a');
    cache.put(new Entry(a, '', ['/r/a'], 100, 0));
    cache.put(new Entry(table.get('file:/r/b'), '', ['/r/b'], 100, 0));
    expect(cache.count).toBe(2);
    table.get('file:/r/c'); // the table is full: a, the oldest, goes
    expect(a.document).toBeUndefined();
    expect([cache.count, cache.total]).toEqual([1, 100]);
    table.flush();
    expect([cache.count, cache.total]).toEqual([0, 0]);
    cache.check();
  });
});

describe('load coalescing', () => {
  it('concurrent loads of one key share the first; a later lead is not forgotten by an earlier settle', async () => {
    const loads = new Loads<string>();
    const settle = loads.lead('k');
    const waiting = [loads.get('k'), loads.get('k')];
    expect(waiting[0]).toBe(waiting[1]);
    const again = loads.lead('k'); // a waiter gave up and went itself
    settle(true);
    expect(await Promise.all(waiting)).toEqual([true, true]);
    expect(loads.get('k')).toBeDefined();
    again(false);
    expect(loads.get('k')).toBeUndefined();
  });
});
