// Raw-socket helpers for wire tests: literal bytes out, responses parsed by a
// small independent reader (never node:http, which hides what must be seen).

import * as net from 'node:net';
import { Readable } from 'node:stream';

export interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  /** Field names in order, as sent. */
  names: string[];
  body: Buffer;
}

export interface Exchange {
  raw: Buffer;
  responses: RawResponse[];
  /** The server closed (or reset) the connection. */
  closed: boolean;
}

/** Parses as many complete responses as `buf` holds. `heads` lists which requests were HEAD. */
export function parseResponses(buf: Buffer, headRequests: ReadonlySet<number> = new Set()): RawResponse[] {
  const out: RawResponse[] = [];
  let i = 0;
  while (i < buf.length) {
    const end = buf.indexOf('\r\n\r\n', i, 'latin1');
    if (end === -1) break;
    const lines = buf.toString('latin1', i, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(lines[0]!);
    if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    const names: string[] = [];
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      const name = line.slice(0, c);
      names.push(name);
      const key = name.toLowerCase();
      const value = line.slice(c + 1).trim();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
    }
    const status = Number(m[1]);
    let j = end + 4;
    let body = Buffer.alloc(0);
    const noBody = headRequests.has(out.length) || status < 200 || status === 204 || status === 304;
    if (status < 200) {
      out.push({ status, reason: m[2]!, headers, names, body });
      i = j;
      continue;
    }
    if (!noBody) {
      if (headers['transfer-encoding'] === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const lineEnd = buf.indexOf('\r\n', j, 'latin1');
          if (lineEnd === -1) return out;
          const size = parseInt(buf.toString('latin1', j, lineEnd), 16);
          if (size === 0) {
            // The trailer section: empty (one CRLF) or field lines up to an empty line.
            const empty = buf.toString('latin1', lineEnd + 2, lineEnd + 4) === '\r\n';
            const trailerEnd = empty ? lineEnd + 2 : buf.indexOf('\r\n\r\n', lineEnd + 2, 'latin1') + 2;
            if (trailerEnd === 1 || trailerEnd + 2 > buf.length) return out;
            j = trailerEnd + 2;
            break;
          }
          if (lineEnd + 2 + size + 2 > buf.length) return out;
          parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
          j = lineEnd + 2 + size + 2;
        }
        body = Buffer.concat(parts);
      } else if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        if (j + n > buf.length) break;
        body = buf.subarray(j, j + n);
        j += n;
      } else {
        body = buf.subarray(j);
        j = buf.length;
      }
    }
    out.push({ status, reason: m[2]!, headers, names, body });
    i = j;
  }
  return out;
}

export interface ExchangeOptions {
  /** Stop once this many final responses have arrived. */
  responses?: number;
  /** Give up after this long (ms). */
  timeout?: number;
  /** Pause between the pieces of `data` (ms). */
  gap?: number;
  /** Half-close after writing. */
  end?: boolean;
  /** Indexes of requests that were HEAD (their responses have no body). */
  heads?: number[];
}

/** Writes `data` (pieces in order) and collects what comes back. */
export function exchange(port: number, data: string | Buffer | (string | Buffer)[], options: ExchangeOptions = {}): Promise<Exchange> {
  return exchangeOver(net.connect(port, '127.0.0.1'), 'connect', data, options);
}

/**
 * exchange() over a socket being opened: writes once `ready` fires. With
 * `rejectEarly`, an error before that rejects (a TLS handshake refused);
 * otherwise it is a close like any other.
 */
export function exchangeOver(
  socket: net.Socket, ready: 'connect' | 'secureConnect', data: string | Buffer | (string | Buffer)[], options: ExchangeOptions = {}, rejectEarly = false,
): Promise<Exchange> {
  const pieces = Array.isArray(data) ? data : [data];
  const heads = new Set(options.heads ?? []);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done = false;
    let opened = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      try {
        resolve({ raw, responses: parseResponses(raw, heads), closed });
      } catch (err) {
        reject(err);
      }
    };
    const timer = setTimeout(() => finish(false), options.timeout ?? 3000);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (options.responses !== undefined) {
        const got = parseResponses(Buffer.concat(chunks), heads).filter((r) => r.status >= 200).length;
        if (got >= options.responses) finish(false);
      }
    });
    socket.on('close', () => finish(true));
    socket.on('error', (err) => {
      if (rejectEarly && !opened && !done) {
        done = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on(ready, async () => {
      opened = true;
      for (let k = 0; k < pieces.length; k++) {
        if (k > 0 && options.gap) await new Promise((r) => setTimeout(r, options.gap));
        if (socket.destroyed) return;
        socket.write(pieces[k]!);
      }
      if (options.end) socket.end();
    });
  });
}

/**
 * Records the server side's socket writes (net.Socket's _write and _writev)
 * while `run` goes, as `write <bytes>` or `writev <bytes>+<bytes>…`: how many
 * times the server woke the kernel, which the client cannot see.
 */
export async function recordWrites(port: number, run: () => Promise<void>): Promise<string[]> {
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
  const { _write, _writev } = proto;
  const calls: string[] = [];
  const mine = (s: net.Socket) => s.localPort === port;
  proto._write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
    if (mine(this)) calls.push(`write ${(chunk as Buffer | string).length}`);
    return _write.call(this, chunk, ...rest);
  };
  proto._writev = function (this: net.Socket, chunks: unknown, ...rest: unknown[]) {
    if (mine(this)) calls.push(`writev ${(chunks as { chunk: Buffer | string }[]).map((c) => c.chunk.length).join('+')}`);
    return _writev.call(this, chunks, ...rest);
  };
  try {
    await run();
  } finally {
    Object.assign(proto, { _write, _writev });
  }
  return calls;
}

/** A connected socket for step-by-step tests. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads from `socket` until `predicate(all bytes so far)` or timeout. */
export function readUntil(socket: net.Socket, predicate: (all: Buffer) => boolean, timeout = 3000): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', done);
      resolve(Buffer.concat(chunks));
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      if (predicate(Buffer.concat(chunks))) done();
    };
    const timer = setTimeout(done, timeout);
    socket.on('data', onData);
    socket.on('close', done);
  });
}

export function waitClose(socket: net.Socket, timeout = 3000): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeout);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;
}

/** A reply body that never ends: `size` bytes every 5 ms; `onDestroy` runs when the server destroys it. */
export function endlessBody(size: number, onDestroy: () => void): Readable {
  return new Readable({
    read() {
      setTimeout(() => this.push(Buffer.alloc(size, 'a')), 5);
    },
    destroy(err, cb) {
      onDestroy();
      cb(err);
    },
  });
}
