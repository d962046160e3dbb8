// The translation table: raw request path → decodePath → translate, for two
// rule files. `site` ends in `Pass /*`; `deny` passes only what it names, so
// it shows the default deny and the traversal attempts through Map.

import { describe, it, expect } from 'vitest';
import { decodePath, parseRules, type Translation } from '../../src/rules/index.js';
import { HttpError } from '../../src/errors.js';

const site = parseRules(String.raw`
ServerRoot /srv/www

# Chained Map: each Map's output is what the following rules see.
Map /docs/* /manual/*
Map /manual/old/* /manual/legacy/*
Map /u/*/p/* /users/*/pages/*

# Fail before Pass carves a hole in it.
Fail /manual/private/*
Pass /manual/* /usr/share/doc/*
Pass /users/*/pages/* /home/*/public_html/*

# Escapes and quotes.
Pass /some\ file /srv/special/some-file.txt
Pass /star\*.txt /srv/special/star.txt
Pass /c\#/* /srv/csharp/*
Pass "/quoted name/*" /srv/quoted/*

# Redirects, with substitution.
Redirect /old/* /new/* 301
Redirect /go/* https://search.example/?q=*
Redirect /perm/* https://example.org/* 308
Redirect /see/* /other/* 303
Redirect /tmp/* /elsewhere/* 307
Redirect /img/*.png /images/*.webp 301
Redirect /legacy/* /
Redirect /to* /*
Redirect /dir /dir/ 301

Proxy /api/* http://127.0.0.1:3000/v1/*
Proxy /dotapi* http://127.0.0.1:3000/v1/.*
Redirect /dotredir* /b/.*

Pass /exact /srv/misc/exact.txt
Pass /file/* file:///srv/files%20dir/*
Pass /rel/* data/*
Pass /pre* /srv/www/pre*
Pass /CaseSensitive/* /srv/case/*
Pass /*
`, '/etc/streamstack/site.rules');

const deny = parseRules(String.raw`
ServerRoot /srv
Map /files/* /data/*
Map /climb/* /../*
Map /sneak* /data/.*
Pass /data/* /srv/data/*
Pass /dot* /srv/data/dot/.*
Pass /pub/* /srv/pub/*
Pass /home
`, '/etc/streamstack/deny.rules');

const pass = (address: string, root: string): Translation => ({ kind: 'pass', address, root });
const redirect = (location: string, status: 301 | 302 | 303 | 307 | 308 = 302): Translation => ({ kind: 'redirect', location, status });
const proxy = (address: string): Translation => ({ kind: 'proxy', address });
const FORBIDDEN: Translation = { kind: 'fail', code: 'WWW_ERR_RULE_FORBIDDEN' };
const NOT_PASSED: Translation = { kind: 'fail', code: 'WWW_ERR_RULE_NOT_PASSED' };
const BAD_REQUEST = 400;

type Case = [rules: 'site' | 'deny', raw: string, want: Translation | typeof BAD_REQUEST];

