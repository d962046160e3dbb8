// The cache's policy as pure functions (src/http-cache/): Cache-Control
// parsing with hostile input, storability for a shared cache, freshness
// lifetime, age arithmetic, request directives, and the Vary key.

import { describe, expect, it } from 'vitest';
import { DELTA_MAX, deltaSeconds, fieldNames, parseCacheControl } from '../../src/http-cache/cache-control.js';
import { ageValue, currentAge, freshnessLifetime, isStorable, requestDirectives, usability } from '../../src/http-cache/policy.js';
import { normaliseField, varyMatches, varyNames, varyValues } from '../../src/http-cache/vary.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const http = (ms: number) => new Date(ms).toUTCString();
const cc = parseCacheControl;

describe('Cache-Control parsing (RFC 9111 §5.2)', () => {
  it.each([
    ['max-age=60', 'max-age', '60'],
    ['MAX-AGE=60', 'max-age', '60'],
    ['  no-cache ,, max-age=5', 'no-cache', null],
    ['max-age="60"', 'max-age', '60'],
    ['no-cache="Set-Cookie, X-A", public', 'no-cache', 'Set-Cookie, X-A'],
    ['private="a\\"b"', 'private', 'a"b'],
    ['max-age=1, max-age=3600', 'max-age', '1'],
    ['max-age = 7', 'max-age', '7'],
  ])('%s → %s = %s', (value, name, arg) => {
    expect(cc(value).get(name)).toBe(arg);
  });

  it('several field lines are one list', () => {
    const d = cc(['public', 'max-age=9']);
    expect(d.has('public')).toBe(true);
    expect(deltaSeconds(d, 'max-age')).toBe(9);
  });

  it.each(['', ',,,', '=', '"unterminated', 'max-age="5', '\u00ff=1', 'a b c'])('hostile %j does not throw', (value) => {
    expect(() => cc(value)).not.toThrow();
  });

  it.each([
    ['max-age=-1', NaN], ['max-age=1.5', NaN], ['max-age', NaN], ['max-age=abc', NaN],
    ['max-age=99999999999999999999', DELTA_MAX], ['max-age=007', 7], ['s-maxage=0', undefined],
  ])('delta-seconds of %s', (value, expected) => {
    const v = deltaSeconds(cc(value), 'max-age');
    if (Number.isNaN(expected as number)) expect(v).toBeNaN();
    else expect(v).toBe(expected);
  });

  it('qualified no-cache lists field names', () => {
    expect(fieldNames(cc('no-cache="Set-Cookie, x-a"'), 'no-cache')).toEqual(['set-cookie', 'x-a']);
    expect(fieldNames(cc('no-cache'), 'no-cache')).toBeNull();
  });

  it('Pragma: no-cache counts only without Cache-Control (§5.4)', () => {
    expect(requestDirectives({ pragma: 'no-cache' }).has('no-cache')).toBe(true);
    expect(requestDirectives({ pragma: 'no-cache', 'cache-control': 'max-age=5' }).has('no-cache')).toBe(false);
  });
});

