// The write locks across workers (src/cluster-lock.ts): the primary's
// arbiter grants a key to one claim at a time, in arrival order, and frees
// what a dead worker held or waited for; the worker's client turns grants
// into the SharedLock that protocols/file-write.ts takes.

import { describe, it, expect } from 'vitest';
import { EventEmitter } from 'node:events';
import { LockArbiter, LockClient } from '../src/cluster-lock.js';
import type { LockMessage } from '../src/cluster-lock.js';
import { PathLocks } from '../protocols/file-write.js';
import { MAX_DELAY_MS, backoff, workerCount } from '../src/workers.js';

function arbiter() {
  const granted: string[] = [];
  const a = new LockArbiter((worker, m) => granted.push(`${worker}:${m.id}`));
  return { a, granted };
}

describe('LockArbiter', () => {
  it('grants a key to one claim at a time, in arrival order; other keys at once', () => {
    const { a, granted } = arbiter();
    a.handle(1, { streamstack: 'lock', id: 1, key: '/r/a' });
    a.handle(2, { streamstack: 'lock', id: 1, key: '/r/a' });
    a.handle(3, { streamstack: 'lock', id: 1, key: '/r/a' });
    a.handle(2, { streamstack: 'lock', id: 2, key: '/r/b' });
    expect(granted).toEqual(['1:1', '2:2']);
    a.handle(1, { streamstack: 'unlock', id: 1 });
    expect(granted).toEqual(['1:1', '2:2', '2:1']);
    a.handle(2, { streamstack: 'unlock', id: 1 });
    a.handle(2, { streamstack: 'unlock', id: 2 });
    expect(granted).toEqual(['1:1', '2:2', '2:1', '3:1']);
    a.handle(3, { streamstack: 'unlock', id: 1 });
    expect(a.size).toBe(0);
  });

  it('a worker that dies frees what it held and forgets what it waited for', () => {
    const { a, granted } = arbiter();
    a.handle(1, { streamstack: 'lock', id: 7, key: '/r/a' });
    a.handle(1, { streamstack: 'lock', id: 8, key: '/r/b' });
    a.handle(2, { streamstack: 'lock', id: 1, key: '/r/b' });
    a.handle(1, { streamstack: 'lock', id: 9, key: '/r/c' });
    a.handle(2, { streamstack: 'lock', id: 2, key: '/r/a' });
    a.handle(1, { streamstack: 'lock', id: 10, key: '/r/a' });
    expect(granted).toEqual(['1:7', '1:8', '1:9']);
    a.releaseAll(1);
    // Worker 2 gets both keys it waited for; worker 1's own waiting claim on /r/a is gone.
    expect(granted.slice(3).sort()).toEqual(['2:1', '2:2']);
    a.handle(2, { streamstack: 'unlock', id: 1 });
    a.handle(2, { streamstack: 'unlock', id: 2 });
    expect(a.size).toBe(0);
    expect(granted).toHaveLength(5);
  });

  it('ignores an unlock it does not know, and a claim made twice', () => {
    const { a, granted } = arbiter();
    a.handle(1, { streamstack: 'unlock', id: 5 });
    a.handle(1, { streamstack: 'lock', id: 1, key: '/r/a' });
    a.handle(1, { streamstack: 'lock', id: 1, key: '/r/a' });
    a.handle(2, { streamstack: 'unlock', id: 1 });
    expect(granted).toEqual(['1:1']);
    expect(a.size).toBe(1);
    a.handle(1, { streamstack: 'unlock', id: 1 });
    expect(a.size).toBe(0);
  });
});

/** A worker's channel wired to an arbiter in the same process, as the cluster's IPC would. */
function wired(a: () => LockArbiter, worker: number) {
  const channel = new EventEmitter() as EventEmitter & { send(m: unknown): boolean };
  channel.send = (m) => {
    setImmediate(() => a().handle(worker, m as LockMessage));
    return true;
  };
  return channel;
}

describe('PathLocks with a shared lock', () => {
  it('serialises the commits of two processes on one key; without it they overlap', async () => {
    const channels = new Map<number, EventEmitter>();
    const arb = new LockArbiter((worker, m) => setImmediate(() => channels.get(worker)!.emit('message', m)));
    const c1 = wired(() => arb, 1);
    const c2 = wired(() => arb, 2);
    channels.set(1, c1).set(2, c2);
    const p1 = new PathLocks(new LockClient(c1));
    const p2 = new PathLocks(new LockClient(c2));
    let inside = 0;
    let most = 0;
    const commit = async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? p1 : p2).run('/r/a', commit)));
    expect(most).toBe(1);
    // The last unlock is on its way over the channel.
    await new Promise((r) => setTimeout(r, 10));
    expect(arb.size).toBe(0);
    // Without a shared lock, two processes' commits overlap: what the arbiter prevents.
    const q1 = new PathLocks();
    const q2 = new PathLocks();
    most = 0;
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? q1 : q2).run('/r/a', commit)));
    expect(most).toBe(2);
  });

  it('a commit that throws still frees the key', async () => {
    const channels = new Map<number, EventEmitter>();
    const arb = new LockArbiter((worker, m) => setImmediate(() => channels.get(worker)!.emit('message', m)));
    const c1 = wired(() => arb, 1);
    channels.set(1, c1);
    const p = new PathLocks(new LockClient(c1));
    await expect(p.run('/r/a', async () => {
      throw new Error('disk full');
    })).rejects.toThrow('disk full');
    await new Promise((r) => setTimeout(r, 10));
    expect(arb.size).toBe(0);
  });
});

describe('the backoff of replacements', () => {
  it('none at first, then doubling from 0.5 s, capped at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map(backoff)).toEqual([0, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(MAX_DELAY_MS).toBe(30_000);
  });

  it('auto is the CPUs, at least one; a number is itself; nothing is one', () => {
    expect(workerCount('auto', () => 6)).toBe(6);
    expect(workerCount('auto', () => 0)).toBe(1);
    expect(workerCount(3, () => 6)).toBe(3);
    expect(workerCount(undefined, () => 6)).toBe(1);
  });
});
