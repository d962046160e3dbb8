// The fields a proxy changes (RFC 9110 §7.6), seen at both ends: what the
// fake upstream receives for a client's request, and what the client
// receives for the upstream's response.

import { afterEach, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { cleanup, fakeUpstream, proxyServer, respond, type UpstreamRequest } from './fakes.js';
import { exchange, type RawResponse } from '../helpers/wire.js';

afterEach(cleanup);

/** Sends one request through a proxy with `rules` (its Proxy line added) and returns both ends. */
async function through(request: string, rules = '', answer?: string | Buffer): Promise<{ seen: UpstreamRequest | undefined; response: RawResponse; raw: string; port: number }> {
  const up = await fakeUpstream((_req, socket) => {
    if (answer === undefined) respond(socket, 200, 'ok');
    else socket.write(answer);
  });
  const { port } = await proxyServer(`${rules}\nEnable PATCH /*\nEnable POST /*\nProxy /* ${up.origin}/up/*`);
  const ex = await exchange(port, request, { responses: 1, heads: request.startsWith('HEAD') ? [0] : [] });
  return { seen: up.requests[0], response: ex.responses.at(-1)!, raw: ex.raw.toString('latin1'), port };
}

const names = (req: UpstreamRequest): string[] => req.fields.map(([n]) => n.toLowerCase());

describe('going up', () => {
  it('drops hop-by-hop fields and those Connection names; keeps end-to-end ones in order', async () => {
    const { seen } = await through('GET /a?b=1 HTTP/1.1\r\nHost: site.test\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n' +
      'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: websocket\r\n' +
      'Proxy-Authorization: Basic eDp5\r\nTrailer: X-Sum\r\nX-End: 1\r\nCookie: a=1\r\nAuthorization: Bearer t\r\n\r\n');
    expect(seen!.method).toBe('GET');
    expect(seen!.target).toBe('/up/a?b=1');
    for (const hop of ['connection', 'x-hop', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization', 'trailer', 'transfer-encoding']) {
      expect(names(seen!), hop).not.toContain(hop);
    }
    expect(seen!.fields.filter(([n]) => ['X-End', 'Cookie', 'Authorization'].includes(n))).toEqual([
      ['X-End', '1'], ['Cookie', 'a=1'], ['Authorization', 'Bearer t'],
    ]);
  });

  it("sends the client's Host, or with ProxyHost upstream the upstream's", async () => {
    const client = await through('GET / HTTP/1.1\r\nHost: site.test\r\n\r\n');
    expect(client.seen!.headers.host).toBe('site.test');
    const up = await through('GET / HTTP/1.1\r\nHost: site.test\r\n\r\n', 'ProxyHost upstream');
    expect(up.seen!.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(up.seen!.headers['x-forwarded-host']).toBe('site.test');
  });

  it('adds Via, after one that came in', async () => {
    expect((await through('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).seen!.headers.via).toBe('1.1 streamstack');
    expect((await through('GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 cdn\r\n\r\n')).seen!.headers.via).toBe('1.0 cdn, 1.1 streamstack');
    expect((await through('GET / HTTP/1.0\r\nHost: a\r\n\r\n')).seen!.headers.via).toBe('1.0 streamstack');
  });

  const forged = 'GET / HTTP/1.1\r\nHost: site.test\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n' +
    'X-Forwarded-Host: evil.test\r\nForwarded: for=6.6.6.6;proto=https\r\n\r\n';

  it('replaces what an untrusted peer says of the client', async () => {
    const { seen } = await through(forged);
    expect(seen!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen!.headers['x-forwarded-proto']).toBe('http');
    expect(seen!.headers['x-forwarded-host']).toBe('site.test');
    expect(seen!.headers.forwarded).toBe('for=127.0.0.1;host=site.test;proto=http');
    expect(names(seen!).filter((n) => n === 'x-forwarded-for')).toHaveLength(1);
  });

  it.each(['127.0.0.1', '127.0.0.0/8', '10.0.0.1 127.0.0.1'])('keeps and appends to what a trusted peer says (TrustProxy %s)', async (trust) => {
    const { seen } = await through(forged, `TrustProxy ${trust}`);
    expect(seen!.headers['x-forwarded-for']).toBe('6.6.6.6, 127.0.0.1');
    expect(seen!.headers['x-forwarded-proto']).toBe('https');
    expect(seen!.headers['x-forwarded-host']).toBe('evil.test');
    expect(seen!.headers.forwarded).toBe('for=6.6.6.6;proto=https, for=127.0.0.1;host=site.test;proto=http');
  });

  it('a TrustProxy that does not match the peer trusts nothing', async () => {
    const { seen } = await through(forged, 'TrustProxy 10.0.0.0/8 ::1');
    expect(seen!.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('quotes a Host with a port in Forwarded (RFC 7239 §4)', async () => {
    const { seen } = await through('GET / HTTP/1.1\r\nHost: site.test:8080\r\n\r\n');
    expect(seen!.headers.forwarded).toBe('for=127.0.0.1;host="site.test:8080";proto=http');
  });

  it('forwards the method, the body framing and the expectation (RFC 9110 §10.1.1; continue.test.ts)', async () => {
    const { seen, response, raw } = await through('PATCH /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello');
    expect(response.status).toBe(200);
    // The body came with the head: the client waits for no 100, and gets none.
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen!.method).toBe('PATCH');
    expect(seen!.headers.expect).toBe('100-continue');
    expect(seen!.headers['content-length']).toBe('5');
    expect(seen!.body.toString()).toBe('hello');
  });

  it('a chunked request body goes up chunked; an empty POST says Content-Length: 0', async () => {
    const chunked = await through('POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    expect(chunked.seen!.headers['transfer-encoding']).toBe('chunked');
    expect(chunked.seen!.headers['content-length']).toBeUndefined();
    expect(chunked.seen!.body.toString()).toBe('abcde');
    const empty = await through('POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
    expect(empty.seen!.headers['content-length']).toBe('0');
  });

  it('OPTIONS goes upstream, OPTIONS * is answered here', async () => {
    const up = await fakeUpstream((_req, socket) => respond(socket, 204, '', 'Access-Control-Allow-Methods: GET, PUT\r\nAllow: GET, PUT\r\n'));
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const pre = await exchange(port, 'OPTIONS /api HTTP/1.1\r\nHost: a\r\nOrigin: http://o.test\r\nAccess-Control-Request-Method: PUT\r\n\r\n', { responses: 1 });
    expect(pre.responses[0]!.status).toBe(204);
    expect(pre.responses[0]!.headers['access-control-allow-methods']).toBe('GET, PUT');
    expect(up.requests.map((r) => [r.method, r.target])).toEqual([['OPTIONS', '/api']]);
    const star = await exchange(port, 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n', { responses: 1 });
    expect(star.responses[0]!.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(up.requests).toHaveLength(1);
  });

  it('a method the rules do not Enable never reaches the upstream', async () => {
    const up = await fakeUpstream((_req, socket) => respond(socket, 200, 'ok'));
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const ex = await exchange(port, 'DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n', { responses: 1 });
    expect(ex.responses[0]!.status).toBe(405);
    expect(up.requests).toHaveLength(0);
  });
});

describe('coming back', () => {
  const head = (fields: string, body = 'ok') => `HTTP/1.1 200 OK\r\n${fields}Content-Length: ${body.length}\r\n\r\n${body}`;

  it('drops hop-by-hop fields and those Connection names; Date and Server are ours; names are canonical', async () => {
    const { response, raw } = await through('GET / HTTP/1.1\r\nHost: a\r\n\r\n', '', head(
      'Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\n' +
      'Trailer: X-Sum\r\nDate: Mon, 01 Jan 1990 00:00:00 GMT\r\nServer: upstream/1.0\r\nx-custom-thing: 1\r\netag: "v1"\r\n' +
      'www-authenticate: Basic realm="r"\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n'));
    for (const hop of ['x-hop', 'keep-alive', 'proxy-authenticate', 'upgrade', 'trailer']) expect(response.headers[hop], hop).toBeUndefined();
    expect(response.headers.connection).toBeUndefined();
    expect(response.headers.server).toBe('streamstack');
    expect(response.headers.date).not.toContain('1990');
    expect(response.names).toEqual(expect.arrayContaining(['X-Custom-Thing', 'ETag', 'WWW-Authenticate']));
    expect(raw).toContain('\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n');
    expect(response.body.toString()).toBe('ok');
  });

  it('adds Via, after the upstream\'s', async () => {
    expect((await through('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).response.headers.via).toBe('1.1 streamstack');
    const { response } = await through('GET / HTTP/1.1\r\nHost: a\r\n\r\n', '', head('Via: 1.1 app\r\n'));
    expect(response.headers.via).toBe('1.1 app, 1.1 streamstack');
  });

  it('an encoded response is relayed as it is, never encoded again', async () => {
    const text = 'some text that compresses well. '.repeat(100);
    const gz = gzipSync(text);
    const answer = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`), gz]);
    const { response } = await through('GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\n\r\n', '', answer);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body.equals(gz)).toBe(true);
  });

  it('an identity response goes through the converter stack as a file would (compressed for a client that asks)', async () => {
    const text = 'some text that compresses well. '.repeat(100);
    const { response } = await through('GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n', '',
      head('Content-Type: text/plain\r\nETag: "v1"\r\n', text));
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers.vary).toBe('Accept-Encoding');
    expect(response.headers.etag).toBe('"v1-gzip"');
  });

  it('Cache-Control: no-transform from the upstream is obeyed', async () => {
    const text = 'some text that compresses well. '.repeat(100);
    const { response } = await through('GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n', '',
      head('Content-Type: text/plain\r\nCache-Control: no-transform\r\n', text));
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.headers['content-length']).toBe(String(text.length));
  });

  it('a response to HEAD keeps its Content-Length and has no body', async () => {
    const { response, raw } = await through('HEAD / HTTP/1.1\r\nHost: a\r\n\r\n', '', 'HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1234\r\n\r\n');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe('1234');
    expect(raw.endsWith('\r\n\r\n')).toBe(true);
  });

  it('204 and 304 carry no body and no length', async () => {
    const r204 = await through('GET / HTTP/1.1\r\nHost: a\r\n\r\n', '', 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n');
    expect(r204.response.status).toBe(204);
    expect(r204.response.headers['content-length']).toBeUndefined();
    expect(r204.response.headers['transfer-encoding']).toBeUndefined();
    const r304 = await through('GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n', '', 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 99\r\n\r\n');
    expect(r304.response.status).toBe(304);
    expect(r304.response.headers.etag).toBe('"v1"');
    expect(r304.response.headers['content-length']).toBeUndefined();
  });

  it('an interim 100 the client did not expect is dropped; a 103 is relayed (see interim.test.ts)', async () => {
    const { raw, response } = await through('GET / HTTP/1.1\r\nHost: a\r\n\r\n', '',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' + head(''));
    expect(raw).toMatch(/^HTTP\/1\.1 103 Early Hints\r\nLink: <\/a\.css>; rel=preload\r\n/);
    expect(raw).not.toContain(' 100 ');
    expect(response.status).toBe(200);
  });

  it('the reason phrase is ours, the status the upstream\'s', async () => {
    const { raw } = await through('GET / HTTP/1.1\r\nHost: a\r\n\r\n', '', 'HTTP/1.1 418 \r\nContent-Length: 0\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 418 /);
  });
});
