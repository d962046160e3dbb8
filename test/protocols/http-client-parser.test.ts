// Byte tables for the parser's response mode (the HTTP client's half): each
// row is raw bytes an upstream might send → the responses a strict RFC 9112
// reader sees, or the error that makes the client answer 502 and drop the
// connection. Every row is fed whole, split in two at every offset and one
// byte at a time, and must give the same outcome each time.

import { describe, expect, it } from 'vitest';
import { BODY_UNTIL_CLOSE, DEFAULT_LIMITS, responseParser } from '../../protocols/http-parser.js';
import type { ParserHandler, ParserLimits, ResponseHead } from '../../protocols/http-parser.js';
import type { ErrorCode } from '../../src/errors.js';
import { bytes, splitAt } from './parser-harness.js';

interface Message {
  head: ResponseHead;
  body: string;
  complete: boolean;
}

interface Outcome {
  messages: Message[];
  error: ErrorCode | null;
  /** What finish() returned, when the input ended with the connection. */
  clean?: boolean;
}

class Recorder implements ParserHandler<ResponseHead> {
  readonly messages: Message[] = [];

  onHead(head: ResponseHead): boolean {
    const last = this.messages.at(-1);
    if (last !== undefined && !last.complete) throw new Error('onHead before the previous message completed');
    this.messages.push({ head: { ...head, headers: { ...head.headers }, rawHeaders: [...head.rawHeaders] }, body: '', complete: false });
    return true;
  }

  onBody(chunk: Buffer): boolean {
    const last = this.messages.at(-1);
    if (last === undefined || last.complete || last.head.bodyLength === 0) throw new Error('onBody outside a body');
    if (chunk.length === 0) throw new Error('empty onBody');
    last.body += chunk.toString('latin1');
    return true;
  }

  onComplete(): boolean {
    const last = this.messages.at(-1);
    if (last === undefined || last.complete) throw new Error('onComplete outside a message');
    if (last.head.bodyLength > 0 && last.body.length !== last.head.bodyLength) throw new Error('short body completed');
    last.complete = true;
    return true;
  }
}

function feed(chunks: readonly Buffer[], method: string, eof: boolean, limits: ParserLimits): Outcome {
  const rec = new Recorder();
  const parser = responseParser(rec, limits);
  parser.setRequestMethod(method);
  for (const chunk of chunks) {
    const n = parser.execute(chunk);
    if (parser.error !== null) break;
    if (n !== chunk.length) throw new Error(`execute stopped at ${n} of ${chunk.length} without an error`);
  }
  const out: Outcome = { messages: rec.messages, error: parser.error };
  if (eof && parser.error === null) {
    out.clean = parser.finish();
    out.error = parser.error;
  }
  if (parser.error !== null && parser.execute(bytes('HTTP/1.1 200 OK\r\n\r\n')) !== 0) throw new Error('a dead parser consumed bytes');
  return out;
}

function runCase(raw: string, method: string, eof: boolean, limits: ParserLimits): Outcome {
  const buf = bytes(raw);
  const whole = feed([buf], method, eof, limits);
  for (let i = 1; i < buf.length; i++) expect(feed(splitAt(buf, [i]), method, eof, limits), `split at ${i}`).toEqual(whole);
  const single: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) single.push(buf.subarray(i, i + 1));
  expect(feed(single, method, eof, limits), 'one byte at a time').toEqual(whole);
  return whole;
}

interface Row {
  name: string;
  raw: string;
  /** The request's method; GET when absent. */
  method?: string;
  /** The upstream closes after `raw`. */
  eof?: boolean;
  limits?: Partial<ParserLimits>;
  messages?: { head?: Partial<ResponseHead>; body?: string; complete?: boolean }[];
  error?: ErrorCode;
  clean?: boolean;
}

