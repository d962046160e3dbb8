// decodePath: the request path as the rules see it (decoded once, %2F kept,
// dot-segments and empty segments removed), and the 400s before any rule.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decodePath } from '../../src/rules/index.js';
import { HttpError } from '../../src/errors.js';

const decoded: [raw: string, want: string][] = [
  ['/', '/'],
  ['/index.html', '/index.html'],
  ['/some%20file', '/some file'],
  ['/caf%C3%A9', '/café'],
  ['/caf%c3%a9', '/café'],
  ['/snow%E2%98%83/', '/snow☃/'],
  ['/snow☃/', '/snow☃/'],
  ['/%F0%9F%98%80', '/😀'],
  ['/a%2Fb', '/a%2Fb'],
  ['/a%2fb', '/a%2Fb'],
  ['/a%252Fb', '/a%2Fb'],
  ['/a%25b', '/a%b'],
  ['/%252e%252e/x', '/%2e%2e/x'],
  ['/a/./b', '/a/b'],
  ['/a/../b', '/b'],
  ['/a/b/..', '/a/'],
  ['/a/b/.', '/a/b/'],
  ['/a/%2e%2e/b', '/b'],
  ['/a/%2E%2E/b', '/b'],
  ['/a/.%2e/b', '/b'],
  ['/a/%2e/b', '/a/b'],
  ['/../../etc/passwd', '/etc/passwd'],
  ['/%2e%2e/%2e%2e/etc/passwd', '/etc/passwd'],
  ['/..', '/'],
  ['/a/..%2F..%2Fb', '/a/..%2F..%2Fb'],
  ['/a//b', '/a/b'],
  ['//etc/passwd', '/etc/passwd'],
  ['/a/b//', '/a/b/'],
  ['/a\\..\\b', '/a\\..\\b'],
  ['/a%5C..%5Cb', '/a\\..\\b'],
  ['/...', '/...'],
  ['/.hidden', '/.hidden'],
  ['/do..ts.txt', '/do..ts.txt'],
  ['/a+b', '/a+b'],
  ['/a%0Ab', '/a\nb'],
];

const rejected: [raw: string, why: string][] = [
  ['', 'empty'],
  ['index.html', 'relative'],
  ['*', 'asterisk-form'],
  ['http://example.org/', 'absolute-form'],
  ['/a%00b', 'encoded NUL'],
  ['/a\u0000b', 'raw NUL'],
  ['/a\rb', 'raw CR'],
  ['/a%', 'truncated escape'],
  ['/a%2', 'truncated escape'],
  ['/a%zz', 'not hex'],
  ['/a%%41', 'percent before escape'],
  ['/%c0%ae%c0%ae/etc', 'overlong 2-byte dot'],
  ['/%c0%af', 'overlong slash'],
  ['/%e0%80%ae', 'overlong 3-byte dot'],
  ['/%f0%80%80%ae', 'overlong 4-byte dot'],
  ['/%ed%a0%80', 'encoded surrogate'],
  ['/%f4%90%80%80', 'past U+10FFFF'],
  ['/%ff', 'invalid byte'],
  ['/%c3', 'truncated sequence'],
  ['/%80', 'lone continuation byte'],
  ['/a\ud800', 'lone surrogate in the string'],
];

describe('decodePath', () => {
  it.each(decoded)('%j → %j', (raw, want) => {
    expect(decodePath(raw)).toBe(want);
  });

  it.each(rejected)('%j is a 400 (%s)', (raw) => {
    let caught: unknown;
    try {
      decodePath(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HttpError);
    expect((caught as HttpError).code).toBe('WWW_ERR_PARSE_PATH');
    expect((caught as HttpError).status).toBe(400);
  });

  it('decodes once: a second pass would change a %25-encoded path', () => {
    expect(decodePath('/%2541')).toBe('/%41');
  });

  it('returns the same string for a path that needs no work', () => {
    const raw = '/assets/app.3f2a.js';
    expect(decodePath(raw)).toBe(raw);
  });
});

describe('decodePath, properties', () => {
  const segment = fc.oneof(
    fc.constantFrom('.', '..', '', '%2e', '%2e%2e', '.%2E', '%2F', '%2f', 'a', 'b.c', '%20', '\\', '%5c'),
    fc.string({ unit: fc.constantFrom('a', 'z', '.', '-', '_', '~') }),
  );
  const rawPath = fc.array(segment, { maxLength: 12 }).map((segs) => '/' + segs.join('/'));

  it('is canonical: starts with "/", no empty, "." or ".." segment', () => {
    fc.assert(fc.property(rawPath, (raw) => {
      const p = decodePath(raw);
      expect(p.startsWith('/')).toBe(true);
      const inner = p.slice(1, p.endsWith('/') ? -1 : undefined);
      if (inner !== '') for (const seg of inner.split('/')) expect(['', '.', '..']).not.toContain(seg);
    }));
  });

  it('is idempotent on its own output when no % remains', () => {
    fc.assert(fc.property(rawPath, (raw) => {
      const p = decodePath(raw);
      if (!p.includes('%')) expect(decodePath(p)).toBe(p);
    }));
  });

  it('never throws anything but WWW_ERR_PARSE_PATH', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      try {
        decodePath('/' + s);
      } catch (err) {
        expect((err as HttpError).code).toBe('WWW_ERR_PARSE_PATH');
      }
    }));
  });
});