const cases: Case[] = [
  // Pass without RESULT keeps the path under ServerRoot.
  ['site', '/', pass('file:///srv/www/', '/srv/www')],
  ['site', '/index.html', pass('file:///srv/www/index.html', '/srv/www')],
  ['site', '/a/b/c.txt', pass('file:///srv/www/a/b/c.txt', '/srv/www')],
  // Chained Map.
  ['site', '/docs/intro.html', pass('file:///usr/share/doc/intro.html', '/usr/share/doc')],
  ['site', '/docs/old/x.html', pass('file:///usr/share/doc/legacy/x.html', '/usr/share/doc')],
  ['site', '/manual/old/x.html', pass('file:///usr/share/doc/legacy/x.html', '/usr/share/doc')],
  // Several *, substituted in order, leftmost-shortest.
  ['site', '/u/bob/p/index.html', pass('file:///home/bob/public_html/index.html', '/home')],
  ['site', '/u/bob/p/a/p/b', pass('file:///home/bob/public_html/a/p/b', '/home')],
  ['site', '/u/a/b/p/c', pass('file:///home/a/b/public_html/c', '/home')],
  ['site', '/img/logo.png', redirect('/images/logo.webp', 301)],
  ['site', '/img/a.png.png', redirect('/images/a.png.webp', 301)],
  // Fail before Pass; a Map cannot route around it.
  ['site', '/manual/private/notes', FORBIDDEN],
  ['site', '/docs/private/notes', FORBIDDEN],
  ['site', '/docs//private/notes', FORBIDDEN],
  ['site', '/docs/./private/notes', FORBIDDEN],
  ['site', '/docs/x/../private/notes', FORBIDDEN],
  ['site', '/docs/%2e%2e/docs/private/notes', FORBIDDEN],
  ['site', '/manual/privatex', pass('file:///usr/share/doc/privatex', '/usr/share/doc')],
  // Escapes: \ space, \*, \#, quotes.
  ['site', '/some%20file', pass('file:///srv/special/some-file.txt', '/srv/special')],
  ['site', '/some file', pass('file:///srv/special/some-file.txt', '/srv/special')],
  ['site', '/star*.txt', pass('file:///srv/special/star.txt', '/srv/special')],
  ['site', '/starX.txt', pass('file:///srv/www/starX.txt', '/srv/www')],
  ['site', '/c%23/x.cs', pass('file:///srv/csharp/x.cs', '/srv/csharp')],
  ['site', '/quoted%20name/a', pass('file:///srv/quoted/a', '/srv/quoted')],
  // Redirect with substitution and each status.
  ['site', '/old/page.html', redirect('/new/page.html', 301)],
  ['site', '/old/a%20b', redirect('/new/a%20b', 301)],
  ['site', '/old/x%0D%0ASet-Cookie:%20a=b', redirect('/new/x%0D%0ASet-Cookie:%20a=b', 301)],
  ['site', '/go/a&b=c d', redirect('https://search.example/?q=a%26b%3Dc%20d')],
  ['site', '/go/caf%C3%A9', redirect('https://search.example/?q=caf%C3%A9')],
  ['site', '/perm/x/y', redirect('https://example.org/x/y', 308)],
  ['site', '/see/x', redirect('/other/x', 303)],
  ['site', '/tmp/x', redirect('/elsewhere/x', 307)],
  ['site', '/legacy/anything/at/all', redirect('/')],
  // A leading // or \ in a path redirect would name another host.
  ['site', '/to/evil.example', redirect('/evil.example')],
  ['site', '/to%5C%5Cevil.example', redirect('/%5C%5Cevil.example')],
  // Trailing-slash subtleties.
  ['site', '/dir', redirect('/dir/', 301)],
  ['site', '/dir/', pass('file:///srv/www/dir/', '/srv/www')],
  ['site', '/docs', pass('file:///srv/www/docs', '/srv/www')],
  ['site', '/docs/', pass('file:///usr/share/doc/', '/usr/share/doc')],
  ['site', '/docs/a/.', pass('file:///usr/share/doc/a/', '/usr/share/doc')],
  ['site', '/docs/a/b/..', pass('file:///usr/share/doc/a/', '/usr/share/doc')],
  // Proxy: captures re-encoded, %2F kept, the host fixed.
  ['site', '/api/users/42', proxy('http://127.0.0.1:3000/v1/users/42')],
  ['site', '/api/a%20b', proxy('http://127.0.0.1:3000/v1/a%20b')],
  ['site', '/api/a%2Fb', proxy('http://127.0.0.1:3000/v1/a%2Fb')],
  ['site', '/api/100%25', proxy('http://127.0.0.1:3000/v1/100%25')],
  ['site', '/api/a%3Fb%23c', proxy('http://127.0.0.1:3000/v1/a%3Fb%23c')],
  ['site', '/api/@evil.example/x', proxy('http://127.0.0.1:3000/v1/@evil.example/x')],
  // A capture that forms '..' with the RESULT's text cannot climb out of it.
  ['site', '/dotapi./admin', FORBIDDEN],
  ['site', '/dotapi.x', proxy('http://127.0.0.1:3000/v1/..x')],
  ['site', '/dotredir./x', FORBIDDEN],
  // Exact templates, file: URLs, relative RESULTs, prefixes.
  ['site', '/exact', pass('file:///srv/misc/exact.txt', '/srv/misc')],
  ['site', '/exact/', pass('file:///srv/www/exact/', '/srv/www')],
  ['site', '/file/x%20y', pass('file:///srv/files%20dir/x%20y', '/srv/files dir')],
  ['site', '/file/%2541', pass('file:///srv/files%20dir/%2541', '/srv/files dir')],
  ['site', '/rel/x', pass('file:///srv/www/data/x', '/srv/www/data')],
  ['site', '/prefix/y', pass('file:///srv/www/prefix/y', '/srv/www')],
  // Templates are case-sensitive.
  ['site', '/CaseSensitive/x', pass('file:///srv/case/x', '/srv/case')],
  ['site', '/casesensitive/x', pass('file:///srv/www/casesensitive/x', '/srv/www')],
  // Names that look dangerous but are just names.
  ['site', '/snow%E2%98%83/', pass('file:///srv/www/snow%E2%98%83/', '/srv/www')],
  ['site', '/do..ts.txt', pass('file:///srv/www/do..ts.txt', '/srv/www')],
  ['site', '/a%23b%3Fc', pass('file:///srv/www/a%23b%3Fc', '/srv/www')],

  // Default deny.
  ['deny', '/', NOT_PASSED],
  ['deny', '/etc/passwd', NOT_PASSED],
  ['deny', '/pub', NOT_PASSED],
  ['deny', '/PUB/x', NOT_PASSED],
  ['deny', '/home', pass('file:///srv/home', '/srv')],
  ['deny', '/home/', NOT_PASSED],
  ['deny', '/pub/', pass('file:///srv/pub/', '/srv/pub')],
  ['deny', '/files/report.pdf', pass('file:///srv/data/report.pdf', '/srv/data')],
  // Traversal through Map: .., %2e%2e, %2f, //, backslashes, NUL, overlong UTF-8.
  ['deny', '/files/../../etc/passwd', NOT_PASSED],
  ['deny', '/files/%2e%2e/%2e%2e/etc/passwd', NOT_PASSED],
  ['deny', '/files/.%2E/x', NOT_PASSED],
  ['deny', '/files/..%2f..%2fetc/passwd', pass('file:///srv/data/..%252F..%252Fetc/passwd', '/srv/data')],
  ['deny', '/files/%2e%2e%2f%2e%2e%2fetc', pass('file:///srv/data/..%252F..%252Fetc', '/srv/data')],
  ['deny', '/files/%252e%252e/x', pass('file:///srv/data/%252e%252e/x', '/srv/data')],
  ['deny', '/files//etc/passwd', pass('file:///srv/data/etc/passwd', '/srv/data')],
  ['deny', '//files/x', pass('file:///srv/data/x', '/srv/data')],
  ['deny', '/files/..\\..\\etc\\passwd', pass('file:///srv/data/..%5C..%5Cetc%5Cpasswd', '/srv/data')],
  ['deny', '/files/%5c..%5c..%5cetc', pass('file:///srv/data/%5C..%5C..%5Cetc', '/srv/data')],
  ['deny', '/files/a%00b', BAD_REQUEST],
  ['deny', '/files/%c0%ae%c0%ae/etc/passwd', BAD_REQUEST],
  ['deny', '/files/%e0%80%ae%e0%80%ae/x', BAD_REQUEST],
  ['deny', '/files/%c0%af', BAD_REQUEST],
  // A Map output climbing above '/' is refused; one that stays inside is canonical.
  ['deny', '/climb/etc/passwd', FORBIDDEN],
  ['deny', '/sneak./pub/x', pass('file:///srv/pub/x', '/srv/pub')],
  // A Pass RESULT that a capture walks out of.
  ['deny', '/dot./x', FORBIDDEN],
  ['deny', '/dot.x', pass('file:///srv/data/dot/..x', '/srv/data/dot')],
];