function table(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const row of rows) {
      it(row.name, () => {
        const out = runCase(row.raw, row.method ?? 'GET', row.eof ?? false, { ...DEFAULT_LIMITS, ...row.limits });
        expect(out.error).toBe(row.error ?? null);
        const expected = row.messages ?? [];
        expect(out.messages).toHaveLength(expected.length);
        expected.forEach((exp, k) => {
          const got = out.messages[k]!;
          const { headers, rawHeaders, ...rest } = exp.head ?? {};
          expect(got.head).toMatchObject(rest);
          if (headers !== undefined) expect(got.head.headers).toEqual(headers);
          if (rawHeaders !== undefined) expect(got.head.rawHeaders).toEqual(rawHeaders);
          expect(got.body).toBe(exp.body ?? '');
          expect(got.complete).toBe(exp.complete ?? true);
        });
        if (row.clean !== undefined) expect(out.clean).toBe(row.clean);
      });
    }
  });
}

const OK5 = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';

table('status line', [
  {
    name: 'a 200 with a length',
    raw: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
    messages: [{
      head: {
        status: 200, reason: 'OK', versionMinor: 1, bodyLength: 5, keepAlive: true,
        headers: { 'content-type': 'text/plain', 'content-length': '5' },
        rawHeaders: ['Content-Type', 'text/plain', 'Content-Length', '5'],
      },
      body: 'hello',
    }],
  },
  { name: 'an empty reason phrase after its SP', raw: 'HTTP/1.1 204 \r\n\r\n', messages: [{ head: { status: 204, reason: '' } }] },
  { name: 'no SP before an empty reason phrase', raw: 'HTTP/1.1 204\r\n\r\n', messages: [{ head: { status: 204, reason: '' } }] },
  { name: 'a reason phrase with spaces and obs-text', raw: 'HTTP/1.1 404 Not \xe9 Found\r\nContent-Length: 0\r\n\r\n', messages: [{ head: { status: 404, reason: 'Not \xe9 Found' } }] },
  { name: 'HTTP/1.0 closes by default', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', messages: [{ head: { versionMinor: 0, keepAlive: false }, body: 'ok' }] },
  { name: 'HTTP/1.0 with keep-alive', raw: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok', messages: [{ head: { keepAlive: true }, body: 'ok' }] },
  { name: 'Connection: close', raw: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', messages: [{ head: { keepAlive: false }, body: 'ok' }] },
  { name: 'HTTP/1.2 is answered as 1.1', raw: 'HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n', messages: [{ head: { versionMinor: 1 } }] },
  { name: 'HTTP/2.0', raw: 'HTTP/2.0 200 OK\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION_UNSUPPORTED' },
  { name: 'lower-case version', raw: 'http/1.1 200 OK\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'a two-digit status', raw: 'HTTP/1.1 20 OK\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'a four-digit status', raw: 'HTTP/1.1 2000 OK\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'status 600', raw: 'HTTP/1.1 600 Odd\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'status 099', raw: 'HTTP/1.1 099 Odd\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'two spaces after the version', raw: 'HTTP/1.1  200 OK\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'no space after the status', raw: 'HTTP/1.1 200OK\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'a control character in the reason', raw: 'HTTP/1.1 200 O\x01K\r\n\r\n', error: 'WWW_ERR_PARSE_HEADER' },
  { name: 'an empty line first (the previous body was longer than it said)', raw: `\r\n${OK5}`, error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'a request line instead', raw: 'GET / HTTP/1.1\r\n\r\n', error: 'WWW_ERR_PARSE_VERSION' },
  { name: 'a bare LF ends the status line', raw: 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', error: 'WWW_ERR_PARSE_HEADER' },
  {
    name: 'a status line over the limit',
    raw: `HTTP/1.1 200 ${'x'.repeat(40)}\r\n\r\n`, limits: { maxRequestLine: 32 }, error: 'WWW_ERR_PARSE_HEADER_TOO_LARGE',
  },
]);

table('field lines', [
  { name: 'obs-fold', raw: 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n', error: 'WWW_ERR_PARSE_HEADER' },
  { name: 'whitespace before the colon', raw: 'HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello', error: 'WWW_ERR_PARSE_HEADER' },
  { name: 'a bare LF between fields', raw: 'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 0\r\n\r\n', error: 'WWW_ERR_PARSE_HEADER' },
  { name: 'a bare CR in a value', raw: 'HTTP/1.1 200 OK\r\nX-A: 1\r2\r\nContent-Length: 0\r\n\r\n', error: 'WWW_ERR_PARSE_HEADER' },
  { name: 'NUL in a value', raw: 'HTTP/1.1 200 OK\r\nX-A: 1\x002\r\nContent-Length: 0\r\n\r\n', error: 'WWW_ERR_PARSE_HEADER' },
  { name: 'a head over the size limit', raw: `HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(60)}\r\n\r\n`, limits: { maxHeaderSize: 40 }, error: 'WWW_ERR_PARSE_HEADER_TOO_LARGE' },
  { name: 'too many fields', raw: 'HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', limits: { maxHeaders: 2 }, error: 'WWW_ERR_PARSE_HEADER_TOO_LARGE' },
  {
    name: 'repeated fields are joined; Set-Cookie lines stay apart in rawHeaders',
    raw: 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nVary: Accept\r\nVary: Origin\r\nContent-Length: 0\r\n\r\n',
    messages: [{
      head: {
        headers: { 'set-cookie': 'a=1, b=2', vary: 'Accept, Origin', 'content-length': '0' },
        rawHeaders: ['Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'Vary', 'Accept', 'Vary', 'Origin', 'Content-Length', '0'],
      },
    }],
  },
]);

table('framing (RFC 9112 §6.3)', [
  { name: 'Content-Length', raw: OK5, messages: [{ head: { bodyLength: 5 }, body: 'hello' }] },
  { name: 'identical Content-Lengths are one', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello', messages: [{ body: 'hello' }] },
  { name: 'differing Content-Lengths', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', error: 'WWW_ERR_PARSE_CONTENT_LENGTH' },
  { name: 'a signed Content-Length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello', error: 'WWW_ERR_PARSE_CONTENT_LENGTH' },
  { name: 'a hex Content-Length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello', error: 'WWW_ERR_PARSE_CONTENT_LENGTH' },
  { name: 'an empty Content-Length', raw: 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', error: 'WWW_ERR_PARSE_CONTENT_LENGTH' },
  {
    name: 'Content-Length with Transfer-Encoding',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', error: 'WWW_ERR_PARSE_TE_WITH_CL',
  },
  {
    name: 'Transfer-Encoding before Content-Length',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n', error: 'WWW_ERR_PARSE_TE_WITH_CL',
  },
  { name: 'a final coding other than chunked', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx', error: 'WWW_ERR_PARSE_TE_NOT_CHUNKED' },
  { name: 'a transfer coding before chunked', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', error: 'WWW_ERR_PARSE_TE_UNKNOWN' },
  { name: 'chunked twice', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n', error: 'WWW_ERR_PARSE_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding in HTTP/1.0', raw: 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', error: 'WWW_ERR_PARSE_TE_NOT_CHUNKED' },
  {
    name: 'chunked, with extensions and a trailer',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n' + OK5,
    messages: [{ head: { bodyLength: -1, keepAlive: true }, body: 'hello world' }, { body: 'hello' }],
  },
  { name: 'a chunk size that is not hex', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', messages: [{ complete: false }], error: 'WWW_ERR_PARSE_CHUNK' },
  { name: 'a negative chunk size', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n', messages: [{ complete: false }], error: 'WWW_ERR_PARSE_CHUNK' },
  {
    name: 'a chunk size that overflows',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n', messages: [{ complete: false }], error: 'WWW_ERR_PARSE_CHUNK',
  },
  {
    name: 'chunk data not followed by CRLF',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n', messages: [{ body: 'hel', complete: false }], error: 'WWW_ERR_PARSE_CHUNK',
  },
  { name: 'a bare LF after a chunk size', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n', messages: [{ complete: false }], error: 'WWW_ERR_PARSE_CHUNK' },
  {
    name: 'no length: the body runs to the close',
    raw: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this', eof: true, clean: true,
    messages: [{ head: { bodyLength: BODY_UNTIL_CLOSE, keepAlive: false }, body: 'all of this' }],
  },
  {
    name: 'no length and no close yet: incomplete',
    raw: 'HTTP/1.1 200 OK\r\n\r\nsome', messages: [{ head: { bodyLength: BODY_UNTIL_CLOSE }, body: 'some', complete: false }],
  },
  { name: 'a close between responses is clean', raw: OK5, eof: true, clean: true, messages: [{ body: 'hello' }] },
  { name: 'a close in the head', raw: 'HTTP/1.1 200 OK\r\nContent-Le', eof: true, clean: false, error: 'WWW_ERR_PARSE_HEADER' },
  {
    name: 'a close before Content-Length is reached', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello', eof: true, clean: false,
    messages: [{ body: 'hello', complete: false }], error: 'WWW_ERR_PARSE_CONTENT_LENGTH',
  },
  {
    name: 'a close before the last chunk', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', eof: true, clean: false,
    messages: [{ body: 'hello', complete: false }], error: 'WWW_ERR_PARSE_CHUNK',
  },
]);

table('responses without a body', [
  {
    name: 'to HEAD, whatever the length says',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' + OK5, method: 'HEAD',
    messages: [{ head: { bodyLength: 0, headers: { 'content-length': '100' } } }, { head: { bodyLength: 0 } }],
  },
  {
    name: 'to HEAD, chunked',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', method: 'HEAD',
    messages: [{ head: { status: 200, bodyLength: 0, keepAlive: true } }, { head: { status: 204 } }],
  },
  { name: '204 with a length', raw: 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n' + OK5, messages: [{ head: { status: 204, bodyLength: 0 } }, { body: 'hello' }] },
  { name: '304 with a length', raw: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n' + OK5, messages: [{ head: { status: 304, bodyLength: 0 } }, { body: 'hello' }] },
  {
    name: '100 Continue, then the response',
    raw: 'HTTP/1.1 100 Continue\r\n\r\n' + OK5, messages: [{ head: { status: 100, bodyLength: 0 } }, { head: { status: 200 }, body: 'hello' }],
  },
  {
    name: '103 Early Hints with fields, then the response',
    raw: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' + OK5,
    messages: [{ head: { status: 103, headers: { link: '</a.css>; rel=preload' } } }, { head: { status: 200 }, body: 'hello' }],
  },
  {
    name: 'a 1xx with a length still has none',
    raw: 'HTTP/1.1 102 Processing\r\nContent-Length: 5\r\n\r\n' + OK5, messages: [{ head: { status: 102 } }, { body: 'hello' }],
  },
]);

describe('the two modes', () => {
  it('the method applies to the responses fed after it is set', () => {
    const rec = new Recorder();
    const p = responseParser(rec);
    p.setRequestMethod('GET');
    p.execute(bytes(OK5));
    p.setRequestMethod('HEAD');
    p.execute(bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'));
    p.setRequestMethod('GET');
    p.execute(bytes(OK5));
    expect(rec.messages.map((m) => [m.body, m.complete])).toEqual([['hello', true], ['', true], ['hello', true]]);
    expect(p.idle).toBe(true);
  });

  it('a response parser reads no request line, and bodies to the close keep inBody until the close', () => {
    const p = responseParser(new Recorder());
    p.setRequestMethod('GET');
    p.execute(bytes('HTTP/1.1 200 OK\r\n\r\nx'));
    expect([p.idle, p.inBody]).toEqual([false, true]);
    expect(p.finish()).toBe(true);
    expect(p.idle).toBe(true);
  });
});
