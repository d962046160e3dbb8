// Bodies stream through the proxy with backpressure both ways, never
// buffered whole: a 5 MiB chunked response to a client that stops reading
// holds the upstream back, and a 1 MiB upload to an upstream that stops
// reading holds the client back, with the proxy's own buffers bounded.

import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { cleanup, fakeUpstream, proxyServer, respond } from './fakes.js';
import { connect, readUntil, sleep } from '../helpers/wire.js';

afterEach(cleanup);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

type Framing = 'chunked' | 'length' | 'close';

/** Writes `total` bytes of `piece` (repeated) in this framing, honouring the socket's backpressure. */
function stream(socket: net.Socket, framing: Framing, piece: Buffer, total: number, progress: { written: number }): void {
  const fields = framing === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : framing === 'length' ? `Content-Length: ${total}\r\n` : '';
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n${fields}\r\n`);
  const pump = (): void => {
    while (progress.written < total) {
      const n = Math.min(piece.length, total - progress.written);
      progress.written += n;
      let ok: boolean;
      if (framing === 'chunked') {
        socket.write(`${n.toString(16)}\r\n`);
        socket.write(piece.subarray(0, n));
        ok = socket.write('\r\n');
      } else {
        ok = socket.write(piece.subarray(0, n));
      }
      if (!ok) return void socket.once('drain', pump);
    }
    if (framing === 'chunked') socket.write('0\r\n\r\n');
    if (framing === 'close') socket.end();
  };
  pump();
}

/** Decodes a chunked body out of a raw response; null while incomplete. */
function dechunk(raw: Buffer): Buffer | null {
  let i = raw.indexOf('\r\n\r\n') + 4;
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', i);
    if (lineEnd === -1) return null;
    const size = parseInt(raw.toString('latin1', i, lineEnd), 16);
    if (size === 0) return raw.indexOf('\r\n\r\n', lineEnd) === -1 ? null : Buffer.concat(parts);
    if (lineEnd + 2 + size + 2 > raw.length) return null;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    i = lineEnd + 2 + size + 2;
  }
}

describe('responses', () => {
  it('a 5 MiB chunked response arrives whole', async () => {
    const piece = randomBytes(64 * 1024);
    const total = 5 * 1024 * 1024;
    const up = await fakeUpstream((_req, socket) => stream(socket, 'chunked', piece, total, { written: 0 }));
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    const raw = await readUntil(client, (all) => all.length > total && dechunk(all) !== null, 10_000);
    expect(raw.toString('latin1', 0, raw.indexOf('\r\n\r\n'))).toContain('Transfer-Encoding: chunked');
    const body = dechunk(raw)!;
    expect(body.length).toBe(total);
    const expected = Buffer.concat(Array.from({ length: total / piece.length }, () => piece));
    expect(sha(body)).toBe(sha(expected));
    client.destroy();
  });

  it.each(['chunked', 'length', 'close'] as const)('a client that stops reading holds the upstream back (%s): the proxy keeps only a window', async (framing) => {
    // Far more than the kernel's socket buffers on both sides can hold (several MiB on loopback),
    // and more than can flow in the 300 ms the client reads again (the relay moves about 1 GiB/s):
    // a body that completed would leave its upstream connection in the pool, not closed.
    const piece = randomBytes(64 * 1024);
    const total = 16 * 1024 * 1024 * 1024;
    const progress = { written: 0 };
    const up = await fakeUpstream((_req, socket) => stream(socket, framing, piece, total, progress));
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.pause();
    client.write('GET /endless HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(1000);
    const stalled = progress.written;
    await sleep(300);
    expect(progress.written).toBe(stalled);
    expect(stalled).toBeLessThan(32 * 1024 * 1024);
    const held = server.http.stats()[0]!.writableLength + server.proxy.pools.stats()[0]!.writableLength;
    expect(held).toBeLessThan(512 * 1024);
    // Reading again lets it flow again.
    client.resume();
    await sleep(300);
    expect(progress.written).toBeGreaterThan(stalled);
    client.destroy();
    expect(await up.closedCount(1)).toBe(true);
  });

  it.each([
    ['runs to the close', () => 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n'],
    ['says Connection: close', (n: number) => `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\nContent-Length: ${n}\r\n\r\n`],
  ])('a body that %s, ended by the upstream while the reader is slow, arrives whole', async (_name, head) => {
    const data = randomBytes(4 * 1024 * 1024);
    const up = await fakeUpstream((_req, socket) => {
      socket.write(head(data.length));
      socket.end(data);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.pause();
    client.write('GET /f HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(300);
    client.resume();
    const raw = await readUntil(client, (all) => {
      const headEnd = all.indexOf('\r\n\r\n');
      if (headEnd === -1 || all.length - headEnd < data.length) return false;
      return all.toString('latin1', 0, headEnd).includes('chunked') ? dechunk(all) !== null : all.length - headEnd - 4 >= data.length;
    }, 10_000);
    const headEnd = raw.indexOf('\r\n\r\n') + 4;
    const body = raw.toString('latin1', 0, headEnd).includes('chunked') ? dechunk(raw) : raw.subarray(headEnd);
    expect(body?.length).toBe(data.length);
    expect(sha(body!)).toBe(sha(data));
    expect(await up.closedCount(1)).toBe(true);
    client.destroy();
  });

  it('a response with a length streams with its length', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const up = await fakeUpstream((_req, socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`);
      socket.write(data);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write('GET /f HTTP/1.1\r\nHost: a\r\n\r\n');
    const raw = await readUntil(client, (all) => all.length >= all.indexOf('\r\n\r\n') + 4 + data.length && all.indexOf('\r\n\r\n') > 0, 10_000);
    const headEnd = raw.indexOf('\r\n\r\n') + 4;
    expect(raw.toString('latin1', 0, headEnd)).toContain(`Content-Length: ${data.length}\r\n`);
    expect(sha(raw.subarray(headEnd))).toBe(sha(data));
    client.destroy();
  });
});

