// The charset transcoder (iconv-lite): round trips, multi-byte sequences
// split across chunks, and a slow consumer.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { CharsetTranscoder, charsetSupported, sameCharset, transcodeSync } from '../../converters/charset.js';
import { collect, CountingSource, slowConsumer } from '../stack/fixtures.js';

const SAMPLE = 'Grüße aus Zürich – “quoted” café, naïve, €5 ';

describe('CharsetTranscoder', () => {
  it.each([
    ['windows-1252', 'utf-8', SAMPLE],
    ['utf-8', 'windows-1252', SAMPLE],
    // ISO-8859-15 has € but no typographic dashes or quotes.
    ['iso-8859-15', 'utf-8', 'Grüße aus Zürich, café, naïve, €5 '],
    ['utf-8', 'utf-16le', SAMPLE],
    ['utf-16le', 'utf-8', SAMPLE],
    ['shift_jis', 'utf-8', '東京の天気は晴れ '],
  ])('%s → %s round-trips', async (from, to, text) => {
    const source = iconv.encode(text.repeat(100), from);
    const there = await collect(Readable.from([source]).pipe(new CharsetTranscoder(from, to)));
    expect(iconv.decode(there, to) === text.repeat(100)).toBe(true);
    const back = await collect(Readable.from([there]).pipe(new CharsetTranscoder(to, from)));
    expect(back.equals(source)).toBe(true);
  });

  it('keeps a multi-byte sequence split at every offset whole', async () => {
    const utf8 = Buffer.from(SAMPLE, 'utf8');
    for (let cut = 1; cut < utf8.length; cut++) {
      const out = await collect(Readable.from([utf8.subarray(0, cut), utf8.subarray(cut)]).pipe(new CharsetTranscoder('utf-8', 'windows-1252')));
      expect(iconv.decode(out, 'windows-1252')).toBe(SAMPLE);
    }
  });

  it('agrees with transcodeSync', async () => {
    const source = iconv.encode(SAMPLE, 'windows-1252');
    const streamed = await collect(Readable.from([source]).pipe(new CharsetTranscoder('windows-1252', 'utf-8')));
    expect(streamed.equals(transcodeSync(source, 'windows-1252', 'utf-8'))).toBe(true);
  });

  it('refuses a charset it does not know', () => {
    expect(() => new CharsetTranscoder('x-klingon', 'utf-8')).toThrow(RangeError);
    expect(() => new CharsetTranscoder('utf-8', 'x-klingon')).toThrow(RangeError);
  });

  it('keeps memory bounded with a slow consumer (64 MiB)', async () => {
    const unit = iconv.encode(SAMPLE, 'windows-1252');
    const total = 64 * 1024 * 1024;
    const source = new CountingSource(total, (offset, size) => {
      const out = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i++) out[i] = unit[(offset + i) % unit.length]!;
      return out;
    });
    const transcoder = new CharsetTranscoder('windows-1252', 'utf-8');
    let maxBuffered = 0;
    const sink = slowConsumer(() => {
      maxBuffered = Math.max(maxBuffered, source.readableLength + transcoder.writableLength + transcoder.readableLength);
    }, 0);
    await pipeline(source, transcoder, sink);
    expect(source.produced).toBe(total);
    // UTF-8 is longer than windows-1252 for this text: every byte was delivered.
    expect(sink.received).toBeGreaterThan(total);
    expect(maxBuffered).toBeLessThanOrEqual(4 * 64 * 1024);
    expect(maxBuffered).toBeGreaterThan(16 * 1024);
  }, 60_000);
});

describe('charset names', () => {
  it.each([
    ['utf-8', 'UTF8', true],
    ['latin1', 'ISO-8859-1', true],
    ['cp1252', 'windows-1252', true],
    ['us-ascii', 'ascii', true],
    ['utf-8', 'windows-1252', false],
    ['x-unknown', 'x-unknown', true],
    ['x-unknown', 'utf-8', false],
  ] as const)('%s = %s: %s', (a, b, expected) => {
    expect(sameCharset(a, b)).toBe(expected);
  });

  it('knows the common charsets', () => {
    for (const name of ['utf-8', 'windows-1252', 'iso-8859-15', 'shift_jis', 'koi8-r', 'utf-16le']) expect(charsetSupported(name)).toBe(true);
    expect(charsetSupported('x-klingon')).toBe(false);
  });
});
