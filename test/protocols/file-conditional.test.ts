// Preconditions (RFC 9110 §13.2.2, each step of the precedence) and ranges
// (§14): the pure functions by table, then the same over raw sockets, once
// from the memory cache and once streamed from disk.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  IGNORE, NOT_MODIFIED, PRECONDITION_FAILED, PROCEED, UNSATISFIABLE, coalesce, evaluatePreconditions, ifRangeHolds, matchingTag, parseRange,
} from '../../protocols/file-conditional.js';
import type { RequestHeaders } from '../../src/request.js';
import { GET, fetchRaw, fileRoot, req, startServer, stopServers } from './file-helpers.js';

describe('parseRange', () => {
  const size = 1000;
  const rows: Array<[string, 'ignore' | 'unsatisfiable' | Array<[number, number]>]> = [
    ['bytes=0-499', [[0, 499]]],
    ['bytes=500-999', [[500, 999]]],
    ['bytes=500-', [[500, 999]]],
    ['bytes=-500', [[500, 999]]],
    ['bytes=-5000', [[0, 999]]],
    ['bytes=0-0', [[0, 0]]],
    ['bytes=999-5000', [[999, 999]]],
    ['BYTES=0-1', [[0, 1]]],
    ['bytes=0-1, 5-6', [[0, 1], [5, 6]]],
    ['bytes=5-6,0-1', [[5, 6], [0, 1]]],
    ['bytes=0-9,5-19', [[0, 19]]],
    ['bytes=0-9,10-19', [[0, 19]]],
    ['bytes=50-59,0-9,5-14', [[50, 59], [0, 14]]],
    ['bytes=0-1,,2-3', [[0, 3]]],
    ['bytes=1000-', 'unsatisfiable'],
    ['bytes=1000-2000', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=1000-,2000-', 'unsatisfiable'],
    ['bytes=1000-,0-1', [[0, 1]]],
    ['bytes=5-1', 'ignore'],
    ['bytes=abc', 'ignore'],
    ['bytes=1-2-3', 'ignore'],
    ['bytes=-', 'ignore'],
    ['bytes= 0 - 1', 'ignore'],
    ['bytes=0x10-', 'ignore'],
    ['bytes=', 'ignore'],
    ['items=0-1', 'ignore'],
    ['0-1', 'ignore'],
  ];
  it.each(rows)('%s', (value, expected) => {
    const r = parseRange(value, size, 16);
    if (expected === 'ignore') expect(r).toBe(IGNORE);
    else if (expected === 'unsatisfiable') expect(r).toBe(UNSATISFIABLE);
    else expect(r.kind === 'ranges' && r.ranges.map((x) => [x.start, x.end])).toEqual(expected);
  });

  it('ignores more ranges than the limit, and any Range on an empty representation', () => {
    const many = 'bytes=' + Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    expect(parseRange(many, size, 16)).toBe(IGNORE);
    expect(parseRange(many, size, 17).kind).toBe('ranges');
    expect(parseRange('bytes=0-1', 0, 16)).toBe(IGNORE);
    expect(parseRange('bytes=-1', 0, 16)).toBe(IGNORE);
  });

  it('coalesces overlapping and adjacent ranges in the order first asked', () => {
    expect(coalesce([{ start: 10, end: 20 }, { start: 0, end: 5 }, { start: 6, end: 9 }])).toEqual([{ start: 0, end: 20 }]);
    expect(coalesce([{ start: 30, end: 40 }, { start: 0, end: 1 }])).toEqual([{ start: 30, end: 40 }, { start: 0, end: 1 }]);
  });
});

describe('entity-tag lists', () => {
  const etag = '"a-b"';
  const rows: Array<[string, boolean, string | null]> = [
    ['"a-b"', false, '"a-b"'],
    ['"x", "a-b"', false, '"a-b"'],
    ['W/"a-b"', false, null],
    ['W/"a-b"', true, 'W/"a-b"'],
    ['"a-b-gzip"', true, '"a-b-gzip"'],
    ['"a-b-br"', true, '"a-b-br"'],
    ['"a-b-gzip"', false, null],
    ['*', false, '*'],
    ['"x,y", "a-b"', false, '"a-b"'],
    ['garbage, "a-b"', false, '"a-b"'],
    ['"a-', false, null],
    ['"A-B"', true, null],
  ];
  it.each(rows)('%s (weak %s)', (list, weak, expected) => {
    expect(matchingTag(list, etag, weak)).toBe(expected);
  });
});

describe('evaluatePreconditions: RFC 9110 §13.2.2 order', () => {
  const cur = { etag: '"a-b"', mtimeSec: 1_700_000_000 };
  const before = new Date((cur.mtimeSec - 10) * 1000).toUTCString();
  const at = new Date(cur.mtimeSec * 1000).toUTCString();
  const after = new Date((cur.mtimeSec + 10) * 1000).toUTCString();
  const rows: Array<[string, string, RequestHeaders, number]> = [
    ['1 If-Match false', 'GET', { 'if-match': '"x"' }, PRECONDITION_FAILED],
    ['1 If-Match true', 'GET', { 'if-match': '"a-b"' }, PROCEED],
    ['1 If-Match weak never matches', 'GET', { 'if-match': 'W/"a-b"' }, PRECONDITION_FAILED],
    ['1 If-Match * with a representation', 'PUT', { 'if-match': '*' }, PROCEED],
    ['1 If-Match true outranks If-Unmodified-Since', 'GET', { 'if-match': '"a-b"', 'if-unmodified-since': before }, PROCEED],
    ['2 If-Unmodified-Since before', 'GET', { 'if-unmodified-since': before }, PRECONDITION_FAILED],
    ['2 If-Unmodified-Since at', 'GET', { 'if-unmodified-since': at }, PROCEED],
    ['2 If-Unmodified-Since invalid is ignored', 'GET', { 'if-unmodified-since': 'yesterday' }, PROCEED],
    ['1 before 3: If-Match false, If-None-Match true', 'GET', { 'if-match': '"x"', 'if-none-match': '"a-b"' }, PRECONDITION_FAILED],
    ['3 If-None-Match true, GET', 'GET', { 'if-none-match': '"a-b"' }, NOT_MODIFIED],
    ['3 If-None-Match true, HEAD', 'HEAD', { 'if-none-match': 'W/"a-b"' }, NOT_MODIFIED],
    ['3 If-None-Match true, PUT', 'PUT', { 'if-none-match': '"a-b"' }, PRECONDITION_FAILED],
    ['3 If-None-Match *, DELETE', 'DELETE', { 'if-none-match': '*' }, PRECONDITION_FAILED],
    ['3 If-None-Match false', 'GET', { 'if-none-match': '"x"' }, PROCEED],
    ['4 skipped with If-None-Match', 'GET', { 'if-none-match': '"x"', 'if-modified-since': after }, PROCEED],
    ['4 If-Modified-Since after', 'GET', { 'if-modified-since': after }, NOT_MODIFIED],
    ['4 If-Modified-Since at', 'GET', { 'if-modified-since': at }, NOT_MODIFIED],
    ['4 If-Modified-Since before', 'GET', { 'if-modified-since': before }, PROCEED],
    ['4 If-Modified-Since only for GET/HEAD', 'PUT', { 'if-modified-since': after }, PROCEED],
    ['4 If-Modified-Since invalid', 'GET', { 'if-modified-since': 'soon' }, PROCEED],
  ];
  it.each(rows)('%s', (_label, method, headers, expected) => {
    expect(evaluatePreconditions(method, headers, cur)).toBe(expected);
  });

  it('treats a missing representation as matching nothing', () => {
    expect(evaluatePreconditions('PUT', { 'if-match': '*' }, null)).toBe(PRECONDITION_FAILED);
    expect(evaluatePreconditions('PUT', { 'if-none-match': '*' }, null)).toBe(PROCEED);
  });

  it('If-Range holds only for the current strong ETag or the exact Last-Modified', () => {
    expect(ifRangeHolds('"a-b"', cur)).toBe(true);
    expect(ifRangeHolds('"x"', cur)).toBe(false);
    expect(ifRangeHolds('W/"a-b"', cur)).toBe(false);
    expect(ifRangeHolds(at, cur)).toBe(true);
    expect(ifRangeHolds(after, cur)).toBe(false);
    expect(ifRangeHolds('nonsense', cur)).toBe(false);
  });
});

/** The parts of a multipart/byteranges body. */
function parts(body: Buffer, contentType: string): Array<{ range: string; type: string; data: string }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1]!;
  const text = body.toString('latin1');
  expect(text.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
  return text.split(`--${boundary}`).slice(1, -1).map((chunk) => {
    const [head, data] = chunk.replace(/^\r\n/, '').split('\r\n\r\n') as [string, string];
    return {
      range: /Content-Range: (.*)/.exec(head)![1]!.trim(),
      type: /Content-Type: (.*)/.exec(head)![1]!.trim(),
      data: data.replace(/\r\n$/, ''),
    };
  });
}

