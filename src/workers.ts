// Workers (`--workers N`, `Workers N|auto`): a primary process and N workers
// on one port, as nginx's master and workers, built on node:cluster. The
// primary owns the listening socket (the cluster hands each accepted
// connection to a worker in turn) and serves nothing itself: it forks the
// workers, prints the start line once they all listen, relays SIGHUP,
// SIGUSR1, SIGTERM and SIGINT to each, replaces a worker that dies (backing
// off while they keep dying) and arbitrates the write locks of PUT and
// DELETE (src/cluster-lock.ts). Each worker runs the server as a single
// process would, and reads the rule file itself.
//
// Messages over the cluster's channel, besides the locks (a message that
// reaches a worker before its code listens is lost, so the primary holds
// what it has for a worker until the worker says hello):
//   worker → primary  { streamstack: 'hello' }              it listens to the channel
//   primary → worker  { streamstack: 'setup', tls? }        before it starts
//                     { streamstack: 'signal', name, force } a relayed signal
//   worker → primary  { streamstack: 'listening', lines }   what a single process prints at start
//                     { streamstack: 'failed', code, text }  why it could not start, before exiting
// and for the status page, which adds up every worker's numbers:
//   worker → primary  { streamstack: 'status', id }          the page is asked for
//   primary → workers { streamstack: 'status-ask', id }      each answers
//   workers → primary { streamstack: 'status-part', id, status }
//   primary → worker  { streamstack: 'status-all', id, parts }
// and for the HTTP cache, whose workers act as one (src/http-cache/peers.ts):
//   worker → primary → every other worker  { streamstack: 'cache', op, key }

import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { LockArbiter, LockClient, isLockMessage } from './cluster-lock.js';
import type { LockMessage } from './cluster-lock.js';
import { combine } from './status-workers.js';
import type { Status } from './status.js';
import { isCacheMessage, type CacheMessage, type CachePeers } from './http-cache/peers.js';

/** Relayed signals: a stop (SIGTERM, SIGINT), a restart (SIGHUP), a log reopen (SIGUSR1). */
export type RelayedSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGUSR1';

/** What every worker gets before it starts: what the primary made once (a self-signed certificate). */
export interface WorkerSetup {
  tls?: { cert: string; key: string };
}

/** A worker that lived this long was healthy: the backoff starts again from nothing. */
export const STABLE_MS = 10_000;
/** The first delay of a backoff, doubled at each early death up to MAX_DELAY_MS. */
export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 30_000;
/** After a second signal, workers that have not exited are killed. */
const FORCE_KILL_MS = 3000;
/** The status page waits this long for the workers' numbers; one that is silent (stuck, dying) is left out. */
const STATUS_WAIT_MS = 1000;

type Message =
  | { streamstack: 'hello' }
  | { streamstack: 'setup'; tls?: { cert: string; key: string } }
  | { streamstack: 'signal'; name: RelayedSignal; force: boolean }
  | { streamstack: 'listening'; lines: string[] }
  | { streamstack: 'failed'; code: number; text: string }
  | { streamstack: 'status'; id: number }
  | { streamstack: 'status-ask'; id: number }
  | { streamstack: 'status-part'; id: number; status: Status }
  | { streamstack: 'status-all'; id: number; parts: Status[] };

function kind(m: unknown): string | undefined {
  const t = (m as { streamstack?: unknown } | null)?.streamstack;
  return typeof t === 'string' ? t : undefined;
}

/** The delay before the next replacement, after `failures` early deaths in a row (0: at once). */
export function backoff(failures: number): number {
  return failures === 0 ? 0 : Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failures - 1));
}

/** `auto`: one per CPU the process may use. */
export function workerCount(n: number | 'auto' | undefined, cpus: () => number): number {
  return n === 'auto' ? Math.max(1, cpus()) : n ?? 1;
}

// --- in a worker ----------------------------------------------------------------

/**
 * A message to the primary. With a callback, a channel closing under it is
 * that callback's error, not the process's: the cluster ends a worker whose
 * primary is gone anyway.
 */
function tell(message: Message | LockMessage | CacheMessage): void {
  if (process.send !== undefined && process.connected) process.send(message, undefined, undefined, () => {});
}

/**
 * A worker's link to its primary. Made first thing in a worker's main, so
 * that no message sent while the worker starts is lost: a relayed signal
 * that arrives before the server is made waits for `onSignal`.
 */
export class PrimaryLink {
  readonly setup: Promise<WorkerSetup>;
  /** The write locks, granted by the primary. */
  readonly locks = new LockClient({ send: tell, on: (event, listener) => process.on(event, listener) });
  #onSignal: ((name: RelayedSignal, force: boolean) => void) | null = null;
  #pending: [RelayedSignal, boolean][] = [];
  #ownStatus: (() => Status) | null = null;
  #asked = 0;
  readonly #gathering = new Map<number, (parts: Status[]) => void>();
  #onCache: ((m: CacheMessage) => void) | null = null;
  /** What this worker's HTTP cache changed, for the others (peers.ts). */
  readonly cachePeers: CachePeers = (op, key) => tell({ streamstack: 'cache', op, key });

