// X-Forwarded-Proto and Forwarded's proto= say https when the client's
// connection is TLS, http when it is not.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, fakeUpstream, proxyServer, respond } from './fakes.js';
import { exchange, get } from '../helpers/wire.js';
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
