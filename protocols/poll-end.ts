// Writes that leave together at the end of the event loop's poll phase.
//
// Loopback peers on another CPU (an upstream, a load generator, a browser)
// are woken by each write that reaches them, and a wakeup is what a small
// write costs most. The work one turn of the loop brings (the reads of every
// connection that became readable) often ends in writes to the same peers:
// put off to the check phase (setImmediate), they leave back to back, and
// a peer woken by the first finds the others ready. That turn of the loop
// runs the check phase right after its reads: no timer, no delay beyond
// those reads.
//
// Only worth it when other work is coming: `awaited` counts the replies the
// server is waiting for (http-connection.ts). Writes with nothing else
// awaited go at once, as a lone request's should.

/** What runs at the end of the poll phase. */
export interface AtPollEnd {
  atPollEnd(): void;
}

/** Replies being awaited, on every connection (exported for tests). */
export const awaited = { count: 0 };

let tasks: AtPollEnd[] = [];
let spare: AtPollEnd[] = [];

/** Runs `task.atPollEnd()` at the end of this turn's poll phase; each task says for itself what went wrong. */
export function atPollEnd(task: AtPollEnd): void {
  if (tasks.length === 0) setImmediate(runAll);
  tasks.push(task);
}

function runAll(): void {
  // Tasks queued while these run go to the next turn.
  const list = tasks;
  tasks = spare;
  for (let i = 0; i < list.length; i++) list[i]!.atPollEnd();
  list.length = 0;
  spare = list;
}
