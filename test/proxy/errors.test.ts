// Every way an upstream can fail, through the real Server over raw client
// sockets, against fakes that write literal bytes: each gets its status and
// its own WWW_ERR_PROXY_… code, nothing malformed is relayed, and a body
// that breaks after the head ends the client connection without the
// terminating chunk (or short of its Content-Length): never complete-looking.

import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import type { Server, ServerOptions } from '../../src/server.js';
import { HttpError } from '../../src/errors.js';
import { cleanup, closedPort, fakeUpstream, proxyServer } from './fakes.js';
import { exchange, get, recordWrites } from '../helpers/wire.js';
import { GATHERED_BODY } from '../../protocols/http-client-exchange.js';

afterEach(cleanup);

/**
 * The error codes proxied requests ended with: from the error stack of an
 * error reply, or the error a reply body failed with after its head.
 */
function recording(): { codes: string[]; options: ServerOptions } {
  const codes: string[] = [];
  return {
    codes,
    options: {
      events: {
        onReply(request) {
          const top = request?.errors.at(-1);
          if (top !== undefined) codes.push(top.code);
        },
        onError(error) {
          if (error instanceof HttpError) codes.push(error.code);
        },
      },
    },
  };
}

async function proxyTo(origin: string, extra = ''): Promise<{ server: Server; port: number; codes: string[] }> {
  const rec = recording();
  const { server, port } = await proxyServer(`${extra}\nProxy /* ${origin}/*`, rec.options);
  return { server, port, codes: rec.codes };
}

/** A fake that answers every request with these bytes, then (optionally) closes. */
function literal(bytes: string, close: 'end' | 'destroy' | 'none' = 'none') {
  return fakeUpstream((_req, socket) => {
    socket.write(bytes, 'latin1');
    if (close === 'end') socket.end();
    else if (close === 'destroy') socket.destroy();
  });
}

