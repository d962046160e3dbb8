// The HTTP client's field rules as functions: the request head it writes
// and the Reply it makes of a response head (no sockets).

import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { canonicalName, replyHead, requestHead } from '../../protocols/http-client-fields.js';
import type { ResponseHead } from '../../protocols/http-parser.js';
import { Request } from '../../src/request.js';
import { parseRules } from '../../src/rules/index.js';

function response(status: number, fields: [string, string][], bodyLength = 0, versionMinor = 1): ResponseHead {
  const headers: Record<string, string> = {};
  for (const [n, v] of fields) {
    const k = n.toLowerCase();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return { status, reason: '', versionMinor, headers, rawHeaders: fields.flat(), bodyLength, keepAlive: true };
}

function request(fields: [string, string][], init: { method?: string; bodyLength?: number; rules?: string; peer?: string } = {}): Request {
  const headers: Record<string, string> = {};
  for (const [n, v] of fields) headers[n.toLowerCase()] = v;
  const r = new Request({
    method: init.method ?? 'GET', target: '/x', versionMinor: 1, headers, rawHeaders: fields.flat(),
    bodyLength: init.bodyLength ?? 0, remoteAddress: init.peer ?? '::ffff:192.0.2.7',
  });
  r.rules = parseRules(init.rules ?? 'Pass /*', '/virtual/t.rules', { serverRoot: '/tmp' });
  return r;
}

const upstream = { authority: 'app:3000', target: '/v1/x?y' };

describe('requestHead', () => {
  it('writes the request line, Host, the end-to-end fields, Via, the forwarding fields and the framing', () => {
    const head = requestHead(request([['Host', 'site'], ['Accept', '*/*'], ['Connection', 'close']], { method: 'PUT', bodyLength: 3 }), upstream, 'length');
    expect(head).toBe('PUT /v1/x?y HTTP/1.1\r\nHost: site\r\nAccept: */*\r\nVia: 1.1 streamstack\r\n' +
      'X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: site\r\n' +
      'Forwarded: for=192.0.2.7;host=site;proto=http\r\nContent-Length: 3\r\n\r\n');
  });

  it('an IPv6 peer is quoted in Forwarded; a request without Host gets the upstream\'s', () => {
    const head = requestHead(request([], { peer: '2001:db8::1' }), upstream, 'none');
    expect(head).toContain('Host: app:3000\r\n');
    expect(head).toContain('X-Forwarded-For: 2001:db8::1\r\n');
    expect(head).toContain('Forwarded: for="[2001:db8::1]";proto=http\r\n');
    expect(head).not.toContain('X-Forwarded-Host');
  });

  it('a body of unknown length goes chunked', () => {
    expect(requestHead(request([['Host', 'a']], { method: 'POST', bodyLength: -1 }), upstream, 'chunked')).toContain('\r\nTransfer-Encoding: chunked\r\n\r\n');
  });
});

describe('replyHead', () => {
  it('takes the Format from Content-Type and Content-Encoding, and leaves them to the writer', () => {
    const body = new Readable({ read() {} });
    const reply = replyHead(response(200, [['Content-Type', 'text/html; charset=ISO-8859-1'], ['Content-Encoding', 'gzip, br'], ['Content-Length', '10']], 10), 'GET', body);
    expect(reply.format).toEqual({ type: 'text/html', params: { charset: 'iso-8859-1' }, codings: ['gzip', 'br'] });
    expect(reply.headers).toEqual({ Via: '1.1 streamstack' });
    expect(reply.length).toBe(10);
    expect(reply.body).toBe(body);
  });

  it('identity is no coding; without a parsable Content-Type the fields are relayed as they are', () => {
    expect(replyHead(response(200, [['Content-Type', 'text/plain'], ['Content-Encoding', 'identity']], 0), 'GET', null).format!.codings).toEqual([]);
    const raw = replyHead(response(200, [['Content-Type', 'nonsense'], ['Content-Encoding', 'gzip']], -1), 'GET', new Readable({ read() {} }));
    expect(raw.format).toBeNull();
    expect(raw.headers).toMatchObject({ 'Content-Type': 'nonsense', 'Content-Encoding': 'gzip' });
    expect(raw.length).toBe(-1);
  });

  it('lengths: a response to HEAD keeps its announced length; 204 and 304 have none; an empty 200 has 0', () => {
    expect(replyHead(response(200, [['Content-Length', '1234']], 0), 'HEAD', null).length).toBe(1234);
    expect(replyHead(response(200, [['Content-Length', 'x']], 0), 'HEAD', null).length).toBe(-1);
    expect(replyHead(response(204, [], 0), 'GET', null).length).toBe(-1);
    expect(replyHead(response(304, [['Content-Length', '5']], 0), 'GET', null).length).toBe(-1);
    expect(replyHead(response(200, [['Content-Length', '0']], 0), 'GET', null).length).toBe(0);
  });

  it('repeated fields stay apart; Via is appended to, with the upstream\'s version', () => {
    const reply = replyHead(response(200, [['set-cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Via', '1.0 app']], 0, 0), 'GET', null);
    expect(reply.headers['Set-Cookie']).toEqual(['a=1', 'b=2']);
    expect(reply.headers.Via).toBe('1.0 app, 1.0 streamstack');
  });
});

describe('canonicalName', () => {
  it.each([
    ['content-type', 'Content-Type'], ['etag', 'ETag'], ['www-authenticate', 'WWW-Authenticate'],
    ['x-request-id', 'X-Request-Id'], ['set-cookie', 'Set-Cookie'], ['x-', 'X-'], ['a--b', 'A--B'],
  ])('%s → %s', (name, canonical) => expect(canonicalName(name)).toBe(canonical));
});
