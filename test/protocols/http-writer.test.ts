// The response writer's one-buffer replies: head and small body together,
// cut from a shared slab, each intact after many more have been cut.

import { describe, expect, it } from 'vitest';
import { SMALL_BODY, headWithBody, serializeHead } from '../../protocols/http-writer.js';
import type { Reply } from '../../src/reply.js';
import { makeFormat } from '../../src/format.js';

function head(n: number, fill: string): string {
  const line = `X-Fill: ${fill.repeat(Math.max(0, n - 12))}\r\n`;
  return `HTTP/1.1 200 OK\r\n${line}\r\n`;
}

describe('headWithBody', () => {
  it('keeps every reply intact while the slab fills and is replaced', () => {
    const made: Array<{ out: Buffer; head: string; body: Buffer }> = [];
    for (let i = 0; i < 300; i++) {
      const h = head(20 + (i * 37) % 900, String.fromCharCode(0x61 + (i % 26)));
      const body = Buffer.alloc((i * 997) % (SMALL_BODY + 1), i & 0xff);
      made.push({ out: headWithBody(h, body), head: h, body });
    }
    for (const { out, head: h, body } of made) {
      expect(out.length).toBe(h.length + body.length);
      expect(out.toString('latin1', 0, h.length)).toBe(h);
      expect(out.subarray(h.length).equals(body)).toBe(true);
    }
  });

  it('gives a head of unusual size a buffer of its own, whole', () => {
    const big = head(200 * 1024, 'z');
    const body = Buffer.alloc(SMALL_BODY, 7);
    const out = headWithBody(big, body);
    expect(out.length).toBe(big.length + body.length);
    expect(out.toString('latin1', 0, big.length)).toBe(big);
    expect(out.subarray(big.length).equals(body)).toBe(true);
  });

  it('writes heads as latin1, one byte per character', () => {
    const h = 'HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\n\r\n';
    const out = headWithBody(h, Buffer.from('ok'));
    expect(out.length).toBe(h.length + 2);
    expect(out[h.indexOf('\xe9')]).toBe(0xe9);
  });
});

describe('serializeHead', () => {
  const reply = (headers: Record<string, string | string[]>, length = 5, status = 200): Reply => ({
    status, headers, format: makeFormat('text/plain', { charset: 'utf-8' }), length, body: null,
  });
  const fields = (head: string): string[] => head.split('\r\n').slice(1, -2);

  it('writes the status line, Date, Server, the format, the framing, then the reply’s fields, and ends with an empty line', () => {
    const head = serializeHead(reply({ ETag: '"a"', Vary: ['Accept', 'Accept-Encoding'] }), { chunked: false, close: false, keepAlive10: false }, 'srv');
    expect(head.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    expect(fields(head).map((f) => f.replace(/^Date: .*/, 'Date: *'))).toEqual([
      'Date: *', 'Server: srv', 'Content-Type: text/plain; charset=utf-8', 'Content-Length: 5',
      'ETag: "a"', 'Vary: Accept', 'Vary: Accept-Encoding',
    ]);
  });

  it('frames by its own decision: chunked, close, keep-alive for 1.0; no length for 204 and 304', () => {
    expect(fields(serializeHead(reply({}, -1), { chunked: true, close: true, keepAlive10: false }, 's'))).toContain('Transfer-Encoding: chunked');
    expect(fields(serializeHead(reply({}, -1), { chunked: true, close: true, keepAlive10: false }, 's'))).toContain('Connection: close');
    expect(fields(serializeHead(reply({}), { chunked: false, close: false, keepAlive10: true }, 's'))).toContain('Connection: keep-alive');
    for (const status of [204, 304]) {
      const f = fields(serializeHead(reply({}, 5, status), { chunked: false, close: false, keepAlive10: false }, 's'));
      expect(f.some((x) => /^Content-(Length|Type)/.test(x))).toBe(false);
    }
  });

  it('drops a reply’s own framing fields in any case, bad names, and values with CR, LF or NUL', () => {
    const head = serializeHead(reply({
      'CONTENT-LENGTH': '1', 'transfer-encoding': 'chunked', Connection: 'keep-alive', 'keep-alive': 'x', upgrade: 'h2c',
      'Bad Name': 'v', 'Bad:Name': 'v', 'X-é': 'v', '': 'v', 'X-CR': 'a\rb', 'X-LF': 'a\nb', 'X-NUL': 'a\0b', 'X-Ok': 'ok',
    }), { chunked: false, close: false, keepAlive10: false }, 's');
    expect(fields(head).map((f) => f.slice(0, f.indexOf(':'))).sort()).toEqual(['Content-Length', 'Content-Type', 'Date', 'Server', 'X-Ok']);
    expect(head).toContain('Content-Length: 5\r\n');
  });

  it('lets the reply name Content-Type, Content-Encoding, Date and Server in any case, once', () => {
    const r = reply({ 'content-type': 'text/x-a', 'CONTENT-ENCODING': 'br', date: 'Tue, 01 Dec 2026 00:00:00 GMT', SERVER: 'origin' });
    r.format = makeFormat('text/plain', {}, ['gzip']);
    const f = fields(serializeHead(r, { chunked: false, close: false, keepAlive10: false }, 's')).map((x) => x.toLowerCase());
    for (const name of ['content-type', 'content-encoding', 'date', 'server']) expect(f.filter((x) => x.startsWith(name + ':'))).toHaveLength(1);
    expect(f).toContain('content-encoding: br');
    expect(f).toContain('server: origin');
  });
});
