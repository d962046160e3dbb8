// Fixtures of the HTTP cache tests: a clock the test moves, injected into
// the server (ServerOptions.proxyCache.now); an upstream fake that counts
// every request reaching it and answers from a function of the request and
// the clock; a caching proxy in front of it; one request at a time over a
// raw socket.

import type * as net from 'node:net';
import { fakeUpstream, proxyServer, type Fake, type UpstreamRequest } from '../proxy/fakes.js';
import { exchange, type RawResponse } from '../helpers/wire.js';
import type { Server } from '../../src/server.js';

export { cleanup } from '../proxy/fakes.js';

/** A clock, in ms since the epoch, that moves only when told. Starts on a whole second. */
export class Clock {
  now = Date.UTC(2026, 0, 1, 12, 0, 0);
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
  /** An HTTP-date `seconds` from now. */
  date(seconds = 0): string {
    return new Date(this.now + seconds * 1000).toUTCString();
  }
}

export interface Reply {
  status?: number;
  /** Field lines, each `Name: value`. */
  fields?: string[];
  body?: string;
  /** Without a Date field (by default the fake sends the clock's). */
  noDate?: boolean;
  /** Send the head and this many bytes of the body, then close (a truncated response). */
  truncateAt?: number;
  /** Chunked instead of Content-Length. */
  chunked?: boolean;
}

export interface Setup {
  clock: Clock;
  up: Fake;
  server: Server;
  port: number;
  /** Requests that reached the upstream. */
  readonly count: number;
  /** One request, its one response. `extra` is field lines ending in CRLF. */
  get(path: string, extra?: string, method?: string): Promise<RawResponse>;
}

/** A caching proxy (`ProxyCache /*`) in front of a fake answering with `answer`; `req.index` is the n-th request it received. */
export async function caching(answer: (req: UpstreamRequest, clock: Clock) => Reply, rules = '', maxSize?: number): Promise<Setup> {
  const clock = new Clock();
  // `index` counts every request the fake received, whatever connection it came on (the pool may open more).
  let seq = 0;
  const up = await fakeUpstream((req, socket) => write(socket, answer({ ...req, index: ++seq }, clock), clock, req.method === 'HEAD'));
  const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*\n${rules}`, { proxyCache: { now: () => clock.now, ...(maxSize !== undefined && { maxSize }) } });
  return {
    clock, up, server, port,
    get count() {
      return up.requests.length;
    },
    async get(path, extra = '', method = 'GET') {
      const r = await exchange(port, `${method} ${path} HTTP/1.1\r\nHost: cache.test\r\n${extra}\r\n`, { responses: 1, heads: method === 'HEAD' ? [0] : [] });
      if (r.responses.length !== 1) throw new Error(`no response to ${method} ${path}: ${r.raw.toString('latin1')}`);
      return r.responses[0]!;
    },
  };
}

export function write(socket: net.Socket, r: Reply, clock: Clock, head = false): void {
  const status = r.status ?? 200;
  const body = Buffer.from(r.body ?? '');
  let out = `HTTP/1.1 ${status} X\r\n`;
  if (!r.noDate) out += `Date: ${clock.date()}\r\n`;
  for (const f of r.fields ?? []) out += `${f}\r\n`;
  const noBody = status === 204 || status === 304 || head;
  if (r.chunked) out += 'Transfer-Encoding: chunked\r\n';
  else if (status !== 204 && status !== 304) out += `Content-Length: ${body.length}\r\n`;
  out += '\r\n';
  if (noBody) return void socket.write(out);
  if (r.truncateAt !== undefined) {
    socket.write(Buffer.concat([Buffer.from(out, 'latin1'), body.subarray(0, r.truncateAt)]));
    setTimeout(() => socket.destroy(), 20);
    return;
  }
  if (r.chunked) {
    socket.write(out + (body.length > 0 ? `${body.length.toString(16)}\r\n${body.toString('latin1')}\r\n` : '') + '0\r\n\r\n');
    return;
  }
  socket.write(Buffer.concat([Buffer.from(out, 'latin1'), body]));
}