let fx: ReturnType<typeof fileRoot>;
const DOC = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(10); // 360 bytes
beforeAll(() => {
  fx = fileRoot();
  fs.writeFileSync(path.join(fx.root, 'doc.txt'), DOC);
  const t = new Date('2024-01-02T03:04:05Z');
  fs.utimesSync(path.join(fx.root, 'doc.txt'), t, t);
});
afterAll(() => fx.cleanup());
afterEach(stopServers);

for (const [label, options] of [['from memory', {}], ['from disk', { cacheMaxFile: 0 }]] as const) {
  describe(`conditional GET over the wire, ${label}`, () => {
    const lm = 'Tue, 02 Jan 2024 03:04:05 GMT';
    const earlier = 'Tue, 02 Jan 2024 03:04:04 GMT';
    const later = 'Tue, 02 Jan 2024 03:04:06 GMT';
    const rows: Array<[string, (etag: string) => Record<string, string>, number]> = [
      ['If-Match wrong → 412', () => ({ 'If-Match': '"nope"' }), 412],
      ['If-Match right → 200', (e) => ({ 'If-Match': e }), 200],
      ['If-Unmodified-Since earlier → 412', () => ({ 'If-Unmodified-Since': earlier }), 412],
      ['If-Match right beats If-Unmodified-Since', (e) => ({ 'If-Match': e, 'If-Unmodified-Since': earlier }), 200],
      ['If-None-Match right → 304', (e) => ({ 'If-None-Match': e }), 304],
      ['If-None-Match weak form → 304', (e) => ({ 'If-None-Match': `"x", W/${e}` }), 304],
      ['If-None-Match * → 304', () => ({ 'If-None-Match': '*' }), 304],
      ['If-None-Match of the gzip variant → 304', (e) => ({ 'If-None-Match': e.slice(0, -1) + '-gzip"' }), 304],
      ['If-None-Match wrong → 200', () => ({ 'If-None-Match': '"nope"' }), 200],
      ['If-Match wrong beats If-None-Match right', (e) => ({ 'If-Match': '"nope"', 'If-None-Match': e }), 412],
      ['If-None-Match wrong outranks If-Modified-Since', () => ({ 'If-None-Match': '"nope"', 'If-Modified-Since': later }), 200],
      ['If-Modified-Since equal → 304', () => ({ 'If-Modified-Since': lm }), 304],
      ['If-Modified-Since later → 304', () => ({ 'If-Modified-Since': later }), 304],
      ['If-Modified-Since earlier → 200', () => ({ 'If-Modified-Since': earlier }), 200],
      ['If-Modified-Since invalid → 200', () => ({ 'If-Modified-Since': 'last week' }), 200],
    ];
    it.each(rows)('%s', async (_label, headers, status) => {
      const { port } = await startServer(fx.root, 'Pass /*\nCacheControl /doc.txt no-cache', { file: options });
      const etag = (await GET(port, '/doc.txt')).headers.etag!;
      const r = await GET(port, '/doc.txt', headers(etag));
      expect(r.status).toBe(status);
      if (status === 304) {
        expect(r.body.length).toBe(0);
        expect(r.headers['content-length']).toBeUndefined();
        expect(r.headers.etag).toBe(headers(etag)['If-None-Match']?.endsWith('-gzip"') ? headers(etag)['If-None-Match'] : etag);
        expect(r.headers['last-modified']).toBe(lm);
        expect(r.headers['cache-control']).toBe('no-cache');
        expect(r.headers.vary).toBe('Accept-Encoding');
      }
      if (status === 200) expect(r.body.toString()).toBe(DOC);
    });

    it('answers a HEAD with If-None-Match with 304', async () => {
      const { port } = await startServer(fx.root, 'Pass /*', { file: options });
      const etag = (await GET(port, '/doc.txt')).headers.etag!;
      const r = await fetchRaw(port, req('HEAD', '/doc.txt', { 'If-None-Match': etag }), true);
      expect(r.status).toBe(304);
    });
  });

  describe(`ranges over the wire, ${label}`, () => {
    it('single, suffix and open ranges → 206 with Content-Range', async () => {
      const { port } = await startServer(fx.root, 'Pass /*', { file: options });
      const rows: Array<[string, string, string]> = [
        ['bytes=0-9', 'bytes 0-9/360', DOC.slice(0, 10)],
        ['bytes=-5', 'bytes 355-359/360', DOC.slice(355)],
        ['bytes=350-', 'bytes 350-359/360', DOC.slice(350)],
        ['bytes=355-9999', 'bytes 355-359/360', DOC.slice(355)],
      ];
      for (const [range, contentRange, data] of rows) {
        const r = await GET(port, '/doc.txt', { Range: range, 'Accept-Encoding': 'gzip' });
        expect(r.status).toBe(206);
        expect(r.headers['content-range']).toBe(contentRange);
        expect(r.headers['content-length']).toBe(String(data.length));
        expect(r.headers['content-encoding']).toBeUndefined();
        expect(r.headers['content-type']).toBe('text/plain');
        expect(r.body.toString()).toBe(data);
      }
    });

    it('several ranges → multipart/byteranges, coalescing overlaps', async () => {
      const { port } = await startServer(fx.root, 'Pass /*', { file: options });
      const r = await GET(port, '/doc.txt', { Range: 'bytes=100-109, 0-4, 2-7, -3' });
      expect(r.status).toBe(206);
      expect(r.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
      expect(r.headers['content-length']).toBe(String(r.body.length));
      expect(parts(r.body, r.headers['content-type']!)).toEqual([
        { range: 'bytes 100-109/360', type: 'text/plain', data: DOC.slice(100, 110) },
        { range: 'bytes 0-7/360', type: 'text/plain', data: DOC.slice(0, 8) },
        { range: 'bytes 357-359/360', type: 'text/plain', data: DOC.slice(357) },
      ]);
      const merged = await GET(port, '/doc.txt', { Range: 'bytes=0-9,10-19,5-12' });
      expect([merged.status, merged.headers['content-range']]).toEqual([206, 'bytes 0-19/360']);
    });

    it('more ranges than maxRanges → the whole 200', async () => {
      const { port } = await startServer(fx.root, 'Pass /*', { file: { ...options, maxRanges: 2 } });
      const r = await GET(port, '/doc.txt', { Range: 'bytes=0-1,5-6,10-11' });
      expect([r.status, r.body.toString()]).toEqual([200, DOC]);
      expect((await GET(port, '/doc.txt', { Range: 'bytes=0-1,5-6' })).status).toBe(206);
    });

    it('unsatisfiable → 416 with bytes */SIZE; bad syntax → 200', async () => {
      const { port } = await startServer(fx.root, 'Pass /*', { file: options });
      const r = await GET(port, '/doc.txt', { Range: 'bytes=360-' });
      expect(r.status).toBe(416);
      expect(r.headers['content-range']).toBe('bytes */360');
      for (const bad of ['bytes=9-1', 'bytes=x-y', 'lines=1-2']) {
        const ok = await GET(port, '/doc.txt', { Range: bad });
        expect([ok.status, ok.body.toString()]).toEqual([200, DOC]);
      }
    });

    it('If-Range: current ETag or date → 206; stale, weak or other → the whole 200', async () => {
      const { port } = await startServer(fx.root, 'Pass /*', { file: options });
      const etag = (await GET(port, '/doc.txt')).headers.etag!;
      const rows: Array<[string, number]> = [
        [etag, 206],
        ['Tue, 02 Jan 2024 03:04:05 GMT', 206],
        ['"stale"', 200],
        [`W/${etag}`, 200],
        ['Tue, 02 Jan 2024 03:04:06 GMT', 200],
      ];
      for (const [ifRange, status] of rows) {
        const r = await GET(port, '/doc.txt', { Range: 'bytes=0-0', 'If-Range': ifRange });
        expect([ifRange, r.status]).toEqual([ifRange, status]);
        expect(r.body.toString()).toBe(status === 206 ? 'a' : DOC);
      }
    });

    it('ignores Range on HEAD, and on an empty file', async () => {
      const { port } = await startServer(fx.root, 'Pass /*', { file: options });
      const head = await fetchRaw(port, req('HEAD', '/doc.txt', { Range: 'bytes=0-0' }), true);
      expect([head.status, head.headers['content-length']]).toEqual([200, '360']);
      const empty = await GET(port, '/empty.txt', { Range: 'bytes=0-0' });
      expect([empty.status, empty.body.length]).toEqual([200, 0]);
    });
  });
}

describe('ranges of a big file streamed from disk', () => {
  it('serves a middle range and several ranges byte-exact', async () => {
    const { port } = await startServer(fx.root);
    const big = fx.big;
    const one = await GET(port, '/big.bin', { Range: 'bytes=500000-699999' });
    expect(one.status).toBe(206);
    expect(one.body.equals(big.subarray(500000, 700000))).toBe(true);
    const multi = await GET(port, '/big.bin', { Range: 'bytes=0-99999,900000-' });
    const boundary = /boundary=(.+)$/.exec(multi.headers['content-type']!)![1]!;
    const first = multi.body.indexOf('\r\n\r\n') + 4;
    expect(multi.body.subarray(first, first + 100000).equals(big.subarray(0, 100000))).toBe(true);
    const second = multi.body.indexOf('\r\n\r\n', first + 100000) + 4;
    const end = multi.body.lastIndexOf(`\r\n--${boundary}--`);
    expect(multi.body.subarray(second, end).equals(big.subarray(900000))).toBe(true);
  });
});