describe('bodies written straight to the client (a length, sent as they are)', () => {
  it('pipelined: the second response, arrived whole while the first is written, follows it intact; a text one is compressed on the way', async () => {
    const files: Record<string, { type: string; data: Buffer }> = {
      '/a': { type: 'application/octet-stream', data: randomBytes(3 * 1024 * 1024 + 7) },
      '/b': { type: 'application/octet-stream', data: randomBytes(300 * 1024) },
      '/t': { type: 'text/plain', data: Buffer.from('streamstack '.repeat(20_000)) },
      '/c': { type: 'application/octet-stream', data: randomBytes(40 * 1024) },
    };
    const up = await fakeUpstream((req, socket) => {
      const f = files[req.target]!;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${f.type}\r\nContent-Length: ${f.data.length}\r\n\r\n`);
      socket.write(f.data);
    });
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.pause();
    const order = ['/a', '/b', '/t', '/c'];
    client.write(order.map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n${p === '/t' ? 'Accept-Encoding: gzip\r\n' : ''}\r\n`).join(''));
    // The client reads nothing for a while: the later responses wait, the first is held back.
    await sleep(400);
    client.resume();
    // Each response in order: its head, then its body (a length, or chunked when compressed); null while incomplete.
    const split = (raw: Buffer): string[] | null => {
      const out: string[] = [];
      let at = 0;
      for (const p of order) {
        const headEnd = raw.indexOf('\r\n\r\n', at) + 4;
        if (headEnd === 3) return null;
        const head = raw.toString('latin1', at, headEnd);
        out.push(head);
        if (head.includes('Transfer-Encoding: chunked')) {
          const body = dechunk(raw.subarray(at));
          if (body === null) return null;
          out.push(sha(gunzipSync(body)));
          at = raw.indexOf('0\r\n\r\n', headEnd + body.length) + 5;
        } else {
          const n = Number(/Content-Length: (\d+)/.exec(head)![1]);
          if (raw.length < headEnd + n) return null;
          out.push(sha(raw.subarray(headEnd, headEnd + n)));
          at = headEnd + n;
        }
      }
      return at === raw.length ? out : null;
    };
    const raw = await readUntil(client, (all) => split(all) !== null, 15_000);
    const parts = split(raw)!;
    expect(parts).not.toBeNull();
    order.forEach((p, k) => {
      const head = parts[2 * k]!;
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      if (p === '/t') expect(head).toContain('Content-Encoding: gzip');
      else expect(head).toContain(`Content-Length: ${files[p]!.data.length}\r\n`);
      expect(parts[2 * k + 1]).toBe(sha(files[p]!.data));
    });
    // Every upstream connection went back to the pool.
    await sleep(50);
    expect(server.proxy.pools.stats()[0]).toMatchObject({ busy: 0, idle: up.connections });
    client.destroy();
  });

  it('an upstream reset while its body goes straight to a slow client: the client gets less than announced, then the close', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const up = await fakeUpstream((_req, socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`);
      socket.write(data.subarray(0, 2 * 1024 * 1024));
      setTimeout(() => socket.resetAndDestroy(), 300);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.pause();
    client.write('GET /f HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(150);
    client.resume();
    let closed = false;
    client.on('close', () => (closed = true));
    const raw = await readUntil(client, () => closed, 5000);
    expect(closed).toBe(true);
    const headEnd = raw.indexOf('\r\n\r\n') + 4;
    expect(raw.length - headEnd).toBe(2 * 1024 * 1024);
    expect(sha(raw.subarray(headEnd))).toBe(sha(data.subarray(0, 2 * 1024 * 1024)));
  });
});

describe('request bodies', () => {
  it('a 1 MiB upload arrives whole, with its length, and the answer comes back', async () => {
    const data = randomBytes(1024 * 1024);
    const up = await fakeUpstream((req, socket) => respond(socket, 201, sha(req.body)));
    const { port } = await proxyServer(`Enable PUT /*\nMaxBodySize 10M\nProxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write(`PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${data.length}\r\n\r\n`);
    for (let off = 0; off < data.length; off += 16 * 1024) client.write(data.subarray(off, off + 16 * 1024));
    const reply = await readUntil(client, (b) => b.includes(sha(data)), 10_000);
    expect(reply.toString()).toMatch(/^HTTP\/1\.1 201 /);
    expect(up.requests[0]!.headers['content-length']).toBe(String(data.length));
    client.destroy();
  });

  it('an upstream that stops reading holds the client back: the proxy keeps only a window', async () => {
    // Far more than the kernel's socket buffers on both sides can hold.
    const total = 256 * 1024 * 1024;
    const piece = randomBytes(64 * 1024);
    let upstream: net.Socket | null = null;
    let received = 0;
    const up = await fakeUpstream({
      raw: (socket) => {
        upstream = socket;
        socket.pause();
        socket.on('data', (c: Buffer) => {
          received += c.length;
        });
      },
    });
    const { server, port } = await proxyServer(`Enable PUT /*\nMaxBodySize 1G\nProxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.on('error', () => {});
    let offered = 0;
    client.write(`PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`);
    const pump = (): void => {
      while (offered < total && !client.destroyed) {
        offered += piece.length;
        if (!client.write(piece)) return void client.once('drain', pump);
      }
    };
    pump();
    await sleep(1000);
    const stalled = offered;
    await sleep(300);
    expect(offered).toBe(stalled);
    expect(stalled).toBeLessThan(32 * 1024 * 1024);
    const wire = server.http.stats()[0]!;
    const pool = server.proxy.pools.stats()[0]!;
    expect(wire.pendingBytes + pool.writableLength).toBeLessThan(512 * 1024);
    // Reading again lets it flow again, in order.
    upstream!.resume();
    await sleep(300);
    expect(offered).toBeGreaterThan(stalled);
    expect(received).toBeGreaterThan(stalled / 2);
    client.destroy();
    expect(await up.closedCount(1)).toBe(true);
  });

  it('a chunked upload goes up chunked, piece by piece', async () => {
    const up = await fakeUpstream((req, socket) => respond(socket, 200, `got ${req.body.length}`));
    const { port } = await proxyServer(`Enable POST /*\nProxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write('POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let k = 0; k < 20; k++) {
      client.write(`4000\r\n${'x'.repeat(0x4000)}\r\n`);
      await sleep(5);
    }
    client.write('0\r\n\r\n');
    const reply = await readUntil(client, (b) => b.includes('got '));
    expect(reply.toString()).toContain(`got ${20 * 0x4000}`);
    expect(up.requests[0]!.headers['transfer-encoding']).toBe('chunked');
    client.destroy();
  });

  it('a body over MaxBodySize never completes upstream: 413 and the upstream connection is dropped', async () => {
    const up = await fakeUpstream({ raw: (socket) => socket.resume() });
    const { port } = await proxyServer(`Enable POST /*\nMaxBodySize 64K\nProxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write('POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let k = 0; k < 8; k++) client.write(`4000\r\n${'x'.repeat(0x4000)}\r\n`);
    const reply = await readUntil(client, (b) => b.includes('\r\n\r\n'));
    expect(reply.toString()).toMatch(/^HTTP\/1\.1 413 /);
    expect(await up.closedCount(1)).toBe(true);
    client.destroy();
  });
});
