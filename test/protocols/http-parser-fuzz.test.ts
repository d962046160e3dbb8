// Property tests for the wire parser (fast-check, bounded). Three families:
// arbitrary bytes (the execute() contract holds and the outcome does not
// depend on how the input is split or paused), generated valid pipelines
// (parsed to exactly the generated messages), and mutated pipelines (no
// throw, no extra requests carved out of the bytes, earlier messages intact).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, RequestParser } from '../../protocols/http-parser.js';
import type { ParserLimits, RequestHead } from '../../protocols/http-parser.js';
import { bytes, feed, Recorder, splitAt } from './parser-harness.js';
import type { Go, Message, Outcome } from './parser-harness.js';

const SMALL_LIMITS: ParserLimits = { maxRequestLine: 24, maxHeaderSize: 40, maxHeaders: 3, maxChunkExtension: 6, maxTrailerSize: 12 };

/** Feeds split at `cuts`, pausing on the callbacks where `pauses` (cycled) says so. */
function feedWith(buf: Buffer, cuts: number[], pauses: boolean[], limits: ParserLimits = DEFAULT_LIMITS): Outcome {
  let k = 0;
  const go: Go = () => pauses.length === 0 || !pauses[k++ % pauses.length];
  return feed(splitAt(buf, cuts), limits, pauses.some(Boolean) ? go : undefined);
}

const cuts = fc.array(fc.nat(4096), { maxLength: 6 });
const pauses = fc.array(fc.boolean(), { maxLength: 5 });
const limits = fc.constantFrom(DEFAULT_LIMITS, SMALL_LIMITS);

// ---------------------------------------------------------------------------
// Valid requests.

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'cookie']);
const chars = (s: string) => fc.constantFrom(...s.split(''));
const fieldName = fc.oneof(
  fc.string({ unit: chars(TCHARS), minLength: 1, maxLength: 12 }).filter((n) => !RESERVED.has(n.toLowerCase())),
  // A small pool, so that names repeat (in any case) and values get joined.
  fc.constantFrom('Accept', 'accept', 'X-A', 'x-a', 'Via'),
);
const valueChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 2, arbitrary: fc.constantFrom(0x20, 0x09) },
).map((c) => String.fromCharCode(c));
/** A field value as the parser reports it: no leading or trailing OWS. */
const fieldValue = fc.string({ unit: valueChar, maxLength: 20 }).map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ''));
const ows = fc.string({ unit: chars(' \t'), maxLength: 2 });
const field = fc.record({ name: fieldName, value: fieldValue, pre: ows, post: ows });
const target = fc.oneof(
  fc.string({ unit: chars("ABCXYZabcxyz0129-._~!$&'()*+,;=:@/%?"), maxLength: 20 }).map((p) => `/${p}`),
  fc.constant('http://example.com/x?y'),
);
const host = fc.tuple(fc.string({ unit: chars('abcxyz0129-.'), maxLength: 10 }), fc.option(fc.nat(65535)))
  .map(([name, port]) => (port === null ? name : `${name}:${port}`));
const data = (minLength: number) => fc.uint8Array({ minLength, maxLength: 40 }).map((u) => Buffer.from(u).toString('latin1'));
const ext = fc.constantFrom('', '', ';a', ';a=b', ' ; name="quoted"', ';x=1;y', '\t;t');
const chunk = fc.record({ data: data(1), zeros: fc.nat(3), upper: fc.boolean(), ext });
const body = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('cl' as const), data: data(0), explicitZero: fc.boolean() }),
  fc.record({
    kind: fc.constant('chunked' as const), chunks: fc.array(chunk, { maxLength: 4 }), lastZeros: fc.nat(2), lastExt: ext,
    trailers: fc.array(fc.record({ name: fieldName, value: fieldValue }), { maxLength: 2 }),
  }),
);

interface Generated {
  raw: string;
  expected: Message;
  /** [start, end) of body bytes in `raw`: everything else is framing. */
  data: Array<[number, number]>;
}

