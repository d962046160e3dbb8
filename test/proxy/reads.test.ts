// Plain upstream sockets read into reused buffers (protocols/http-client-reads.ts):
// a chunk written to the client keeps its buffer until the kernel has it, and
// whatever is kept longer is a copy. A buffer handed to the next read too
// early corrupts the bytes a slow client has not taken yet, so every body here
// is random (no repeated piece that a wrong buffer could still match) and every
// client stops reading for a while, so that the proxy's writes queue up: the bodies are
// larger than what loopback sockets buffer in the kernel (several MiB each way).

import { afterEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { cleanup, fakeUpstream, proxyServer } from './fakes.js';
import { connect, sleep } from '../helpers/wire.js';
import { readBuffers } from '../../protocols/http-client-reads.js';

afterEach(cleanup);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

/** Sends `request` and reads the reply slowly: nothing for `stall` ms, then in bursts with pauses. */
async function slowRead(port: number, request: string, stall: number, until: (all: Buffer) => boolean): Promise<Buffer> {
  const socket = await connect(port);
  const parts: Buffer[] = [];
  let length = 0;
  socket.pause();
  socket.on('data', (c: Buffer) => {
    parts.push(c);
    length += c.length;
  });
  socket.write(request);
  await sleep(stall);
  const deadline = Date.now() + 50_000;
  while (Date.now() < deadline) {
    socket.resume();
    await sleep(5);
    socket.pause();
    const all = Buffer.concat(parts, length);
    if (until(all)) {
      socket.destroy();
      return all;
    }
    await sleep(15);
  }
  socket.destroy();
  throw new Error(`incomplete after 50 s: ${length} bytes`);
}

/**
 * Writes `bytes` a few KiB at a time, one piece per turn of the event loop,
 * so that the proxy's reads are small: a small chunk still queued for the
 * client leaves the proxy reading on (the client socket is below its
 * high-water mark), which is when a buffer given back too early is overwritten.
 */
function trickle(socket: import('node:net').Socket, bytes: Buffer, piece = 4096): void {
  let i = 0;
  const next = (): void => {
    if (socket.destroyed) return;
    if (i >= bytes.length) return;
    const ok = socket.write(bytes.subarray(i, i + piece));
    i += piece;
    if (ok) setImmediate(next);
    else socket.once('drain', next);
  };
  next();
}

const headEnd = (b: Buffer) => b.indexOf('\r\n\r\n') + 4;
const lengthOf = (b: Buffer) => Number(/content-length: (\d+)/i.exec(b.subarray(0, headEnd(b)).toString('latin1'))?.[1] ?? -1);

/** A chunked body of random chunks of 1..3000 bytes: several chunks per read. */
function chunked(body: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length;) {
    const n = Math.min(body.length - i, 1 + ((i * 7919) % 3000));
    out.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(i, i + n), Buffer.from('\r\n'));
    i += n;
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

/** Undoes chunked(); null while incomplete. */
function dechunk(raw: Buffer): Buffer | null {
  let i = headEnd(raw);
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', i);
    if (lineEnd === -1) return null;
    const size = parseInt(raw.toString('latin1', i, lineEnd), 16);
    if (size === 0) return Buffer.concat(parts);
    if (lineEnd + 2 + size + 2 > raw.length) return null;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    i = lineEnd + 2 + size + 2;
  }
}

