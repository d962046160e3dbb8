// The memory cache's list on its own (protocols/file-cache.ts): put, touch,
// remove, invalidate, setLimits and flush in any order keep one list whose
// links, count and byte total agree (FileCache.check), and every call
// returns. A document that left the cache while a request held it (its stat
// in flight) is never linked back by a touch. Random sequences are compared
// with a plain model: an array, oldest first.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Anchor } from '../../src/anchor.js';
import { makeFormat } from '../../src/format.js';
import { CachedVariant, FileCache, FileDocument } from '../../protocols/file-cache.js';
import type { Binding } from '../../protocols/file-variants.js';

const BINDING: Binding = { format: makeFormat('text/plain'), contentType: 'text/plain' };

function doc(anchor: Anchor, real: string, size: number, gzip = 0): FileDocument {
  const identity = new CachedVariant(real, Buffer.alloc(size, 'x'), 1000, BINDING, null);
  const gz = gzip > 0 ? new CachedVariant(real + '.gz', Buffer.alloc(gzip, 'z'), 1000, BINDING, 'gzip') : null;
  return new FileDocument(anchor, '/root', null, identity, null, gz, 0, null);
}

describe('a document that left the cache', () => {
  it('is not linked back by touch: put A, B, C (A evicted), touch A, touch B, put D returns', () => {
    const cache = new FileCache(1000, 2500);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => doc(new Anchor(`file:/r/${n}`), `/r/${n}`, 1000));
    cache.put(a!);
    cache.put(b!);
    cache.put(c!);
    expect(cache.count).toBe(2); // a was the oldest
    cache.touch(a!); // its stat was in flight while b and c came in
    cache.check();
    cache.touch(b!);
    cache.check();
    expect(cache.put(d!)).toBe(true);
    expect(cache.check()).toEqual([b, d]);
    expect([cache.count, cache.total]).toEqual([2, 2000]);
  });

  it('touch says whether it was in the cache', () => {
    const cache = new FileCache(1000, 2500);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => doc(new Anchor(`file:/r/${n}`), `/r/${n}`, 1000));
    for (const d of [a!, b!, c!]) cache.put(d);
    expect([cache.touch(a!), cache.touch(b!), cache.touch(c!)]).toEqual([false, true, true]);
    expect(cache.check()).toEqual([b, c]);
  });

  it('stays out after remove, invalidate and flush', () => {
    const cache = new FileCache(1000, 10_000);
    const anchor = new Anchor('file:/r/a');
    const a = doc(anchor, '/r/a', 100);
    for (const drop of [() => cache.remove(a), () => cache.invalidate('/r/a.gz'), () => cache.flush()]) {
      cache.put(a);
      expect(anchor.document).toBe(a);
      drop();
      expect(anchor.document).toBeUndefined();
      expect(cache.touch(a)).toBe(false);
      expect(cache.check()).toEqual([]);
    }
  });

  it('a single document is in the cache, though it has no neighbour', () => {
    const cache = new FileCache(1000, 10_000);
    const a = doc(new Anchor('file:/r/a'), '/r/a', 100);
    cache.put(a);
    expect(a.inCache).toBe(true);
    expect(cache.touch(a)).toBe(true);
    cache.remove(a);
    expect(a.inCache).toBe(false);
    cache.remove(a); // twice: nothing more
    expect([cache.count, cache.total]).toEqual([0, 0]);
  });
});

/** The cache as a plain array, oldest first, with the same rules. */
class Model {
  order: FileDocument[] = [];
  cost = new Map<FileDocument, number>();
  byAnchor = new Map<Anchor, FileDocument>();

  constructor(public maxFile: number, public maxTotal: number) {}

  get total(): number {
    let n = 0;
    for (const d of this.order) n += this.cost.get(d)!;
    return n;
  }

  has(d: FileDocument): boolean {
    return this.order.includes(d);
  }

  put(d: FileDocument): boolean {
    const old = this.byAnchor.get(d.anchor);
    if (old !== undefined) this.remove(old);
    const cost = d.measure();
    if (cost > this.maxTotal) return false;
    this.order.push(d);
    this.cost.set(d, cost);
    this.byAnchor.set(d.anchor, d);
    this.evict();
    return true;
  }

  touch(d: FileDocument): boolean {
    if (!this.has(d)) return false;
    this.order.splice(this.order.indexOf(d), 1);
    this.order.push(d);
    return true;
  }