describe('storable in a shared cache (RFC 9111 §3)', () => {
  const store = (status: number, headers: Record<string, string>, reqHeaders: Record<string, string> = {}, method = 'GET') =>
    isStorable(method, reqHeaders, requestDirectives(reqHeaders), status, headers, cc(headers['Cache-Control']));
  it.each([
    ['200 plain', 200, {}, {}, true],
    ['200 no-store', 200, { 'Cache-Control': 'no-store, max-age=60' }, {}, false],
    ['200 private', 200, { 'Cache-Control': 'private, max-age=60' }, {}, false],
    ['200 private="x": the rest may be stored', 200, { 'Cache-Control': 'private="set-cookie", max-age=60' }, {}, true],
    ['request no-store', 200, { 'Cache-Control': 'max-age=60' }, { 'cache-control': 'no-store' }, false],
    ['Authorization alone', 200, { 'Cache-Control': 'max-age=60' }, { authorization: 'Basic eA==' }, false],
    ['Authorization + public', 200, { 'Cache-Control': 'public, max-age=60' }, { authorization: 'Basic eA==' }, true],
    ['Authorization + s-maxage', 200, { 'Cache-Control': 's-maxage=60' }, { authorization: 'Basic eA==' }, true],
    ['Authorization + must-revalidate', 200, { 'Cache-Control': 'must-revalidate, max-age=60' }, { authorization: 'Basic eA==' }, true],
    ['Vary: *', 200, { 'Cache-Control': 'max-age=60', Vary: '*' }, {}, false],
    ['Vary: a, *', 200, { 'Cache-Control': 'max-age=60', Vary: 'Accept, *' }, {}, false],
    ['206', 206, { 'Cache-Control': 'max-age=60' }, {}, false],
    ['304', 304, { 'Cache-Control': 'max-age=60' }, {}, false],
    ['302 without freshness', 302, {}, {}, false],
    ['302 with max-age', 302, { 'Cache-Control': 'max-age=60' }, {}, true],
    ['500 with Expires', 500, { Expires: http(T0 + 60_000) }, {}, true],
    ['404 heuristically', 404, {}, {}, true],
    ['201 public', 201, { 'Cache-Control': 'public' }, {}, true],
    ['no-cache is stored (revalidated on use)', 200, { 'Cache-Control': 'no-cache' }, {}, true],
    ['must-understand overrides no-store for a status understood', 200, { 'Cache-Control': 'must-understand, no-store, max-age=60' }, {}, true],
    ['must-understand with a status not understood', 299, { 'Cache-Control': 'must-understand, no-store, max-age=60' }, {}, false],
    ['an unknown status with max-age', 299, { 'Cache-Control': 'max-age=60' }, {}, true],
  ])('%s', (_name, status, headers, req, expected) => {
    expect(store(status as number, headers as Record<string, string>, req as Record<string, string>)).toBe(expected);
  });
  it('only GET responses are stored', () => {
    expect(store(200, { 'Cache-Control': 'max-age=60' }, {}, 'POST')).toBe(false);
    expect(store(200, { 'Cache-Control': 'max-age=60' }, {}, 'HEAD')).toBe(false);
  });
});

describe('freshness lifetime (RFC 9111 §4.2.1, §4.2.2)', () => {
  const life = (status: number, headers: Record<string, string>, date = T0) => freshnessLifetime(status, headers, cc(headers['Cache-Control']), date);
  it.each([
    ['s-maxage over max-age', 200, { 'Cache-Control': 'max-age=10, s-maxage=20' }, 20],
    ['max-age over Expires', 200, { 'Cache-Control': 'max-age=10', Expires: http(T0 + 3600_000) }, 10],
    ['Expires − Date', 200, { Expires: http(T0 + 300_000) }, 300],
    ['Expires in the past', 200, { Expires: http(T0 - 300_000) }, 0],
    ['Expires: 0 is in the past', 200, { Expires: '0', 'Last-Modified': http(T0 - 1000_000) }, 0],
    ['invalid Expires is in the past', 200, { Expires: 'soon', 'Last-Modified': http(T0 - 1000_000) }, 0],
    ['invalid max-age is stale', 200, { 'Cache-Control': 'max-age=-5', Expires: http(T0 + 300_000) }, 0],
    ['heuristic: 10% of Date − Last-Modified', 200, { 'Last-Modified': http(T0 - 1000_000) }, 100],
    ['heuristic capped at a day', 200, { 'Last-Modified': http(T0 - 100 * 86_400_000) }, 86_400],
    ['no heuristic for 302', 302, { 'Last-Modified': http(T0 - 1000_000) }, 0],
    ['heuristic for a public 201', 201, { 'Cache-Control': 'public', 'Last-Modified': http(T0 - 1000_000) }, 100],
    ['no heuristic without Last-Modified', 200, {}, 0],
    ['Last-Modified in the future', 200, { 'Last-Modified': http(T0 + 1000_000) }, 0],
  ])('%s', (_n, status, headers, expected) => {
    expect(life(status as number, headers as Record<string, string>)).toBe(expected);
  });
});

describe('age (RFC 9111 §4.2.3)', () => {
  it('apparent age from Date', () => {
    expect(currentAge({ requestTime: T0, responseTime: T0, dateValue: T0 - 30_000, ageValue: 0 }, T0 + 5_000)).toBe(35);
  });
  it('Age plus the response delay', () => {
    // Age 10 said by the upstream, 4 s between request and response: corrected_age_value = 14 > apparent 0.
    expect(currentAge({ requestTime: T0, responseTime: T0 + 4_000, dateValue: T0 + 4_000, ageValue: 10 }, T0 + 4_000)).toBe(14);
  });
  it('the larger of apparent age and corrected Age', () => {
    expect(currentAge({ requestTime: T0, responseTime: T0 + 1_000, dateValue: T0 - 100_000, ageValue: 10 }, T0 + 1_000)).toBe(101);
  });
  it('a Date in the future is no negative age', () => {
    expect(currentAge({ requestTime: T0, responseTime: T0, dateValue: T0 + 100_000, ageValue: 0 }, T0 + 2_000)).toBe(2);
  });
  it.each([['7', 7], ['7, 9', 7], ['-3', 0], ['abc', 0], ['1.5', 0]])('Age %s → %d', (v, n) => {
    expect(ageValue({ Age: v })).toBe(n);
  });
});