  constructor() {
    let resolve: (s: WorkerSetup) => void = () => {};
    this.setup = new Promise((r) => (resolve = r));
    process.on('message', (m: unknown) => {
      const k = kind(m);
      if (k === 'setup') resolve({ ...((m as WorkerSetup).tls !== undefined && { tls: (m as WorkerSetup).tls }) });
      else if (k === 'signal') {
        const { name, force } = m as { name: RelayedSignal; force: boolean };
        if (this.#onSignal === null) this.#pending.push([name, force]);
        else this.#onSignal(name, force);
      } else if (k === 'status-ask' && this.#ownStatus !== null) {
        const { id } = m as { id: number };
        tell({ streamstack: 'status-part', id, status: this.#ownStatus() });
      } else if (k === 'status-all') {
        const { id, parts } = m as { id: number; parts: Status[] };
        this.#gathering.get(id)?.(parts);
      } else if (isCacheMessage(m)) this.#onCache?.(m);
    });
    tell({ streamstack: 'hello' });
  }

  /** How this worker's own numbers are taken, when the primary asks for them. */
  answerStatus(own: () => Status): void {
    this.#ownStatus = own;
  }

  /** Every worker's numbers added up, through the primary; this one's alone if the primary does not answer. */
  gatherStatus(own: Status): Promise<Status> {
    const id = ++this.#asked;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done([own]), STATUS_WAIT_MS * 2);
      const done = (parts: Status[]): void => {
        clearTimeout(timer);
        this.#gathering.delete(id);
        // The primary may have asked before this worker was ready to answer: its own numbers are these.
        resolve(combine(parts.some((p) => p.pid === own.pid) ? parts : [...parts, own], own.pid));
      };
      this.#gathering.set(id, done);
      tell({ streamstack: 'status', id });
    });
  }

  /** What the other workers' HTTP caches changed (before this is set, nothing is cached to change). */
  onCache(handler: (m: CacheMessage) => void): void {
    this.#onCache = handler;
  }

  onSignal(handler: (name: RelayedSignal, force: boolean) => void): void {
    this.#onSignal = handler;
    for (const [name, force] of this.#pending.splice(0)) handler(name, force);
  }

  /** The worker listens: `lines` are what a single process prints at this point. */
  listening(lines: string[]): void {
    tell({ streamstack: 'listening', lines });
  }

  /** The worker could not start: the primary reports it, once. Resolves when sent. */
  failed(code: number, text: string): Promise<void> {
    return new Promise((resolve) => {
      if (process.send === undefined || !process.connected) resolve();
      else process.send({ streamstack: 'failed', code, text } satisfies Message, undefined, undefined, () => resolve());
    });
  }
}

// --- in the primary ---------------------------------------------------------------

interface Slot {
  worker: Worker;
  /** What the primary has for it before its hello; null once it listens. */
  inbox: unknown[] | null;
  startedAt: number;
  /** Why it could not start, when it said so. */
  failure: { code: number; text: string } | null;
  listening: boolean;
}

export interface PrimaryOptions {
  count: number;
  setup: WorkerSetup;
  out?: (text: string) => void;
  err?: (text: string) => void;
  now?: () => number;
}

/**
 * Runs the primary until a stop: resolves to the exit code, 0 after a stop
 * (every worker gone), or the code of a worker that could not start.
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const out = options.out ?? ((t: string) => void process.stdout.write(t));
  const err = options.err ?? ((t: string) => void process.stderr.write(t));
  const now = options.now ?? Date.now;
  const slots = new Map<number, Slot>();
  const timers = new Set<NodeJS.Timeout>();
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let failures = 0;
  let signals = 0;
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((r) => (done = r));
  let startFailure: number | null = null;

  const send = (worker: Worker, message: unknown): void => {
    const inbox = slots.get(worker.id)?.inbox;
    if (inbox) inbox.push(message);
    else if (worker.isConnected()) worker.send(message as object, undefined, () => {});
  };
  const arbiter = new LockArbiter((id, m) => {
    const slot = slots.get(id);
    if (slot !== undefined) send(slot.worker, m);
  });

  // The status page: a round of questions to every listening worker, answered when all have replied or time is up.
  let rounds = 0;
  const gathering = new Map<number, { parts: Status[]; waiting: Set<number>; finish: () => void }>();
  const gather = (asker: Worker, askerId: number): void => {
    const id = ++rounds;
    const waiting = new Set([...slots.values()].filter((s) => s.listening).map((s) => s.worker.id));
    const parts: Status[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      gathering.delete(id);
      send(asker, { streamstack: 'status-all', id: askerId, parts } satisfies Message);
    };
    const timer = setTimeout(finish, STATUS_WAIT_MS);
    gathering.set(id, { parts, waiting, finish });
    for (const wid of waiting) send(slots.get(wid)!.worker, { streamstack: 'status-ask', id } satisfies Message);
    if (waiting.size === 0) finish();
  };
  const answered = (worker: Worker, id: number, status: Status): void => {
    const g = gathering.get(id);
    if (g === undefined || !g.waiting.delete(worker.id)) return;
    g.parts.push(status);
    if (g.waiting.size === 0) g.finish();
  };

  const fork = (): void => {
    const worker = cluster.fork();
    // A channel closing under a send, or a spawn that fails: the exit that follows is what counts.
    worker.on('error', () => {});
    slots.set(worker.id, { worker, inbox: [], startedAt: now(), failure: null, listening: false });
    send(worker, { streamstack: 'setup', ...options.setup } satisfies Message);
  };

  const relay = (name: RelayedSignal, force: boolean): void => {
    for (const slot of slots.values()) send(slot.worker, { streamstack: 'signal', name, force } satisfies Message);
  };

  const finishIfEmpty = (): void => {
    if (slots.size > 0) return;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    done(startFailure ?? 0);
  };

  cluster.on('message', (worker: Worker, m: unknown) => {
    const slot = slots.get(worker.id);
    if (slot === undefined) return;
    if (isLockMessage(m)) {
      arbiter.handle(worker.id, m);
      return;
    }
    if (isCacheMessage(m)) {
      // To every other worker that listens; one still starting indexes the directory as it finds it.
      for (const other of slots.values()) if (other !== slot && other.inbox === null) send(other.worker, m);
      return;
    }
    const k = kind(m);
    if (k === 'hello') {
      const inbox = slot.inbox ?? [];
      slot.inbox = null;
      for (const message of inbox) send(worker, message);
    } else if (k === 'status') gather(worker, (m as { id: number }).id);
    else if (k === 'status-part') answered(worker, (m as { id: number }).id, (m as { status: Status }).status);
    else if (k === 'failed') {
      const f = m as { code: number; text: string };
      slot.failure = { code: f.code, text: f.text };
    } else if (k === 'listening') {
      slot.listening = true;
      const lines = (m as { lines: string[] }).lines;
      if (phase === 'starting') {
        if ([...slots.values()].every((s) => s.listening)) {
          phase = 'running';
          const pids = [...slots.values()].map((s) => s.worker.process.pid).join(', ');
          out(`streamstack: ${slots.size} workers (pids ${pids})\n`);
          out(lines.join(''));
        }
      } else if (phase === 'running') {
        out(`streamstack: worker ${worker.process.pid} listening\n`);
      }
    }
  });

  // The exit of a process may be seen before the last messages on its
  // channel (why it failed): the channel's end comes after them.
  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    if (worker.isConnected()) worker.once('disconnect', () => exited(worker, code, signal));
    else exited(worker, code, signal);
  });
  const exited = (worker: Worker, code: number | null, signal: string | null): void => {
    const slot = slots.get(worker.id);
    if (slot === undefined) return;
    slots.delete(worker.id);
    arbiter.releaseAll(worker.id);
    // A status round waits for no worker that is gone.
    for (const g of gathering.values()) if (g.waiting.delete(worker.id) && g.waiting.size === 0) g.finish();
    const pid = worker.process.pid;
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    if (phase === 'stopping') {
      finishIfEmpty();
      return;
    }
    if (phase === 'starting') {
      // A worker that cannot start: the start fails, as a single process's would.
      err(slot.failure?.text ?? `streamstack: worker ${pid} ${how} while starting\n`);
      startFailure = slot.failure?.code ?? 1;
      phase = 'stopping';
      for (const s of slots.values()) s.worker.process.kill('SIGKILL');
      finishIfEmpty();
      return;
    }
    if (slot.failure !== null) {
      for (const line of slot.failure.text.trimEnd().split('\n')) err(`streamstack: worker ${pid}: ${line.replace(/^streamstack: /, '')}\n`);
    }
    if (now() - slot.startedAt >= STABLE_MS) failures = 0;
    const delay = backoff(failures);
    failures++;
    err(`streamstack: worker ${pid} ${how}; replacing it${delay === 0 ? '' : ` in ${delay / 1000} s`}\n`);
    if (delay === 0) {
      fork();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (phase === 'running') fork();
    }, delay);
    timers.add(timer);
  };

  const onStop = (name: 'SIGTERM' | 'SIGINT'): void => {
    if (++signals > 1) {
      out(`streamstack: ${name} again, exiting now\n`);
      relay(name, true);
      const kill = setTimeout(() => {
        for (const s of slots.values()) s.worker.process.kill('SIGKILL');
      }, FORCE_KILL_MS);
      kill.unref();
      return;
    }
    out(`streamstack: ${name}, stopping\n`);
    phase = 'stopping';
    for (const t of timers) clearTimeout(t);
    timers.clear();
    relay(name, false);
    finishIfEmpty();
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGHUP', () => relay('SIGHUP', false));
  process.on('SIGUSR1', () => relay('SIGUSR1', false));

  for (let i = 0; i < options.count; i++) fork();
  return finished;
}