  /** The stack added a body: charged at once, evicting to stay in bounds. */
  body(d: FileDocument, bytes: number): void {
    if (!this.has(d)) return;
    this.cost.set(d, this.cost.get(d)! + bytes);
    this.evict();
  }

  remove(d: FileDocument): void {
    const i = this.order.indexOf(d);
    if (i !== -1) this.order.splice(i, 1);
    if (this.byAnchor.get(d.anchor) === d) this.byAnchor.delete(d.anchor);
  }

  invalidate(real: string): void {
    for (const d of [...this.order]) if ([d.real, d.real + '.br', d.real + '.gz'].includes(real)) this.remove(d);
  }

  setLimits(maxFile: number, maxTotal: number): void {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
    for (const d of [...this.order]) if (d.size > maxFile) this.remove(d);
    this.evict();
  }

  flush(): void {
    for (const d of [...this.order]) this.remove(d);
  }

  evict(): void {
    while (this.total > this.maxTotal && this.order.length > 0) this.remove(this.order[0]!);
  }
}

type Op =
  | { op: 'put' | 'touch' | 'remove'; i: number }
  | { op: 'invalidate'; i: number; suffix: '' | '.gz' | '.br' }
  | { op: 'body'; i: number; coding: 'gzip' | 'br' | 'deflate'; size: number }
  | { op: 'setLimits'; maxFile: number; maxTotal: number }
  | { op: 'flush' };

const DOCS = 8;
const index = fc.integer({ min: 0, max: DOCS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('put' as const), i: index }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('touch' as const), i: index }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), i: index }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('invalidate' as const), i: index, suffix: fc.constantFrom('' as const, '.gz' as const, '.br' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('body' as const), i: index, coding: fc.constantFrom('gzip' as const, 'br' as const, 'deflate' as const), size: fc.integer({ min: 0, max: 800 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setLimits' as const), maxFile: fc.integer({ min: 0, max: 1200 }), maxTotal: fc.integer({ min: 0, max: 5000 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
);

describe('random sequences', () => {
  it('keep the list, count and total consistent, agree with the model, and return', () => {
    const sizes = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: DOCS, maxLength: DOCS });
    fc.assert(fc.property(sizes, fc.array(op, { maxLength: 60 }), (docSizes, ops) => {
      // Six addresses; documents 6 and 7 are later reads of the first two (same anchor, same file).
      const anchors = Array.from({ length: 6 }, (_, k) => new Anchor(`file:/r/${k}`));
      const docs = docSizes.map((size, i) => doc(anchors[i % 6]!, `/r/${i % 6}`, size, i % 3 === 0 ? Math.ceil(size / 3) : 0));
      const cache = new FileCache(1000, 3000);
      const model = new Model(1000, 3000);
      for (const o of ops) {
        switch (o.op) {
          case 'put':
            expect(cache.put(docs[o.i]!)).toBe(model.put(docs[o.i]!));
            break;
          case 'touch':
            expect(cache.touch(docs[o.i]!)).toBe(model.touch(docs[o.i]!));
            break;
          case 'remove':
            cache.remove(docs[o.i]!);
            model.remove(docs[o.i]!);
            break;
          case 'invalidate':
            cache.invalidate(`/r/${o.i % 6}${o.suffix}`);
            model.invalidate(`/r/${o.i % 6}${o.suffix}`);
            break;
          case 'body': // the stack adds an on-the-fly encoding, charged at once
            if (!docs[o.i]!.bodies.has(o.coding)) {
              docs[o.i]!.bodies.set(o.coding, Buffer.alloc(o.size));
              model.body(docs[o.i]!, o.size);
            }
            break;
          case 'setLimits':
            cache.setLimits(o.maxFile, o.maxTotal);
            model.setLimits(o.maxFile, o.maxTotal);
            break;
          case 'flush':
            cache.flush();
            model.flush();
            break;
        }
        expect(cache.check()).toEqual(model.order);
        expect([cache.count, cache.total]).toEqual([model.order.length, model.total]);
        expect(cache.total).toBeLessThanOrEqual(cache.maxTotal);
        for (const d of docs) expect(d.inCache).toBe(model.has(d));
        for (const a of anchors) expect(a.document).toBe(model.byAnchor.get(a));
      }
    }), { seed: 0x5eed9, numRuns: 400 });
  });
});
