// stackReply: the type, charset and coding steps, Vary and ETag, the
// zero-cost path, HEAD, 406, and converters that fail.

import { PassThrough, Readable, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { Anchor } from '../../src/anchor.js';
import type { Converter } from '../../src/converter.js';
import { makeFormat, type Format } from '../../src/format.js';
import { ConverterRegistry } from '../../src/registry.js';
import type { Reply } from '../../src/reply.js';
import { baseETag, stackReply, variantETag } from '../../src/stack.js';
import { registerBuiltins } from '../../converters/index.js';
import { bodyBytes, collect, makeRequest, prose } from './fixtures.js';

const HTML = makeFormat('text/html', { charset: 'utf-8' });
const BIG = prose(0, 4096);

function reply(format: Format | null, body: Buffer | Readable | null, extra: Partial<Reply> = {}): Reply {
  const length = Buffer.isBuffer(body) ? body.length : -1;
  return { status: 200, headers: { ETag: '"abc"' }, format, length, body, ...extra };
}

function registry(...converters: Converter[]): ConverterRegistry {
  const r = new ConverterRegistry();
  registerBuiltins(r);
  for (const c of converters) r.register(c);
  return r;
}

/** text/x-shout → text/plain: upper-cases its input. */
const shout: Converter = {
  from: 'text/x-shout',
  to: 'text/plain',
  quality: 1,
  create: () => new Transform({ transform: (chunk: Buffer, _e, cb) => cb(null, Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1')) }),
};

describe('the zero-cost path', () => {
  it('returns the same object, untouched, for a non-compressible type', () => {
    const r = reply(makeFormat('image/png'), Buffer.alloc(5000));
    const before = { ...r.headers };
    const out = stackReply(r, makeRequest({ 'accept-encoding': 'gzip, br', accept: 'text/html' }), registry());
    expect(out).toBe(r);
    expect(out.headers).toEqual(before);
  });

  it('adds only Vary for a compressible type below the threshold', () => {
    const body = Buffer.from('<p>small</p>');
    const r = reply(HTML, body);
    const out = stackReply(r, makeRequest({ 'accept-encoding': 'gzip' }), registry());
    expect(out).toBe(r);
    expect(out.body).toBe(body);
    expect(out.headers.Vary).toBe('Accept-Encoding');
    expect(out.headers.ETag).toBe('"abc"');
  });

  it('adds Vary: Accept-Encoding even when the client sent none, and does not compress', () => {
    const r = reply(HTML, BIG);
    const out = stackReply(r, makeRequest({}), registry());
    expect(out).toBe(r);
    expect(out.headers.Vary).toBe('Accept-Encoding');
  });

  it('does not repeat Vary when the same headers object comes back (memory cache)', () => {
    const r = reply(HTML, Buffer.from('x'), { headers: { Vary: 'accept-encoding' } });
    stackReply(r, makeRequest({}), registry());
    stackReply(r, makeRequest({}), registry());
    expect(r.headers.Vary).toBe('accept-encoding');
  });

  it('leaves replies without content alone, and converts no 206 or 304, which say the Vary their 200 would (RFC 9110 §15.3.7, §15.4.5)', () => {
    for (const status of [204, 304, 206]) {
      const r = reply(HTML, status === 206 ? BIG : null, { status });
      const out = stackReply(r, makeRequest({ 'accept-encoding': 'gzip' }), registry());
      expect(out).toBe(r);
      expect(out.headers['Content-Encoding']).toBeUndefined();
      expect(out.headers.Vary).toBe(status === 204 ? undefined : 'Accept-Encoding');
    }
    // A 304 without a format (a relayed one that named no type) is left as it is.
    const bare = reply(null, null, { status: 304 });
    expect(stackReply(bare, makeRequest({ 'accept-encoding': 'gzip' }), registry()).headers.Vary).toBeUndefined();
    const none = reply(null, null);
    expect(stackReply(none, makeRequest({ 'accept-encoding': 'gzip' }), registry())).toBe(none);
  });
});

describe('content codings', () => {
  const codingRows: Array<[string, string | null]> = [
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['deflate, gzip', 'gzip'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['br;q=0.1, deflate;q=0.2', 'deflate'],
    ['*', 'br'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['gzip;q=0.5, identity', null],
    ['gzip, identity', 'gzip'],
    ['gzip;q=0', null],
    ['compress', null],
    ['', null],
  ];

  it.each(codingRows)('Accept-Encoding %j → %s', async (ae, expected) => {
    const out = stackReply(reply(HTML, BIG), makeRequest({ 'accept-encoding': ae }), registry());
    expect(out.format!.codings).toEqual(expected === null ? [] : [expected]);
    expect(out.headers.Vary).toBe('Accept-Encoding');
    const bytes = await bodyBytes(out.body);
    expect(bytes.length).toBe(out.length);
    const decoded = expected === 'gzip' ? zlib.gunzipSync(bytes)
      : expected === 'br' ? zlib.brotliDecompressSync(bytes)
      // RFC 9110 §8.4.1.2: deflate is the zlib format, so inflate (not inflateRaw) reads it.
      : expected === 'deflate' ? zlib.inflateSync(bytes)
      : bytes;
    expect(decoded.equals(BIG)).toBe(true);
  });

  it('gives each coding its own ETag and keeps the weak flag', () => {
    const gz = stackReply(reply(HTML, BIG), makeRequest({ 'accept-encoding': 'gzip' }), registry());
    const br = stackReply(reply(HTML, BIG), makeRequest({ 'accept-encoding': 'br' }), registry());
    const weak = stackReply(reply(HTML, BIG, { headers: { ETag: 'W/"abc"' } }), makeRequest({ 'accept-encoding': 'gzip' }), registry());
    expect(gz.headers.ETag).toBe('"abc-gzip"');
    expect(br.headers.ETag).toBe('"abc-br"');
    expect(weak.headers.ETag).toBe('W/"abc-gzip"');
  });

  it('merges Vary, drops Accept-Ranges and stale framing fields, keeps the rest', () => {
    const r = reply(HTML, BIG, { headers: { ETag: '"abc"', Vary: 'Origin', 'Accept-Ranges': 'bytes', 'content-length': '4096', 'Last-Modified': 'x' } });
    const out = stackReply(r, makeRequest({ 'accept-encoding': 'gzip' }), registry());
    expect(out).not.toBe(r);
    expect(out.headers).toEqual({ ETag: '"abc-gzip"', Vary: 'Origin, Accept-Encoding', 'Last-Modified': 'x' });
    expect(r.headers.ETag).toBe('"abc"');
  });

  it('keeps Vary: *', () => {
    const out = stackReply(reply(HTML, BIG, { headers: { Vary: '*' } }), makeRequest({ 'accept-encoding': 'gzip' }), registry());
    expect(out.headers.Vary).toBe('*');
  });

  it('never compresses an encoded body, a no-transform reply or an event stream', () => {
    const encoded = reply(makeFormat('text/html', {}, ['gzip']), zlib.gzipSync(BIG));
    expect(stackReply(encoded, makeRequest({ 'accept-encoding': 'br' }), registry())).toBe(encoded);
    const noTransform = reply(HTML, BIG, { headers: { 'Cache-Control': 'public, No-Transform' } });
    const out = stackReply(noTransform, makeRequest({ 'accept-encoding': 'gzip' }), registry());
    expect(out).toBe(noTransform);
    expect(out.body).toBe(BIG);
    const events = reply(makeFormat('text/event-stream'), new PassThrough());
    expect(stackReply(events, makeRequest({ 'accept-encoding': 'gzip' }), registry()).format!.codings).toEqual([]);
  });

  it('compresses when the length is unknown, whatever the threshold', async () => {
    const out = stackReply(reply(HTML, Readable.from([Buffer.from('tiny')])), makeRequest({ 'accept-encoding': 'gzip' }), registry(), { compressMinSize: 1 << 20 });
    expect(out.format!.codings).toEqual(['gzip']);
    expect(out.length).toBe(-1);
    expect(zlib.gunzipSync(await collect(out.body as Readable)).toString()).toBe('tiny');
  });

  it('honours compressMinSize', () => {
    const small = stackReply(reply(HTML, BIG), makeRequest({ 'accept-encoding': 'gzip' }), registry(), { compressMinSize: 8192 });
    expect(small.format!.codings).toEqual([]);
    const big = stackReply(reply(HTML, BIG), makeRequest({ 'accept-encoding': 'gzip' }), registry(), { compressMinSize: 100 });
    expect(big.format!.codings).toEqual(['gzip']);
  });

  it('streams a Buffer above syncLimit and still round-trips', async () => {
    const out = stackReply(reply(HTML, BIG), makeRequest({ 'accept-encoding': 'gzip' }), registry(), { syncLimit: 1024 });
    expect(out.body).toBeInstanceOf(Readable);
    expect(out.length).toBe(-1);
    expect(zlib.gunzipSync(await collect(out.body as Readable)).equals(BIG)).toBe(true);
  });

  it('uses the compression level', () => {
    const fast = stackReply(reply(HTML, prose(0, 100_000)), makeRequest({ 'accept-encoding': 'gzip' }), registry(), { compressionLevel: 1 });
    const best = stackReply(reply(HTML, prose(0, 100_000)), makeRequest({ 'accept-encoding': 'gzip' }), registry(), { compressionLevel: 9 });
    expect(best.length).toBeLessThan(fast.length);
  });

  it('keeps the encoded variant of a memory-cached document on its anchor', () => {
    const anchor = new Anchor('file:/doc.html');
    anchor.document = { bodies: new Map([['', BIG]]), size: BIG.length, mtimeMs: 0, etag: '"abc"', checkedAt: 0 };
    const first = stackReply(reply(HTML, BIG, { anchor }), makeRequest({ 'accept-encoding': 'gzip' }), registry());
    const second = stackReply(reply(HTML, BIG, { anchor }), makeRequest({ 'accept-encoding': 'gzip' }), registry());
    expect(anchor.document.bodies.get('gzip')).toBe(first.body);
    expect(second.body).toBe(first.body);
    const br = stackReply(reply(HTML, BIG, { anchor }), makeRequest({ 'accept-encoding': 'br' }), registry());
    expect(anchor.document.bodies.get('br')).toBe(br.body);
  });
});

describe('406 Not Acceptable', () => {
  const rows: Array<[string, number, string | null]> = [
    ['identity;q=0', 406, null],
    ['*;q=0', 406, null],
    ['*;q=0, identity;q=0.1', 200, null],
    ['identity;q=0, gzip', 200, 'gzip'],
    ['*;q=0, br', 200, 'br'],
    ['compress, identity;q=0', 406, null],
  ];
  it.each(rows)('Accept-Encoding %j on a small text → %d', (ae, status, coding) => {
    const request = makeRequest({ 'accept-encoding': ae });
    const out = stackReply(reply(HTML, Buffer.from('<p>small</p>')), request, registry());
    expect(out.status).toBe(status);
    if (status === 406) {
      expect(request.errors.at(-1)!.code).toBe('WWW_ERR_REQ_NOT_ACCEPTABLE');
    } else {
      expect(out.format!.codings).toEqual(coding === null ? [] : [coding]);
    }
  });

  it('gets a coding even for a type never compressed otherwise', () => {
    const out = stackReply(reply(makeFormat('image/png'), Buffer.alloc(10)), makeRequest({ 'accept-encoding': 'gzip, identity;q=0' }), registry());
    expect(out.format!.codings).toEqual(['gzip']);
    expect(zlib.gunzipSync(out.body as Buffer).equals(Buffer.alloc(10))).toBe(true);
  });

  it('is 406 when no-transform forbids the only acceptable coding', () => {
    const out = stackReply(reply(HTML, BIG, { headers: { 'Cache-Control': 'no-transform' } }), makeRequest({ 'accept-encoding': 'gzip, identity;q=0' }), registry());
    expect(out.status).toBe(406);
  });

  it('is not applied to error replies nor to already-encoded bodies', () => {
    const notFound = reply(HTML, Buffer.from('nope'), { status: 404 });
    expect(stackReply(notFound, makeRequest({ 'accept-encoding': 'identity;q=0' }), registry()).status).toBe(404);
    const encoded = reply(makeFormat('text/html', {}, ['gzip']), zlib.gzipSync(BIG));
    expect(stackReply(encoded, makeRequest({ 'accept-encoding': 'identity;q=0' }), registry())).toBe(encoded);
  });

  it('destroys the body it will not send', () => {
    const body = new PassThrough();
    stackReply(reply(makeFormat('image/png'), body), makeRequest({ 'accept-encoding': 'identity;q=0' }), registry());
    expect(body.destroyed).toBe(true);
  });
});

describe('HEAD answers the headers GET would', () => {
  // RFC 9110 §9.3.2: the same fields, Content-Length too whenever GET's is
  // known. A module hands HEAD the bytes GET would get when it has them in
  // memory (the writer sends none), or leaves them on the anchor; else null,
  // and then GET's body is a stream.
  const cases: Array<[string, Record<string, string>]> = [
    ['gzip', { 'accept-encoding': 'gzip' }],
    ['charset', { 'accept-charset': 'utf-8' }],
    ['gzip and charset', { 'accept-encoding': 'gzip', 'accept-charset': 'utf-8' }],
    ['none', {}],
    ['converter', { accept: 'text/plain' }],
  ];
  const source = makeFormat('text/x-shout', { charset: 'windows-1252' });
  const bytes = Buffer.from(BIG);
  type Pair = { get: () => Reply; head: () => Reply; syncLimit?: number };
  const onAnchor = (): Anchor => {
    const anchor = new Anchor('file:/doc.txt');
    anchor.document = { bodies: new Map([['', bytes]]), size: bytes.length, mtimeMs: 0, etag: '"abc"', checkedAt: 0 };
    return anchor;
  };
  const pairs: Array<[string, Pair]> = [
    ['bytes in memory', { get: () => reply(source, bytes), head: () => reply(source, bytes) }],
    ['bytes on the anchor', { get: () => reply(source, bytes, { anchor: onAnchor() }), head: () => reply(source, null, { length: bytes.length, anchor: onAnchor() }) }],
    ['bytes in memory above syncLimit', { get: () => reply(source, bytes), head: () => reply(source, bytes), syncLimit: 1024 }],
    ['a stream', { get: () => reply(source, Readable.from([bytes]), { length: bytes.length }), head: () => reply(source, null, { length: bytes.length }) }],
  ];
  const rows = cases.flatMap(([d, headers]) => pairs.map(([p, pair]) => [`${d}, ${p}`, headers, pair] as const));
  it.each(rows)('%s', (_d, headers, pair) => {
    const r = registry(shout);
    const options = pair.syncLimit === undefined ? {} : { syncLimit: pair.syncLimit };
    const get = stackReply(pair.get(), makeRequest(headers), r, options);
    const head = stackReply(pair.head(), makeRequest(headers, 'HEAD'), r, options);
    expect(head.status).toBe(get.status);
    expect(head.headers).toEqual(get.headers);
    expect(head.format).toEqual(get.format);
    expect(head.length).toBe(get.length); // the Content-Length, or none (chunked) for both
    expect(head.body).not.toBeInstanceOf(Readable); // nothing streams for a HEAD
    if (get.body instanceof Readable) get.body.destroy();
  });
});

describe('type conversion', () => {
  const SHOUT = makeFormat('text/x-shout', { charset: 'utf-8' });
  const rows: Array<[string | undefined, string]> = [
    [undefined, 'text/x-shout'],
    ['*/*', 'text/x-shout'],
    ['text/plain', 'text/plain'],
    ['text/*', 'text/x-shout'],
    ['text/plain, text/x-shout;q=0.9', 'text/plain'],
    ['text/plain;q=0.5, */*;q=0.6', 'text/x-shout'],
    ['image/png', 'text/x-shout'],
  ];
  it.each(rows)('Accept %j → %s', async (accept, type) => {
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    const out = stackReply(reply(SHOUT, Buffer.from('hello')), makeRequest(headers), registry(shout));
    expect(out.format!.type).toBe(type);
    expect(out.headers.Vary).toContain('Accept');
    const text = (await bodyBytes(out.body)).toString();
    expect(text).toBe(type === 'text/plain' ? 'HELLO' : 'hello');
  });

  it('multiplies client q by converter q', () => {
    const toHtml: Converter = { from: 'text/x-shout', to: 'text/html', quality: 1, create: () => new PassThrough() };
    const toJson: Converter = { from: 'text/x-shout', to: 'application/json', quality: 0.4, create: () => new PassThrough() };
    const r = registry(toHtml, toJson);
    const pick = (accept: string) => stackReply(reply(SHOUT, Buffer.from('x')), makeRequest({ accept }), r).format!.type;
    expect(pick('text/html;q=0.5, application/json')).toBe('text/html');
    expect(pick('text/html;q=0.3, application/json')).toBe('application/json');
  });

  it('marks the converted ETag weak and per type, with unknown length', () => {
    const out = stackReply(reply(SHOUT, Buffer.from('x')), makeRequest({ accept: 'text/plain' }), registry(shout));
    expect(out.headers.ETag).toBe('W/"abc-to.plain"');
    expect(out.length).toBe(-1);
    expect(out.format).toEqual(makeFormat('text/plain', { charset: 'utf-8' }));
  });

  it('prefers a request-local converter', async () => {
    const local: Converter = { from: '*/*', to: 'text/plain', quality: 0.1, create: () => new Transform({ transform: (_c, _e, cb) => cb(null, 'local') }) };
    const request = makeRequest({ accept: 'text/plain' });
    request.converters.push(local);
    const out = stackReply(reply(SHOUT, Buffer.from('x')), request, registry(shout));
    expect((await bodyBytes(out.body)).toString()).toBe('local');
  });

  it('does not convert a body that is already encoded or marked no-transform', () => {
    const encoded = reply(makeFormat('text/x-shout', {}, ['gzip']), Buffer.from('x'));
    expect(stackReply(encoded, makeRequest({ accept: 'text/plain' }), registry(shout))).toBe(encoded);
    const fixed = reply(SHOUT, Buffer.from('x'), { headers: { 'Cache-Control': 'no-transform' } });
    expect(stackReply(fixed, makeRequest({ accept: 'text/plain' }), registry(shout))).toBe(fixed);
  });

  it('converts, then compresses, in one chain', async () => {
    const out = stackReply(reply(SHOUT, Buffer.from(BIG)), makeRequest({ accept: 'text/plain', 'accept-encoding': 'gzip' }), registry(shout));
    expect(out.format!.codings).toEqual(['gzip']);
    expect(out.headers.Vary).toBe('Accept, Accept-Encoding');
    expect(out.headers.ETag).toBe('W/"abc-to.plain-gzip"');
    const text = zlib.gunzipSync(await collect(out.body as Readable)).toString();
    expect(text).toBe(BIG.toString().toUpperCase());
  });
});

describe('www/dir', () => {
  const DIR = makeFormat('www/dir', { path: '/d/' });
  const entries = () => Readable.from([{ name: 'a.txt', isDirectory: false, size: 1, mtimeMs: 0 }]);
  it.each([
    [undefined, 'text/html'],
    ['*/*', 'text/html'],
    ['application/json', 'application/json'],
    ['application/json, */*;q=0.1', 'application/json'],
    ['text/html,application/xhtml+xml,*/*;q=0.8', 'text/html'],
    ['image/png', 'text/html'],
  ] as const)('Accept %j → %s', async (accept, type) => {
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    const out = stackReply(reply(DIR, entries(), { headers: {} }), makeRequest(headers), registry());
    expect(out.format!.type).toBe(type);
    expect(out.headers.Vary).toContain('Accept');
    const text = (await bodyBytes(out.body)).toString();
    expect(text).toContain('a.txt');
  });

  it('is a 500, not an object stream on the wire, without a converter', () => {
    const body = entries();
    const out = stackReply(reply(DIR, body), makeRequest({}), new ConverterRegistry());
    expect(out.status).toBe(500);
    expect(body.destroyed).toBe(true);
  });
});

describe('charset', () => {
  const CP = makeFormat('text/plain', { charset: 'windows-1252' });
  const cafe = iconv.encode('café – naïve', 'windows-1252');
  const rows: Array<[string, string | undefined, string | undefined, string]> = [
    ['no Accept-Charset, no OutputCharset: as stored', undefined, undefined, 'windows-1252'],
    ['no Accept-Charset, OutputCharset decides', undefined, 'utf-8', 'utf-8'],
    ['no Accept-Charset, OutputCharset iso-8859-15', undefined, 'iso-8859-15', 'iso-8859-15'],
    ['Accept-Charset utf-8 without OutputCharset: utf-8 is the alternative', 'utf-8', undefined, 'utf-8'],
    ['Accept-Charset prefers the source', 'windows-1252, utf-8;q=0.5', 'utf-8', 'windows-1252'],
    ['Accept-Charset prefers the output charset', 'windows-1252;q=0.5, utf-8', 'utf-8', 'utf-8'],
    ['Accept-Charset only the source', 'windows-1252', 'utf-8', 'windows-1252'],
    ['Accept-Charset neither: the source', 'koi8-r', 'utf-8', 'windows-1252'],
    ['Accept-Charset *: a tie keeps the source', '*', 'utf-8', 'windows-1252'],
    ['Accept-Charset with an alias', 'UTF8', undefined, 'utf-8'],
  ];
  it.each(rows)('%s', async (_d, acceptCharset, outputCharset, expected) => {
    const headers: Record<string, string> = acceptCharset === undefined ? {} : { 'accept-charset': acceptCharset };
    const out = stackReply(reply(CP, Buffer.from(cafe)), makeRequest(headers), registry(), { outputCharset });
    expect(out.format!.params.charset).toBe(expected);
    expect(out.headers.Vary).toContain('Accept-Charset');
    const bytes = await bodyBytes(out.body);
    // ISO-8859-15 has no en dash: iconv-lite's substitute says so.
    expect(iconv.decode(bytes, expected)).toBe(expected === 'iso-8859-15' ? 'café ? naïve' : 'café – naïve');
    expect(out.length).toBe(bytes.length);
  });

  it('adds no Vary: Accept-Charset when the text is already in the output charset', () => {
    const out = stackReply(reply(HTML, Buffer.from('x')), makeRequest({ 'accept-charset': 'iso-8859-1' }), registry(), { outputCharset: 'UTF8' });
    expect(out.headers.Vary).toBe('Accept-Encoding');
  });

  it('leaves text of unknown charset and binary types alone', () => {
    const unknown = reply(makeFormat('text/plain'), Buffer.from('x'));
    expect(stackReply(unknown, makeRequest({ 'accept-charset': 'utf-8' }), registry(), { outputCharset: 'utf-8' }).format).toBe(unknown.format);
  });

  it('transcodes a stream, then compresses it', async () => {
    const text = 'Grüße, café! '.repeat(5000);
    const body = Readable.from([iconv.encode(text, 'windows-1252')]);
    const out = stackReply(reply(CP, body, { length: -1 }), makeRequest({ 'accept-encoding': 'gzip' }), registry(), { outputCharset: 'utf-8' });
    expect(out.format).toEqual(makeFormat('text/plain', { charset: 'utf-8' }, ['gzip']));
    expect(out.headers.ETag).toBe('"abc-cs.utf-8-gzip"');
    expect(zlib.gunzipSync(await collect(out.body as Readable)).toString('utf8')).toBe(text);
  });
});

describe('failing converters', () => {
  const SRC = makeFormat('text/x-bad', { charset: 'utf-8' });
  const throws: Converter = { from: 'text/x-bad', to: 'text/plain', create: () => { throw new Error('boom'); } };
  const notAStream: Converter = { from: 'text/x-bad', to: 'text/plain', create: () => ({}) as Transform };
  const midStream: Converter = {
    from: 'text/x-bad',
    to: 'text/plain',
    create: () => {
      let n = 0;
      return new Transform({ transform: (chunk, _e, cb) => (++n === 2 ? cb(new Error('mid-stream')) : cb(null, chunk)) });
    },
  };

  it.each([['create throws', throws], ['create returns no stream', notAStream]] as const)('%s → 500 and the source is released', (_d, converter) => {
    const body = new PassThrough();
    const request = makeRequest({ accept: 'text/plain' });
    const out = stackReply(reply(SRC, body), request, registry(converter));
    expect(out.status).toBe(500);
    expect(request.errors.at(-1)!.code).toBe('WWW_ERR_CONV_FAILED');
    expect(body.destroyed).toBe(true);
  });

  it('mid-stream: the reply body errors, the request records it, nothing crashes', async () => {
    const request = makeRequest({ accept: 'text/plain', 'accept-encoding': 'gzip' });
    const source = new CountedSource(10);
    const out = stackReply(reply(SRC, source), request, registry(midStream));
    expect(out.status).toBe(200);
    await expect(collect(out.body as Readable)).rejects.toThrow('mid-stream');
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.destroyed).toBe(true);
    expect(request.errors.at(-1)!.code).toBe('WWW_ERR_CONV_FAILED');
  });

  it('a converter that throws inside its transform errors the body instead of the process', async () => {
    const throwing: Converter = {
      from: 'text/x-bad',
      to: 'text/plain',
      create: () => new Transform({
        transform() {
          throw new Error('thrown in _transform');
        },
      }),
    };
    const request = makeRequest({ accept: 'text/plain' });
    const source = new CountedSource(10);
    const out = stackReply(reply(SRC, source), request, registry(throwing));
    await expect(collect(out.body as Readable)).rejects.toThrow('thrown in _transform');
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.destroyed).toBe(true);
    expect(request.errors.at(-1)!.code).toBe('WWW_ERR_CONV_FAILED');
  });

  it('an abort of the request destroys the whole chain', async () => {
    const request = makeRequest({ accept: 'text/plain', 'accept-encoding': 'gzip' });
    const source = new CountedSource(Infinity);
    const out = stackReply(reply(SRC, source), request, registry(shout, { ...shout, from: 'text/x-bad' }));
    const body = out.body as Readable;
    body.resume();
    await new Promise((resolve) => setTimeout(resolve, 20));
    request.abort();
    await expect(finished(body)).rejects.toThrow();
    expect(source.destroyed).toBe(true);
    expect(request.errors).toEqual([]);
  });
});

/** An endless (or `n` chunks) text source. */
class CountedSource extends Readable {
  #left: number;
  constructor(chunks: number) {
    super();
    this.#left = chunks;
  }
  override _read(): void {
    if (this.#left-- <= 0) this.push(null);
    else this.push(prose(0, 1024));
  }
}

describe('variant ETags', () => {
  it.each([
    ['"abc"', null, null, 'gzip', '"abc-gzip"'],
    ['W/"abc"', null, null, 'br', 'W/"abc-br"'],
    ['"abc"', null, 'utf-8', null, '"abc-cs.utf-8"'],
    ['"abc"', 'text/html', 'utf-8', 'gzip', 'W/"abc-to.html-cs.utf-8-gzip"'],
    ['"a-b"', 'text/x-markdown', 'windows-1252', 'deflate', 'W/"a-b-to.x-markdown-cs.windows-1252-deflate"'],
    ['not-quoted', null, null, 'gzip', 'not-quoted'],
  ] as const)('%s → %s', (etag, type, charset, coding, expected) => {
    const variant = variantETag(etag, type, charset, coding);
    expect(variant).toBe(expected);
    const base = baseETag(variant);
    expect(base.replace(/^W\//, '')).toBe(etag.replace(/^W\//, ''));
  });

  it('leaves a tag without suffix as it is', () => {
    expect(baseETag('"5f3-1a2b"')).toBe('"5f3-1a2b"');
    expect(baseETag('W/"x"')).toBe('W/"x"');
  });
});