const message = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
  target,
  minor: fc.constantFrom(0, 1, 1, 1),
  host,
  withHost: fc.boolean(),
  connection: fc.constantFrom(null, 'close', 'keep-alive', 'Keep-Alive, Upgrade'),
  fields: fc.array(field, { maxLength: 6 }),
  positions: fc.array(fc.nat(8), { minLength: 3, maxLength: 3 }),
  emptyLines: fc.nat(2),
  body,
}).map((g): Generated => {
  const lines: Array<{ name: string; value: string; pre: string; post: string }> = g.fields.map((f) => ({ ...f }));
  const insert = (at: number, name: string, value: string) => lines.splice(Math.min(at, lines.length), 0, { name, value, pre: ' ', post: '' });
  if (g.minor === 1 || g.withHost) insert(g.positions[0]!, 'Host', g.host);
  if (g.connection !== null) insert(g.positions[1]!, 'Connection', g.connection);
  let bodyLength = 0;
  let wire = '';
  let content = '';
  const data: Array<[number, number]> = [];
  const b = g.minor === 0 && g.body.kind === 'chunked' ? { kind: 'cl' as const, data: g.body.chunks.map((c) => c.data).join(''), explicitZero: false } : g.body;
  if (b.kind === 'cl' && (b.data.length > 0 || b.explicitZero)) {
    insert(g.positions[2]!, 'Content-Length', String(b.data.length));
    bodyLength = b.data.length;
    wire = content = b.data;
    data.push([0, wire.length]);
  } else if (b.kind === 'chunked') {
    insert(g.positions[2]!, 'Transfer-Encoding', 'chunked');
    bodyLength = -1;
    for (const c of b.chunks) {
      const hex = c.data.length.toString(16);
      wire += `${'0'.repeat(c.zeros)}${c.upper ? hex.toUpperCase() : hex}${c.ext}\r\n`;
      data.push([wire.length, wire.length + c.data.length]);
      wire += `${c.data}\r\n`;
      content += c.data;
    }
    wire += `${'0'.repeat(b.lastZeros + 1)}${b.lastExt}\r\n${b.trailers.map((t) => `${t.name}: ${t.value}\r\n`).join('')}\r\n`;
  }
  // A Map, not an object: fast-check likes names such as __proto__.
  const joined = new Map<string, string>();
  const rawHeaders: string[] = [];
  for (const l of lines) {
    const name = l.name.toLowerCase();
    const prev = joined.get(name);
    joined.set(name, prev === undefined ? l.value : `${prev}, ${l.value}`);
    rawHeaders.push(l.name, l.value);
  }
  const headers = Object.fromEntries(joined);
  const conn = (g.connection ?? '').toLowerCase();
  const head: RequestHead = {
    method: g.method, target: g.target, versionMinor: g.minor, headers, rawHeaders, bodyLength,
    keepAlive: conn.includes('close') ? false : g.minor === 1 || conn.includes('keep-alive'),
    expect: null,
  };
  const headPart = '\r\n'.repeat(g.emptyLines) + `${g.method} ${g.target} HTTP/1.${g.minor}\r\n` +
    lines.map((l) => `${l.name}:${l.pre}${l.value}${l.post}\r\n`).join('') + '\r\n';
  return {
    raw: headPart + wire,
    expected: { head, body: content, complete: true },
    data: data.map(([a, z]) => [headPart.length + a, headPart.length + z]),
  };
});

const pipeline = fc.array(message, { minLength: 1, maxLength: 4 });

// ---------------------------------------------------------------------------
// Arbitrary bytes, plain and as a soup of HTTP fragments.

const FRAGMENTS = [
  'GET ', 'POST ', 'OPTIONS ', 'CONNECT ', '/', '*', 'a:1', ' HTTP/1.1', ' HTTP/1.0', 'HTTP/2.0', '\r\n', '\r\n\r\n', '\r', '\n', ' ', '\t',
  'Host: a', 'Host: a b', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip', 'Content-Length: 5', 'Content-Length: 0',
  'Content-Length: 5, 5', 'Connection: close', 'X: y', ':', ';', '0', '5', 'a', 'F', 'hello', '\x00', '\x7f', '\xff', 'x'.repeat(30),
];
const soup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((a) => bytes(a.join('')));
const input = fc.oneof(fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)), soup);