describe('translate: decodePath then the rules', () => {
  it('has at least 50 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(cases)('%s %j', (which, raw, want) => {
    const rules = which === 'site' ? site : deny;
    if (want === BAD_REQUEST) {
      expect(() => decodePath(raw)).toThrow(HttpError);
      return;
    }
    expect(rules.translate(decodePath(raw))).toEqual(want);
  });
});

describe('translate: confinement', () => {
  it('keeps every pass inside its root for arbitrary paths', () => {
    const tries = ['/files/', '/dot', '/sneak', '/pub/', '/climb/'];
    const tails = ['..', '.', '%2e%2e', '.%2e', '%2f', '//', '\\', '.x', 'x/..', 'a/../..', '...'];
    for (const head of tries) {
      for (const a of tails) {
        for (const b of tails) {
          const t = deny.translate(decodePath(`${head}${a}/${b}`));
          if (t.kind !== 'pass') continue;
          const path = decodeURIComponent(new URL(t.address).pathname);
          expect(path === t.root || path.startsWith(t.root + '/')).toBe(true);
        }
      }
    }
  });
});

describe('translate: the request query', () => {
  it.each([
    ['/api/users', '?page=2', proxy('http://127.0.0.1:3000/v1/users?page=2')],
    ['/api/users', '', proxy('http://127.0.0.1:3000/v1/users')],
    ['/api/users', '?', proxy('http://127.0.0.1:3000/v1/users')],
    ['/old/x', '?a=1&b=2', redirect('/new/x?a=1&b=2', 301)],
    ['/go/cats', '?lang=en', redirect('https://search.example/?q=cats&lang=en')],
    ['/index.html', '?v=3', pass('file:///srv/www/index.html', '/srv/www')],
  ] as [string, string, Translation][])('%s%s', (path, query, want) => {
    expect(site.translate(decodePath(path), query)).toEqual(want);
  });

  it('goes before a fragment and after a RESULT query ending in ?', () => {
    const r = parseRules('Redirect /a/* /b/*#top\nRedirect /c/* http://h/x?\n', '/x.rules');
    expect(r.translate('/a/1', '?q=1')).toEqual(redirect('/b/1?q=1#top'));
    expect(r.translate('/c/1', '?q=1')).toEqual(redirect('http://h/x?q=1'));
  });
});
