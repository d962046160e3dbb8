// The keep-alive pool, seen from the fake upstream: which connection each
// request came on. Reuse, the bound with its queue, the idle timeout and the
// upstream's hints, the one retry on a fresh connection when a reused one
// turns out dead (and only when the upstream cannot have acted), and aborts
// that free the upstream connection.

import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fakeUpstream, proxyServer, respond } from './fakes.js';
import { connect, exchange, get, readUntil, sleep, waitClose } from '../helpers/wire.js';

afterEach(cleanup);

describe('reuse', () => {
  it('N sequential requests share one upstream connection', async () => {
    const up = await fakeUpstream((req, socket) => respond(socket, 200, `#${req.index}`));
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    for (let k = 1; k <= 5; k++) {
      const ex = await exchange(port, get(`/r${k}`), { responses: 1 });
      expect(ex.responses[0]!.body.toString()).toBe(`#${k}`);
    }
    expect(up.connections).toBe(1);
    expect(up.requests.map((r) => r.connection)).toEqual([1, 1, 1, 1, 1]);
    expect(server.proxy.pools.stats()).toMatchObject([{ idle: 1, busy: 0, waiting: 0 }]);
  });

  it('a response that runs to the close, says Connection: close, or is cut short leaves no connection to reuse', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ];
    const up = await fakeUpstream((req, socket) => socket.write(answers[req.index - 1] ?? answers[2]!));
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    for (let k = 0; k < 3; k++) expect((await exchange(port, get('/'), { responses: 1 })).responses[0]!.body.toString()).toBe('ok');
    // Connection: close, then a Keep-Alive hint of 1 s (kept 0 s): three connections.
    expect(up.requests.map((r) => r.connection)).toEqual([1, 2, 3]);
  });

  it('ProxyIdleTimeout closes an idle connection; the next request opens a new one', async () => {
    const up = await fakeUpstream((_req, socket) => respond(socket, 200, 'ok'));
    const { server, port } = await proxyServer(`ProxyIdleTimeout 100ms\nProxy /* ${up.origin}/*`);
    await exchange(port, get('/a'), { responses: 1 });
    expect(await up.closedCount(1, 1000)).toBe(true);
    expect(server.proxy.pools.stats()).toEqual([]);
    await exchange(port, get('/b'), { responses: 1 });
    expect(up.connections).toBe(2);
  });

  it('ProxyMaxConnections bounds the connections; requests beyond it wait their turn', async () => {
    const up = await fakeUpstream((req, socket) => setTimeout(() => respond(socket, 200, req.target), 100));
    const { server, port } = await proxyServer(`ProxyMaxConnections 1\nProxy /* ${up.origin}/*`);
    const all = Promise.all(['/a', '/b', '/c'].map((p) => exchange(port, get(p), { responses: 1 })));
    await sleep(50);
    expect(server.proxy.pools.stats()).toMatchObject([{ busy: 1, waiting: 2 }]);
    const done = await all;
    expect(done.map((ex) => ex.responses[0]!.body.toString()).sort()).toEqual(['/a', '/b', '/c']);
    expect(up.connections).toBe(1);
  });

  it('a request that waits longer than ProxyHeadTimeout for a connection gets 504', async () => {
    const up = await fakeUpstream((_req, socket) => setTimeout(() => respond(socket, 200, 'slow'), 600));
    const { port } = await proxyServer(`ProxyMaxConnections 1\nProxyHeadTimeout 300ms\nProxy /* ${up.origin}/*`);
    const first = exchange(port, get('/a'), { responses: 1 });
    await sleep(20);
    const second = await exchange(port, get('/b'), { responses: 1 });
    expect(second.responses[0]!.status).toBe(504);
    // The first one's head came after its own timeout too.
    expect((await first).responses[0]!.status).toBe(504);
  });
});

