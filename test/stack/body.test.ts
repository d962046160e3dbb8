// decodeBody: request bodies with Content-Encoding, stacked decoders, the
// decoded-size cap and the decompression bomb.

import { PassThrough, Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody, parseContentEncoding } from '../../src/body.js';
import { HttpError } from '../../src/errors.js';
import { collect, makeRequest, prose } from './fixtures.js';

const MiB = 1024 * 1024;
const TEXT = prose(0, 200_000);

function post(contentEncoding: string | undefined, body: Buffer | Readable) {
  const headers: Record<string, string> = contentEncoding === undefined ? {} : { 'content-encoding': contentEncoding };
  let opened = 0;
  const request = makeRequest(headers, 'POST', () => {
    opened++;
    return Buffer.isBuffer(body) ? Readable.from([body]) : body;
  });
  return { request, opened: () => opened };
}

describe('decodeBody', () => {
  const rows: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', (b) => zlib.gzipSync(b)],
    ['x-gzip', (b) => zlib.gzipSync(b)],
    ['GZIP', (b) => zlib.gzipSync(b)],
    ['deflate', (b) => zlib.deflateSync(b)],
    ['br', (b) => zlib.brotliCompressSync(b)],
    ['identity', (b) => b],
    ['gzip, br', (b) => zlib.brotliCompressSync(zlib.gzipSync(b))],
    ['deflate,gzip', (b) => zlib.gzipSync(zlib.deflateSync(b))],
    ['br, identity, gzip', (b) => zlib.gzipSync(zlib.brotliCompressSync(b))],
  ];
  it.each(rows)('Content-Encoding %j round-trips', async (ce, encode) => {
    const { request } = post(ce, encode(TEXT));
    const body = decodeBody(request, 10 * MiB)!;
    expect((await collect(body)).equals(TEXT)).toBe(true);
  });

  it('returns the raw body when there is no coding', async () => {
    const raw = new PassThrough();
    const { request } = post(undefined, raw);
    expect(decodeBody(request, 10)).toBe(raw);
  });

  it('returns null without a body', () => {
    expect(decodeBody(makeRequest({ 'content-encoding': 'gzip' }, 'POST'), 10)).toBeNull();
  });

  it('refuses an unknown coding with 415 before opening the body', () => {
    const { request, opened } = post('gzip, compress', Buffer.from('x'));
    let error: unknown;
    try {
      decodeBody(request, 10);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(415);
    expect((error as HttpError).code).toBe('WWW_ERR_CONV_CODING_UNKNOWN');
    expect((error as HttpError).headers).toEqual({ 'Accept-Encoding': 'br, gzip, deflate' });
    expect(opened()).toBe(0);
  });

  it('refuses more than two codings with 415 before opening the body: one decoder each would cost memory per token', () => {
    for (const ce of ['br, br, br', 'gzip, identity, deflate, br', Array(5000).fill('br').join(',')]) {
      const { request, opened } = post(ce, Buffer.from('x'));
      let error: unknown;
      try {
        decodeBody(request, 10);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(HttpError);
      expect([(error as HttpError).status, (error as HttpError).code]).toEqual([415, 'WWW_ERR_CONV_TOO_MANY_CODINGS']);
      expect(opened()).toBe(0);
    }
    expect(parseContentEncoding('identity, br, identity, gzip, identity')).toEqual(['br', 'gzip']);
  });

  it('answers 400 for bytes that do not decode', async () => {
    const { request } = post('gzip', Buffer.from('this is not gzip at all'));
    const err = await collect(decodeBody(request, MiB)!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    expect((err as HttpError).code).toBe('WWW_ERR_CONV_DECODE');
  });

  it('allows exactly the cap and refuses one byte more', async () => {
    const exact = post('gzip', zlib.gzipSync(Buffer.alloc(1000, 1)));
    expect((await collect(decodeBody(exact.request, 1000)!)).length).toBe(1000);
    const over = post('gzip', zlib.gzipSync(Buffer.alloc(1001, 1)));
    const err = await collect(decodeBody(over.request, 1000)!).catch((e: unknown) => e);
    expect((err as HttpError).status).toBe(413);
  });

  it('stops a decompression bomb (1 GiB of zeros) with 413, quickly and in bounded memory', async () => {
    // 1024 gzip members of 1 MiB of zeros each: about 1 MiB on the wire,
    // 1 GiB decoded (gunzip reads concatenated members as one body).
    const member = zlib.gzipSync(Buffer.alloc(MiB), { level: 9 });
    let sent = 0;
    const wire = new Readable({
      read() {
        if (sent === 1024) this.push(null);
        else {
          sent++;
          this.push(member);
        }
      },
    });
    const { request } = post('gzip', wire);
    const before = process.memoryUsage();
    const started = Date.now();
    const decoded = decodeBody(request, 8 * MiB)!;
    let seen = 0;
    const err = await new Promise<unknown>((resolve) => {
      decoded.on('data', (chunk: Buffer) => {
        seen += chunk.length;
      });
      decoded.on('error', resolve);
      decoded.on('end', () => resolve(null));
    });
    const after = process.memoryUsage();
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(413);
    expect((err as HttpError).code).toBe('WWW_ERR_REQ_BODY_TOO_LARGE');
    expect(seen).toBeLessThanOrEqual(8 * MiB);
    expect(Date.now() - started).toBeLessThan(2000);
    // The wire was not read to its end: decoding stopped at the cap.
    expect(sent).toBeLessThan(64);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * MiB);
    expect(wire.destroyed).toBe(true);
  });

  it('an abort of the request ends decoding', async () => {
    const wire = new PassThrough();
    const { request } = post('gzip', wire);
    const decoded = decodeBody(request, MiB)!;
    const done = collect(decoded).catch((e: unknown) => e);
    wire.write(zlib.gzipSync(TEXT).subarray(0, 100));
    request.abort();
    const err = await done;
    expect((err as HttpError).code).toBe('WWW_ERR_REQ_ABORTED');
    expect(wire.destroyed).toBe(true);
  });
});

describe('parseContentEncoding', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['identity', []],
    ['gzip', ['gzip']],
    ['x-gzip', ['gzip']],
    [' Gzip , BR ', ['gzip', 'br']],
    ['deflate, identity', ['deflate']],
  ] as const)('%j → %j', (value, expected) => {
    expect(parseContentEncoding(value)).toEqual(expected);
  });

  it.each(['compress', 'zstd', 'gzip, foo'])('refuses %j', (value) => {
    expect(() => parseContentEncoding(value)).toThrow(HttpError);
  });
});
