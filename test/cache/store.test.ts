// What is stored and what is not: invalidation by unsafe methods (RFC 9111
// §4.4), incomplete responses (§3.3), collapsed forwarding, and the memory
// bound under eviction.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup, write, Clock } from './fixtures.js';
import { connect, exchange, readUntil, sleep } from '../helpers/wire.js';
import { fakeUpstream, proxyServer } from '../proxy/fakes.js';

afterEach(cleanup);

const fresh = (req: { index: number; method: string }) => ({ fields: ['Cache-Control: max-age=100'], body: `${req.method} ${req.index}` });

describe('invalidation (§4.4)', () => {
  const enable = 'Enable POST /*\nEnable PUT /*\nEnable DELETE /*';

  it.each([
    ['POST', 200, true], ['PUT', 204, true], ['DELETE', 200, true], ['POST', 303, true],
    ['POST', 404, false], ['POST', 500, false],
  ])('%s answered %d invalidates the target URI: %s', async (method, status, invalidated) => {
    const s = await caching((req) => (req.method === 'GET' ? fresh(req) : { status, fields: status === 303 ? ['Location: /elsewhere'] : [], body: '' }), enable);
    await s.get('/d');
    await s.get('/d', 'Content-Length: 0\r\n', method);
    const after = await s.get('/d');
    expect(s.count).toBe(invalidated ? 3 : 2);
    expect(after.body.toString()).toBe(invalidated ? 'GET 3' : 'GET 1');
  });

  it('same-origin Location and Content-Location are invalidated; another origin\'s are not', async () => {
    const s = await caching((req) => (req.method === 'GET' ? fresh(req) : {
      status: 201, fields: ['Location: /a', 'Content-Location: http://cache.test/b?x=1', 'X: 1'], body: '',
    }), enable);
    for (const p of ['/a', '/b?x=1', '/c']) await s.get(p);
    await s.get('/new', 'Content-Length: 0\r\n', 'POST');
    const before = s.count;
    await s.get('/a');
    await s.get('/b?x=1');
    await s.get('/c');
    expect(s.count - before).toBe(2);
    const other = await caching((req) => (req.method === 'GET' ? fresh(req) : { status: 201, fields: ['Location: http://elsewhere.test/a'], body: '' }), enable);
    await other.get('/a');
    await other.get('/new', 'Content-Length: 0\r\n', 'POST');
    await other.get('/a');
    expect(other.count).toBe(2);
  });

  it('a response on its way while its URI is invalidated is passed on, not stored', async () => {
    const clock = new Clock();
    const up = await fakeUpstream((req, socket) => {
      if (req.method === 'POST') return write(socket, { status: 204 }, clock);
      setTimeout(() => write(socket, { fields: ['Cache-Control: max-age=100'], body: 'before the POST' }, clock), 150);
    });
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*\n${enable}`, { proxyCache: { now: () => clock.now } });
    const get = exchange(port, 'GET /d HTTP/1.1\r\nHost: cache.test\r\n\r\n', { responses: 1 });
    await sleep(50);
    await exchange(port, 'POST /d HTTP/1.1\r\nHost: cache.test\r\nContent-Length: 0\r\n\r\n', { responses: 1 });
    expect((await get).responses[0]!.body.toString()).toBe('before the POST');
    expect(server.proxyCache.store.count).toBe(0);
  });

  it('a GET or HEAD invalidates nothing', async () => {
    const s = await caching(fresh);
    await s.get('/d');
    await s.get('/d', '', 'HEAD');
    await s.get('/d');
    expect(s.count).toBe(1);
  });
});

describe('incomplete responses are never stored as complete (§3.3)', () => {
  it.each([false, true])('an upstream that dies mid-body (chunked: %s)', async (chunked) => {
    let n = 0;
    const s = await caching(() => ({ fields: ['Cache-Control: max-age=100'], body: 'x'.repeat(5000), ...(++n === 1 && { truncateAt: 1000 }), chunked }));
    const c = await connect(s.port);
    c.write('GET /d HTTP/1.1\r\nHost: cache.test\r\n\r\n');
    await readUntil(c, () => false, 500);
    c.destroy();
    const r = await s.get('/d');
    expect(s.count).toBe(2);
    expect(r.body.length).toBe(5000);
    expect(r.headers['cache-status']).toMatch(/fwd=uri-miss/);
  });

  it('a client that goes away mid-body leaves nothing stored', async () => {
    const clock = new Clock();
    let first = true;
    const up = await fakeUpstream({
      raw: (socket) => {
        socket.on('data', () => {
          if (first) {
            first = false;
            socket.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=100\r\nContent-Length: 2000000\r\n\r\n');
            const timer = setInterval(() => socket.write(Buffer.alloc(16 * 1024, 'a')), 5);
            socket.on('close', () => clearInterval(timer));
            socket.on('error', () => clearInterval(timer));
          } else {
            write(socket, { fields: ['Cache-Control: max-age=100'], body: 'second' }, clock);
          }
        });
      },
    });
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*`, { proxyCache: { now: () => clock.now } });
    const c = await connect(port);
    c.write('GET /d HTTP/1.1\r\nHost: cache.test\r\n\r\n');
    await readUntil(c, (all) => all.length > 100_000);
    c.destroy();
    await sleep(100);
    expect(server.proxyCache.store.count).toBe(0);
    const c2 = await connect(port);
    c2.write('GET /d HTTP/1.1\r\nHost: cache.test\r\n\r\n');
    const raw = await readUntil(c2, (all) => all.toString().includes('second'));
    c2.destroy();
    expect(raw.toString()).toContain('second');
  });

  it('a body larger than one entry may be is passed on whole and not stored', async () => {
    // 64 KiB of cache: one entry at most 8 KiB.
    const s = await caching(() => ({ fields: ['Cache-Control: max-age=100'], body: 'y'.repeat(9000), chunked: true }), '', 64 * 1024);
    const a = await s.get('/big');
    expect(a.body.length).toBe(9000);
    await s.get('/big');
    expect(s.count).toBe(2);
    expect(s.server.proxyCache.store.count).toBe(0);
  });
});

