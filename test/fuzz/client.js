// Plays one connection script on a real socket and records what happened:
// the bytes written before the client stopped, every byte received, and who
// closed. It never judges; check.js does.

import * as net from 'node:net';
import { parseResponses } from './responses.js';

/** How long the client waits, after its script, for what it is owed. */
export const WAIT = {
  /** For the answers to complete requests. */
  answers: 5000,
  /** For the server to close after the client half-closed. */
  afterEnd: 4000,
  /** Quiet time after the last answer, to catch answers nobody asked for. */
  linger: 150,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `conn` against 127.0.0.1:port. `owed(parsed)` says whether the client
 * has everything it may expect; `incompleteTail` whether the last bytes
 * written end inside a request; `stuckLimit` how long the server may keep
 * such a connection open (its header or body timeout, plus slack).
 */
export async function play(port, conn, { owedCount, headKind, incompleteTail, stuckLimit }) {
  const socket = net.connect(port, '127.0.0.1');
  const chunks = [];
  let received = 0;
  const r = {
    written: 0,
    reset: false,
    ended: false,
    serverEnded: false,
    closed: false,
    closedByServer: false,
    error: null,
    /** What the client waited for after its script and did not get. */
    waitedOut: null,
    raw: Buffer.alloc(0),
    /** Moments worth showing in a report: [ms since start, what]. */
    log: [],
  };
  const t0 = Date.now();
  const note = (what) => r.log.push([Date.now() - t0, what]);
  let wake = () => {};
  const changed = () => {
    const w = wake;
    wake = () => {};
    w();
  };
  socket.on('data', (c) => {
    chunks.push(c);
    received += c.length;
    changed();
  });
  socket.on('end', () => {
    r.serverEnded = true;
    note('server FIN');
    changed();
  });
  socket.on('close', () => {
    r.closed = true;
    if (!r.reset && !destroying) r.closedByServer = true;
    changed();
  });
  socket.on('error', (err) => {
    r.error ??= err.code ?? err.message;
    note(`socket error ${err.code ?? err.message}`);
  });
  const raw = () => {
    if (chunks.length > 1) chunks.splice(0, chunks.length, Buffer.concat(chunks));
    return chunks[0] ?? Buffer.alloc(0);
  };
  const parsed = () => parseResponses(raw(), headKind, r.closed || r.serverEnded);
  /** Resolves once `done()` or the close, or after ms; true when `done()` held. */
  const until = async (done, ms) => {
    const deadline = Date.now() + ms;
    for (;;) {
      if (done()) return true;
      if (r.closed || Date.now() >= deadline) return false;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.min(50, deadline - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const slowTimers = [];
  let destroying = false;

  await until(() => socket.readyState === 'open', 2000);
  for (const step of conn.steps) {
    if (r.closed || r.reset) break;
    switch (step.op) {
      case 'write':
        if (!socket.writable) break;
        socket.write(conn.stream.subarray(step.from, step.to));
        r.written = step.to;
        break;
      case 'sleep':
        if (step.ms > 0) await sleep(step.ms);
        break;
      case 'await':
        await until(() => parsed().responses.length >= step.count, step.ms);
        break;
      case 'awaitContinue':
        await until(() => {
          const p = parsed();
          return p.responses.length > step.index || p.interim.length > 0;
        }, step.ms);
        break;
      case 'awaitBytes':
        await until(() => received >= step.n, step.ms);
        break;
      case 'slow':
        socket.pause();
        note(`stop reading for ${step.ms} ms`);
        slowTimers.push(setTimeout(() => socket.resume(), step.ms));
        break;
      case 'end':
        socket.end();
        r.ended = true;
        note('client FIN');
        break;
      case 'reset':
        r.reset = true;
        // After either side's FIN, libuv refuses to reset (EINVAL) and the
        // handle would stay open: a plain destroy is all that is left.
        if (step.rst && !r.ended && !r.serverEnded && socket.readyState === 'open') {
          note('client reset (RST)');
          socket.resetAndDestroy();
        } else {
          note('client reset (close)');
          socket.destroy();
        }
        break;
    }
  }

  if (!r.reset && !r.closed) {
    if (r.ended) {
      if (!(await until(() => false, WAIT.afterEnd))) r.waitedOut = r.closed ? null : 'close after the client half-closed';
    } else if (incompleteTail) {
      await until(() => false, stuckLimit);
      if (!r.closed) r.waitedOut = 'close of a connection left with an incomplete request';
    } else {
      // Everything owed, complete, then quiet for a moment.
      let last = -1;
      let quietSince = Date.now();
      const ok = await until(() => {
        const p = parsed();
        if (p.responses.length < owedCount || p.incomplete) return false;
        if (received !== last) {
          last = received;
          quietSince = Date.now();
        }
        return Date.now() - quietSince >= WAIT.linger;
      }, WAIT.answers);
      if (!ok && !r.closed) r.waitedOut = `${owedCount} complete answer(s)`;
    }
  }
  for (const t of slowTimers) clearTimeout(t);
  if (!r.closed) {
    destroying = true;
    socket.resume();
    socket.destroy();
    await until(() => r.closed, 1000);
  }
  // A reset that raced with the server's FIN fails (EINVAL) and leaves the
  // handle open: close it, or the client's socket would pass for a leak.
  if (!r.closed && socket._handle) {
    note('client handle closed by hand');
    socket._handle.close();
    await until(() => r.closed, 200);
  }
  r.raw = raw();
  r.ms = Date.now() - t0;
  return r;
}