describe('arbitrary bytes', () => {
  it('never throw, keep the execute() contract, and do not depend on splits or pauses', () => {
    fc.assert(fc.property(input, cuts, pauses, limits, (buf, at, pause, lim) => {
      const whole = feed([buf], lim);
      expect(feedWith(buf, at, pause, lim)).toEqual(whole);
      const bytewise = Array.from(buf, (_, i) => buf.subarray(i, i + 1));
      expect(feed(bytewise, lim)).toEqual(whole);
    }), { numRuns: 600 });
  });

  it('once the parser has an error, execute() consumes nothing and reports nothing', () => {
    const more = fc.array(fc.tuple(fc.oneof(input, fc.constant(bytes('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))), fc.nat()), { minLength: 1, maxLength: 4 });
    fc.assert(fc.property(input, more, limits, (buf, rest, lim) => {
      const rec = new Recorder();
      const parser = new RequestParser(rec, lim);
      parser.execute(buf);
      fc.pre(parser.error !== null);
      const error = parser.error;
      const events = rec.events;
      for (const [next, at] of rest) {
        const off = at % (next.length + 1);
        expect(parser.execute(next, off)).toBe(off);
      }
      expect([parser.error, rec.events, parser.idle, parser.inHead, parser.inBody]).toEqual([error, events, false, false, false]);
    }), { numRuns: 300 });
  });
});

describe('valid pipelines', () => {
  it('parse to exactly the generated messages, whole, split and paused', () => {
    fc.assert(fc.property(pipeline, cuts, pauses, (msgs, at, pause) => {
      const buf = bytes(msgs.map((m) => m.raw).join(''));
      const want: Outcome = { messages: msgs.map((m) => m.expected), error: null };
      expect(feed([buf])).toEqual(want);
      expect(feedWith(buf, at.map((c) => c % (buf.length + 1)), pause)).toEqual(want);
    }), { numRuns: 500 });
  });
});

describe('damaged framing', () => {
  // Every line of the framing ends in CRLF and no line may hold a CR, so a
  // strict reader that meets a damaged CR or LF outside body data stops at
  // that message: the messages before it stand, none after it completes.
  it('a framing CR or LF replaced by another byte ends the stream at that message', () => {
    fc.assert(fc.property(pipeline, fc.nat(), fc.integer({ min: 0, max: 255 }), cuts, (msgs, pick, byte, at) => {
      const original = bytes(msgs.map((m) => m.raw).join(''));
      const ends: number[] = [];
      const framing: number[] = [];
      let base = 0;
      for (const m of msgs) {
        for (let i = 0; i < m.raw.length; i++) {
          const c = m.raw.charCodeAt(i);
          if ((c === 0x0d || c === 0x0a) && !m.data.some(([a, z]) => i >= a && i < z)) framing.push(base + i);
        }
        base += m.raw.length;
        ends.push(base);
      }
      const p = framing[pick % framing.length]!;
      const was = original[p]!;
      fc.pre(byte !== was);
      const damaged = Buffer.from(original);
      damaged[p] = byte;
      const intact = ends.filter((e) => e <= p).length;

      const whole = feed([damaged]);
      expect(feedWith(damaged, at.map((c) => c % (damaged.length + 1)), [])).toEqual(whole);
      expect(whole.messages.filter((m) => m.complete)).toEqual(msgs.slice(0, intact).map((m) => m.expected));
      expect(whole.messages.length).toBeLessThanOrEqual(intact + 1);
      // A damaged CR is always followed by its LF: the line ends, and is refused.
      if (was === 0x0d) expect(whole.error).not.toBeNull();
    }), { numRuns: 500 });
  });
});

describe('mutated pipelines', () => {
  const mutation = fc.record({ op: fc.constantFrom('flip', 'insert', 'delete'), at: fc.nat(4096), byte: fc.integer({ min: 0, max: 255 }) });
  /** A request smuggled in a body: the original holds its request-line. */
  const smuggled = fc.constantFrom('', 'GET /s HTTP/1.1\r\nHost: a\r\n\r\n', '0\r\n\r\nGET /s HTTP/1.1\r\nHost: a\r\n\r\n');

  it('never throw, never yield more requests than the original has request-lines, keep the messages before the damage', () => {
    fc.assert(fc.property(pipeline, smuggled, fc.array(mutation, { minLength: 1, maxLength: 3 }), cuts, (msgs, extra, muts, at) => {
      const parts = msgs.map((m) => m.raw);
      // Smuggled bytes ride as the Content-Length body of a POST in front.
      if (extra !== '') parts.unshift(`POST /carrier HTTP/1.1\r\nHost: a\r\nContent-Length: ${extra.length}\r\n\r\n${extra}`);
      const original = parts.join('');
      const ends: number[] = [];
      parts.reduce((n, p) => (ends.push(n + p.length), n + p.length), 0);
      const requestLines = original.match(/ HTTP\/1\.\d\r\n/g)?.length ?? 0;

      const buf = Array.from(bytes(original));
      let firstDamage = buf.length;
      for (const m of muts) {
        const i = m.at % (buf.length + (m.op === 'insert' ? 1 : 0));
        if (m.op !== 'insert' && buf.length === 0) continue;
        if (m.op === 'flip') buf[i] = buf[i]! ^ (m.byte | 1);
        else if (m.op === 'insert') buf.splice(i, 0, m.byte);
        else buf.splice(i, 1);
        // Later edits index the edited buffer; bytes before the smallest index stay untouched.
        firstDamage = Math.min(firstDamage, i);
      }
      const mutated = Buffer.from(buf);

      const whole = feed([mutated]);
      expect(feedWith(mutated, at.map((c) => c % (mutated.length + 1)), [])).toEqual(whole);
      expect(whole.messages.length).toBeLessThanOrEqual(requestLines);
      // Messages wholly before the first damaged byte are parsed as generated.
      const intact = ends.filter((e) => e <= firstDamage).length;
      const wanted: Array<Message | 'carrier'> = [...(extra === '' ? [] : ['carrier' as const]), ...msgs.map((m) => m.expected)];
      wanted.slice(0, intact).forEach((w, k) => {
        if (w === 'carrier') expect(whole.messages[k]).toMatchObject({ head: { target: '/carrier' }, body: extra, complete: true });
        else expect(whole.messages[k]).toEqual(w);
      });
    }), { numRuns: 800 });
  });
});
