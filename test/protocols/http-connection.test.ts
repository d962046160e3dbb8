// Wire tests of the connection manager under hostile combinations: unread
// bodies with a half-close or a reset, a close in the middle of a pipeline,
// bodies cut short, the exception boundary, the lingering close, timeouts
// of 0. Literal bytes over real sockets.

import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { HttpServer, boundary } from '../../protocols/http-server.js';
import type { Handler, WireOptions, WireEvents } from '../../protocols/http-server.js';
import type { Request } from '../../src/request.js';
import type { Reply } from '../../src/reply.js';
import { textReply, errorReply } from '../../src/reply.js';
import type { HttpError } from '../../src/errors.js';
import { makeFormat } from '../../src/format.js';
import { exchange, connect, readUntil, waitClose, sleep, get, parseResponses, recordWrites, endlessBody } from '../helpers/wire.js';
import { fileRoot, startServer, stopServers } from './file-helpers.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers) expect(s.check()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

async function start(handler: Handler, options: Partial<WireOptions> = {}, events: WireEvents = {}): Promise<{ port: number; server: HttpServer; seen: Request[] }> {
  const seen: Request[] = [];
  const server = new HttpServer((req) => {
    seen.push(req);
    return handler(req);
  }, options, events);
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  return { port, server, seen };
}

async function readBody(req: Request): Promise<string> {
  const body = req.body();
  if (body === null) return '';
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('latin1');
}

/** Answers with what reading the body gave, or the error it failed with. */
const reading: Handler = async (req) => {
  try {
    return textReply(200, `read:${await readBody(req)}`);
  } catch (err) {
    return errorReply(err as HttpError);
  }
};

/** Answers after `ms` without reading the body. */
const later = (ms: number): Handler => async (req) => {
  await sleep(ms);
  return textReply(200, req.target);
};

