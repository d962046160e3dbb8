// The ConverterRegistry's selection rule (the README, "Converters") as a table.

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Converter } from '../../src/converter.js';
import { makeFormat } from '../../src/format.js';
import { ConverterRegistry, typeMatches, validateConverter } from '../../src/registry.js';

function conv(name: string, from: string, to: string, quality?: number): Converter & { name: string } {
  return { name, from, to, quality, create: () => new PassThrough() };
}

type Row = [description: string, global: Converter[], local: Converter[], from: string, to: string, expected: string | null];

const A = conv('A', 'text/markdown', 'text/html', 0.5);
const B = conv('B', 'text/*', 'text/html', 1);
const C = conv('C', '*/*', 'text/html', 1);
const D = conv('D', 'text/markdown', 'text/html', 0.9);
const E = conv('E', 'text/markdown', 'text/html', 0.9);
const F = conv('F', 'text/markdown', 'application/pdf', 1);
const L = conv('L', '*/*', 'text/html', 0.1);
const G = conv('G', 'www/dir', 'text/html; charset=utf-8', 1);
const H = conv('H', 'www/dir', 'application/json', 0.9);
const Z = conv('Z', 'text/markdown', 'text/html', 0);

const rows: Row[] = [
  ['exact match', [A], [], 'text/markdown', 'text/html', 'A'],
  ['no converter registered', [], [], 'text/markdown', 'text/html', null],
  ['from does not match', [A], [], 'text/plain', 'text/html', null],
  ['to does not match', [A], [], 'text/markdown', 'application/pdf', null],
  ['both must match', [A, F], [], 'text/markdown', 'application/pdf', 'F'],
  ['type wildcard from', [B], [], 'text/plain', 'text/html', 'B'],
  ['type wildcard does not cross types', [B], [], 'image/png', 'text/html', null],
  ['full wildcard from', [C], [], 'image/png', 'text/html', 'C'],
  ['specific from beats higher quality (exact vs text/*)', [A, B], [], 'text/markdown', 'text/html', 'A'],
  ['specific from beats higher quality (order reversed)', [B, A], [], 'text/markdown', 'text/html', 'A'],
  ['text/* beats */*', [C, B], [], 'text/markdown', 'text/html', 'B'],
  ['exact beats */*', [C, A], [], 'text/markdown', 'text/html', 'A'],
  ['equal specificity: higher quality', [D, A], [], 'text/markdown', 'text/html', 'D'],
  ['equal specificity: higher quality, reversed', [A, D], [], 'text/markdown', 'text/html', 'D'],
  ['tie goes to the newest', [D, E], [], 'text/markdown', 'text/html', 'E'],
  ['tie goes to the newest, reversed', [E, D], [], 'text/markdown', 'text/html', 'D'],
  ['quality 0 still matches when alone', [Z], [], 'text/markdown', 'text/html', 'Z'],
  ['from === to is no converter', [C], [], 'text/html', 'text/html', null],
  ['from === to ignores parameters', [C], [], 'text/html; charset=utf-8', 'text/html', null],
  ['from === to is case-insensitive', [C], [], 'Text/HTML', 'text/html', null],
  ['target pattern the source satisfies', [C], [], 'text/html', 'text/*', null],
  ['target pattern matches registration', [F], [], 'text/markdown', 'application/*', 'F'],
  ['target */* with a converter: source already fits', [A], [], 'text/markdown', '*/*', null],
  ['local before global even if less specific', [A], [L], 'text/markdown', 'text/html', 'L'],
  ['local that does not match falls back to global', [A], [F], 'text/markdown', 'text/html', 'A'],
  ['local rule applies within local list', [], [L, D], 'text/markdown', 'text/html', 'D'],
  ['to with parameters matches its type', [G], [], 'www/dir', 'text/html', 'G'],
  ['www/dir to json', [G, H], [], 'www/dir', 'application/json', 'H'],
  ['registration from with parameters', [conv('P', 'text/markdown; charset=utf-8', 'text/html')], [], 'text/markdown', 'text/html', 'P'],
];

describe('ConverterRegistry.select', () => {
  it.each(rows)('%s', (_d, global, local, from, to, expected) => {
    const registry = new ConverterRegistry();
    for (const c of global) registry.register(c);
    const found = registry.select(from, to, local) as (Converter & { name?: string }) | null;
    expect(found === null ? null : found.name).toBe(expected);
  });

  it('accepts a Format as the source', () => {
    const registry = new ConverterRegistry();
    registry.register(A);
    expect(registry.select(makeFormat('text/markdown', { charset: 'utf-8' }), 'text/html')).toBe(A);
  });
});

describe('ConverterRegistry.candidates', () => {
  it('lists the chosen converter per reachable target, without the source type', () => {
    const registry = new ConverterRegistry();
    for (const c of [C, A, D, F, G]) registry.register(c);
    const found = registry.candidates('text/markdown');
    expect(found).toHaveLength(2);
    expect(found).toContain(D);
    expect(found).toContain(F);
    expect(registry.candidates('text/html')).toEqual([]);
  });

  it('sees registrations made after a cached lookup', () => {
    const registry = new ConverterRegistry();
    registry.register(A);
    expect(registry.candidates('text/markdown')).toEqual([A]);
    registry.register(D);
    expect(registry.candidates('text/markdown')).toEqual([D]);
  });

  it('includes request-local converters first', () => {
    const registry = new ConverterRegistry();
    registry.register(A);
    expect(registry.candidates('text/markdown', [L])).toEqual([L]);
    expect(registry.candidates('text/markdown')).toEqual([A]);
  });
});

describe('registration validation', () => {
  const bad: Array<[string, unknown]> = [
    ['not an object', 42],
    ['null', null],
    ['from without a slash', { from: 'markdown', to: 'text/html', create: () => new PassThrough() }],
    ['to not a string', { from: 'text/markdown', to: 3, create: () => new PassThrough() }],
    ['to a pattern', { from: 'text/markdown', to: 'text/*', create: () => new PassThrough() }],
    ['quality above 1', { from: 'text/markdown', to: 'text/html', quality: 2, create: () => new PassThrough() }],
    ['quality not a number', { from: 'text/markdown', to: 'text/html', quality: '1', create: () => new PassThrough() }],
    ['create missing', { from: 'text/markdown', to: 'text/html' }],
  ];
  it.each(bad)('refuses %s', (_d, value) => {
    expect(() => validateConverter(value)).toThrow(TypeError);
    expect(() => new ConverterRegistry().register(value as Converter)).toThrow(TypeError);
  });

  it('accepts a well-formed registration', () => {
    expect(() => validateConverter(A)).not.toThrow();
  });
});

describe('typeMatches', () => {
  it.each([
    ['*/*', 'image/png', true],
    ['text/*', 'text/plain', true],
    ['text/*', 'textual/plain', false],
    ['text/plain', 'text/plain', true],
    ['text/plain', 'text/html', false],
  ] as const)('%s covers %s: %s', (pattern, type, expected) => {
    expect(typeMatches(pattern, type)).toBe(expected);
  });
});
