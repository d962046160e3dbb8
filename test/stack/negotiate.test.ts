// RFC 9110 §12 proactive negotiation: Accept, Accept-Encoding and
// Accept-Charset as tables.

import { describe, expect, it } from 'vitest';
import {
  identityIsImplicit,
  parseAccept,
  parseTokenList,
  qualityOfCharset,
  qualityOfCoding,
  qualityOfType,
} from '../../src/negotiate.js';

type TypeRow = [accept: string | undefined, type: string, params: Record<string, string> | undefined, q: number];

// The RFC 9110 §12.5.1 example and its precedence.
const RFC_EXAMPLE = 'text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, text/plain;format=fixed;q=0.4, */*;q=0.5';

const typeRows: TypeRow[] = [
  [undefined, 'text/html', undefined, 1],
  ['text/html', 'text/html', undefined, 1],
  ['text/html', 'text/plain', undefined, 0],
  ['text/*', 'text/plain', undefined, 1],
  ['text/*', 'image/png', undefined, 0],
  ['*/*', 'image/png', undefined, 1],
  ['*/*;q=0.1', 'image/png', undefined, 0.1],
  ['text/html;q=0', 'text/html', undefined, 0],
  ['text/html;q=0, */*', 'text/html', undefined, 0],
  ['text/html;q=0, */*', 'text/plain', undefined, 1],
  ['*/*, text/html;q=0', 'text/html', undefined, 0],
  ['text/*;q=0.2, text/html;q=0.9', 'text/html', undefined, 0.9],
  ['text/html;q=0.9, text/*;q=0.2', 'text/html', undefined, 0.9],
  ['text/html;q=0.9, text/*;q=0.2', 'text/css', undefined, 0.2],
  ['TEXT/HTML', 'text/html', undefined, 1],
  ['text/html', 'Text/Html', undefined, 1],
  ['text/html;q=1.000', 'text/html', undefined, 1],
  ['text/html;q=0.001', 'text/html', undefined, 0.001],
  ['text/html;Q=0.5', 'text/html', undefined, 0.5],
  ['text/html ; q=0.5', 'text/html', undefined, 0.5],
  // Invalid weights: the member is ignored.
  ['text/html;q=1.5, */*;q=0.2', 'text/html', undefined, 0.2],
  ['text/html;q=0.0001, */*;q=0.2', 'text/html', undefined, 0.2],
  ['text/html;q=abc, */*;q=0.2', 'text/html', undefined, 0.2],
  ['text/html;q=-1', 'text/html', undefined, 0],
  ['text/html;q=', 'text/html', undefined, 0],
  ['text/html;q=2', 'text/html', undefined, 0],
  // Malformed members are skipped, the rest is used.
  ['html, text/plain', 'text/plain', undefined, 1],
  ['*/html, text/plain;q=0.5', 'text/plain', undefined, 0.5],
  ['*/html', 'text/html', undefined, 0],
  [',, text/plain ,', 'text/plain', undefined, 1],
  ['', 'text/plain', undefined, 0],
  // Parameters matter (RFC 9110 §12.5.1).
  [RFC_EXAMPLE, 'text/plain', { format: 'flowed' }, 1],
  [RFC_EXAMPLE, 'text/plain', undefined, 0.7],
  [RFC_EXAMPLE, 'text/html', undefined, 0.3],
  [RFC_EXAMPLE, 'image/jpeg', undefined, 0.5],
  [RFC_EXAMPLE, 'text/plain', { format: 'fixed' }, 0.4],
  [RFC_EXAMPLE, 'text/html', { level: '3' }, 0.3],
  ['text/html;level=1', 'text/html', undefined, 0],
  ['text/html;level=1', 'text/html', { level: '1' }, 1],
  ['text/html;level="1"', 'text/html', { level: '1' }, 1],
  ['text/html;level=1, text/html;q=0.5', 'text/html', { level: '2' }, 0.5],
  ['text/html;charset=UTF-8', 'text/html', { charset: 'utf-8' }, 1],
  ['text/html;charset=utf8', 'text/html', { charset: 'utf-8' }, 1],
  ['text/html;charset=utf-8', 'text/html', { charset: 'windows-1252' }, 0],
  // The weight ends the media-range parameters; what follows does not restrict.
  ['text/html;q=0.5;level=1', 'text/html', undefined, 0.5],
  // Browser and curl fields.
  ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/html', undefined, 1],
  ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/markdown', undefined, 0.8],
  ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/xml', undefined, 0.9],
  ['application/json', 'text/html', undefined, 0],
  ['*/*', 'text/markdown', undefined, 1],
];

describe('qualityOfType', () => {
  it.each(typeRows)('Accept %j, %s %j → %d', (accept, type, params, q) => {
    expect(qualityOfType(accept, type, params)).toBe(q);
  });

  it('equally specific duplicates: the higher weight', () => {
    expect(qualityOfType('text/html;q=0.2, text/html;q=0.6', 'text/html')).toBe(0.6);
  });
});

