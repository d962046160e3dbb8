// Request and response directives, Vary, HEAD, and the converter stack
// after the cache, over raw sockets against a counting upstream.

import { afterEach, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { caching, cleanup } from './fixtures.js';
import { exchange } from '../helpers/wire.js';

afterEach(cleanup);

const fresh = (req: { index: number }) => ({ fields: ['Content-Type: text/plain', 'Cache-Control: max-age=100'], body: `response ${req.index}` });

describe('response directives (RFC 9111 §5.2.2)', () => {
  it.each([
    ['no-store', 'Cache-Control: no-store, max-age=100'],
    ['private', 'Cache-Control: private, max-age=100'],
    ['Vary: *', 'Cache-Control: max-age=100\r\nVary: *'],
  ])('%s: never stored', async (_n, fields) => {
    const s = await caching((req) => ({ fields: fields.split('\r\n'), body: `r${req.index}` }));
    const a = await s.get('/d');
    expect(a.headers['cache-status']).not.toContain('stored');
    const b = await s.get('/d');
    expect(b.body.toString()).toBe('r2');
    expect(s.count).toBe(2);
  });

  it('no-cache: stored, but validated on every use', async () => {
    const s = await caching((req) => (req.headers['if-none-match'] === '"v1"'
      ? { status: 304, fields: ['ETag: "v1"', 'Cache-Control: no-cache'] }
      : { fields: ['ETag: "v1"', 'Cache-Control: no-cache'], body: 'body v1' }));
    await s.get('/d');
    for (let i = 2; i <= 4; i++) {
      const r = await s.get('/d');
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('body v1');
      expect(s.up.requests[i - 1]!.headers['if-none-match']).toBe('"v1"');
    }
    expect(s.count).toBe(4);
  });

  it('private with field names: stored without those fields (§5.2.2.7)', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: private="Set-Cookie, X-User", max-age=100', 'Set-Cookie: session=alice', 'X-User: alice', 'X-Public: yes'], body: `r${req.index}` }));
    const a = await s.get('/d');
    expect(a.headers['set-cookie']).toBe('session=alice');
    const b = await s.get('/d');
    expect(s.count).toBe(1);
    expect(b.body.toString()).toBe('r1');
    expect(b.headers['set-cookie']).toBeUndefined();
    expect(b.headers['x-user']).toBeUndefined();
    expect(b.headers['x-public']).toBe('yes');
  });

  it('no-cache with field names: served without those fields, without validation (§5.2.2.4)', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: no-cache="Set-Cookie", max-age=100', 'Set-Cookie: a=1', 'X-Other: kept'], body: `r${req.index}` }));
    const a = await s.get('/d');
    expect(a.headers['set-cookie']).toBe('a=1');
    const b = await s.get('/d');
    expect(s.count).toBe(1);
    expect(b.body.toString()).toBe('r1');
    expect(b.headers['set-cookie']).toBeUndefined();
    expect(b.headers['x-other']).toBe('kept');
  });

  it('must-revalidate: a stale response is not served even when the request allows it', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=10, must-revalidate'], body: `r${req.index}` }));
    await s.get('/d');
    s.clock.advance(20);
    const b = await s.get('/d', 'Cache-Control: max-stale=1000\r\n');
    expect(b.body.toString()).toBe('r2');
    expect(s.count).toBe(2);
  });

  it('Authorization: not stored without public, s-maxage or must-revalidate (§3.5)', async () => {
    const s = await caching(fresh);
    await s.get('/d', 'Authorization: Basic dTpw\r\n');
    await s.get('/d', 'Authorization: Basic dTpw\r\n');
    expect(s.count).toBe(2);
    const p = await caching((req) => ({ fields: ['Cache-Control: public, max-age=100'], body: `r${req.index}` }));
    await p.get('/d', 'Authorization: Basic dTpw\r\n');
    await p.get('/d', 'Authorization: Basic dTpw\r\n');
    expect(p.count).toBe(1);
  });
});

describe('request directives (RFC 9111 §5.2.1)', () => {
  it.each([
    ['no-cache', 'Cache-Control: no-cache', 10, 2],
    ['Pragma: no-cache', 'Pragma: no-cache', 10, 2],
    ['max-age=5 after 10 s', 'Cache-Control: max-age=5', 10, 2],
    ['max-age=20 after 10 s', 'Cache-Control: max-age=20', 10, 1],
    ['min-fresh=95 with 90 s left', 'Cache-Control: min-fresh=95', 10, 2],
    ['min-fresh=80 with 90 s left', 'Cache-Control: min-fresh=80', 10, 1],
    ['max-stale (any) on a stale entry', 'Cache-Control: max-stale', 150, 1],
    ['max-stale=60 with 50 s stale', 'Cache-Control: max-stale=60', 150, 1],
    ['max-stale=10 with 50 s stale', 'Cache-Control: max-stale=10', 150, 2],
    ['no max-stale with 50 s stale', 'X-Other: 1', 150, 2],
  ])('%s', async (_n, field, wait, expected) => {
    const s = await caching(fresh);
    await s.get('/d');
    s.clock.advance(wait);
    const r = await s.get('/d', `${field}\r\n`);
    expect(s.count).toBe(expected);
    expect(r.body.toString()).toBe(`response ${expected}`);
    if (expected === 1) expect(r.headers['cache-status']).toMatch(/^streamstack; hit; ttl=/);
  });

  it('max-stale serves the stale entry with a negative ttl', async () => {
    const s = await caching(fresh);
    await s.get('/d');
    s.clock.advance(150);
    const r = await s.get('/d', 'Cache-Control: max-stale\r\n');
    expect(r.headers['cache-status']).toBe('streamstack; hit; ttl=-50');
    expect(r.headers.age).toBe('150');
  });

  it('only-if-cached: 504 with nothing stored, nothing sent upstream', async () => {
    const s = await caching(fresh);
    const r = await s.get('/d', 'Cache-Control: only-if-cached\r\n');
    expect(r.status).toBe(504);
    expect(r.body.toString()).toContain('only-if-cached');
    expect(s.count).toBe(0);
    await s.get('/d');
    const hit = await s.get('/d', 'Cache-Control: only-if-cached\r\n');
    expect(hit.status).toBe(200);
    s.clock.advance(200);
    const stale = await s.get('/d', 'Cache-Control: only-if-cached\r\n');
    expect(stale.status).toBe(504);
    expect(s.count).toBe(1);
  });

  it('no-store in the request: nothing of the exchange is stored', async () => {
    const s = await caching(fresh);
    await s.get('/d', 'Cache-Control: no-store\r\n');
    await s.get('/d');
    expect(s.count).toBe(2);
  });
});