describe('cannot connect', () => {
  it('refused: 502 WWW_ERR_PROXY_CONNECT', async () => {
    const { port, codes } = await proxyTo(`http://127.0.0.1:${await closedPort()}`);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(ex.responses[0]!.body.toString()).toContain('Upstream unreachable');
    expect(codes).toEqual(['WWW_ERR_PROXY_CONNECT']);
  });

  it('a host that does not resolve: 502 WWW_ERR_PROXY_DNS', async () => {
    const { port, codes } = await proxyTo('http://upstream.invalid');
    const ex = await exchange(port, get('/x'), { responses: 1, timeout: 8000 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(codes).toEqual(['WWW_ERR_PROXY_DNS']);
  });

  it('no connection within ProxyConnectTimeout (a TLS handshake that never ends): 504 WWW_ERR_PROXY_CONNECT_TIMEOUT', async () => {
    const silent = await fakeUpstream({ raw: (socket) => socket.resume() });
    const { port, codes } = await proxyTo(`https://127.0.0.1:${silent.port}`, 'ProxyConnectTimeout 200ms');
    const started = Date.now();
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(codes).toEqual(['WWW_ERR_PROXY_CONNECT_TIMEOUT']);
    expect(await silent.closedCount(1)).toBe(true);
  });
});

describe('the connection breaks', () => {
  it('reset before the head: 502 WWW_ERR_PROXY_RESET', async () => {
    const up = await fakeUpstream((_req, socket) => socket.resetAndDestroy());
    const { port, codes } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(codes).toEqual(['WWW_ERR_PROXY_RESET']);
  });

  it('closed before the head: 502 WWW_ERR_PROXY_RESET', async () => {
    const up = await literal('', 'end');
    const { port, codes } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(codes).toEqual(['WWW_ERR_PROXY_RESET']);
  });

  it('closed in the middle of a head: 502, nothing of it relayed', async () => {
    const up = await literal('HTTP/1.1 200 OK\r\nX-Secret: 1\r\nContent-Le', 'end');
    const { port } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(ex.raw.toString()).not.toContain('X-Secret');
  });

  it('reset in a body with a length: the client gets fewer bytes than announced, then the close', async () => {
    const up = await fakeUpstream((_req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
      setTimeout(() => socket.resetAndDestroy(), 50);
    });
    const { port, codes } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'));
    expect(ex.closed).toBe(true);
    expect(ex.raw.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(ex.raw.toString()).toContain('Content-Length: 100000\r\n');
    const body = ex.raw.subarray(ex.raw.indexOf('\r\n\r\n') + 4);
    expect(body.length).toBe(1000);
    expect(codes).toEqual(['WWW_ERR_PROXY_RESET']);
  });

  it(`a small body (up to ${GATHERED_BODY} bytes, gathered before the reply) reset before its end: a clean 502, nothing of it relayed`, async () => {
    const up = await fakeUpstream((_req, socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nX-Secret: 1\r\nContent-Length: ${GATHERED_BODY}\r\n\r\n` + 'x'.repeat(1000));
      setTimeout(() => socket.resetAndDestroy(), 50);
    });
    const { port, codes } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x') + get('/next'), { responses: 2 });
    expect(ex.responses.map((r) => r.status)).toEqual([502, 502]);
    expect(ex.raw.toString()).not.toContain('X-Secret');
    expect(ex.raw.toString()).not.toContain('xxx');
    expect(codes[0]).toBe('WWW_ERR_PROXY_RESET');
  });

  it('a small body that stalls for ProxyBodyTimeout: 504, and the client connection goes on', async () => {
    const up = await fakeUpstream((req, socket) => {
      if (req.target === '/ok') return void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello');
    });
    const { port, codes } = await proxyTo(up.origin, 'ProxyBodyTimeout 200ms\nProxyHeadTimeout 10s');
    const started = Date.now();
    const ex = await exchange(port, get('/x') + get('/ok'), { responses: 2 });
    expect(ex.responses.map((r) => r.status)).toEqual([504, 200]);
    expect(ex.responses[1]!.body.toString()).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(codes[0]).toBe('WWW_ERR_PROXY_BODY_TIMEOUT');
  });

  it('a small body that arrives in many pieces is relayed whole, with its length, in one write', async () => {
    const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const up = await fakeUpstream({
      raw: (socket) => {
        socket.setNoDelay(true);
        socket.once('data', async () => {
          socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`);
          for (let i = 0; i < body.length; i += 500) {
            await new Promise((r) => setTimeout(r, 10));
            socket.write(body.subarray(i, i + 500));
          }
        });
      },
    });
    const { port } = await proxyTo(up.origin);
    let ex: Awaited<ReturnType<typeof exchange>> | undefined;
    const writes = await recordWrites(port, async () => {
      ex = await exchange(port, get('/x'), { responses: 1 });
    });
    expect(ex!.responses[0]!.status).toBe(200);
    expect(ex!.responses[0]!.headers['content-length']).toBe(String(body.length));
    expect(Buffer.compare(ex!.responses[0]!.body, body)).toBe(0);
    expect(writes).toHaveLength(1);
  });

  it('closed in a chunked body: the client gets no terminating chunk', async () => {
    const up = await fakeUpstream((_req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      setTimeout(() => socket.end(), 50);
    });
    const { port } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'));
    expect(ex.closed).toBe(true);
    const text = ex.raw.toString();
    expect(text).toContain('Transfer-Encoding: chunked\r\n');
    expect(text).toContain('5\r\nhello\r\n');
    expect(text).not.toContain('0\r\n\r\n');
    expect(ex.responses).toHaveLength(0); // the reader never sees a complete response
  });

  it('a body that runs to the close is complete at the close (relayed chunked, with its end)', async () => {
    const up = await literal('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nall of it', 'end');
    const { port } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(200);
    expect(ex.responses[0]!.body.toString()).toBe('all of it');
  });
});

