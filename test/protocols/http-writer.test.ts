// The response writer's one-buffer replies: head and small body together,
// cut from a shared slab, each intact after many more have been cut.

import { describe, expect, it } from 'vitest';
import { SMALL_BODY, headWithBody } from '../../protocols/http-writer.js';

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
