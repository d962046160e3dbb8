// Trailers of a chunked upstream response pass to the client (RFC 9112
// §7.1.2), except the fields a trailer section may never carry (RFC 9110
// §6.5.1), and never after a body the stack converted.

import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fakeUpstream, proxyServer } from './fakes.js';
import { exchange, get } from '../helpers/wire.js';

afterEach(cleanup);

const CHUNKED_WITH_TRAILERS =
  'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n' +
  '5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: sha-1=abc\r\nContent-Length: 99\r\nSet-Cookie: no=1\r\nServer-Timing: db;dur=53\r\n\r\n';

describe('trailers through the proxy', () => {
  it('relays the trailer fields of a chunked response, without those a trailer may not carry', async () => {
    const fake = await fakeUpstream((_req, socket) => socket.write(CHUNKED_WITH_TRAILERS));
    const { port } = await proxyServer(`Proxy /* ${fake.origin}/*`);
    const r = await exchange(port, get('/t') + get('/t'), { responses: 2 });
    const raw = r.raw.toString('latin1');
    expect(r.responses.map((x) => x.body.toString())).toEqual(['hello world', 'hello world']);
    // The last chunk of each reply carries the upstream's trailer fields.
    const sections = raw.split('\r\n0\r\n').slice(1).map((s) => s.slice(0, s.indexOf('\r\n\r\n')));
    expect(sections).toEqual(['X-Checksum: sha-1=abc\r\nServer-Timing: db;dur=53', 'X-Checksum: sha-1=abc\r\nServer-Timing: db;dur=53']);
    expect(raw).not.toContain('Content-Length: 99');
    expect(raw).not.toContain('no=1');
  });

  it('relays the trailer fields of a chunked upload to the upstream', async () => {
    let got = '';
    const fake = await fakeUpstream({
      raw: (socket) => {
        socket.on('data', (c: Buffer) => {
          got += c.toString('latin1');
          if (/\r\n0\r\n(?:[^\r]+\r\n)*\r\n$/.test(got)) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        });
      },
    });
    const { port } = await proxyServer(`Enable POST /*\nProxy /* ${fake.origin}/*`);
    const r = await exchange(port, 'POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Digest: sha-256=xyz\r\nHost: evil\r\n\r\n', { responses: 1 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['ok']);
    expect(got.slice(got.indexOf('\r\n\r\n') + 4)).toBe('3\r\nabc\r\n0\r\nX-Digest: sha-256=xyz\r\n\r\n');
  });

  it('drops them when the body is converted on the way (gzip on the fly)', async () => {
    const fake = await fakeUpstream((_req, socket) => socket.write(CHUNKED_WITH_TRAILERS.replace('application/octet-stream', 'text/plain')));
    const { port } = await proxyServer(`Proxy /* ${fake.origin}/*`);
    const r = await exchange(port, get('/t', 'Accept-Encoding: gzip\r\n'), { responses: 1 });
    expect(r.responses[0]!.headers['content-encoding']).toBe('gzip');
    expect(r.raw.toString('latin1')).not.toContain('X-Checksum');
    expect(r.raw.toString('latin1').endsWith('\r\n0\r\n\r\n')).toBe(true);
  });
});
