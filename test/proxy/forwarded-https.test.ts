// X-Forwarded-Proto and Forwarded's proto= say https when the client's
// connection is TLS, http when it is not; a tunnel starts from a TLS socket.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { cleanup, fakeUpstream, proxyServer, received, respond, switchingUpstream } from './fakes.js';
import { exchange, get, waitClose } from '../helpers/wire.js';
import { makePair, tlsExchange } from '../helpers/tls.js';
import type { Pair } from '../helpers/tls.js';

let pair: Pair;
beforeAll(async () => {
  pair = await makePair();
});
afterEach(cleanup);

describe('the scheme the client used, upstream', () => {
  it('is https over a TLS client connection, http in clear', async () => {
    const upstream = await fakeUpstream((req, socket) => respond(socket, 200, 'ok'));
    const rules = `Proxy /* ${upstream.origin}/*`;
    const secure = await proxyServer(rules, { tls: { cert: pair.cert, key: pair.key } });
    const plain = await proxyServer(rules);
    const r = await tlsExchange(secure.port, pair.cert, get('/x'), { responses: 1 });
    expect(r.responses[0]!.status).toBe(200);
    const p = await exchange(plain.port, get('/y'), { responses: 1 });
    expect(p.responses[0]!.status).toBe(200);
    const [overTls, inClear] = upstream.requests;
    expect(overTls!.headers['x-forwarded-proto']).toBe('https');
    expect(overTls!.headers.forwarded).toMatch(/;proto=https$/);
    expect(inClear!.headers['x-forwarded-proto']).toBe('http');
    expect(inClear!.headers.forwarded).toMatch(/;proto=http$/);
  });
});

describe('a tunnel from a TLS client connection', () => {
  it('an Upgrade relays the 101 and joins the TLS socket with the upstream, half-close included', async () => {
    const up = await switchingUpstream(() => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`, { tls: { cert: pair.cert, key: pair.key } });
    const s = tls.connect({ port, host: '127.0.0.1', ca: pair.cert, allowHalfOpen: true });
    await new Promise((r) => s.once('secureConnect', r));
    const got = received(s as unknown as net.Socket);
    s.write('GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly|');
    expect(await got.until((b) => b.includes('EARLY|'))).toBe(true);
    expect(got.bytes()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(up.heads[0]).toMatch(/\r\nX-Forwarded-Proto: https\r\n/);
    s.end();
    expect(await got.until((b) => b.endsWith('bye'))).toBe(true);
    expect(await waitClose(s as unknown as net.Socket)).toBe(true);
  });
});