describe('reused read buffers', { timeout: 60_000 }, () => {
  it('two slow clients get their own random 16 MiB bodies exactly, and every held buffer comes back', async () => {
    const bodies: Record<string, Buffer> = { '/a': randomBytes(16 * MiB), '/b': randomBytes(16 * MiB) };
    const up = await fakeUpstream((req, socket) => {
      const body = bodies[req.target]!;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`);
      trickle(socket, body);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const complete = (b: Buffer) => headEnd(b) > 3 && b.length >= headEnd(b) + lengthOf(b);
    const [a, b] = await Promise.all([
      slowRead(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 300, complete),
      slowRead(port, 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n', 150, complete),
    ]);
    expect(lengthOf(a)).toBe(16 * MiB);
    expect(sha(a.subarray(headEnd(a)))).toBe(sha(bodies['/a']!));
    expect(sha(b.subarray(headEnd(b)))).toBe(sha(bodies['/b']!));
    // Every write callback gave its buffer back (a leak would keep them lent for good).
    const start = Date.now();
    while (readBuffers.held > 0 && Date.now() - start < 2000) await sleep(10);
    expect(readBuffers.held).toBe(0);
  });

  it('sixteen clients at once, each head sent with its body in one write: the bytes after each head wait in their read buffer, exactly', async () => {
    const bodies = new Map<string, Buffer>();
    for (let k = 0; k < 16; k++) bodies.set(`/${k}`, randomBytes(512 * 1024));
    const up = await fakeUpstream((req, socket) => {
      const body = bodies.get(req.target)!;
      socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const complete = (b: Buffer) => headEnd(b) > 3 && b.length >= headEnd(b) + lengthOf(b);
    for (let round = 0; round < 3; round++) {
      const replies = await Promise.all([...bodies.keys()].map((path, k) => slowRead(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, k % 4, complete)));
      replies.forEach((raw, k) => expect(sha(raw.subarray(headEnd(raw))), `body ${k}`).toBe(sha(bodies.get(`/${k}`)!)));
    }
    expect(readBuffers.held).toBe(0);
  });

  it('a reply waiting for its turn in a pipeline holds the bytes after its head in their read buffer while other downloads reuse the rest', async () => {
    const big = randomBytes(1 * MiB);
    const other = randomBytes(8 * MiB);
    const up = await fakeUpstream((req, socket) => {
      const send = (body: Buffer) =>
        socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
      if (req.target === '/slow') setTimeout(() => send(Buffer.from('slow')), 600);
      else if (req.target === '/big') send(big);
      else trickle(socket, Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${other.length}\r\n\r\n`), other]));
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    // /big is answered at once but waits behind /slow; its first read stays parked meanwhile.
    const pipelined = slowRead(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n', 0, (all) => {
      const second = all.indexOf('HTTP/1.1 200', 10);
      return second !== -1 && headEnd(all.subarray(second)) > 3 && all.length - second >= headEnd(all.subarray(second)) + big.length;
    });
    await sleep(150);
    expect(readBuffers.held).toBeGreaterThanOrEqual(1);
    // Meanwhile a slow download holds buffer after buffer, taking free ones from the list.
    const raw = await slowRead(port, 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n', 100, (all) => headEnd(all) > 3 && all.length >= headEnd(all) + other.length);
    expect(sha(raw.subarray(headEnd(raw)))).toBe(sha(other));
    const all = await pipelined;
    const second = all.subarray(all.indexOf('HTTP/1.1 200', 10));
    expect(sha(second.subarray(headEnd(second)))).toBe(sha(big));
  });

  it('a chunked body of thousands of small chunks (a stream of copies, not written directly) arrives exactly to a slow client', async () => {
    const body = randomBytes(12 * MiB);
    const wire = chunked(body);
    const up = await fakeUpstream((_req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      trickle(socket, wire, 3000);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const raw = await slowRead(port, 'GET /c HTTP/1.1\r\nHost: x\r\n\r\n', 300, (all) => headEnd(all) > 3 && dechunk(all) !== null);
    expect(sha(dechunk(raw)!)).toBe(sha(body));
  });

  it('the same body through a converter (gzip asked, the stream path) is exact', async () => {
    const body = randomBytes(2 * MiB);
    const up = await fakeUpstream((_req, socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const raw = await slowRead(port, 'GET /t HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n', 200, (all) => headEnd(all) > 3 && dechunk(all) !== null);
    expect(raw.subarray(0, headEnd(raw)).toString('latin1')).toMatch(/content-encoding: gzip/i);
    const { gunzipSync } = await import('node:zlib');
    expect(sha(gunzipSync(dechunk(raw)!))).toBe(sha(body));
  });

  it('after a 101 the tunnel gets copies: 16 MiB sent by the upstream with the 101 reach a slow client exactly', async () => {
    const body = randomBytes(16 * MiB);
    const up = await fakeUpstream({
      raw: (socket) => {
        socket.once('data', () => {
          // The switch and the first bytes after it in one write, then the rest.
          socket.write(Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n'), body.subarray(0, 1000)]));
          trickle(socket, body.subarray(1000));
        });
      },
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const raw = await slowRead(
      port,
      'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n',
      300,
      (all) => headEnd(all) > 3 && all.length >= headEnd(all) + body.length,
    );
    expect(raw.subarray(0, 12).toString('latin1')).toBe('HTTP/1.1 101');
    expect(sha(raw.subarray(headEnd(raw)))).toBe(sha(body));
  });
});

