// RuleSet.route: translate, MaxBodySize and CacheControl of a path at once,
// kept by the rule set itself (bounded): by path for the paths it passes or
// fails, by path and query for a Redirect or Proxy (they carry the query). A
// new rule set (a restart) starts with nothing kept.

import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/rules/index.js';
import { ROUTE_MEMO } from '../../src/rules/rule-set.js';

const TEXT = [
  'MaxBodySize 1K /up/*',
  'CacheControl /static/* max-age=60',
  'Fail /private/*',
  'Redirect /old/* /new/*',
  'ProxyCache /api/*',
  'Proxy /api/* http://127.0.0.1:9/v1/*',
  'Pass /*',
].join('\n');
const rules = () => parseRules(TEXT, '/virtual/route.rules', { serverRoot: '/srv' });

describe('RuleSet.route', () => {
  it('answers what translate, maxBodySizeFor and cacheControlFor answer', () => {
    const r = rules();
    for (const path of ['/up/a', '/static/x.css', '/private/k', '/old/p', '/api/x', '/other']) {
      const translation = r.translate(path, '?q=1');
      expect(r.route(path, '?q=1')).toEqual({
        translation, maxBodySize: r.maxBodySizeFor(path), cacheControl: r.cacheControlFor(path),
        protect: undefined, proxyCache: translation.kind === 'proxy' && r.proxyCacheFor(path),
      });
    }
  });

  it('keeps Redirect and Proxy routes by path and query: the same query meets the same route, another its own', () => {
    const r = rules();
    const one = r.route('/api/x', '?n=1');
    expect(one.proxyCache).toBe(true);
    expect(r.route('/other').proxyCache).toBe(false);
    expect(r.route('/api/x', '?n=1')).toBe(one);
    const bare = r.route('/api/x');
    const two = r.route('/api/x', '?n=2');
    expect([one.translation, two.translation, bare.translation]).toEqual([
      { kind: 'proxy', address: 'http://127.0.0.1:9/v1/x?n=1' },
      { kind: 'proxy', address: 'http://127.0.0.1:9/v1/x?n=2' },
      { kind: 'proxy', address: 'http://127.0.0.1:9/v1/x' },
    ]);
    // Kept without a query, a route is not what a query asks for.
    expect(r.route('/api/x', '?n=3').translation).toEqual({ kind: 'proxy', address: 'http://127.0.0.1:9/v1/x?n=3' });
    expect(r.route('/api/x')).toBe(bare);
    expect(r.route('/old/p', '?a=1')).toBe(r.route('/old/p', '?a=1'));
  });

  it('keeps Pass and Fail routes by path alone; Redirects get the query they were asked with', () => {
    const r = rules();
    expect(r.route('/static/x.css')).toBe(r.route('/static/x.css', '?v=2'));
    expect(r.route('/private/k')).toBe(r.route('/private/k'));
    const a = r.route('/old/p', '?a=1');
    const b = r.route('/old/p', '?b=2');
    expect([a.translation, b.translation]).toEqual([
      { kind: 'redirect', status: 302, location: '/new/p?a=1' },
      { kind: 'redirect', status: 302, location: '/new/p?b=2' },
    ]);
  });

  it('is per rule set: a new one keeps nothing of the old', () => {
    const first = rules();
    const second = rules();
    expect(first.route('/x')).not.toBe(second.route('/x'));
  });

  it(`keeps at most ${ROUTE_MEMO} paths, then starts over`, () => {
    const r = rules();
    const kept = r.route('/p/0');
    for (let i = 1; i < ROUTE_MEMO; i++) r.route(`/p/${i}`);
    expect(r.route('/p/0')).toBe(kept);
    r.route('/p/one-more');
    expect(r.route('/p/0')).not.toBe(kept);
  });
});
