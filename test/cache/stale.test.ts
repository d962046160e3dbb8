// stale-while-revalidate and stale-if-error (RFC 5861), over raw sockets.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup } from './fixtures.js';
import { sleep } from '../helpers/wire.js';

afterEach(cleanup);

describe('stale-while-revalidate (RFC 5861 §3)', () => {
  it('within the window: the stale response at once, one validation in the background', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=10, stale-while-revalidate=60', `ETag: "v${req.index}"`], body: `v${req.index}` }));
    await s.get('/d');
    s.clock.advance(20);
    const [a, b] = await Promise.all([s.get('/d'), s.get('/d')]);
    expect(a.body.toString()).toBe('v1');
    expect(b.body.toString()).toBe('v1');
    expect(a.headers['cache-status']).toBe('streamstack; hit; ttl=-10; detail=stale-while-revalidate');
    expect(a.headers.age).toBe('20');
    for (let i = 0; i < 50 && s.server.proxyCache.store.select('http://cache.test/d', {}).entry?.body.toString() !== 'v2'; i++) await sleep(10);
    expect(s.count).toBe(2);
    expect(s.up.requests[1]!.headers['if-none-match']).toBe('"v1"');
    const c = await s.get('/d');
    expect(c.body.toString()).toBe('v2');
    expect(c.headers['cache-status']).toMatch(/^streamstack; hit; ttl=\d+$/);
    expect(s.count).toBe(2);
  });

  it('a background validation that brings a body-less response stores it too', async () => {
    const s = await caching((req) => (req.index === 1
      ? { status: 200, fields: ['Cache-Control: max-age=10, stale-while-revalidate=60', 'ETag: "full"'], body: 'full' }
      : { status: 204, fields: ['Cache-Control: max-age=100', 'ETag: "empty"'] }));
    await s.get('/d');
    s.clock.advance(20);
    expect((await s.get('/d')).body.toString()).toBe('full');
    for (let i = 0; i < 50 && s.count < 2; i++) await sleep(10);
    await sleep(20);
    const after = await s.get('/d');
    expect(after.status).toBe(204);
    expect(after.headers.etag).toBe('"empty"');
    expect(s.count).toBe(2);
  });

  it('past the window: validated before answering', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=10, stale-while-revalidate=5'], body: `v${req.index}` }));
    await s.get('/d');
    s.clock.advance(20);
    const a = await s.get('/d');
    expect(a.body.toString()).toBe('v2');
  });
});

describe('stale-if-error (RFC 5861 §4)', () => {
  const failing = (status: number) => {
    let n = 0;
    return () => (++n === 1 ? { fields: ['Cache-Control: max-age=10, stale-if-error=60'], body: 'old' } : { status, body: 'error' });
  };
  it.each([500, 502, 503, 504])('an upstream %d within the window: the stale response', async (status) => {
    const s = await caching(failing(status));
    await s.get('/d');
    s.clock.advance(30);
    const r = await s.get('/d');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('old');
    expect(r.headers['cache-status']).toBe(`streamstack; fwd=stale; fwd-status=${status}; detail=stale-if-error`);
    expect(s.count).toBe(2);
  });

  it('past the window: the error', async () => {
    const s = await caching(failing(503));
    await s.get('/d');
    s.clock.advance(100);
    const r = await s.get('/d');
    expect(r.status).toBe(503);
  });

  it('an unreachable upstream within the window: the stale response', async () => {
    const s = await caching(() => ({ fields: ['Cache-Control: max-age=10, stale-if-error=60'], body: 'old' }));
    await s.get('/d');
    await s.up.close();
    s.clock.advance(30);
    const r = await s.get('/d');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('old');
  });

  it('a request\'s stale-if-error allows it too', async () => {
    let n = 0;
    const s = await caching(() => (++n === 1 ? { fields: ['Cache-Control: max-age=10'], body: 'old' } : { status: 500, body: 'e' }));
    await s.get('/d');
    s.clock.advance(30);
    expect((await s.get('/d', 'Cache-Control: stale-if-error=60\r\n')).body.toString()).toBe('old');
  });
});