describe('the queue', () => {
  it('waiters queued at different times each time out after their own wait, the later one later', async () => {
    // The one connection stays busy: a head at once, then a body that does not end.
    const up = await fakeUpstream((_req, socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(20_000)}`));
    const { port } = await proxyServer(`ProxyMaxConnections 1\nProxyHeadTimeout 400ms\nProxy /* ${up.origin}/*`);
    void exchange(port, get('/a'), { timeout: 1500 });
    await sleep(30);
    const started = Date.now();
    const times: number[] = [];
    const b = exchange(port, get('/b'), { responses: 1 }).then((ex) => (times[0] = Date.now() - started, ex));
    await sleep(200);
    const c = exchange(port, get('/c'), { responses: 1 }).then((ex) => (times[1] = Date.now() - started, ex));
    const [rb, rc] = await Promise.all([b, c]);
    expect([rb.responses[0]!.status, rc.responses[0]!.status]).toEqual([504, 504]);
    expect(times[0]).toBeGreaterThanOrEqual(380);
    expect(times[0]).toBeLessThan(580);
    expect(times[1]).toBeGreaterThanOrEqual(580);
    expect(up.requests.map((r) => r.target)).toEqual(['/a']);
  });

  it('a client that goes away while queued leaves the queue: its request never goes up, the next one does', async () => {
    const up = await fakeUpstream((req, socket) => setTimeout(() => respond(socket, 200, req.target), req.target === '/slow' ? 400 : 0));
    const { server, port } = await proxyServer(`ProxyMaxConnections 1\nProxy /* ${up.origin}/*`);
    const slow = exchange(port, get('/slow'), { responses: 1 });
    await sleep(30);
    const gone = await connect(port);
    gone.write(get('/gone'));
    await sleep(50);
    expect(server.proxy.pools.stats()).toMatchObject([{ busy: 1, waiting: 1 }]);
    // A reset: a half-closed client would still be answered.
    gone.resetAndDestroy();
    await sleep(50);
    expect(server.proxy.pools.stats()).toMatchObject([{ busy: 1, waiting: 0 }]);
    const next = await exchange(port, get('/next'), { responses: 1 });
    expect(next.responses[0]!.body.toString()).toBe('/next');
    expect((await slow).responses[0]!.body.toString()).toBe('/slow');
    expect(up.requests.map((r) => r.target)).toEqual(['/slow', '/next']);
  });
});

describe('the upstream closes an idle connection', () => {
  it('closed while idle: the pool notices, the next request goes on a fresh connection', async () => {
    const up = await fakeUpstream((_req, socket) => {
      respond(socket, 200, 'ok');
      setTimeout(() => socket.end(), 30);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    await exchange(port, get('/a'), { responses: 1 });
    await sleep(100);
    const ex = await exchange(port, get('/b'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(200);
    expect(up.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('closed as the next request arrives: a GET is retried once on a fresh connection', async () => {
    const up = await fakeUpstream((req, socket) => {
      // The race of a keep-alive timeout: the second request on a connection finds it closing.
      if (req.index === 2) return void socket.destroy();
      respond(socket, 200, `ok ${req.connection}`);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    await exchange(port, get('/a'), { responses: 1 });
    const ex = await exchange(port, get('/b'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(200);
    expect(ex.responses[0]!.body.toString()).toBe('ok 2');
    expect(up.requests.map((r) => [r.target, r.connection])).toEqual([['/a', 1], ['/b', 1], ['/b', 2]]);
  });

  it('a POST whose body was sent is not retried: 502', async () => {
    const up = await fakeUpstream((req, socket) => {
      if (req.index === 2) return void socket.destroy();
      respond(socket, 200, 'ok');
    });
    const { port } = await proxyServer(`Enable POST /*\nProxy /* ${up.origin}/*`);
    await exchange(port, get('/a'), { responses: 1 });
    const ex = await exchange(port, 'POST /order HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello', { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(up.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(up.connections).toBe(1);
  });

  it('a GET is retried only once: a fresh connection that fails too gives 502', async () => {
    const up = await fakeUpstream((req, socket) => {
      if (req.connection === 1 && req.index === 1) return respond(socket, 200, 'ok');
      socket.destroy();
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    await exchange(port, get('/a'), { responses: 1 });
    const ex = await exchange(port, get('/b'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(up.requests.filter((r) => r.target === '/b')).toHaveLength(2);
  });

  it('bytes from an idle connection (nothing was asked) get it destroyed', async () => {
    const up = await fakeUpstream((_req, socket) => {
      respond(socket, 200, 'ok');
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged'), 30);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    await exchange(port, get('/a'), { responses: 1 });
    expect(await up.closedCount(1, 1000)).toBe(true);
    const ex = await exchange(port, get('/b'), { responses: 1 });
    expect(ex.responses[0]!.body.toString()).toBe('ok');
    expect(up.connections).toBe(2);
  });
});

// The client goes away with a reset: a FIN alone is a half-close, after
// which the server still owes the response (RFC 9112 §9.6).
describe('aborts', () => {
  it('a client that goes away before the head frees the upstream connection', async () => {
    const up = await fakeUpstream(() => {});
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write(get('/slow'));
    await sleep(100);
    expect(up.connections).toBe(1);
    client.resetAndDestroy();
    expect(await up.closedCount(1, 2000)).toBe(true);
    await sleep(20);
    expect(server.proxy.pools.stats()).toEqual([]);
  });

  it('a client that goes away in the body frees the upstream connection', async () => {
    const up = await fakeUpstream((_req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write(get('/stream'));
    await readUntil(client, (b) => b.includes('hello'));
    client.resetAndDestroy();
    expect(await up.closedCount(1, 2000)).toBe(true);
  });

  it('an upstream that answers before reading the whole upload: relayed, then both connections close', async () => {
    const up = await fakeUpstream({
      raw: (socket) => {
        socket.once('data', () => socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope'));
      },
    });
    const { port } = await proxyServer(`Enable PUT /*\nProxy /* ${up.origin}/*`);
    const client = await connect(port);
    client.write('PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n' + 'x'.repeat(1000));
    const reply = await readUntil(client, (b) => b.includes('nope'));
    expect(reply.toString()).toMatch(/^HTTP\/1\.1 401 /);
    expect(reply.toString()).toContain('Connection: close');
    expect(await waitClose(client)).toBe(true);
    expect(await up.closedCount(1, 2000)).toBe(true);
  });
});