describe('Vary (RFC 9111 §4.1)', () => {
  const byLanguage = (req: { index: number; headers: Record<string, string> }) => ({
    fields: ['Cache-Control: max-age=100', 'Vary: Accept-Language'], body: `${req.headers['accept-language'] ?? 'none'} ${req.index}`,
  });

  it('each Accept-Language value has its own stored response; normalised values share one', async () => {
    const s = await caching(byLanguage);
    expect((await s.get('/d', 'Accept-Language: en, fr\r\n')).body.toString()).toBe('en, fr 1');
    expect((await s.get('/d', 'Accept-Language: de\r\n')).body.toString()).toBe('de 2');
    expect((await s.get('/d')).body.toString()).toBe('none 3');
    const vm = await s.get('/d', 'Accept-Language: EN ,FR\r\n');
    expect(vm.body.toString()).toBe('en, fr 1');
    expect((await s.get('/d', 'Accept-Language: de\r\n')).body.toString()).toBe('de 2');
    expect((await s.get('/d')).body.toString()).toBe('none 3');
    expect(s.count).toBe(3);
  });

  it('a request without the field does not match one stored with it empty', async () => {
    const s = await caching(byLanguage);
    await s.get('/d', 'Accept-Language: \r\n');
    const r = await s.get('/d');
    expect(s.count).toBe(2);
    expect(r.headers['cache-status']).toMatch(/fwd=vary-miss/);
  });
});

describe('the primary key (an attacker\'s targets)', () => {
  it.each([
    ['/p\\q', '/p/q'],
    ['/a/%2e%2e/b', '/b'],
    ['/x%2Fy', '/x/y'],
    ['/c?', '/c'],
  ])('%s and %s never share a stored response', async (one, other) => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=100'], body: `for ${req.target}` }));
    const a = await s.get(one);
    const b = await s.get(other);
    const before = s.count;
    if (a.status === 200) expect(a.body.toString()).toBe(`for ${s.up.requests[0]!.target}`);
    expect(b.body.toString()).toBe(`for ${s.up.requests[before - 1]!.target}`);
    expect(b.headers['cache-status']).toMatch(/fwd=uri-miss/);
  });

  it('the host is part of the key, its case and default port are not', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=100'], body: `for ${req.headers.host}` }));
    await s.get('/h');
    const other = await exchange(s.port, 'GET /h HTTP/1.1\r\nHost: other.test\r\n\r\n', { responses: 1 });
    expect(other.responses[0]!.body.toString()).toBe('for other.test');
    const same = await exchange(s.port, 'GET /h HTTP/1.1\r\nHost: CACHE.test:80\r\n\r\n', { responses: 1 });
    expect(same.responses[0]!.headers['cache-status']).toMatch(/^streamstack; hit/);
    expect(s.count).toBe(2);
  });
});

describe('HEAD and the converter stack after the cache', () => {
  it('HEAD is answered from a stored GET, with its length and no body', async () => {
    const s = await caching(fresh);
    await s.get('/d');
    const r = await s.get('/d', '', 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String('response 1'.length));
    expect(r.body.length).toBe(0);
    expect(r.headers['cache-status']).toMatch(/^streamstack; hit/);
    expect(s.count).toBe(1);
  });

  it('one stored identity response serves gzip and identity clients, with Vary', async () => {
    const text = 'caching proxy '.repeat(400);
    const s = await caching(() => ({ fields: ['Content-Type: text/plain', 'Cache-Control: max-age=100'], body: text }));
    const identity = await s.get('/d');
    const gz = await s.get('/d', 'Accept-Encoding: gzip\r\n');
    const again = await s.get('/d');
    expect(s.count).toBe(1);
    expect(identity.body.toString()).toBe(text);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(text);
    expect(gz.headers.vary).toContain('Accept-Encoding');
    expect(again.headers['content-encoding']).toBeUndefined();
    expect(again.body.toString()).toBe(text);
  });

  it('the gzip variant of a stored response is made once, kept with it and charged when added', async () => {
    const text = 'caching proxy '.repeat(400);
    const s = await caching(() => ({ fields: ['Content-Type: text/plain', 'Cache-Control: max-age=100'], body: text }));
    await s.get('/d');
    const store = s.server.proxyCache.store;
    const before = store.bytes;
    const gz = await s.get('/d', 'Accept-Encoding: gzip\r\n');
    expect(store.bytes).toBe(before + gz.body.length);
    const again = await s.get('/d', 'Accept-Encoding: gzip\r\n');
    expect(store.bytes).toBe(before + gz.body.length);
    expect(again.body.equals(gz.body)).toBe(true);
    const variants = store.select('http://cache.test/d', {}).entry!.anchor!.document!.bodies;
    expect(variants.get('gzip')!.equals(gz.body)).toBe(true);
  });
});
