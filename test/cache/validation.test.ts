// Validation (RFC 9111 §4.3): stale entries revalidated with the stored
// validators, 304s merged into the stored fields, a new 200 replacing the
// entry, the client's own preconditions answered from a fresh entry.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup, Clock, write } from './fixtures.js';
import { fakeUpstream, proxyServer } from '../proxy/fakes.js';
import { exchange } from '../helpers/wire.js';

afterEach(cleanup);

describe('revalidating a stale entry', () => {
  it('sends If-None-Match; a 304 freshens the entry and merges its fields', async () => {
    const s = await caching((req) => (req.headers['if-none-match'] === '"v1"'
      ? { status: 304, fields: ['ETag: "v1"', 'Cache-Control: max-age=50', 'X-Checked: yes'] }
      : { fields: ['Content-Type: text/plain', 'ETag: "v1"', 'Cache-Control: max-age=10', 'X-Checked: no', 'X-Kept: 1'], body: 'body v1' }));
    await s.get('/d');
    s.clock.advance(20);
    const r = await s.get('/d');
    expect(s.count).toBe(2);
    expect(s.up.requests[1]!.headers['if-none-match']).toBe('"v1"');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('body v1');
    expect(r.headers['x-checked']).toBe('yes');
    expect(r.headers['x-kept']).toBe('1');
    expect(r.headers['cache-control']).toBe('max-age=50');
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['cache-status']).toBe('streamstack; fwd=stale; fwd-status=304');
    expect(r.headers.age).toBe('0');
    // Fresh again, for the 304's max-age=50.
    s.clock.advance(40);
    const hit = await s.get('/d');
    expect(hit.headers['cache-status']).toBe('streamstack; hit; ttl=10');
    expect(hit.headers['x-checked']).toBe('yes');
    expect(s.count).toBe(2);
  });

  it('a 304\'s Content-Type updates the stored one (§3.2); the body\'s coding stays', async () => {
    const s = await caching((req) => (req.headers['if-none-match'] === '"v1"'
      ? { status: 304, fields: ['ETag: "v1"', 'Content-Type: text/plain; charset=utf-8', 'Content-Encoding: br', 'Cache-Control: max-age=50'] }
      : { fields: ['Content-Type: application/octet-stream', 'ETag: "v1"', 'Cache-Control: max-age=10'], body: 'body v1' }));
    await s.get('/d');
    s.clock.advance(20);
    const r = await s.get('/d');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.body.toString()).toBe('body v1');
  });

  it('sends If-Modified-Since with only Last-Modified', async () => {
    const s = await caching((req, clock) => (req.headers['if-modified-since'] !== undefined
      ? { status: 304, fields: ['Cache-Control: max-age=10'] }
      : { fields: [`Last-Modified: ${clock.date(-3600)}`, 'Cache-Control: max-age=10'], body: 'lm body' }));
    await s.get('/d');
    const lm = s.up.requests.length;
    s.clock.advance(20);
    const r = await s.get('/d');
    expect(lm).toBe(1);
    expect(s.up.requests[1]!.headers['if-modified-since']).toMatch(/GMT$/);
    expect(s.up.requests[1]!.headers['if-none-match']).toBeUndefined();
    expect(r.body.toString()).toBe('lm body');
  });

  it('a 200 to the validation replaces the entry', async () => {
    const s = await caching((req) => ({ fields: [`ETag: "v${req.index}"`, 'Cache-Control: max-age=10'], body: `body v${req.index}` }));
    await s.get('/d');
    s.clock.advance(20);
    const r = await s.get('/d');
    expect(r.body.toString()).toBe('body v2');
    expect(r.headers['cache-status']).toBe('streamstack; fwd=stale; fwd-status=200; stored');
    const hit = await s.get('/d');
    expect(hit.body.toString()).toBe('body v2');
    expect(s.count).toBe(2);
  });

  it('a 304 with another ETag does not freshen the entry: the response is fetched whole', async () => {
    const s = await caching((req) => (req.headers['if-none-match'] !== undefined
      ? { status: 304, fields: ['ETag: "other"', 'Cache-Control: max-age=100'] }
      : { fields: [`ETag: "v${req.index}"`, 'Cache-Control: max-age=10'], body: `body v${req.index}` }));
    await s.get('/d');
    s.clock.advance(20);
    const r = await s.get('/d');
    expect(s.count).toBe(3);
    expect(s.up.requests[2]!.headers['if-none-match']).toBeUndefined();
    expect(r.body.toString()).toBe('body v3');
  });

  it.each([
    ['W/"v1"', '"v1"', true],
    ['"v1"', 'W/"v1"', false],
    ['"v2"', '"v1"', false],
    ['W/"v1"', 'W/"v1"', true],
  ])('a 304 with ETag %s for a stored %s freshens it: %s (§4.3.4)', async (sent, storedTag, freshened) => {
    const s = await caching((req) => (req.headers['if-none-match'] !== undefined
      ? { status: 304, fields: [`ETag: ${sent}`, 'Cache-Control: max-age=100'] }
      : { fields: [`ETag: ${storedTag}`, 'Cache-Control: max-age=10'], body: `body ${req.index}` }));
    await s.get('/d');
    s.clock.advance(20);
    await s.get('/d');
    expect(s.count).toBe(freshened ? 2 : 3);
  });

  it('the client\'s own preconditions are not sent with the validation', async () => {
    const s = await caching((req) => (req.headers['if-none-match'] === '"v1"'
      ? { status: 304, fields: ['ETag: "v1"', 'Cache-Control: max-age=10'] }
      : { fields: ['ETag: "v1"', 'Cache-Control: max-age=10'], body: 'body v1' }));
    await s.get('/d');
    s.clock.advance(20);
    const r = await s.get('/d', 'If-None-Match: "zzz"\r\nRange: bytes=0-1\r\n');
    expect(s.up.requests[1]!.headers['if-none-match']).toBe('"v1"');
    expect(s.up.requests[1]!.headers.range).toBeUndefined();
    expect(r.status).toBe(200);
  });

  it('an upstream down during validation of a must-revalidate entry: an error, never the stale body', async () => {
    let n = 0;
    const s = await caching(() => (++n === 1
      ? { fields: ['Cache-Control: max-age=10, must-revalidate'], body: 'old' }
      : { status: 503, body: 'down' }));
    await s.get('/d');
    s.clock.advance(20);
    const r = await s.get('/d', 'Cache-Control: max-stale=100\r\n');
    expect(r.status).toBe(503);
    expect(r.body.toString()).not.toBe('old');
  });

  it.each([
    ['must-revalidate', 'max-age=10, must-revalidate'],
    ['proxy-revalidate', 'max-age=10, proxy-revalidate'],
    ['s-maxage', 's-maxage=10'],
  ])('an upstream gone (refused) during validation of a %s entry: 504 of the cache\'s own, never the stale body (§5.2.2.2)', async (_n, cc) => {
    const s = await caching(() => ({ fields: [`Cache-Control: ${cc}`], body: 'old' }));
    await s.get('/d');
    await s.up.close();
    s.clock.advance(20);
    const r = await s.get('/d', 'Cache-Control: max-stale=100\r\n');
    expect(r.status).toBe(504);
    expect(r.body.toString()).not.toContain('old');
    expect(r.headers['cache-status']).toBe('streamstack; fwd=stale; detail=must-revalidate');
  });

  it('an upstream gone during validation of an entry without those directives: the upstream error (502), not the stale body', async () => {
    const s = await caching(() => ({ fields: ['Cache-Control: max-age=10'], body: 'old' }));
    await s.get('/d');
    await s.up.close();
    s.clock.advance(20);
    const r = await s.get('/d');
    expect(r.status).toBe(502);
    expect(r.body.toString()).not.toContain('old');
  });
});

