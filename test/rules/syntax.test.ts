// The lexer (words, escapes, quotes, comments) and templates (leftmost-shortest `*`).

import { describe, it, expect } from 'vitest';
import { lexLine } from '../../src/rules/lexer.js';
import { Template } from '../../src/rules/template.js';

const words = (line: string) => lexLine(line).words.map((w) => w.parts);

describe('lexLine', () => {
  it.each([
    ['Pass /a/* /b/*', [['Pass'], ['/a/', ''], ['/b/', '']]],
    ['  Pass\t/a  ', [['Pass'], ['/a']]],
    ['# a comment', []],
    ['Pass /a # a comment', [['Pass'], ['/a']]],
    ['Pass /a#not-a-comment', [['Pass'], ['/a#not-a-comment']]],
    ['Pass /a\\ b', [['Pass'], ['/a b']]],
    ['Pass /a\\*b', [['Pass'], ['/a*b']]],
    ['Pass /a\\#b \\#c', [['Pass'], ['/a#b'], ['#c']]],
    ['Pass /a\\\\*', [['Pass'], ['/a\\', '']]],
    ['Pass "/a b/*" x', [['Pass'], ['/a b/', ''], ['x']]],
    ['Pass "/a # b"', [['Pass'], ['/a # b']]],
    ['Pass "/a \\" b"', [['Pass'], ['/a " b']]],
    ['Pass /a"b c"d', [['Pass'], ['/ab cd']]],
    ['Pass ""', [['Pass'], ['']]],
    ['', []],
  ] as [string, string[][]][])('%j', (line, want) => {
    expect(lexLine(line).error).toBeUndefined();
    expect(words(line)).toEqual(want);
  });

  it('shows a literal star as \\* in the pattern', () => {
    expect(lexLine('/a\\*/*').words[0]!.pattern).toBe('/a\\*/*');
  });
});

describe('Template', () => {
  const t = (s: string) => new Template(s.split('*'));
  it.each([
    ['/a', '/a', []],
    ['/a', '/a/', null],
    ['/a', '/A', null],
    ['/*', '/', ['']],
    ['/*', '/x/y', ['x/y']],
    ['*', '', ['']],
    ['*.html', '/x/y.html', ['/x/y']],
    ['*.html', '/x.html.html', ['/x.html']],
    ['/a/*/b/*', '/a/x/b/y', ['x', 'y']],
    ['/a/*/b/*', '/a/x/b/y/b/z', ['x', 'y/b/z']],
    ['/a/*/b/*', '/a//b/', ['', '']],
    ['/a/*/b/*', '/a/b/', null],
    ['/*/*/*', '/1/2/3/4', ['1', '2', '3/4']],
    ['/*-*.png', '/a-b-c.png', ['a', 'b-c']],
    ['a*a', 'a', null],
    ['a*a', 'aa', ['']],
    ['/x*', '/x', ['']],
    ['*/.*', '/a/.git/config', ['/a', 'git/config']],
    ['*/.*', '/a.b/c', null],
  ] as [string, string, string[] | null][])('%j matches %j', (tmpl, s, want) => {
    expect(t(tmpl).match(s)).toEqual(want);
  });

  it('substitutes in order and drops extra captures', () => {
    expect(t('/a/*/b/*').substitute(['1', '2'])).toBe('/a/1/b/2');
  });
});
