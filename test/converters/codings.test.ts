// The content codings (gzip, deflate, br): round trips, interoperation with
// the plain zlib functions, and a slow consumer that must hold back the
// producer instead of letting buffers grow.

import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { brotli } from '../../converters/brotli.js';
import type { ContentCoding } from '../../converters/content-coding.js';
import { deflate } from '../../converters/deflate.js';
import { gzip } from '../../converters/gzip.js';
import { codingByName, codings } from '../../converters/index.js';
import { collect, CountingSource, prose, slowConsumer } from '../stack/fixtures.js';

const MiB = 1024 * 1024;

const table: Array<[string, ContentCoding, (b: Buffer) => Buffer, (b: Buffer) => Buffer]> = [
  ['gzip', gzip, zlib.gzipSync, zlib.gunzipSync],
  ['deflate', deflate, zlib.deflateSync, zlib.inflateSync],
  ['br', brotli, zlib.brotliCompressSync, zlib.brotliDecompressSync],
];

describe.each(table)('%s', (name, coding, plainEncode, plainDecode) => {
  const text = prose(0, 300_000);

  it('is found by its name', () => {
    expect(codingByName(name)).toBe(coding);
    expect(coding.name).toBe(name);
  });

  it('round-trips through its encoder and decoder streams', async () => {
    const encoded = await collect(Readable.from([text.subarray(0, 1000), text.subarray(1000)]).pipe(coding.encoder()));
    expect(encoded.length).toBeLessThan(text.length / 2);
    const decoded = await collect(Readable.from([encoded]).pipe(coding.decoder()));
    expect(decoded.equals(text)).toBe(true);
  });

  it('speaks the standard format both ways', async () => {
    expect(plainDecode(coding.encodeSync(text)).equals(text)).toBe(true);
    const decoded = await collect(Readable.from([plainEncode(text)]).pipe(coding.decoder()));
    expect(decoded.equals(text)).toBe(true);
  });

  it('round-trips an empty body', async () => {
    const encoded = await collect(Readable.from([Buffer.alloc(0)]).pipe(coding.encoder()));
    expect(plainDecode(encoded).length).toBe(0);
  });

  it('fails to decode garbage with an error, not a crash', async () => {
    await expect(collect(Readable.from([Buffer.from('definitely not compressed data')]).pipe(coding.decoder()))).rejects.toThrow();
  });

  it('keeps memory bounded with a slow consumer (64 MiB through the encoder)', async () => {
    const total = 64 * MiB;
    const source = new CountingSource(total, prose);
    const encoder = coding.encoder({ level: 1 }) as zlib.Gzip;
    const decoder = coding.decoder();
    const hashIn = createHash('sha1');
    const hashOut = createHash('sha1');
    let maxInFlight = 0;
    let maxOut = 0;
    // What the encoder holds: input produced but not yet taken by the engine,
    // and output the consumer has not taken yet.
    const sink = slowConsumer(() => {
      maxInFlight = Math.max(maxInFlight, source.produced - encoder.bytesWritten);
      maxOut = Math.max(maxOut, encoder.readableLength);
    }, 1, (chunk) => decoder.write(chunk));
    source.on('data', (chunk: Buffer) => hashIn.update(chunk));
    decoder.on('data', (chunk: Buffer) => hashOut.update(chunk));
    await pipeline(source, encoder, sink);
    decoder.end();
    await finished(decoder);
    expect(source.produced).toBe(total);
    // Source 16 KiB + encoder input 16 KiB + one 64 KiB chunk in hand.
    expect(maxInFlight).toBeLessThanOrEqual(256 * 1024);
    expect(maxOut).toBeLessThanOrEqual(64 * 1024);
    // The consumer was the bottleneck: the producer did wait with data ready.
    expect(maxInFlight).toBeGreaterThan(16 * 1024);
    expect(hashOut.digest('hex')).toBe(hashIn.digest('hex'));
  }, 60_000);
});

describe('the coding table', () => {
  it('prefers br, then gzip, then deflate', () => {
    expect(codings.map((c) => c.name)).toEqual(['br', 'gzip', 'deflate']);
  });

  it('knows x-gzip as gzip and nothing it cannot decode', () => {
    expect(codingByName('x-gzip')).toBe(gzip);
    expect(codingByName('compress')).toBeUndefined();
    expect(codingByName('zstd')).toBeUndefined();
  });
});