describe('concurrent validations of one stale entry', () => {
  it.each([
    ['a 304', true],
    ['a new 200', false],
  ])('are collapsed into one conditional request (%s)', async (_n, notModified) => {
    const clock = new Clock();
    let n = 0;
    const up = await fakeUpstream((req, socket) => {
      const mine = ++n;
      if (mine === 1) return write(socket, { fields: ['ETag: "v1"', 'Cache-Control: max-age=10'], body: 'v1' }, clock);
      setTimeout(() => write(socket, notModified && req.headers['if-none-match'] === '"v1"'
        ? { status: 304, fields: ['ETag: "v1"', 'Cache-Control: max-age=100'] }
        : { fields: ['ETag: "v2"', 'Cache-Control: max-age=100'], body: `v2 ${mine}` }, clock), 150);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*`, { proxyCache: { now: () => clock.now } });
    const get = async () => (await exchange(port, 'GET /d HTTP/1.1\r\nHost: cache.test\r\n\r\n', { responses: 1 })).responses[0]!;
    await get();
    clock.advance(20);
    const replies = await Promise.all(Array.from({ length: 5 }, get));
    expect(n).toBe(2);
    for (const r of replies) expect(r.body.toString()).toBe(notModified ? 'v1' : 'v2 2');
    expect(replies.filter((r) => r.headers['cache-status']!.includes('collapsed')).length).toBe(4);
  });
});

describe('the client\'s conditional request on a fresh entry (§4.3.2)', () => {
  it.each(['If-Match: "x"', 'If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT'])('%s is the origin\'s to evaluate: forwarded', async (field) => {
    const s = await caching((req) => (req.headers['if-match'] !== undefined || req.headers['if-unmodified-since'] !== undefined
      ? { status: 412, body: 'failed' }
      : { fields: ['ETag: "abc"', 'Cache-Control: max-age=100'], body: 'the body' }));
    await s.get('/d');
    const r = await s.get('/d', `${field}\r\n`);
    expect(r.status).toBe(412);
    expect(s.count).toBe(2);
    expect((await s.get('/d')).headers['cache-status']).toMatch(/^streamstack; hit/);
  });

  const answer = (_req: unknown, clock: { date(s?: number): string }) => ({
    fields: ['ETag: "abc"', `Last-Modified: ${clock.date(-100)}`, 'Cache-Control: max-age=100', 'Content-Type: text/plain'], body: 'the body',
  });
  it.each([
    ['If-None-Match: "abc"', 304],
    ['If-None-Match: W/"abc"', 304],
    ['If-None-Match: "x", "abc"', 304],
    ['If-None-Match: *', 304],
    ['If-None-Match: "x"', 200],
    ['If-None-Match: "x"\r\nIf-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT', 200],
    ['If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT', 304],
    ['If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT', 200],
    ['If-Modified-Since: not a date', 200],
  ])('%s → %d, from the cache', async (field, status) => {
    const s = await caching(answer);
    await s.get('/d');
    const r = await s.get('/d', `${field}\r\n`);
    expect(r.status).toBe(status);
    expect(s.count).toBe(1);
    expect(r.headers['cache-status']).toMatch(/^streamstack; hit/);
    if (status === 304) {
      expect(r.body.length).toBe(0);
      expect(r.headers.etag).toBe('"abc"');
      expect(r.headers.age).toBe('0');
    } else {
      expect(r.body.toString()).toBe('the body');
    }
  });
});

describe('a 200 to a HEAD that went upstream (§4.3.5)', () => {
  /**
   * GET: ETag "v1", fresh for 10 s, X-Version a. A HEAD with If-Match goes
   * upstream (the origin evaluates If-Match: RFC 9110 §13.2.1) and gets `head`'s fields.
   */
  const setup = (head: string[], headBody = 'body v1') => caching((req) => (req.method === 'HEAD'
    ? { fields: head, body: headBody }
    : { fields: ['ETag: "v1"', 'Cache-Control: max-age=10', 'X-Version: a'], body: 'body v1' }));

  it('with the same validator and length: updates the stored GET, which is then a hit with the new fields and freshness', async () => {
    const s = await setup(['ETag: "v1"', 'Cache-Control: max-age=100', 'X-Version: b']);
    await s.get('/d');
    const head = await s.get('/d', 'If-Match: "v1"\r\n', 'HEAD');
    expect(head.status).toBe(200);
    expect(s.up.requests.map((r) => r.method)).toEqual(['GET', 'HEAD']);
    // Beyond the GET's own 10 s, within the HEAD's 100.
    s.clock.advance(50);
    const r = await s.get('/d');
    expect(s.count).toBe(2);
    expect(r.headers['cache-status']).toMatch(/^streamstack; hit/);
    expect(r.headers['x-version']).toBe('b');
    expect(r.body.toString()).toBe('body v1');
  });

  it.each([
    ['another ETag', ['ETag: "v2"', 'Cache-Control: max-age=100'], 'body v1'],
    ['another length', ['ETag: "v1"', 'Cache-Control: max-age=100'], 'a longer body v1'],
    ['no validator', ['Cache-Control: max-age=100'], 'body v1'],
  ])('with %s: the stored GET is stale, and the next GET goes upstream', async (_n, fields, headBody) => {
    const s = await setup(fields, headBody);
    await s.get('/d');
    await s.get('/d', 'If-Match: "v1"\r\n', 'HEAD');
    // Still within the GET's 10 s: without the HEAD it would be a hit.
    s.clock.advance(1);
    const r = await s.get('/d');
    expect(s.up.requests.map((q) => q.method)).toEqual(['GET', 'HEAD', 'GET']);
    expect(r.headers['x-version']).toBe('a');
  });
});