describe('request directives (RFC 9111 §5.2.1) and stale serving (§4.2.4)', () => {
  const use = (lifetime: number, age: number, res: string, req: string) => usability(lifetime, age, cc(res), cc(req)).kind;
  it.each([
    [100, 10, '', '', 'fresh'],
    [100, 100, '', '', 'validate'],
    [100, 10, '', 'no-cache', 'validate'],
    [100, 10, 'no-cache', '', 'validate'],
    [100, 10, 'no-cache="set-cookie"', '', 'fresh'],
    [100, 150, 'no-cache="set-cookie"', '', 'validate'],
    [100, 10, '', 'max-age=5', 'validate'],
    [100, 10, '', 'max-age=10', 'fresh'],
    [100, 10, '', 'min-fresh=95', 'validate'],
    [100, 10, '', 'min-fresh=80', 'fresh'],
    [100, 150, '', 'max-stale', 'stale'],
    [100, 150, '', 'max-stale=60', 'stale'],
    [100, 150, '', 'max-stale=10', 'validate'],
    [100, 150, 'must-revalidate', 'max-stale', 'validate'],
    [100, 150, 'proxy-revalidate', 'max-stale', 'validate'],
    [100, 150, 's-maxage=100', 'max-stale', 'validate'],
    [100, 150, '', 'max-stale=abc', 'validate'],
  ])('lifetime %d, age %d, response %j, request %j → %s', (lifetime, age, res, req, expected) => {
    expect(use(lifetime, age, res, req)).toBe(expected);
  });
  it('stale-while-revalidate and stale-if-error windows (RFC 5861)', () => {
    const v = usability(100, 130, cc('stale-while-revalidate=60, stale-if-error=20'), cc(''));
    expect(v).toMatchObject({ kind: 'validate', staleWhileRevalidate: true, staleIfError: false });
    const w = usability(100, 170, cc('stale-while-revalidate=60, stale-if-error=80'), cc(''));
    expect(w).toMatchObject({ kind: 'validate', staleWhileRevalidate: false, staleIfError: true });
    const x = usability(100, 130, cc('must-revalidate, stale-while-revalidate=60, stale-if-error=60'), cc(''));
    expect(x).toMatchObject({ staleWhileRevalidate: false, staleIfError: false });
  });
});

describe('Vary (RFC 9111 §4.1)', () => {
  it('names are lower-cased, sorted, once; * absorbs', () => {
    expect(varyNames('Accept-Encoding, accept-language , ACCEPT-ENCODING')).toEqual(['accept-encoding', 'accept-language']);
    expect(varyNames('Accept, *')).toEqual(['*']);
    expect(varyNames(undefined)).toEqual([]);
  });
  it('values are normalised: list whitespace, case of caseless fields', () => {
    expect(normaliseField('accept-encoding', ' GZIP ,  br ')).toBe('br,gzip');
    expect(normaliseField('accept-encoding', 'br;q=0.5, gzip ; q=1,,')).toBe(normaliseField('accept-encoding', 'gzip;q=1,br;q=0.5'));
    expect(normaliseField('accept-language', 'fr, en')).not.toBe(normaliseField('accept-language', 'en, fr'));
    expect(normaliseField('x-custom', 'A ,B')).toBe('A,B');
    expect(normaliseField('x-custom', undefined)).toBeNull();
  });
  it('an absent field only matches an absent field; * never matches', () => {
    const names = ['accept-language'];
    const stored = varyValues(names, {});
    expect(varyMatches(names, stored, {})).toBe(true);
    expect(varyMatches(names, stored, { 'accept-language': '' })).toBe(false);
    expect(varyMatches(['*'], [null], {})).toBe(false);
    expect(varyMatches(names, varyValues(names, { 'accept-language': 'en, fr' }), { 'accept-language': 'EN,FR' })).toBe(true);
  });
});
