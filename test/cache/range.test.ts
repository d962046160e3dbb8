// Range requests from a complete stored response, and 206 responses never
// stored as complete ones.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup } from './fixtures.js';

afterEach(cleanup);

const BODY = '0123456789abcdefghij';
const stored = (_req: unknown, clock: { date(s?: number): string }) => ({
  fields: ['Content-Type: text/plain', 'Cache-Control: max-age=100', 'ETag: "r1"', `Last-Modified: ${clock.date(-100)}`], body: BODY,
});

describe('ranges from a stored response', () => {
  it.each([
    ['bytes=0-4', 206, '01234', 'bytes 0-4/20'],
    ['bytes=-3', 206, 'hij', 'bytes 17-19/20'],
    ['bytes=15-', 206, 'fghij', 'bytes 15-19/20'],
    ['bytes=18-100', 206, 'ij', 'bytes 18-19/20'],
    ['bytes=30-40', 416, null, 'bytes */20'],
    ['bytes=5-2', 200, BODY, undefined],
    ['items=0-4', 200, BODY, undefined],
  ])('%s → %d', async (range, status, body, contentRange) => {
    const s = await caching(stored);
    await s.get('/r');
    const r = await s.get('/r', `Range: ${range}\r\n`);
    expect(s.count).toBe(1);
    expect(r.status).toBe(status);
    if (body !== null) expect(r.body.toString()).toBe(body);
    expect(r.headers['content-range']).toBe(contentRange);
    expect(r.headers['cache-status']).toMatch(/^streamstack; hit/);
  });

  it('a 206 says the Vary its 200 says (RFC 9110 §15.3.7)', async () => {
    const s = await caching(stored);
    const whole = await s.get('/r', 'Accept-Encoding: gzip\r\n');
    const part = await s.get('/r', 'Accept-Encoding: gzip\r\nRange: bytes=0-4\r\n');
    expect(part.status).toBe(206);
    expect(whole.headers.vary).toBe('Accept-Encoding');
    expect(part.headers.vary).toBe(whole.headers.vary);
  });

  it('several ranges: multipart/byteranges', async () => {
    const s = await caching(stored);
    await s.get('/r');
    const r = await s.get('/r', 'Range: bytes=0-1, 10-11\r\n');
    expect(r.status).toBe(206);
    expect(r.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    const text = r.body.toString();
    expect(text).toContain('Content-Range: bytes 0-1/20\r\n\r\n01');
    expect(text).toContain('Content-Range: bytes 10-11/20\r\n\r\nab');
  });

  it.each([
    ['If-Range: "r1"', 206],
    ['If-Range: "other"', 200],
    ['If-Range: W/"r1"', 200],
  ])('%s', async (field, status) => {
    const s = await caching(stored);
    await s.get('/r');
    const r = await s.get('/r', `Range: bytes=0-4\r\n${field}\r\n`);
    expect(r.status).toBe(status);
    expect(s.count).toBe(1);
  });

  it('a compressing client still gets identity bytes in a 206', async () => {
    const s = await caching(stored);
    await s.get('/r');
    const r = await s.get('/r', 'Range: bytes=0-4\r\nAccept-Encoding: gzip\r\n');
    expect(r.status).toBe(206);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.body.toString()).toBe('01234');
  });
});

describe('206 is never stored as complete', () => {
  it('a Range miss goes upstream as it is; its 206 is passed on, not stored', async () => {
    const s = await caching((req) => (req.headers.range !== undefined
      ? { status: 206, fields: ['Content-Range: bytes 0-4/20', 'Cache-Control: max-age=100'], body: '01234' }
      : { fields: ['Cache-Control: max-age=100'], body: BODY }));
    const a = await s.get('/r', 'Range: bytes=0-4\r\n');
    expect(a.status).toBe(206);
    expect(s.up.requests[0]!.headers.range).toBe('bytes=0-4');
    const b = await s.get('/r');
    expect(b.status).toBe(200);
    expect(b.body.toString()).toBe(BODY);
    expect(s.count).toBe(2);
  });
});
