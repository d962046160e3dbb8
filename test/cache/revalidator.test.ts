// The HTTP cache supplies its revalidator to the shared memory cache
// (src/http-cache/revalidator.ts), as the FILE module supplies its own: the
// memory cache asks it whether a stored response may answer a request as it
// is (RFC 9111 §4.2, with the request's directives), and has it validate the
// response upstream (§4.3), dropping one found changed.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup } from './fixtures.js';
import { Request } from '../../src/request.js';
import { Check } from '../../src/http-cache/revalidator.js';
import { requestDirectives } from '../../src/http-cache/policy.js';

afterEach(cleanup);

function request(headers: Record<string, string> = {}): Request {
  return new Request({ method: 'GET', target: '/d', versionMinor: 1, headers: { host: 'cache.test', ...headers }, rawHeaders: [], bodyLength: 0 });
}

const check = (headers: Record<string, string> = {}) => {
  const r = request(headers);
  return new Check(r, requestDirectives(r.headers));
};

describe('the memory cache asks the HTTP cache\'s revalidator', () => {
  it('whether a stored response is fresh for a request, by RFC 9111 arithmetic and the request\'s directives', async () => {
    const s = await caching(() => ({ fields: ['ETag: "v1"', 'Cache-Control: max-age=10'], body: 'v1' }));
    await s.get('/d');
    const store = s.server.proxyCache.store;
    const entry = store.find('http://cache.test/d', request().headers)!;
    expect(entry.memory!.inCache).toBe(true);
    const fresh = check();
    expect(store.cache.fresh(entry.memory!, fresh)).toBe(true);
    expect(fresh.use).toEqual({ kind: 'fresh', ttl: 10 });
    expect(store.cache.fresh(entry.memory!, check({ 'cache-control': 'no-cache' }))).toBe(false);
    s.clock.advance(20);
    expect(store.cache.fresh(entry.memory!, check())).toBe(false);
    expect(store.cache.fresh(entry.memory!, check({ 'cache-control': 'max-stale=100' }))).toBe(true);
  });

  it('to validate it: a 304 keeps it (freshened); a new 200 means it changed, and the memory cache drops it', async () => {
    let version = 'v1';
    const s = await caching((req) => (req.headers['if-none-match'] === `"${version}"`
      ? { status: 304, fields: [`ETag: "${version}"`, 'Cache-Control: max-age=10'] }
      : { fields: [`ETag: "${version}"`, 'Cache-Control: max-age=10'], body: version }));
    await s.get('/d');
    const store = s.server.proxyCache.store;
    const first = store.find('http://cache.test/d', request().headers)!;
    s.clock.advance(20);
    await s.get('/d');
    // Validated by a 304: the same stored response, fresh again.
    expect(store.find('http://cache.test/d', request().headers)).toBe(first);
    expect(first.memory!.inCache).toBe(true);
    expect(s.up.requests[1]!.headers['if-none-match']).toBe('"v1"');
    version = 'v2';
    s.clock.advance(20);
    const r = await s.get('/d');
    expect(r.body.toString()).toBe('v2');
    expect(first.memory!.inCache).toBe(false);
    const second = store.find('http://cache.test/d', request().headers)!;
    expect(second).not.toBe(first);
    expect(store.cache.check()).toHaveLength(1);
  });
});