describe('malformed responses are never relayed', () => {
  const cases: [string, string][] = [
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['two differing Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello!!'],
    ['a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 5\r\n\r\nhello'],
    ['a status line that is not one', 'HTTP/1.1 OK\r\nContent-Length: 5\r\n\r\nhello'],
    ['HTTP/2 in an HTTP/1 response', 'HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
    ['a transfer coding that is not chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello'],
    ['a switch of protocols nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
    ['a head over the limit', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`],
  ];
  it.each(cases)('%s: 502 WWW_ERR_PROXY_RESPONSE', async (_name, bytes) => {
    const up = await literal(bytes);
    const { port, codes } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(ex.raw.toString()).not.toContain('hello');
    expect(codes).toEqual(['WWW_ERR_PROXY_RESPONSE']);
    expect(await up.closedCount(1)).toBe(true);
  });

  it('bad chunk sizes after the head: the body errors, no terminating chunk, the connection closes', async () => {
    const up = await literal('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n');
    const { port, codes } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'));
    expect(ex.closed).toBe(true);
    expect(ex.raw.toString()).not.toContain('world');
    expect(ex.raw.toString()).not.toContain('0\r\n\r\n');
    expect(codes).toEqual(['WWW_ERR_PROXY_RESPONSE']);
  });

  it('bytes after a complete response (a body longer than it said) close the upstream connection', async () => {
    const up = await literal('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged');
    const { port } = await proxyTo(up.origin);
    const first = await exchange(port, get('/x'), { responses: 1 });
    expect(first.responses[0]!.body.toString()).toBe('ok');
    expect(await up.closedCount(1)).toBe(true);
    const second = await exchange(port, get('/y'), { responses: 1 });
    expect(second.responses[0]!.body.toString()).toBe('ok');
    expect(up.connections).toBe(2);
  });
});

describe('timeouts', () => {
  it('no head within ProxyHeadTimeout: 504 WWW_ERR_PROXY_HEAD_TIMEOUT, and the upstream connection is closed', async () => {
    const up = await fakeUpstream(() => {});
    const { port, codes } = await proxyTo(up.origin, 'ProxyHeadTimeout 200ms');
    const started = Date.now();
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(codes).toEqual(['WWW_ERR_PROXY_HEAD_TIMEOUT']);
    expect(await up.closedCount(1)).toBe(true);
  });

  it('a body that stalls for ProxyBodyTimeout: the client connection closes mid-body', async () => {
    const up = await fakeUpstream((_req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    });
    const { port, codes } = await proxyTo(up.origin, 'ProxyBodyTimeout 200ms\nProxyHeadTimeout 10s');
    const ex = await exchange(port, get('/x'), { timeout: 3000 });
    expect(ex.closed).toBe(true);
    expect(ex.raw.toString()).toContain('5\r\nhello\r\n');
    expect(ex.raw.toString()).not.toContain('0\r\n\r\n');
    expect(codes).toEqual(['WWW_ERR_PROXY_BODY_TIMEOUT']);
    expect(await up.closedCount(1)).toBe(true);
  });

  it('a body that keeps trickling within ProxyBodyTimeout is not cut', async () => {
    const up = await fakeUpstream((_req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 6\r\n\r\n');
      let n = 0;
      const tick = setInterval(() => {
        socket.write('x');
        if (++n === 6) clearInterval(tick);
      }, 80);
    });
    const { port } = await proxyTo(up.origin, 'ProxyBodyTimeout 200ms');
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.body.toString()).toBe('xxxxxx');
  });
});

describe('the client side of a failure', () => {
  it('the next request on the client connection is served after a 502', async () => {
    const { port } = await proxyTo(`http://127.0.0.1:${await closedPort()}`);
    const ex = await exchange(port, [get('/a'), get('/b')], { responses: 2 });
    expect(ex.responses.map((r) => r.status)).toEqual([502, 502]);
    expect(ex.closed).toBe(false);
  });

  it('a raw socket fake sees exactly one request per client request', async () => {
    let seen = '';
    const up = await fakeUpstream({
      raw: (socket: net.Socket) => socket.on('data', (c: Buffer) => {
        seen += c.toString('latin1');
        socket.write('HTTP/1.1 204 No Content\r\n\r\n');
      }),
    });
    const { port } = await proxyTo(up.origin);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(204);
    expect(seen.match(/^GET /gm)).toHaveLength(1);
  });
});