type CodingRow = [acceptEncoding: string | undefined, coding: string, q: number];

const codingRows: CodingRow[] = [
  [undefined, 'gzip', 1],
  [undefined, 'identity', 1],
  ['gzip', 'gzip', 1],
  ['gzip', 'br', 0],
  ['gzip', 'identity', 1],
  ['gzip, deflate, br', 'br', 1],
  ['gzip;q=0.5, br;q=0.8', 'gzip', 0.5],
  ['GZIP', 'gzip', 1],
  ['x-gzip', 'gzip', 1],
  ['gzip', 'x-gzip', 1],
  ['*', 'br', 1],
  ['*;q=0.3', 'gzip', 0.3],
  ['gzip;q=0.9, *;q=0.1', 'br', 0.1],
  ['gzip;q=0.9, *;q=0.1', 'gzip', 0.9],
  ['gzip;q=0, *', 'gzip', 0],
  ['*, gzip;q=0', 'gzip', 0],
  // RFC 9110 §12.5.3: identity.
  ['identity;q=0', 'identity', 0],
  ['identity;q=0, gzip', 'identity', 0],
  ['*;q=0', 'identity', 0],
  ['*;q=0, identity', 'identity', 1],
  ['*;q=0, identity;q=0.5', 'identity', 0.5],
  ['*;q=0, gzip', 'identity', 0],
  ['br;q=1, identity;q=0.5', 'identity', 0.5],
  ['', 'identity', 1],
  ['', 'gzip', 0],
  // Invalid members ignored.
  ['gzip;q=1.1', 'gzip', 0],
  ['gzip;q=1.1, *;q=0.4', 'gzip', 0.4],
  ['identity;q=x', 'identity', 1],
  ['gzip;q=0.5;foo=bar', 'gzip', 0.5],
];

describe('qualityOfCoding', () => {
  it.each(codingRows)('Accept-Encoding %j, %s → %d', (ae, coding, q) => {
    expect(qualityOfCoding(ae, coding)).toBe(q);
  });
});

describe('identityIsImplicit', () => {
  it.each([
    [undefined, true],
    ['gzip, br', true],
    ['gzip, identity', false],
    ['gzip, *;q=0.1', false],
    ['', true],
  ] as const)('%j → %s', (ae, expected) => {
    expect(identityIsImplicit(ae)).toBe(expected);
  });
});

type CharsetRow = [acceptCharset: string | undefined, charset: string, q: number];

const charsetRows: CharsetRow[] = [
  [undefined, 'windows-1252', 1],
  ['utf-8', 'utf-8', 1],
  ['utf-8', 'UTF-8', 1],
  ['utf-8', 'utf8', 1],
  ['UTF8', 'utf-8', 1],
  ['utf-8', 'windows-1252', 0],
  ['utf-8, *;q=0.5', 'windows-1252', 0.5],
  ['utf-8;q=0.7, iso-8859-1', 'iso-8859-1', 1],
  ['utf-8;q=0.7, iso-8859-1', 'utf-8', 0.7],
  ['*', 'koi8-r', 1],
  ['*;q=0', 'utf-8', 0],
  ['*, utf-8;q=0', 'utf-8', 0],
  ['iso-8859-5, unicode-1-1;q=0.8', 'unicode-1-1', 0.8],
  ['utf-8;q=9, *;q=0.1', 'utf-8', 0.1],
];

describe('qualityOfCharset', () => {
  it.each(charsetRows)('Accept-Charset %j, %s → %d', (ac, charset, q) => {
    expect(qualityOfCharset(ac, charset)).toBe(q);
  });
});

describe('parsing', () => {
  it('parses ranges with parameters, weights and specificity', () => {
    const ranges = parseAccept('text/plain;format=flowed;q=0.5, text/*, */*;q=0');
    expect(ranges.map((r) => [r.type, r.subtype, r.params, r.q])).toEqual([
      ['text', 'plain', { format: 'flowed' }, 0.5],
      ['text', '*', {}, 1],
      ['*', '*', {}, 0],
    ]);
    expect(ranges[0]!.specificity).toBeGreaterThan(ranges[1]!.specificity);
    expect(ranges[1]!.specificity).toBeGreaterThan(ranges[2]!.specificity);
  });

  it('returns the same parse for the same field (cached)', () => {
    expect(parseAccept('text/html, */*;q=0.1')).toBe(parseAccept('text/html, */*;q=0.1'));
    expect(parseTokenList('gzip, br')).toBe(parseTokenList('gzip, br'));
  });

  it('keeps working past the cache size', () => {
    for (let i = 0; i < 600; i++) expect(qualityOfType(`text/x-${i};q=0.5`, `text/x-${i}`)).toBe(0.5);
    expect(qualityOfType('text/x-1;q=0.5', 'text/x-1')).toBe(0.5);
  });
});
