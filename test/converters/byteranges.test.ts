// The multipart/byteranges writer: the exact length announced, the parts as
// RFC 9110 §14.6 writes them, a file that changes under it, and a slow
// consumer over a 64 MiB representation.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { byterangesBody, type ByteRange } from '../../converters/byteranges.js';
import { collect, CountingSource, prose, slowConsumer } from '../stack/fixtures.js';

const DOC = prose(0, 10_000);

/** A minimal multipart/byteranges reader, to check what the writer wrote. */
function parseParts(body: Buffer, boundary: string): Array<{ headers: Record<string, string>; data: Buffer }> {
  const delimiter = Buffer.from(`--${boundary}`);
  expect(body.subarray(0, delimiter.length).equals(delimiter)).toBe(true);
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  let pos = delimiter.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString() === '--') {
      expect(body.subarray(pos).toString()).toBe('--\r\n');
      return parts;
    }
    expect(body.subarray(pos, pos + 2).toString()).toBe('\r\n');
    const headEnd = body.indexOf('\r\n\r\n', pos);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos + 2, headEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    parts.push({ headers, data: body.subarray(headEnd + 4, next) });
    pos = next + 2 + delimiter.length;
  }
}

const slice = (start: number, end: number): Readable => Readable.from([DOC.subarray(start, end + 1)]);

describe('byterangesBody', () => {
  const rows: Array<[string, ByteRange[]]> = [
    ['two ranges', [{ start: 0, end: 99 }, { start: 500, end: 599 }]],
    ['single bytes', [{ start: 0, end: 0 }, { start: 9999, end: 9999 }]],
    ['three, out of order', [{ start: 9000, end: 9999 }, { start: 0, end: 10 }, { start: 4000, end: 4500 }]],
    ['the whole document twice', [{ start: 0, end: 9999 }, { start: 0, end: 9999 }]],
  ];

  it.each(rows)('%s: length is exact and the parts read back', async (_d, ranges) => {
    const { body, length, contentType } = byterangesBody(ranges, DOC.length, 'text/plain; charset=utf-8', slice, 'BOUNDARY');
    expect(contentType).toBe('multipart/byteranges; boundary=BOUNDARY');
    const bytes = await collect(body);
    expect(bytes.length).toBe(length);
    const parts = parseParts(bytes, 'BOUNDARY');
    expect(parts).toHaveLength(ranges.length);
    parts.forEach((part, i) => {
      const { start, end } = ranges[i]!;
      expect(part.headers).toEqual({ 'content-type': 'text/plain; charset=utf-8', 'content-range': `bytes ${start}-${end}/${DOC.length}` });
      expect(part.data.equals(DOC.subarray(start, end + 1))).toBe(true);
    });
  });

  it('accepts Buffers from openRange', async () => {
    const { body, length } = byterangesBody([{ start: 1, end: 2 }, { start: 5, end: 9 }], DOC.length, 'text/plain', (s, e) => DOC.subarray(s, e + 1), 'B');
    const bytes = await collect(body);
    expect(bytes.length).toBe(length);
    expect(bytes.toString()).toBe(
      `--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 1-2/10000\r\n\r\n${DOC.subarray(1, 3)}`
      + `\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-9/10000\r\n\r\n${DOC.subarray(5, 10)}\r\n--B--\r\n`,
    );
  });

  it('makes a fresh random boundary by default', () => {
    const a = byterangesBody([{ start: 0, end: 1 }], 10, 'text/plain', () => Buffer.alloc(2));
    const b = byterangesBody([{ start: 0, end: 1 }], 10, 'text/plain', () => Buffer.alloc(2));
    expect(a.contentType).toMatch(/^multipart\/byteranges; boundary=streamstack-[0-9a-f]{24}$/);
    expect(a.contentType).not.toBe(b.contentType);
    a.body.destroy();
    b.body.destroy();
  });

  it.each([
    ['no ranges', []],
    ['end past the size', [{ start: 0, end: 10 }]],
    ['end before start', [{ start: 5, end: 4 }]],
    ['negative start', [{ start: -1, end: 4 }]],
  ] as Array<[string, ByteRange[]]>)('refuses %s', (_d, ranges) => {
    expect(() => byterangesBody(ranges, 10, 'text/plain', () => Buffer.alloc(0))).toThrow(RangeError);
  });

  it('errors instead of sending a wrong length when a range comes up short or long', async () => {
    const short = byterangesBody([{ start: 0, end: 99 }], 100, 'text/plain', () => Readable.from([Buffer.alloc(50)]));
    await expect(collect(short.body)).rejects.toThrow(/yielded 50 bytes, expected 100/);
    const long = byterangesBody([{ start: 0, end: 9 }], 100, 'text/plain', () => Readable.from([Buffer.alloc(50)]));
    await expect(collect(long.body)).rejects.toThrow(/expected 10/);
  });

  it('opens one range at a time, and closes it when the body is destroyed', async () => {
    const opened: Readable[] = [];
    const { body } = byterangesBody(
      [{ start: 0, end: 1_000_000 - 1 }, { start: 0, end: 9 }],
      1_000_000,
      'application/octet-stream',
      (s, e) => {
        const r = new CountingSource(e - s + 1, (_o, n) => Buffer.alloc(n));
        opened.push(r);
        return r;
      },
    );
    await new Promise<void>((resolve) => body.once('readable', resolve));
    body.read();
    expect(opened).toHaveLength(1);
    body.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(opened[0]!.destroyed).toBe(true);
    expect(opened).toHaveLength(1);
  });

  it('keeps memory bounded with a slow consumer (64 MiB in ranges)', async () => {
    const size = 64 * 1024 * 1024;
    const sources: CountingSource[] = [];
    const quarter = size / 4;
    const ranges = [0, 1, 2, 3].map((i) => ({ start: i * quarter, end: (i + 1) * quarter - 1 }));
    const { body, length } = byterangesBody(ranges, size, 'application/octet-stream', (s, e) => {
      const source = new CountingSource(e - s + 1, (_o, n) => Buffer.alloc(n, 7));
      sources.push(source);
      return source;
    });
    let maxAhead = 0;
    let consumed = 0;
    const sink = slowConsumer(() => {
      const produced = sources.reduce((sum, s) => sum + s.produced, 0);
      maxAhead = Math.max(maxAhead, produced - consumed);
    }, 0, (chunk) => {
      consumed += chunk.length;
    });
    await pipeline(body, sink);
    expect(sink.received).toBe(length);
    expect(sources).toHaveLength(4);
    // Source buffer + the generator's chunk in hand + the body's 16 KiB.
    expect(maxAhead).toBeLessThanOrEqual(4 * 64 * 1024);
  }, 60_000);
});
