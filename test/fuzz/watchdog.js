// A hang that blocks the event loop (an endless loop in the server) would
// freeze the fuzzer too, since both share the process: nothing of ours would
// run again to report it. A worker thread, with its own loop, watches a
// heartbeat the main thread stores in shared memory; when it stops for
// `stallMs`, the worker writes the sequence being played straight to fd 2
// (a worker's process.stderr goes through the blocked main thread) and kills
// the process.

import { Worker } from 'node:worker_threads';

const WATCHER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
let current = '(before the first sequence)';
parentPort.on('message', (text) => { current = text; });
setInterval(() => {
  const stalled = Date.now() - workerData.t0 - Atomics.load(workerData.beat, 0);
  if (stalled < workerData.stallMs) return;
  fs.writeSync(2, '\\nFAIL the event loop has been blocked for ' + stalled + ' ms: the process hangs\\n' + current + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 250);
`;

export function startWatchdog(stallMs = 5000) {
  const t0 = Date.now();
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const tick = () => Atomics.store(beat, 0, Date.now() - t0);
  tick();
  const timer = setInterval(tick, 100);
  timer.unref();
  const worker = new Worker(WATCHER, { eval: true, workerData: { beat, t0, stallMs } });
  worker.unref();
  return {
    /** What to print if the loop stalls from now on. */
    describe(text) {
      worker.postMessage(text);
    },
    async stop() {
      clearInterval(timer);
      await worker.terminate();
    },
  };
}
