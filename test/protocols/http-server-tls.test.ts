// The HTTP server module over TLS: the same Connection on a TLSSocket, so
// the wire behaves as it does in clear (pipelining, the client's half-close),
// ALPN offers http/1.1 only, a failed or stalled handshake is counted and
// dropped, and a new certificate applies to new connections.

import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import * as tls from 'node:tls';
import { HttpServer } from '../../protocols/http-server.js';
import type { Handler, WireOptions } from '../../protocols/http-server.js';
import { textReply } from '../../src/reply.js';
import { connect, get, waitClose, sleep } from '../helpers/wire.js';
import { makePair, tlsExchange } from '../helpers/tls.js';
import type { Pair } from '../helpers/tls.js';

let pair: Pair;
let other: Pair;
beforeAll(async () => {
  [pair, other] = await Promise.all([makePair(), makePair()]);
});

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers) expect(s.check()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

const echo: Handler = (req) => textReply(200, `${req.target} ${req.secure ? 'secure' : 'plain'}`);

async function start(options: Partial<WireOptions> = {}, handler = echo): Promise<{ port: number; server: HttpServer }> {
  const server = new HttpServer(handler, options, {}, { cert: pair.cert, key: pair.key });
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  return { port, server };
}

describe('HTTP over TLS', () => {
  it('answers a GET, with ALPN http/1.1 and the request marked secure', async () => {
    const { port } = await start();
    const r = await tlsExchange(port, pair.cert, get('/a'), { responses: 1 });
    expect(r.alpn).toBe('http/1.1');
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.status).toBe(200);
    expect(r.responses[0]!.body.toString()).toBe('/a secure\n');
  });

  it('ALPN picks http/1.1 when the client also offers h2', async () => {
    const { port } = await start();
    const alpn = await new Promise<string | false>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca: pair.cert, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
        resolve(s.alpnProtocol);
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(alpn).toBe('http/1.1');
  });

  it('a client offering only h2 is refused in the handshake (ALPN offers http/1.1 only), and counted', async () => {
    const { port, server } = await start();
    const err = await new Promise<Error>((resolve) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca: pair.cert, ALPNProtocols: ['h2'] }, () => resolve(new Error('connected')));
      s.on('error', resolve);
    });
    expect(err.message).toMatch(/no application protocol/);
    for (let k = 0; k < 50 && server.tlsErrors === 0; k++) await sleep(10);
    expect(server.tlsErrors).toBe(1);
  });

  it('answers pipelined requests in order', async () => {
    const { port } = await start();
    const r = await tlsExchange(port, pair.cert, get('/1') + get('/2') + get('/3'), { responses: 3 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/1 secure\n', '/2 secure\n', '/3 secure\n']);
  });

  it('answers a request the client half-closed after, then closes', async () => {
    const { port } = await start({}, async (req) => {
      await sleep(50);
      return echo(req);
    });
    const r = await tlsExchange(port, pair.cert, get('/half'), { end: true });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/half secure\n']);
    expect(r.closed).toBe(true);
  });

  it('tracks TLS connections, and a stop closes an idle one', async () => {
    const { port, server } = await start();
    const s = tls.connect({ port, host: '127.0.0.1', ca: pair.cert });
    s.on('error', () => {});
    await new Promise((r) => s.once('secureConnect', r));
    for (let k = 0; k < 50 && server.connections === 0; k++) await sleep(10);
    expect(server.connections).toBe(1);
    const closed = waitClose(s);
    await server.close(1000);
    expect(await closed).toBe(true);
  });
});

describe('handshakes that fail', () => {
  it('plain HTTP on the TLS port is dropped and counted, and the server goes on', async () => {
    const { port, server } = await start();
    const raw = await connect(port);
    raw.on('error', () => {});
    raw.write(get('/'));
    expect(await waitClose(raw)).toBe(true);
    for (let k = 0; k < 50 && server.tlsErrors === 0; k++) await sleep(10);
    expect(server.tlsErrors).toBe(1);
    const r = await tlsExchange(port, pair.cert, get('/after'), { responses: 1 });
    expect(r.responses[0]!.body.toString()).toBe('/after secure\n');
  });

  it('a client that never completes its handshake is dropped after HeaderTimeout', async () => {
    const { port, server } = await start({ headerTimeout: 200 });
    const raw = await connect(port);
    raw.on('error', () => {});
    const started = Date.now();
    expect(await waitClose(raw, 3000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    for (let k = 0; k < 50 && server.tlsErrors === 0; k++) await sleep(10);
    expect(server.tlsErrors).toBe(1);
    expect(server.connections).toBe(0);
  });

  it('a stop does not wait for a handshake in progress', async () => {
    const { port, server } = await start();
    const raw = await connect(port);
    raw.on('error', () => {});
    await sleep(20);
    const started = Date.now();
    await server.close(0);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await waitClose(raw)).toBe(true);
  });
});

describe('renewal', () => {
  it('setSecureContext serves the new certificate to new connections', async () => {
    const { port, server } = await start();
    const before = await tlsExchange(port, pair.cert, get('/'), { responses: 1 });
    server.setSecureContext({ cert: other.cert, key: other.key });
    const after = await tlsExchange(port, other.cert, get('/'), { responses: 1 });
    expect(before.fingerprint).not.toBe('');
    expect(after.fingerprint).not.toBe('');
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(after.responses[0]!.status).toBe(200);
  });

  it('a pair that does not match is refused and the old one stays', async () => {
    const { port, server } = await start();
    expect(() => server.setSecureContext({ cert: other.cert, key: pair.key })).toThrow();
    const r = await tlsExchange(port, pair.cert, get('/'), { responses: 1 });
    expect(r.responses[0]!.status).toBe(200);
  });
});