describe('an unread body and the client’s FIN', () => {
  it('a complete body then FIN: the request is answered and the server lives (the reported crash)', async () => {
    const { port } = await start(later(20));
    const r = await exchange(port, 'GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello', { end: true });
    expect(r.responses.map((x) => [x.status, x.body.toString()])).toEqual([[200, '/hello.txt\n']]);
    expect(r.closed).toBe(true);
    const after = await exchange(port, get('/again'), { responses: 1 });
    expect(after.responses[0]!.status).toBe(200);
  });

  it('a complete chunked body then FIN, with requests pipelined behind it', async () => {
    const { port } = await start(later(10));
    const r = await exchange(port,
      'POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' + get('/b') + get('/c'), { end: true });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/b\n', '/c\n']);
    expect(r.closed).toBe(true);
  });

  it('a body cut short by FIN is answered 400 with close; its handler is aborted and nothing after it runs', async () => {
    const { port, seen } = await start(later(50));
    const r = await exchange(port, [get('/first') + 'POST /cut HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc'], { end: true });
    expect(r.responses.map((x) => x.status)).toEqual([200, 400]);
    expect(r.responses[1]!.headers.connection).toBe('close');
    expect(r.responses[1]!.body.toString()).toContain('Request body incomplete');
    expect(r.closed).toBe(true);
    expect(seen.map((s) => [s.target, s.aborted])).toEqual([['/first', false], ['/cut', true]]);
  });

  it('a reader of a body cut short by FIN sees an error, never an end', async () => {
    let outcome = '';
    const { port } = await start(async (req) => {
      try {
        outcome = `end:${await readBody(req)}`;
      } catch (err) {
        outcome = `error:${(err as HttpError).code}`;
      }
      return textReply(200, outcome);
    });
    const r = await exchange(port, 'PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', { end: true });
    expect(r.responses.map((x) => x.status)).toEqual([400]);
    await sleep(20);
    expect(outcome).toBe('error:WWW_ERR_REQ_BODY_INCOMPLETE');
  });

  it('a handler that opens the body only after the FIN gets an errored stream, not a hang', async () => {
    let outcome = '';
    const { port } = await start(async (req) => {
      await sleep(80);
      try {
        await readBody(req);
        outcome = 'end';
      } catch (err) {
        outcome = (err as HttpError).code;
      }
      return textReply(201, 'stored');
    }, { bodyTimeout: 0 });
    const started = Date.now();
    const r = await exchange(port, 'PUT /up/f.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n', { end: true });
    expect(r.responses.map((x) => x.status)).toEqual([400]);
    expect(r.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    await sleep(100);
    expect(outcome).toBe('WWW_ERR_REQ_BODY_INCOMPLETE');
  });

  it('sends no 100 Continue to a client that already sent its FIN', async () => {
    const { port } = await start(async (req) => {
      await sleep(30);
      return reading(req);
    });
    const r = await exchange(port, 'PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n', { end: true });
    expect(r.raw.toString()).not.toContain('100 Continue');
    expect(r.responses.map((x) => x.status)).toEqual([400]);
  });

  it('an unread chunked body is dropped up to maxDiscard; past it the connection ends after the reply', async () => {
    const { port } = await start(later(5), { maxDiscard: 1000 });
    const small = await exchange(port, 'POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' + get('/b'), { responses: 2 });
    expect(small.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/b\n']);
    const chunk = `400\r\n${'x'.repeat(0x400)}\r\n`;
    const started = Date.now();
    const big = await exchange(port, 'POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk.repeat(4), { timeout: 3000 });
    expect(big.responses.map((x) => x.body.toString())).toEqual(['/big\n']);
    expect(big.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fuzz seed 11/113: a reply before a chunked body larger than maxDiscard says close and keeps that promise', async () => {
    const { port } = await start(async (req) => (req.method === 'MKCOL' ? textReply(405, 'no') : textReply(200, req.target)), { maxDiscard: 64 * 1024 });
    const chunk = `1000\r\n${'m'.repeat(0x1000)}\r\n`;
    const body = chunk.repeat(17) + '0\r\n\r\n'; // 68 KiB of data
    const r = await exchange(port, 'MKCOL /d/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' + body + get('/after'), { timeout: 3000 });
    expect(r.responses.map((x) => [x.status, x.headers.connection])).toEqual([[405, 'close']]);
    expect(r.closed).toBe(true);
    // The same with a body that fits: dropped, and the next request answered on the same connection.
    const small = await exchange(port, 'MKCOL /d/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk.repeat(3) + '0\r\n\r\n' + get('/after'), { responses: 2 });
    expect(small.responses.map((x) => [x.status, x.headers.connection])).toEqual([[405, undefined], [200, undefined]]);
  });

  it('a partial body then a reset behind pipelined GETs: the process lives and the next client is served', async () => {
    const { port } = await start(later(5));
    for (let i = 0; i < 20; i++) {
      const s = await connect(port);
      s.on('error', () => {});
      s.write(get('/a') + get('/b') + `POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(i * 37)}`);
      await sleep(i % 3);
      if (i % 2 === 0) s.destroy();
      else s.resetAndDestroy();
    }
    const r = await exchange(port, get('/alive'), { responses: 1 });
    expect(r.responses[0]!.body.toString()).toBe('/alive\n');
  });
});

describe('Connection: close in a pipeline', () => {
  it('nothing after a closing request is handled, even when the client sends its FIN', async () => {
    const { port, seen } = await start(later(30));
    const r = await exchange(port, get('/big', 'Connection: close\r\n') + 'DELETE /up/victim.txt HTTP/1.1\r\nHost: a\r\n\r\n', { end: true });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/big\n']);
    expect(seen.map((s) => s.method)).toEqual(['GET']);
  });

  it('nor after a closing request with a body', async () => {
    const { port, seen } = await start(reading);
    const r = await exchange(port, 'POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok' + get('/after'), { end: true });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['read:ok\n']);
    expect(seen.map((s) => s.target)).toEqual(['/a']);
  });
});

describe('a full close is not a half-close', () => {
  it('a reset fires the signal of every queued request and destroys the reply being streamed', async () => {
    const signals: Request[] = [];
    let streamDestroyed = false;
    const { port } = await start(async (req) => {
      signals.push(req);
      if (req.target === '/stream') {
        const body = endlessBody(512, () => (streamDestroyed = true));
        return { status: 200, headers: {}, format: makeFormat('text/plain'), length: -1, body } satisfies Reply;
      }
      await new Promise((resolve) => req.signal.addEventListener('abort', resolve));
      return textReply(200, 'never');
    });
    const s = await connect(port);
    s.write(get('/stream') + get('/slow1') + get('/slow2'));
    await readUntil(s, (b) => b.length > 2048);
    s.resetAndDestroy();
    await sleep(100);
    expect(signals.map((r) => [r.target, r.aborted])).toEqual([['/stream', true], ['/slow1', true], ['/slow2', true]]);
    expect(streamDestroyed).toBe(true);
  });

  it('a reset while a handler is still working aborts it (its signal fires)', async () => {
    let aborted = false;
    const { port, server } = await start(async (req) => {
      await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => {
        aborted = true;
        resolve();
      }));
      return textReply(200, 'late');
    });
    const s = await connect(port);
    s.write(get('/wait'));
    await sleep(30);
    s.resetAndDestroy();
    await sleep(100);
    expect(aborted).toBe(true);
    expect(server.connections).toBe(0);
  });
});

describe('the exception boundary', () => {
  it('a throw in a reply observer ends that connection only; others are served', async () => {
    const caught: unknown[] = [];
    const { port, server } = await start(async (req) => textReply(200, req.target), {}, {
      onReply(request) {
        if (request?.target === '/throw') throw new Error('observer bug');
      },
      onCaught: (err) => caught.push(err),
    });
    const other = await connect(port);
    const before = boundary.caught;
    const r = await exchange(port, get('/throw') + get('/after'));
    boundary.caught = before; // a deliberate throw: not counted against the suite
    expect(r.closed).toBe(true);
    expect(caught).toHaveLength(1);
    expect((caught[0] as Error).message).toBe('observer bug');
    expect(server.caughtCount).toBe(1);
    other.write(get('/other'));
    const got = await readUntil(other, (b) => b.toString().endsWith('/other\n'));
    expect(got.toString()).toMatch(/^HTTP\/1\.1 200/);
    other.destroy();
  });

  it('a reply body that throws while writing itself ends that connection only, and aborts its loads', async () => {
    const caught: unknown[] = [];
    const queued: Request[] = [];
    const { port, server } = await start(async (req) => {
      queued.push(req);
      if (req.target === '/pending') return new Promise<Reply>(() => {});
      if (req.target !== '/bad') return textReply(200, req.target);
      const body = Object.assign(new Readable({ read() {} }), {
        writeTo() {
          throw new Error('writeTo bug');
        },
      });
      return { status: 200, headers: {}, format: makeFormat('text/plain'), length: 10, body };
    }, {}, { onCaught: (err) => caught.push(err) });
    const before = boundary.caught;
    const r = await exchange(port, get('/bad') + get('/pending'));
    boundary.caught = before;
    expect(r.closed).toBe(true);
    expect(caught.map((e) => (e as Error).message)).toEqual(['writeTo bug']);
    expect(queued.map((q) => [q.target, q.aborted])).toEqual([['/bad', true], ['/pending', true]]);
    await sleep(20);
    expect(server.connections).toBe(0);
    const after = await exchange(port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(after.responses).toHaveLength(1);
  });
});

describe('lingering close', () => {
  it('a client still sending a refused body reads the whole reply, then a clean FIN (no reset)', async () => {
    const { port } = await start(async (req) => textReply(413, `refused ${req.bodyLength}`), { maxDiscard: 10, writeTimeout: 100 });
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const errors: string[] = [];
    s.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    await new Promise((r) => s.once('connect', r));
    s.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4000000\r\n\r\n');
    // Keep sending for a while without reading: the server has answered and sent its FIN meanwhile.
    const chunk = Buffer.alloc(64 * 1024, 'b');
    for (let i = 0; i < 20; i++) {
      s.write(chunk);
      await sleep(15);
    }
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.end();
    const closed = await waitClose(s, 3000);
    expect(closed).toBe(true);
    const responses = parseResponses(Buffer.concat(chunks));
    expect(responses.map((x) => [x.status, x.body.toString()])).toEqual([[413, 'refused 4000000\n']]);
    expect(errors).toEqual([]);
  });

  it('a client that never sends its FIN is dropped after the linger timeout', async () => {
    const { port, server } = await start(async () => textReply(413, 'no'), { maxDiscard: 10, lingerTimeout: 300 });
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r));
    s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\nxx');
    const got = await readUntil(s, (b) => b.toString().endsWith('no\n'));
    expect(got.toString()).toMatch(/^HTTP\/1\.1 413/);
    // Our FIN is out; the connection waits for the client's, reading what it sends.
    s.write('more body');
    await sleep(100);
    expect(server.connections).toBe(1);
    await sleep(700);
    expect(server.connections).toBe(0);
    s.destroy();
  });
});

describe('timeouts of 0 are none', () => {
  it('HeaderTimeout 0 lets a head take its time', async () => {
    const { port } = await start(async (req) => textReply(200, req.target), { headerTimeout: 0 });
    const r = await exchange(port, ['GET /slow HTTP/1.1\r\n', 'Host: a\r\n', '\r\n'], { gap: 120, responses: 1 });
    expect(r.responses.map((x) => x.status)).toEqual([200]);
  });

  it('BodyTimeout 0 lets a body take its time', async () => {
    const { port } = await start(reading, { bodyTimeout: 0 });
    const r = await exchange(port, ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab', 'cd'], { gap: 150, responses: 1 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['read:abcd\n']);
  });

  it('KeepAliveTimeout 0 keeps an idle connection open', async () => {
    const { port } = await start(async (req) => textReply(200, req.target), { keepAliveTimeout: 0, headerTimeout: 50 });
    const r = await exchange(port, [get('/1'), get('/2')], { gap: 200, responses: 2 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/1\n', '/2\n']);
    expect(r.closed).toBe(false);
  });
});

describe('the writer owns framing', () => {
  it('a reply’s own framing fields never reach the wire; names are case-insensitive', async () => {
    const { port } = await start(async () => ({
      status: 200,
      headers: {
        'content-length': '999', 'Transfer-Encoding': 'chunked', connection: 'upgrade', 'Keep-Alive': 'timeout=1',
        Upgrade: 'websocket', 'content-type': 'text/x-own', 'Bad Name': 'x', 'X-Nul': 'a\0b', 'X-Split': 'a\r\nX-Injected: 1', 'X-Ok': 'fine',
      },
      format: makeFormat('text/plain'), length: 5, body: Buffer.from('hello'),
    }));
    const r = await exchange(port, get('/') + get('/'), { responses: 2 });
    const head = r.raw.toString('latin1').split('\r\n\r\n')[0]!;
    const names = head.split('\r\n').slice(1).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
    expect(names.sort()).toEqual(['content-length', 'content-type', 'date', 'server', 'x-ok']);
    expect(r.responses[0]!.headers['content-length']).toBe('5');
    expect(r.responses[0]!.headers['content-type']).toBe('text/x-own');
    expect(r.responses.map((x) => x.body.toString())).toEqual(['hello', 'hello']);
  });

  it('a stream body already buffered leaves with its head in one writev, a chunk in one write', async () => {
    const pieces = [Buffer.alloc(100, 'a'), Buffer.alloc(50, 'b')];
    const { port } = await start(async (req) => {
      const body = new Readable({ read() {} });
      for (const p of pieces) body.push(p);
      body.push(null);
      return { status: 200, headers: {}, format: makeFormat('text/plain'), length: req.target === '/chunked' ? -1 : 150, body };
    });
    let r!: Awaited<ReturnType<typeof exchange>>;
    const calls = await recordWrites(port, async () => {
      r = await exchange(port, get('/length'), { responses: 1 });
    });
    expect(r.responses[0]!.body.toString()).toBe('a'.repeat(100) + 'b'.repeat(50));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^writev \d+\+100\+50$/);
    const chunked = await recordWrites(port, async () => {
      r = await exchange(port, get('/chunked'), { responses: 1 });
    });
    expect(r.responses[0]!.body.toString()).toBe('a'.repeat(100) + 'b'.repeat(50));
    // The head with both chunks, then the last chunk: never a write per piece.
    expect(chunked.length).toBeLessThanOrEqual(2);
    expect(chunked[0]).toMatch(/^writev \d+\+4\+100\+2\+4\+50\+2$/);
  });

  it('keeps an upstream’s Date and Server instead of adding its own', async () => {
    const { port } = await start(async () => textReply(200, 'x', { Date: 'Tue, 01 Dec 2026 00:00:00 GMT', server: 'origin' }));
    const r = await exchange(port, get('/'), { responses: 1 });
    expect(r.responses[0]!.names.filter((n) => /^(date|server)$/i.test(n))).toHaveLength(2);
    expect(r.responses[0]!.headers.date).toBe('Tue, 01 Dec 2026 00:00:00 GMT');
    expect(r.responses[0]!.headers.server).toBe('origin');
  });

  it('a body shorter than its length is never made to look complete', async () => {
    const { port } = await start(async () => ({
      status: 200, headers: {}, format: makeFormat('text/plain'), length: 10,
      body: Readable.from([Buffer.from('abc')]),
    }));
    const r = await exchange(port, get('/') + get('/next'));
    expect(r.closed).toBe(true);
    expect(r.responses).toHaveLength(0); // 3 of 10 bytes: the reader never sees a whole reply
    expect(r.raw.toString()).toMatch(/Content-Length: 10\r\n\r\nabc$/);
  });

  it('a chunked body destroyed before its end gets no terminating chunk', async () => {
    const { port } = await start(async () => {
      const body = new Readable({ read() {} });
      body.push(Buffer.from('part'));
      setTimeout(() => body.destroy(), 30);
      return { status: 200, headers: {}, format: makeFormat('text/plain'), length: -1, body };
    });
    const r = await exchange(port, get('/'));
    expect(r.closed).toBe(true);
    expect(r.raw.toString()).toMatch(/\r\n\r\n4\r\npart\r\n$/);
  });
});

describe('the hand-over to a tunnel', () => {
  /** A reply that switches protocols and echoes, upper-cased, what the client sends. */
  const echoTunnel = (status: number, headers: Record<string, string> = {}): Reply => ({
    status, headers, format: null, length: -1, body: null,
    tunnel(socket, head) {
      const up = (b: Buffer) => Buffer.from(b.toString('latin1').toUpperCase(), 'latin1');
      if (head.length > 0) socket.write(up(head));
      socket.on('data', (b: Buffer) => socket.write(up(b)));
      socket.on('end', () => socket.end());
      socket.resume(); // handed over paused
    },
  });

  it('an Upgrade answered 101 gets the socket and the bytes sent in the same packet as the request', async () => {
    const { port, server } = await start(async () => echoTunnel(101, { Upgrade: 'echo' }));
    const s = await connect(port);
    s.write('GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst bytes');
    const got = await readUntil(s, (b) => b.toString().endsWith('FIRST BYTES'));
    const head = got.toString('latin1').split('\r\n\r\n')[0]!;
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
    expect(head).toMatch(/\r\nConnection: upgrade(\r\n|$)/);
    expect(head).toMatch(/\r\nUpgrade: echo(\r\n|$)/);
    expect(head).not.toMatch(/Content-Length|Transfer-Encoding|close/i);
    s.write('GET / HTTP/1.1\r\n\r\n'); // not HTTP any more: echoed
    const more = await readUntil(s, (b) => b.toString().includes('GET / HTTP/1.1'.toUpperCase()));
    expect(more.toString()).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(server.connections).toBe(0); // no longer the server's
    s.end();
    expect(await waitClose(s)).toBe(true);
  });

  it('a graceful stop waits for no tunnel past its grace period', async () => {
    const { port, server } = await start(async () => echoTunnel(101, { Upgrade: 'echo' }));
    const s = await connect(port);
    s.write('GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nx');
    await readUntil(s, (b) => b.toString().endsWith('X'));
    const started = Date.now();
    await server.close(200);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await waitClose(s, 1000)).toBe(true);
  });

  it('a CONNECT answered 200 gets a tunnel, with no length or close in the head', async () => {
    const { port } = await start(async () => echoTunnel(200));
    const s = await connect(port);
    s.write('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\nhello');
    const got = await readUntil(s, (b) => b.toString().endsWith('HELLO'));
    expect(got.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(got.toString()).not.toMatch(/Content-Length|Transfer-Encoding|Connection/i);
    s.destroy();
  });

  it('an Upgrade the handler does not take is plain HTTP: what follows is parsed as requests', async () => {
    const { port, seen } = await start(async (req) => textReply(200, req.target));
    const r = await exchange(port, 'GET /a HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n' + get('/b'), { responses: 2 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/b\n']);
    expect(seen.map((x) => x.target)).toEqual(['/a', '/b']);
  });

  it('holds what follows an Upgrade request until its reply, even when it looks like a request', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { port, seen } = await start(async (req) => {
      if (req.target === '/up') {
        await gate;
        return echoTunnel(101, { Upgrade: 'echo' });
      }
      return textReply(200, req.target);
    });
    const s = await connect(port);
    s.write('GET /up HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n' + get('/smuggled'));
    await sleep(50);
    expect(seen.map((x) => x.target)).toEqual(['/up']);
    release();
    const got = await readUntil(s, (b) => b.toString().includes('/SMUGGLED'));
    expect(got.toString()).toMatch(/^HTTP\/1\.1 101 /);
    expect(seen.map((x) => x.target)).toEqual(['/up']);
    s.destroy();
  });

  it('a 101 without a tunnel, or to a request that did not ask, is never sent', async () => {
    const { port } = await start(async (req) => req.target === '/asked' ? { ...echoTunnel(101), tunnel: undefined } : echoTunnel(101));
    const asked = await exchange(port, 'GET /asked HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n', { responses: 1 });
    expect(asked.responses.map((x) => x.status)).toEqual([500]);
    const plain = await exchange(port, get('/plain') + get('/next'), { responses: 2 });
    expect(plain.responses.map((x) => x.status)).toEqual([500, 500]);
  });
});

describe('interim responses (request.interim)', () => {
  it('writes a 1xx in turn, before the final reply; drops it when not at the head, once answered, or for HTTP/1.0', async () => {
    const late: Request[] = [];
    const { port, server } = await start(async (req) => {
      req.interim(103, { Link: '</x.css>; rel=preload', 'Bad Name': 'x', Connection: 'close', 'X-Split': 'a\r\nb' });
      if (req.target === '/first') await sleep(60);
      late.push(req);
      return textReply(200, req.target);
    });
    const r = await exchange(port, get('/first') + get('/second'), { responses: 2 });
    expect(r.responses.map((x) => x.status)).toEqual([103, 200, 200]);
    expect(r.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 103 Early Hints\r\nLink: <\/x\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 /);
    expect(server.check()).toEqual([]);
    // After its final reply, an interim response is never written.
    for (const req of late) req.interim(103, { Link: '</late>' });
    const old = await exchange(port, 'GET /old HTTP/1.0\r\n\r\n', { timeout: 1000 });
    expect(old.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    expect(() => late[0]!.interim(101)).toThrow(RangeError);
  });

  it('a 100 only to a client that expects one and has had none', async () => {
    const { port } = await start(async (req) => {
      req.interim(100);
      req.interim(100);
      return textReply(200, 'ok');
    });
    const r = await exchange(port, 'POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n', { responses: 1 });
    expect(r.responses.map((x) => x.status)).toEqual([100, 200]);
    const none = await exchange(port, get('/plain'), { responses: 1 });
    expect(none.responses.map((x) => x.status)).toEqual([200]);
  });
});

describe('through the FILE module', () => {
  let root: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ root, cleanup } = fileRoot());
  });
  afterAll(() => cleanup());
  afterEach(stopServers);

  const uploads = 'Pass /*\nEnable PUT /up/*\nEnable POST /up/*\n';
  const openFds = () => fs.readdirSync('/proc/self/fd').length;
  const temps = () => fs.readdirSync(path.join(root, 'up')).filter((n) => n.includes('.tmp-'));

  it('PUT with a FIN before any body byte: 400, no temp file, no descriptor left (20 times)', async () => {
    const { port } = await startServer(root, uploads);
    await exchange(port, get('/up/keep.txt'), { responses: 1 });
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const r = await exchange(port, `PUT /up/f${i}.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n`, { end: true, timeout: 2000 });
      expect(r.responses.map((x) => x.status)).toEqual([400]);
      expect(r.closed).toBe(true);
    }
    await sleep(100);
    expect(temps()).toEqual([]);
    expect(openFds()).toBeLessThanOrEqual(before);
    expect(fs.existsSync(path.join(root, 'up', 'f0.txt'))).toBe(false);
  });

  it('a multipart POST cut short by FIN stores nothing and leaves nothing', async () => {
    const { port } = await startServer(root, uploads);
    const before = openFds();
    const part = '--b\r\nContent-Disposition: form-data; name="f"; filename="cut.txt"\r\nContent-Type: text/plain\r\n\r\n' + 'y'.repeat(3000);
    for (let i = 0; i < 10; i++) {
      const r = await exchange(port, `POST /up/ HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n${part}`, { end: true, timeout: 2000 });
      expect(r.responses.map((x) => x.status)).toEqual([400]);
    }
    await sleep(100);
    expect(temps()).toEqual([]);
    expect(fs.existsSync(path.join(root, 'up', 'cut.txt'))).toBe(false);
    expect(openFds()).toBeLessThanOrEqual(before);
  });

  it('a graceful stop lets an upload in flight finish, then answers it with Connection: close', async () => {
    const { server, port } = await startServer(root, uploads);
    const s = await connect(port);
    s.write('PUT /up/graceful.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello');
    await sleep(50);
    const stopped = server.close(3000);
    await sleep(50);
    s.write('world');
    const got = parseResponses(await readUntil(s, (b) => parseResponses(b).length === 1));
    expect(got.map((x) => [x.status, x.headers.connection])).toEqual([[201, 'close']]);
    expect(fs.readFileSync(path.join(root, 'up', 'graceful.txt'), 'utf8')).toBe('helloworld');
    await stopped;
  });

  it('past the grace period the upload is aborted and leaves nothing', async () => {
    const { server, port } = await startServer(root, uploads);
    const s = await connect(port);
    s.on('error', () => {});
    s.write('PUT /up/abandoned.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello');
    await sleep(50);
    await server.close(200);
    await sleep(100);
    expect(temps()).toEqual([]);
    expect(fs.existsSync(path.join(root, 'up', 'abandoned.txt'))).toBe(false);
    s.destroy();
  });

  it('GET with Connection: close, then a pipelined DELETE and a FIN: the file stays', async () => {
    fs.writeFileSync(path.join(root, 'up', 'victim.txt'), 'victim\n');
    const { port } = await startServer(root, uploads + 'Enable DELETE /up/*\n');
    const r = await exchange(port, get('/big.bin', 'Connection: close\r\n') + 'DELETE /up/victim.txt HTTP/1.1\r\nHost: a\r\n\r\n', { end: true, timeout: 5000 });
    expect(r.responses.map((x) => x.status)).toEqual([200]);
    await sleep(50);
    expect(fs.existsSync(path.join(root, 'up', 'victim.txt'))).toBe(true);
  });
});
