// The write guards of PUT and DELETE across workers: the FILE module checks
// a precondition and renames under a lock per path (protocols/file-write.ts);
// with several processes on one document root that lock must hold in all of
// them. The primary arbitrates it over the cluster's IPC channel: a worker
// asks for a key, waits for the grant, and frees it after its commit. The
// primary frees whatever a worker held or waited for when the worker exits,
// so a crash never leaves a stale lock (a lock file on disk would).
//
// Messages, JSON over the channel:
//   worker → primary  { streamstack: 'lock', id, key }   { streamstack: 'unlock', id }
//   primary → worker  { streamstack: 'granted', id }

import type { SharedLock } from '../protocols/file-write.js';

export interface LockMessage {
  streamstack: 'lock' | 'unlock' | 'granted';
  id: number;
  key?: string;
}

export function isLockMessage(m: unknown): m is LockMessage {
  const t = (m as { streamstack?: unknown } | null)?.streamstack;
  return (t === 'lock' || t === 'unlock' || t === 'granted') && typeof (m as LockMessage).id === 'number';
}

/** What a worker sends and hears on: the cluster's channel to the primary. */
export interface Channel {
  send(message: LockMessage): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** The worker's side: a SharedLock whose grants come from the primary. */
export class LockClient implements SharedLock {
  readonly #channel: Channel;
  #next = 0;
  readonly #waiting = new Map<number, () => void>();

  constructor(channel: Channel) {
    this.#channel = channel;
    channel.on('message', (m) => {
      if (!isLockMessage(m) || m.streamstack !== 'granted') return;
      const granted = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      granted?.();
    });
  }

  acquire(key: string): Promise<() => void> {
    const id = ++this.#next;
    return new Promise((resolve) => {
      let freed = false;
      const release = (): void => {
        if (freed) return;
        freed = true;
        this.#channel.send({ streamstack: 'unlock', id } satisfies LockMessage);
      };
      this.#waiting.set(id, () => resolve(release));
      this.#channel.send({ streamstack: 'lock', id, key } satisfies LockMessage);
    });
  }
}

interface Claim {
  readonly worker: number;
  readonly id: number;
}

/** The primary's side: for each key its holder and a FIFO of claims waiting for it. */
export class LockArbiter {
  readonly #send: (worker: number, message: LockMessage) => void;
  /** Per key, the holder first, then the waiting claims in arrival order. */
  readonly #queues = new Map<string, Claim[]>();
  /** Where each claim is, to free it by id: `worker:id` → key. */
  readonly #keys = new Map<string, string>();

  constructor(send: (worker: number, message: LockMessage) => void) {
    this.#send = send;
  }

  /** Keys held or waited for now (for tests and the status page). */
  get size(): number {
    return this.#queues.size;
  }

  handle(worker: number, m: LockMessage): void {
    if (m.streamstack === 'lock' && typeof m.key === 'string') {
      const claim = { worker, id: m.id };
      const name = `${worker}:${m.id}`;
      if (this.#keys.has(name)) return;
      this.#keys.set(name, m.key);
      const queue = this.#queues.get(m.key);
      if (queue === undefined) {
        this.#queues.set(m.key, [claim]);
        this.#send(worker, { streamstack: 'granted', id: m.id });
      } else {
        queue.push(claim);
      }
    } else if (m.streamstack === 'unlock') {
      this.#free(worker, m.id);
    }
  }

  /** A worker is gone: what it held passes on, what it waited for is forgotten. */
  releaseAll(worker: number): void {
    for (const [key, queue] of [...this.#queues]) {
      const holder = queue[0]!;
      const rest = queue.filter((c) => c.worker !== worker);
      for (const c of queue) if (c.worker === worker) this.#keys.delete(`${worker}:${c.id}`);
      this.#settle(key, rest, holder.worker === worker);
    }
  }

  #free(worker: number, id: number): void {
    const name = `${worker}:${id}`;
    const key = this.#keys.get(name);
    if (key === undefined) return;
    this.#keys.delete(name);
    const queue = this.#queues.get(key)!;
    const at = queue.findIndex((c) => c.worker === worker && c.id === id);
    queue.splice(at, 1);
    this.#settle(key, queue, at === 0);
  }

  /** The queue after a removal: the next claim is granted when the holder left. */
  #settle(key: string, queue: Claim[], holderLeft: boolean): void {
    if (queue.length === 0) {
      this.#queues.delete(key);
      return;
    }
    this.#queues.set(key, queue);
    if (holderLeft) this.#send(queue[0]!.worker, { streamstack: 'granted', id: queue[0]!.id });
  }
}