describe('collapsed forwarding', () => {
  it('concurrent misses for one URI send one request upstream', async () => {
    const clock = new Clock();
    const up = await fakeUpstream((req, socket) => {
      setTimeout(() => write(socket, { fields: ['Cache-Control: max-age=100'], body: `only ${req.index}` }, clock), 150);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*`, { proxyCache: { now: () => clock.now } });
    const get = async () => {
      const c = await connect(port);
      c.write('GET /hot HTTP/1.1\r\nHost: cache.test\r\n\r\n');
      const raw = await readUntil(c, (all) => all.toString().includes('only '));
      c.destroy();
      return raw.toString();
    };
    const replies = await Promise.all(Array.from({ length: 6 }, get));
    expect(up.requests.length).toBe(1);
    for (const r of replies) expect(r).toContain('only 1');
    expect(replies.filter((r) => r.includes('collapsed')).length).toBe(5);
  });

  it('a waiter goes upstream itself when the first response takes longer than the wait', async () => {
    const clock = new Clock();
    let n = 0;
    const up = await fakeUpstream((_req, socket) => {
      // The first: a head and half a body, then nothing (it never completes); the second: whole.
      if (++n === 1) socket.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=100\r\nContent-Length: 100\r\n\r\nhalf');
      else write(socket, { fields: ['Cache-Control: max-age=100'], body: 'whole' }, clock);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*`, { proxyCache: { now: () => clock.now, collapseWait: 200 } });
    const first = await connect(port);
    first.write('GET /slow HTTP/1.1\r\nHost: cache.test\r\n\r\n');
    await readUntil(first, (all) => all.toString().includes('half'));
    const started = Date.now();
    const second = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: cache.test\r\n\r\n', { responses: 1, timeout: 3000 });
    first.destroy();
    expect(second.responses[0]!.body.toString()).toBe('whole');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(up.requests.length).toBe(2);
  });

  it('when the response turns out not storable, the waiters go upstream themselves', async () => {
    const clock = new Clock();
    let n = 0;
    const up = await fakeUpstream((_req, socket) => {
      const mine = ++n;
      setTimeout(() => write(socket, { fields: ['Cache-Control: no-store'], body: `own ${mine}` }, clock), 100);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*`, { proxyCache: { now: () => clock.now } });
    const get = async () => {
      const c = await connect(port);
      c.write('GET /hot HTTP/1.1\r\nHost: cache.test\r\n\r\n');
      const raw = await readUntil(c, (all) => /own \d/.test(all.toString()));
      c.destroy();
      return /own (\d)/.exec(raw.toString())![1];
    };
    const replies = await Promise.all(Array.from({ length: 4 }, get));
    expect(up.requests.length).toBe(4);
    expect(new Set(replies).size).toBe(4);
  });
});

describe('the memory bound', () => {
  it('holds under eviction, least recently used first', async () => {
    // 64 KiB, entries of ~6 KiB: about ten fit.
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=1000'], body: `${req.target} `.padEnd(6000, '.') }), '', 64 * 1024);
    await s.get('/0');
    for (let i = 1; i < 30; i++) {
      await s.get(`/${i}`);
      await s.get('/0'); // kept recent
      expect(s.server.proxyCache.store.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    const store = s.server.proxyCache.store;
    expect(store.evictions).toBeGreaterThan(15);
    const before = s.count;
    await s.get('/0');
    await s.get('/29');
    expect(s.count).toBe(before);
    await s.get('/1');
    expect(s.count).toBe(before + 1);
  });

  it('a Vary on a field the client fills at will keeps at most 32 variants of a URI', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=1000', 'Vary: X-Id'], body: `id ${req.headers['x-id']}` }));
    for (let i = 0; i < 100; i++) await s.get('/v', `X-Id: ${i}\r\n`);
    const store = s.server.proxyCache.store;
    expect(store.count).toBe(32);
    const before = s.count;
    expect((await s.get('/v', 'X-Id: 99\r\n')).body.toString()).toBe('id 99');
    expect((await s.get('/v', 'X-Id: 68\r\n')).body.toString()).toBe('id 68');
    expect(s.count).toBe(before);
    await s.get('/v', 'X-Id: 0\r\n');
    expect(s.count).toBe(before + 1);
  });

  it('ProxyCacheSize in the rule file sets the bound', async () => {
    const s = await caching(fresh, 'ProxyCacheSize 100K');
    expect(s.server.proxyCache.store.maxBytes).toBe(100 * 1024);
  });
});
