// A bounded soak of the proxy: a few thousand requests through the real
// Server to a fake upstream, over keep-alive client connections, with a
// share of clients that reset mid-response, of upstreams that reset before
// answering, and of WebSocket-like Upgrades tunnelled and closed. Afterwards the server's connections, the pools' busy
// and idle sockets, the tunnels and the process's open descriptors are back
// at their baseline: nothing leaks on any of these paths.

import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { cleanup, fakeUpstream, proxyServer, respond, switchingUpstream } from './fakes.js';
import { parseResponses } from '../helpers/wire.js';
import { tunnels } from '../../protocols/http-tunnel.js';
import { awaited } from '../../protocols/poll-end.js';

afterEach(cleanup);

const TOTAL = 3000;
const WORKERS = 8;
const BIG = 'x'.repeat(256 * 1024);
const openFds = () => fs.readdirSync('/proc/self/fd').length;

type Kind = 'ok' | 'abort' | 'reset' | 'upgrade';

/** Request i's kind: one in eight clients resets mid-response, one in ten upstream answers resets, one in 25 switches. */
const kindOf = (i: number): Kind => (i % 8 === 3 ? 'abort' : i % 10 === 7 ? 'reset' : i % 25 === 11 ? 'upgrade' : 'ok');

/** One client connection at a time; requests in sequence on it, a new one after a reset. */
async function worker(port: number, next: () => number | null, seen: Record<Kind | 'bad', number>): Promise<void> {
  let socket: net.Socket | null = null;
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  const open = (): Promise<net.Socket> => new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.on('data', (c: Buffer) => {
      if (s !== socket) return;
      buf = Buffer.concat([buf, c]);
      wake?.();
    });
    s.on('close', () => wake?.());
    s.on('error', () => {});
  });
  const wait = (done: () => boolean) => new Promise<void>((resolve) => {
    const check = () => {
      if (done() || socket === null || socket.destroyed) {
        wake = null;
        resolve();
      }
    };
    wake = check;
    check();
  });
  for (let i = next(); i !== null; i = next()) {
    const kind = kindOf(i);
    if (kind === 'upgrade') {
      // A connection of its own: it stops being HTTP.
      socket?.destroy();
      socket = await open();
      buf = Buffer.alloc(0);
      const s = socket;
      s.write(`GET /upgrade/${i} HTTP/1.1\r\nHost: soak.test\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nping ${i}|`);
      await wait(() => buf.toString('latin1').endsWith(`PING ${i}|`));
      s.end();
      await wait(() => buf.toString('latin1').endsWith('bye'));
      const text = buf.toString('latin1');
      if (text.startsWith('HTTP/1.1 101 ') && text.endsWith(`PING ${i}|bye`)) seen.upgrade++;
      else seen.bad++;
      s.destroy();
      socket = null;
      continue;
    }
    if (socket === null || socket.destroyed) {
      socket = await open();
      buf = Buffer.alloc(0);
    }
    socket.write(`GET /${kind}/${i} HTTP/1.1\r\nHost: soak.test\r\n\r\n`);
    if (kind === 'abort') {
      await wait(() => buf.length > 1024);
      socket.resetAndDestroy();
      socket = null;
      seen.abort++;
      continue;
    }
    await wait(() => parseResponses(buf).length > 0);
    const [response] = parseResponses(buf);
    const expected = kind === 'ok' ? 200 : 502;
    if (response === undefined || response.status !== expected || (kind === 'ok' && response.body.toString() !== `ok ${i}`)) seen.bad++;
    else seen[kind]++;
    buf = Buffer.alloc(0);
    if (response?.headers.connection === 'close') {
      socket.destroy();
      socket = null;
    }
  }
  socket?.destroy();
}

describe('proxy soak', () => {
  it(`${TOTAL} requests with client aborts and upstream resets leave no connection, pooled socket or descriptor behind`, async () => {
    const up = await fakeUpstream((req, socket) => {
      const [, kind, i] = req.target.split('/');
      if (kind === 'reset') return void socket.resetAndDestroy();
      if (kind === 'abort') return respond(socket, 200, BIG);
      respond(socket, 200, `ok ${i}`);
    });
    const ws = await switchingUpstream(() => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n');
    const { server, port } = await proxyServer(`Proxy /upgrade/* ${ws.origin}/*\nProxy /* ${up.origin}/*\nProxyIdleTimeout 300ms\nProxyMaxConnections 8`);
    const baseline = openFds();
    let issued = 0;
    const next = () => (issued < TOTAL ? issued++ : null);
    const seen = { ok: 0, abort: 0, reset: 0, upgrade: 0, bad: 0 };
    await Promise.all(Array.from({ length: WORKERS }, () => worker(port, next, seen)));
    expect(seen.bad).toBe(0);
    expect(seen.ok + seen.abort + seen.reset + seen.upgrade).toBe(TOTAL);
    expect(seen.upgrade).toBeGreaterThan(TOTAL / 50);
    expect(seen.abort).toBeGreaterThan(TOTAL / 10);
    expect(seen.reset).toBeGreaterThan(TOTAL / 20);

    let state = '';
    for (let t = 0; t < 100; t++) {
      const pools = server.proxy.pools.stats();
      const busy = pools.reduce((n, p) => n + p.busy + p.waiting, 0);
      const idle = pools.reduce((n, p) => n + p.idle, 0);
      state = JSON.stringify({ connections: server.http.connections, busy, idle, tunnels: tunnels.open, awaited: awaited.count, fds: openFds() - baseline, upstream: up.sockets.size + ws.sockets.size });
      if (state === JSON.stringify({ connections: 0, busy: 0, idle: 0, tunnels: 0, awaited: 0, fds: 0, upstream: 0 })) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(state).toBe(JSON.stringify({ connections: 0, busy: 0, idle: 0, tunnels: 0, awaited: 0, fds: 0, upstream: 0 }));
    expect(server.http.check()).toEqual([]);
    // A hang fails by the test's own time bound; speed is the benchmark's business.
  }, 60_000);
});
