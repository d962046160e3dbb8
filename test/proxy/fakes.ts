// Fakes for the proxy tests: upstream servers over raw sockets that read
// requests with their own small reader (never the code under test) and
// answer with literal bytes, and a streamstack Server built from rule text.

import * as net from 'node:net';
import * as os from 'node:os';
import { Server, type ServerOptions } from '../../src/server.js';
import { parseRules } from '../../src/rules/index.js';

export interface UpstreamRequest {
  method: string;
  target: string;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  /** Name, value pairs in order, as received. */
  fields: [string, string][];
  body: Buffer;
  /** The n-th connection the fake accepted (from 1), and the n-th request on it. */
  connection: number;
  index: number;
}

export type Answer = (request: UpstreamRequest, socket: net.Socket) => void;

export interface Fake {
  port: number;
  origin: string;
  /** Connections accepted so far. */
  connections: number;
  /** Connections that have closed. */
  closed: number;
  requests: UpstreamRequest[];
  sockets: Set<net.Socket>;
  /** Resolves when `n` connections have closed. */
  closedCount(n: number, timeout?: number): Promise<boolean>;
  close(): Promise<void>;
}

const fakes: Fake[] = [];
const servers: Server[] = [];

/** Closes every fake and server the tests started. */
export async function cleanup(): Promise<void> {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
}

/**
 * A fake upstream. `answer` gets each request once its body is complete, or
 * with `raw` the socket alone on connect (the test reads and writes itself).
 */
export function fakeUpstream(answer: Answer | { raw: (socket: net.Socket, connection: number) => void }, port = 0): Promise<Fake> {
  const sockets = new Set<net.Socket>();
  const fake: Fake = {
    port: 0,
    origin: '',
    connections: 0,
    closed: 0,
    requests: [],
    sockets,
    closedCount(n, timeout = 3000) {
      return new Promise((resolve) => {
        const start = Date.now();
        const poll = () => {
          if (fake.closed >= n) return resolve(true);
          if (Date.now() - start > timeout) return resolve(false);
          setTimeout(poll, 10);
        };
        poll();
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((socket) => {
    const connection = ++fake.connections;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      fake.closed++;
    });
    socket.on('error', () => {});
    if (typeof answer !== 'function') return answer.raw(socket, connection);
    let buf = Buffer.alloc(0);
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const parsed = readRequest(buf);
        if (parsed === null) return;
        buf = buf.subarray(parsed.used);
        const request = { ...parsed.request, connection, index: ++index };
        fake.requests.push(request);
        answer(request, socket);
      }
    });
  });
  fakes.push(fake);
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      fake.port = (server.address() as net.AddressInfo).port;
      fake.origin = `http://127.0.0.1:${fake.port}`;
      resolve(fake);
    });
  });
}

/** One complete request at the start of `buf`, or null. */
function readRequest(buf: Buffer): { request: Omit<UpstreamRequest, 'connection' | 'index'>; used: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const [method, target] = lines[0]!.split(' ') as [string, string];
  const headers: Record<string, string> = {};
  const fields: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    const name = line.slice(0, c);
    const value = line.slice(c + 1).trim();
    fields.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  let i = end + 4;
  let body: Buffer;
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', i);
      if (lineEnd === -1) return null;
      const size = parseInt(buf.toString('latin1', i, lineEnd), 16);
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd === -1) return null;
        i = trailerEnd + 4;
        break;
      }
      if (lineEnd + 2 + size + 2 > buf.length) return null;
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      i = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const n = Number(headers['content-length'] ?? 0);
    if (buf.length < i + n) return null;
    body = Buffer.from(buf.subarray(i, i + n));
    i += n;
  }
  return { request: { method, target, headers, fields, body }, used: i };
}

/** A plain response with a length. */
export function respond(socket: net.Socket, status: number, body: string, fields = ''): void {
  socket.write(`HTTP/1.1 ${status} X\r\n${fields}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** A streamstack server with these rules, listening on a free port. */
export async function proxyServer(rules: string, options: ServerOptions = {}): Promise<{ server: Server; port: number }> {
  const server = new Server(parseRules(rules, '/virtual/proxy.rules', { serverRoot: os.tmpdir() }), options);
  servers.push(server);
  const address = await server.listen(0, '127.0.0.1');
  return { server, port: address.port };
}

/** A port nothing listens on (found free, then closed). */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Everything a socket receives, kept, with a wait for a condition on it. */
export interface Received {
  readonly bytes: () => string;
  /** Resolves true once `predicate(all bytes so far)` holds, false after `timeout`. */
  until(predicate: (all: string) => boolean, timeout?: number): Promise<boolean>;
  /** The peer's FIN arrived. */
  ended: boolean;
  closed: boolean;
}

export function received(socket: net.Socket): Received {
  let all = '';
  const r: Received = {
    bytes: () => all,
    ended: false,
    closed: false,
    until(predicate, timeout = 3000) {
      return new Promise((resolve) => {
        const start = Date.now();
        const poll = () => {
          if (predicate(all)) return resolve(true);
          if (Date.now() - start > timeout) return resolve(false);
          setTimeout(poll, 5);
        };
        poll();
      });
    },
  };
  socket.on('data', (c: Buffer) => (all += c.toString('latin1')));
  socket.on('end', () => (r.ended = true));
  socket.on('close', () => (r.closed = true));
  socket.on('error', () => {});
  return r;
}

/**
 * A fake upstream that speaks a toy protocol after a switch: it reads a
 * request head, and `answer` decides what to write. After a 101 it echoes
 * upper-cased what follows, and answers the client's FIN with `bye` and its own.
 */
export function switchingUpstream(answer: (head: string) => string | null): Promise<Fake & { heads: string[]; tunnelled: Received[] }> {
  const heads: string[] = [];
  const tunnelled: Received[] = [];
  return fakeUpstream({
    raw: (socket) => {
      socket.setNoDelay(true);
      let buf = '';
      let switched = false;
      const r = received(socket);
      socket.on('data', (c: Buffer) => {
        if (switched) return void socket.write(c.toString('latin1').toUpperCase());
        buf += c.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.slice(0, end + 4);
        const rest = buf.slice(end + 4);
        buf = '';
        heads.push(head);
        const out = answer(head);
        if (out === null) return;
        socket.write(out);
        if (out.startsWith('HTTP/1.1 101')) {
          switched = true;
          tunnelled.push(r);
          if (rest !== '') socket.write(rest.toUpperCase());
          socket.on('end', () => socket.end('bye'));
        }
      });
    },
  }).then((fake) => Object.assign(fake, { heads, tunnelled }));
}
