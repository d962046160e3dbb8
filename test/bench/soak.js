#!/usr/bin/env node
// `npm run soak`: a bounded soak of the built server (issue 9). 100,000
// requests spread over about a minute, from loopback clients that mix
// keep-alive, pipelining, one request per connection, aborts in the middle of
// a large download, and malformed requests. Reports the server's RSS and open
// file descriptors at the start and at the end (/proc/PID/status VmRSS,
// /proc/PID/fd), its peak RSS, the requests done and the errors by kind.
// Stops by itself: at the request count, or at twice the planned time.
//
// With --proxy the same load goes through a reverse proxy: the server gets
// `Proxy /* UPSTREAM/*`, and the upstream, in this process, answers the same
// documents from memory over keep-alive connections. A share of requests
// (`?reset`) are reset by the upstream before it answers: each must get a
// 502 and leave nothing behind. The start and the end are measured once
// the proxy's idle upstream connections have timed out (ProxyIdleTimeout).
//
//   node test/bench/soak.js [--proxy] [--requests N] [--seconds S] [--clients N] [--json FILE]

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stop, killAll, rssKiB, gist } from './proc.js';
import { REPO } from './peers.js';
import { scriptOptions, wholeNumber } from './peer-args.js';

const USAGE = `Usage: node test/bench/soak.js [options]

  --requests N   requests in all (default 100000)
  --seconds S    spread them over about S seconds (default 60); the run stops at 2 x S
  --clients N    concurrent client loops (default 32)
  --proxy        through a reverse proxy to an upstream that resets a share of requests
  --json FILE    also write the summary as JSON
  -h, --help     this text
`;

function options() {
  const values = scriptOptions({
    requests: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '60' },
    clients: { type: 'string', default: '32' },
    proxy: { type: 'boolean', default: false },
    json: { type: 'string' },
  }, USAGE);
  return {
    proxy: values.proxy,
    requests: wholeNumber('requests', values.requests, 1),
    seconds: wholeNumber('seconds', values.seconds, 1),
    clients: wholeNumber('clients', values.clients, 1),
    json: values.json,
  };
}

const KiB = 1024;
/** Served documents: small ones for keep-alive and pipelining, big ones to abort. */
function makeRoot() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'streamstack-soak-'));
  const files = {
    '/hello.txt': Buffer.from('Hello, world\n'),
    '/4k.bin': randomBytes(4 * KiB),
    '/64k.bin': randomBytes(64 * KiB),
    '/300k.bin': randomBytes(300 * KiB),
    '/1m.bin': randomBytes(1024 * KiB),
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(path.join(base, name.slice(1)), data);
  return { root: base, files, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** Malformed requests: each must get a 4xx or 5xx and a close. */
const BAD = [
  'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\n Folded: x\r\n\r\n',
  'GET / HTTP/1.1\r\n\r\n',
  'BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
  'GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n',
  'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  `GET /${'x'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
  'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n',
];

/** Reads Content-Length framed responses off a socket, one promise per expected response. */
class Reader {
  #buf = Buffer.alloc(0);
  #waiting = [];
  #closed = null;

  constructor(socket) {
    socket.on('data', (c) => {
      this.#buf = this.#buf.length === 0 ? c : Buffer.concat([this.#buf, c]);
      this.#drain();
    });
    socket.on('error', (err) => {
      this.#closed ??= err.code ?? 'error';
    });
    socket.on('close', () => {
      this.#closed ??= 'closed';
      for (const w of this.#waiting.splice(0)) w.reject(new SoakError(this.#closed === 'closed' ? 'closed' : this.#closed));
    });
  }

  next(timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiting.indexOf(w);
        if (i !== -1) this.#waiting.splice(i, 1);
        reject(new SoakError('timeout'));
      }, timeoutMs);
      const w = {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.#waiting.push(w);
      this.#drain();
      if (this.#closed !== null && this.#waiting.includes(w)) {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        w.reject(new SoakError(this.#closed === 'closed' ? 'closed' : this.#closed));
      }
    });
  }

  #drain() {
    while (this.#waiting.length > 0) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = this.#buf.toString('latin1', 0, end);
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      if (!m) return this.#waiting.shift().reject(new SoakError('parse'));
      const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!cl) return this.#waiting.shift().reject(new SoakError('parse'));
      const total = end + 4 + Number(cl[1]);
      if (this.#buf.length < total) return;
      const res = { status: Number(m[1]), close: /\r\nconnection: *close/i.test(head), body: this.#buf.subarray(end + 4, total) };
      this.#buf = this.#buf.subarray(total);
      this.#waiting.shift().resolve(res);
    }
  }
}

class SoakError extends Error {
  constructor(kind) {
    super(kind);
    this.kind = kind;
  }
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', (err) => reject(new SoakError(`connect ${err.code ?? err.message}`)));
  });
}

/** Longer than the proxy's idle timeout for upstream connections (4 s by default): its pool is empty after it. */
const POOL_EMPTY_MS = 5000;

