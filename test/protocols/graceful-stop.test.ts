// A graceful stop on the wire: idle connections close at once, requests in
// flight finish, and what arrives during the stop is answered 503 with
// Retry-After and Connection: close instead of being dropped.

import { describe, it, expect, afterEach } from 'vitest';
import type * as net from 'node:net';
import { Readable } from 'node:stream';
import { HttpServer } from '../../protocols/http-server.js';
import type { Handler } from '../../protocols/http-server.js';
import type { Request } from '../../src/request.js';
import type { Reply } from '../../src/reply.js';
import { textReply } from '../../src/reply.js';
import { makeFormat } from '../../src/format.js';
import { connect, exchange, get, parseResponses, sleep, waitClose } from '../helpers/wire.js';
import type { RawResponse } from '../helpers/wire.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers) expect(s.check()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

async function start(handler: Handler): Promise<{ port: number; server: HttpServer; seen: string[] }> {
  const seen: string[] = [];
  const server = new HttpServer((req) => {
    seen.push(req.target);
    return handler(req);
  });
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  return { port, server, seen };
}

const CHUNK = 16 * 1024;
const CHUNKS = 12;

/** /long: 12 chunks of 16 KiB, one every 25 ms; /slow: a text after 200 ms; anything else: its target. */
const handler: Handler = (req: Request): Promise<Reply> | Reply => {
  if (req.target === '/long') {
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent === CHUNKS) return void this.push(null);
        setTimeout(() => this.push(Buffer.alloc(CHUNK, 0x61 + (sent++ % 26))), 25);
      },
    });
    return { status: 200, headers: {}, format: makeFormat('application/octet-stream'), length: CHUNK * CHUNKS, body };
  }
  if (req.target === '/slow') return sleep(200).then(() => textReply(200, 'slow'));
  return textReply(200, req.target);
};

/** Everything the socket receives, from now on. */
function collect(s: net.Socket): { all(): Buffer; responses(): RawResponse[] } {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return { all: () => Buffer.concat(chunks), responses: () => parseResponses(Buffer.concat(chunks)) };
}

async function until(cond: () => boolean, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

describe('a graceful stop', () => {
  it('lets a download in flight complete, and answers a request pipelined during the stop 503, Retry-After, close', async () => {
    const { port, server, seen } = await start(handler);
    const s = await connect(port);
    const got = collect(s);
    s.write(get('/long'));
    await until(() => got.all().includes('\r\n\r\n'));
    const stopped = server.close(5000);
    await sleep(30);
    expect(server.check()).toEqual([]);
    s.write(get('/next'));
    await until(() => got.responses().length === 2);
    const [download, refused] = got.responses();
    expect(download!.status).toBe(200);
    expect(download!.body.length).toBe(CHUNK * CHUNKS);
    expect(download!.body.subarray(-1).toString()).toBe(String.fromCharCode(0x61 + (CHUNKS - 1)));
    expect(refused!.status).toBe(503);
    expect(refused!.headers['retry-after']).toBe('5');
    expect(refused!.headers.connection).toBe('close');
    expect(refused!.body.toString()).toBe('503 Service Unavailable: Server is stopping\n');
    expect(seen).toEqual(['/long']); // the handler never saw it
    expect(await waitClose(s)).toBe(true);
    await stopped;
  });

  it('answers a head that was arriving when the stop began 503 and close', async () => {
    const { port, server } = await start(handler);
    const a = await connect(port);
    const gotA = collect(a);
    a.write('GET /half HTTP/1.1\r\nHost: a\r\n');
    await sleep(30);
    const stopped = server.close(5000);
    await sleep(30);
    a.write('\r\n');
    await until(() => gotA.responses().length === 1);
    expect(gotA.responses().map((r) => [r.status, r.headers.connection])).toEqual([[503, 'close']]);
    expect(await waitClose(a)).toBe(true);
    await stopped;
  });

  it('the last reply of a busy connection says close; nothing after it is read', async () => {
    const { port, server, seen } = await start(handler);
    const s = await connect(port);
    const got = collect(s);
    s.write(get('/slow'));
    await sleep(50);
    const stopped = server.close(5000);
    await until(() => got.responses().length === 1);
    expect(got.responses().map((r) => [r.status, r.headers.connection, r.body.toString()])).toEqual([[200, 'close', 'slow\n']]);
    expect(await waitClose(s)).toBe(true);
    expect(seen).toEqual(['/slow']);
    await stopped;
  });

  it('a reply prepared with another queued behind it keeps the connection for that one (a 503 to a request with a body)', async () => {
    const { port, server } = await start(handler);
    const s = await connect(port);
    const got = collect(s);
    s.write(get('/slow'));
    await sleep(50);
    const stopped = server.close(5000);
    s.write(`PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello${get('/never')}`);
    await until(() => got.responses().length === 2);
    expect(got.responses().map((r) => [r.status, r.headers.connection])).toEqual([[200, undefined], [503, 'close']]);
    expect(await waitClose(s)).toBe(true);
    await stopped;
  });

  it('closes idle keep-alive connections at once', async () => {
    const { port, server } = await start(handler);
    const sockets = await Promise.all([connect(port), connect(port)]);
    for (const s of sockets) {
      const got = collect(s);
      s.write(get('/a'));
      await until(() => got.responses().length === 1);
    }
    expect(server.connections).toBe(2);
    const begun = Date.now();
    const stopped = server.close(10_000);
    expect(await Promise.all(sockets.map((s) => waitClose(s, 1000)))).toEqual([true, true]);
    await stopped;
    expect(Date.now() - begun).toBeLessThan(1000);
  });

  it('refuses new connections', async () => {
    const { port, server } = await start(handler);
    const s = await connect(port);
    const stopped = server.close(1000);
    expect(server.stopping).toBe(true);
    const r = await exchange(port, get('/a'), { timeout: 500 });
    expect(r.responses).toEqual([]);
    s.destroy();
    await stopped;
  });

  it('GraceTimeout 0 waits for what is in flight without a limit', async () => {
    const { port, server } = await start(handler);
    const s = await connect(port);
    const got = collect(s);
    s.write(get('/long'));
    await sleep(20);
    await server.close(0);
    expect(got.responses().map((r) => [r.status, r.body.length])).toEqual([[200, CHUNK * CHUNKS]]);
  });
});
