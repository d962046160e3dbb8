// Freshness arithmetic over raw sockets (RFC 9111 §4.2): the clock is the
// server's injected one, moved by the test; "served from the cache" is
// proven by the upstream's request count.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup, type Clock, type Reply } from './fixtures.js';
import type { UpstreamRequest } from '../proxy/fakes.js';

afterEach(cleanup);

type Answer = (req: UpstreamRequest, clock: Clock) => Reply;
const ok = (...fields: string[]): Answer => (req) => ({ fields: ['Content-Type: text/plain', ...fields], body: `response ${req.index}` });

/** [name, upstream answer, seconds to wait before the second request, upstream requests after it]. */
const CASES: [string, Answer, number, number][] = [
  ['max-age=100, 50 s later: a hit', ok('Cache-Control: max-age=100'), 50, 1],
  ['max-age=100, 101 s later: stale, fetched again', ok('Cache-Control: max-age=100'), 101, 2],
  ['s-maxage=10 beats max-age=1000 in a shared cache', ok('Cache-Control: max-age=1000, s-maxage=10'), 11, 2],
  ['max-age=0: never fresh', ok('Cache-Control: max-age=0'), 0, 2],
  ['Expires 100 s after Date, 50 s later: a hit', (_r, c) => ({ fields: [`Expires: ${c.date(100)}`], body: 'x' }), 50, 1],
  ['Expires 100 s after Date, 101 s later: fetched again', (_r, c) => ({ fields: [`Expires: ${c.date(100)}`], body: 'x' }), 101, 2],
  ['Expires: 0 is in the past', ok('Expires: 0'), 1, 2],
  ['max-age beats a later Expires', (_r, c) => ({ fields: ['Cache-Control: max-age=10', `Expires: ${c.date(1000)}`], body: 'x' }), 20, 2],
  ['an invalid max-age makes it stale', (_r, c) => ({ fields: ['Cache-Control: max-age=ten', `Expires: ${c.date(1000)}`], body: 'x' }), 1, 2],
  ['a Date 90 s old eats into max-age=100', (_r, c) => ({ fields: ['Cache-Control: max-age=100', `Date: ${c.date(-90)}`], body: 'x', noDate: true }), 20, 2],
  ['a Date 90 s old, 5 s later: still fresh', (_r, c) => ({ fields: ['Cache-Control: max-age=100', `Date: ${c.date(-90)}`], body: 'x', noDate: true }), 5, 1],
  ['Age: 90 from upstream eats into max-age=100', ok('Cache-Control: max-age=100', 'Age: 90'), 20, 2],
  ['Age: 90, 5 s later: still fresh', ok('Cache-Control: max-age=100', 'Age: 90'), 5, 1],
  ['heuristic: 10% of 1000 s since Last-Modified, 50 s later: a hit', (_r, c) => ({ fields: [`Last-Modified: ${c.date(-1000)}`], body: 'x' }), 50, 1],
  ['heuristic: 10% of 1000 s since Last-Modified, 101 s later: fetched again', (_r, c) => ({ fields: [`Last-Modified: ${c.date(-1000)}`], body: 'x' }), 101, 2],
  ['heuristic: at most a day (10% of 100 days would be 10), 86,000 s later: a hit', (_r, c) => ({ fields: [`Last-Modified: ${c.date(-8_640_000)}`], body: 'x' }), 86_000, 1],
  ['heuristic: at most a day (10% of 100 days would be 10), 86,401 s later: fetched again', (_r, c) => ({ fields: [`Last-Modified: ${c.date(-8_640_000)}`], body: 'x' }), 86_401, 2],
  ['no heuristic freshness for a 302', (_r, c) => ({ status: 302, fields: ['Location: /y', `Last-Modified: ${c.date(-1000)}`], body: 'x' }), 1, 2],
  ['no explicit freshness, no Last-Modified: not reused', ok(), 0, 2],
  ['a 404 with max-age is reused', (_r) => ({ status: 404, fields: ['Cache-Control: max-age=60'], body: 'gone' }), 10, 1],
  ['a 500 without freshness is not', (_r) => ({ status: 500, body: 'oops' }), 0, 2],
  ['a 500 with max-age is', (_r) => ({ status: 500, fields: ['Cache-Control: max-age=60'], body: 'oops' }), 10, 1],
  // Hostile values: overflow is 2^31 (§1.2.2), a garbage Date is the time of receipt.
  ['Age: 99999999999999 makes it stale at once', ok('Cache-Control: max-age=100', 'Age: 99999999999999'), 0, 2],
  ['max-age past 2^31 is 2^31 seconds', ok('Cache-Control: max-age=99999999999999999999999'), 1_000_000_000, 1],
  ['a garbage Date counts from receipt', (_r) => ({ fields: ['Cache-Control: max-age=100', 'Date: yesterday-ish'], body: 'x', noDate: true }), 50, 1],
  ['Expires in year 9999 with a garbage Date', (_r) => ({ fields: ['Expires: Fri, 31 Dec 9999 23:59:59 GMT', 'Date: 0'], body: 'x', noDate: true }), 1_000_000, 1],
  ['two max-age: the first counts', ok('Cache-Control: max-age=10, max-age=1000'), 20, 2],
];

describe('freshness (RFC 9111 §4.2)', () => {
  it.each(CASES)('%s', async (_name, answer, wait, expected) => {
    const s = await caching(answer);
    const first = await s.get('/doc');
    expect(first.headers['cache-status']).toMatch(/^streamstack; fwd=uri-miss/);
    s.clock.advance(wait);
    const second = await s.get('/doc');
    expect(s.count).toBe(expected);
    if (expected === 1) {
      expect(second.headers['cache-status']).toMatch(/^streamstack; hit; ttl=-?\d+$/);
      expect(second.body.toString()).toBe(first.body.toString());
      expect(second.headers.age).toMatch(/^\d+$/);
    } else {
      expect(second.headers['cache-status']).toMatch(/fwd=/);
    }
  });

  it('Age counts the time stored, and Date is the origin\'s', async () => {
    const s = await caching(ok('Cache-Control: max-age=100'));
    const first = await s.get('/doc');
    s.clock.advance(42);
    const second = await s.get('/doc');
    expect(second.headers.age).toBe('42');
    expect(second.headers.date).toBe(first.headers.date);
    expect(second.headers['cache-status']).toBe('streamstack; hit; ttl=58');
  });

  it('Age adds the upstream\'s Age, the Date\'s lag and the response delay (§4.2.3)', async () => {
    // The upstream takes 5 s to answer (the clock moves while it does) and says Age: 10:
    // corrected_initial_age = 10 + 5 = 15, so max-age=20 lasts 5 s more, not 10.
    const s = await caching((_req, clock) => {
      clock.advance(5);
      return { fields: ['Cache-Control: max-age=20', 'Age: 10'], body: 'x' };
    });
    await s.get('/doc');
    s.clock.advance(4);
    const hit = await s.get('/doc');
    expect(hit.headers.age).toBe('19');
    expect(s.count).toBe(1);
    s.clock.advance(2);
    await s.get('/doc');
    expect(s.count).toBe(2);
  });

  it('a Date in the future does not make the age negative', async () => {
    const s = await caching((_r, c) => ({ fields: ['Cache-Control: max-age=100', `Date: ${c.date(500)}`], body: 'x', noDate: true }));
    await s.get('/doc');
    s.clock.advance(3);
    const hit = await s.get('/doc');
    expect(hit.headers.age).toBe('3');
  });
});