/**
 * The upstream of --proxy: `files` from memory, keep-alive, requests read in
 * order; a target with `?reset` is reset instead of answered. Returns
 * { port, close() }.
 */
function startUpstream(files) {
  const sockets = new Set();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const target = buf.slice(buf.indexOf(' ') + 1, buf.indexOf(' HTTP/'));
        buf = buf.slice(end + 4);
        if (target.endsWith('?reset')) return void socket.resetAndDestroy();
        const body = files[target];
        if (body === undefined) socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        else socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    }));
  });
}

const get = (target, extra = '') => `GET ${target} HTTP/1.1\r\nHost: soak\r\n${extra}\r\n`;

async function main() {
  const opts = options();
  if (!existsSync(path.join(REPO, 'dist', 'src', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const fx = makeRoot();
  const small = ['/hello.txt', '/hello.txt', '/4k.bin', '/64k.bin'];
  const stats = { done: 0, byKind: {}, errors: {}, aborted: 0, badAnswered: 0 };
  const count = (kind, n = 1) => (stats.byKind[kind] = (stats.byKind[kind] ?? 0) + n);
  const error = (kind) => (stats.errors[kind] = (stats.errors[kind] ?? 0) + 1);
  let server = null;
  let upstream = null;
  const cleanup = () => {
    killAll();
    upstream?.close();
    fx.cleanup();
  };
  process.once('SIGINT', () => (cleanup(), process.exit(130)));
  process.once('SIGTERM', () => (cleanup(), process.exit(143)));
  try {
    let args = [fx.root];
    if (opts.proxy) {
      upstream = await startUpstream(fx.files);
      const rules = path.join(fx.root, 'proxy.rules');
      writeFileSync(rules, `Proxy /* http://127.0.0.1:${upstream.port}/*\n`);
      args = [fx.root, '--rules', rules];
    }
    server = await startServer({ script: path.join(REPO, 'dist', 'src', 'cli.js'), root: fx.root, args, pinning: { pinned: false }, cwd: REPO });
    const { port, pid } = server;
    const fds = () => {
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return NaN;
      }
    };
    // One of each first: the start is measured with every path warm.
    for (const target of Object.keys(fx.files)) {
      const s = await connect(port);
      const r = new Reader(s);
      s.write(get(target, 'Connection: close\r\n'));
      await r.next(5000);
      s.destroy();
    }
    await sleep(opts.proxy ? POOL_EMPTY_MS : 300);
    const start = { rssKiB: rssKiB(pid), fds: fds() };
    let peakRss = start.rssKiB;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssKiB(pid) || 0)), 250);
    console.log(`soak: ${opts.requests} requests over ~${opts.seconds} s, ${opts.clients} clients, server pid ${pid} on 127.0.0.1:${port}` +
      (opts.proxy ? `, proxying to the upstream on port ${upstream.port}` : ''));
    console.log(`soak: start: RSS ${(start.rssKiB / 1024).toFixed(1)} MiB, ${start.fds} open fds`);

    const t0 = Date.now();
    const deadline = t0 + opts.seconds * 2000;
    const rate = opts.requests / (opts.seconds * 1000);
    let issued = 0;
    /** Takes n requests from the budget, paced to `rate`; false once the run is over. */
    const take = async (n) => {
      for (;;) {
        if (issued >= opts.requests || Date.now() >= deadline || server.child.exitCode !== null) return false;
        if (issued < rate * (Date.now() - t0) + 64) {
          issued += n;
          return true;
        }
        await sleep(5);
      }
    };
    const check = (res, target, scenario) => {
      if (res.status !== 200) return error(`${scenario}: status ${res.status}`);
      if (!res.body.equals(fx.files[target])) return error(`${scenario}: wrong bytes`);
      stats.done++;
      count(scenario);
    };
    const pick = (list) => list[Math.floor(Math.random() * list.length)];

    const scenarios = [
      [30, async function keepAlive() {
        const s = await connect(port);
        const r = new Reader(s);
        try {
          for (let k = 20 + Math.floor(Math.random() * 80); k > 0 && (await take(1)); k--) {
            const target = pick([...small, '/300k.bin']);
            s.write(get(target));
            check(await r.next(10_000), target, 'keep-alive');
          }
        } finally {
          s.destroy();
        }
      }],
      [10, async function pipelined() {
        const s = await connect(port);
        const r = new Reader(s);
        try {
          for (let k = 2 + Math.floor(Math.random() * 8); k > 0 && (await take(16)); k--) {
            const targets = Array.from({ length: 16 }, () => pick(small));
            s.write(targets.map((t) => get(t)).join(''));
            for (const t of targets) check(await r.next(10_000), t, 'pipelined');
          }
        } finally {
          s.destroy();
        }
      }],
      [30, async function oneShot() {
        if (!(await take(1))) return;
        const s = await connect(port);
        const r = new Reader(s);
        try {
          const target = pick(small);
          s.write(get(target, 'Connection: close\r\n'));
          check(await r.next(10_000), target, 'connection: close');
        } finally {
          s.destroy();
        }
      }],
      [30, async function abort() {
        if (!(await take(1))) return;
        const s = await connect(port);
        const target = pick(['/300k.bin', '/1m.bin']);
        const stopAt = 1 + Math.floor(Math.random() * 200 * KiB);
        await new Promise((resolve) => {
          let got = 0;
          s.on('data', (c) => {
            got += c.length;
            if (got >= stopAt) {
              // Half the aborts reset (RST), half close (FIN) with data unread.
              if (Math.random() < 0.5) s.resetAndDestroy();
              else s.destroy();
              resolve();
            }
          });
          s.on('close', resolve);
          s.on('error', () => {});
          s.write(get(target));
        });
        stats.aborted++;
        stats.done++;
        count('aborted download');
      }],
      [30, async function bad() {
        if (!(await take(1))) return;
        const s = await connect(port);
        const r = new Reader(s);
        try {
          s.write(pick(BAD));
          const res = await r.next(10_000);
          if (res.status < 400) return error(`bad request: status ${res.status}`);
          if (!res.close) return error('bad request: no Connection: close');
          stats.badAnswered++;
          stats.done++;
          count('bad request');
        } finally {
          s.destroy();
        }
      }],
    ];
    if (opts.proxy) {
      scenarios.push([10, async function upstreamReset() {
        if (!(await take(1))) return;
        const s = await connect(port);
        const r = new Reader(s);
        try {
          s.write(get(`${pick(small)}?reset`));
          const res = await r.next(10_000);
          if (res.status !== 502) return error(`upstream reset: status ${res.status}`);
          stats.done++;
          count('upstream reset');
        } finally {
          s.destroy();
        }
      }]);
    }
    const total = scenarios.reduce((a, [w]) => a + w, 0);
    const choose = () => {
      let x = Math.random() * total;
      for (const [w, fn] of scenarios) if ((x -= w) < 0) return fn;
      return scenarios[0][1];
    };
    let lastProgress = t0;
    const clients = Array.from({ length: opts.clients }, async () => {
      while (issued < opts.requests && Date.now() < deadline && server.child.exitCode === null) {
        const fn = choose();
        try {
          await fn();
        } catch (err) {
          error(`${fn.name}: ${err instanceof SoakError ? err.kind : err.message}`);
        }
        if (Date.now() - lastProgress >= 5000) {
          lastProgress = Date.now();
          console.log(`soak: ${stats.done} done, ${Object.values(stats.errors).reduce((a, b) => a + b, 0)} errors, ` +
            `${((Date.now() - t0) / 1000).toFixed(0)} s, RSS ${(rssKiB(pid) / 1024).toFixed(1)} MiB, ${fds()} fds`);
        }
      }
    });
    await Promise.all(clients);
    const elapsed = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const alive = server.child.exitCode === null && server.child.signalCode === null;
    // Let the server notice every close (and, proxying, close its idle upstream connections) before the end is measured.
    await sleep(opts.proxy ? POOL_EMPTY_MS : 1000);
    const end = { rssKiB: rssKiB(pid), fds: fds() };
    peakRss = Math.max(peakRss, end.rssKiB);
    const summary = {
      proxy: opts.proxy,
      requests: opts.requests,
      done: stats.done,
      seconds: Number(elapsed.toFixed(1)),
      perSecond: Math.round(stats.done / elapsed),
      byKind: stats.byKind,
      errors: stats.errors,
      serverAlive: alive,
      start,
      end,
      peakRssKiB: peakRss,
    };
    console.log(`soak: ${stats.done} of ${opts.requests} requests in ${elapsed.toFixed(1)} s (${summary.perSecond}/s)` +
      `${alive ? '' : `; THE SERVER EXITED (code ${server.child.exitCode}, signal ${server.child.signalCode}): ${gist(server.stderr.text)}`}`);
    for (const [kind, n] of Object.entries(stats.byKind)) console.log(`  ${kind.padEnd(20)} ${n}`);
    const errs = Object.entries(stats.errors);
    console.log(errs.length === 0 ? '  errors: none' : '  errors by kind:');
    for (const [kind, n] of errs) console.log(`    ${kind.padEnd(40)} ${n}`);
    console.log(`soak: start: RSS ${(start.rssKiB / 1024).toFixed(1)} MiB, ${start.fds} fds; ` +
      `end: RSS ${(end.rssKiB / 1024).toFixed(1)} MiB, ${end.fds} fds; peak RSS ${(peakRss / 1024).toFixed(1)} MiB`);
    if (opts.json) writeFileSync(opts.json, JSON.stringify(summary, null, 2) + '\n');
    await stop(server.child);
    return alive && errs.length === 0 ? 0 : 1;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak: ${err.message}`);
    killAll();
    process.exit(2);
  },
);
