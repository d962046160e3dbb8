// https upstreams through node:tls: the certificate is verified, against
// Node's roots plus the ProxyCA file, and the name must match; any failure
// is 502 WWW_ERR_PROXY_TLS. Fixtures: test/fixtures/tls (a CA made for these
// tests and a certificate for localhost and 127.0.0.1 it signed).

import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { HttpError } from '../../src/errors.js';
import { cleanup, fakeUpstream, proxyServer } from './fakes.js';
import { exchange, get } from '../helpers/wire.js';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'tls');
const CA = path.join(FIXTURES, 'ca.pem');

const upstreams: tls.Server[] = [];
afterEach(async () => {
  await cleanup();
  await Promise.all(upstreams.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A TLS upstream answering every request with the SNI name it saw; counts connections. */
function tlsUpstream(host = '127.0.0.1'): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = tls.createServer({
    key: fs.readFileSync(path.join(FIXTURES, 'server.key')),
    cert: fs.readFileSync(path.join(FIXTURES, 'server.pem')),
  }, (socket) => {
    connections++;
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      if (!c.includes('\r\n\r\n')) return;
      const body = `secure ${socket.servername || '-'}`;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
  });
  server.on('tlsClientError', () => {});
  upstreams.push(server);
  return new Promise((resolve) => server.listen(0, host, () => resolve({ port: (server.address() as net.AddressInfo).port, connections: () => connections })));
}

async function proxyWith(rules: string): Promise<{ port: number; codes: string[] }> {
  const codes: string[] = [];
  const { port } = await proxyServer(rules.replaceAll('CA_FILE', CA), {
    events: {
      onReply: (request) => {
        const top = request?.errors.at(-1);
        if (top !== undefined) codes.push(top.code);
      },
      onError: (e) => {
        if (e instanceof HttpError) codes.push(e.code);
      },
    },
  });
  return { port, codes };
}

describe('https upstreams', () => {
  it('a certificate from the ProxyCA is trusted; connections are kept and reused', async () => {
    const up = await tlsUpstream();
    const { port } = await proxyWith(`ProxyCA CA_FILE\nProxy /* https://127.0.0.1:${up.port}/*`);
    for (let k = 0; k < 3; k++) {
      const ex = await exchange(port, get('/x'), { responses: 1 });
      expect(ex.responses[0]!.status).toBe(200);
      expect(ex.responses[0]!.body.toString()).toBe('secure -');
    }
    expect(up.connections()).toBe(1);
  });

  it('a host name is sent as SNI and checked against the certificate', async () => {
    const up = await tlsUpstream('localhost');
    const { port } = await proxyWith(`ProxyCA CA_FILE\nProxy /* https://localhost:${up.port}/*`);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.body.toString()).toBe('secure localhost');
  });

  it('without the ProxyCA the same certificate is not trusted: 502 WWW_ERR_PROXY_TLS', async () => {
    const up = await tlsUpstream();
    const { port, codes } = await proxyWith(`Proxy /* https://127.0.0.1:${up.port}/*`);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(ex.responses[0]!.body.toString()).toContain('Upstream TLS handshake failed');
    expect(codes).toEqual(['WWW_ERR_PROXY_TLS']);
  });

  it('a trusted certificate for another name is refused: 502 WWW_ERR_PROXY_TLS', async () => {
    const up = await tlsUpstream('0.0.0.0');
    const { port, codes } = await proxyWith(`ProxyCA CA_FILE\nProxy /* https://127.0.0.2:${up.port}/*`);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(codes).toEqual(['WWW_ERR_PROXY_TLS']);
  });

  it('a plain HTTP server at an https address: 502 WWW_ERR_PROXY_TLS', async () => {
    const plain = await fakeUpstream({ raw: (socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')) });
    const { port, codes } = await proxyWith(`Proxy /* https://127.0.0.1:${plain.port}/*`);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
    expect(codes).toEqual(['WWW_ERR_PROXY_TLS']);
  });
});
