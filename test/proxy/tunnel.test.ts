// CONNECT through `Tunnel` rules, the forward proxy through `Forward`
// rules, and the address guard of their `*` templates. Only loopback is
// ever connected to: guarded names are resolved by an injected resolver,
// and the tests check that a refused destination saw no connection.

import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import type { LookupAddress } from 'node:dns';
import { HttpError } from '../../src/errors.js';
import type { ServerOptions } from '../../src/server.js';
import { cleanup, closedPort, fakeUpstream, proxyServer, received, respond, switchingUpstream } from './fakes.js';
import { exchange, get, waitClose } from '../helpers/wire.js';
import { tunnels } from '../../protocols/http-tunnel.js';
import { parseRules } from '../../src/rules/index.js';

afterEach(cleanup);

function recording(): { codes: string[]; options: ServerOptions } {
  const codes: string[] = [];
  return {
    codes,
    options: { events: { onReply: (request) => void (request?.errors.at(-1) && codes.push(request.errors.at(-1)!.code)), onError: (e) => void (e instanceof HttpError && codes.push(e.code)) } },
  };
}

/** An echo server for tunnels: upper-cases what it gets, answers a FIN with `bye` and its own. */
function echo() {
  return fakeUpstream({
    raw: (socket) => {
      socket.on('data', (c: Buffer) => socket.write(c.toString('latin1').toUpperCase()));
      socket.on('end', () => socket.end('bye'));
    },
  });
}

const connectTo = (authority: string, extra = '') => `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extra}\r\n`;

function client(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
  });
}

describe('CONNECT and Tunnel', () => {
  it('a CONNECT a Tunnel rule names gets 200 and a tunnel, bytes sent with the CONNECT included; a FIN propagates', async () => {
    const up = await echo();
    const { server, port } = await proxyServer(`Tunnel 127.0.0.1:${up.port}\nPass /*`);
    const s = await client(port);
    const got = received(s);
    s.write(connectTo(`127.0.0.1:${up.port}`) + 'early|');
    expect(await got.until((b) => b.includes('EARLY|'))).toBe(true);
    const [head, rest] = got.bytes().split('\r\n\r\n') as [string, string];
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(head).not.toMatch(/Content-Length|Transfer-Encoding|Connection/i);
    expect(rest).toBe('EARLY|');
    s.write('GET / HTTP/1.1\r\n\r\n');
    expect(await got.until((b) => b.endsWith('GET / HTTP/1.1\r\n\r\n'.toUpperCase()))).toBe(true);
    expect(server.http.connections).toBe(0);
    s.end();
    expect(await got.until((b) => b.endsWith('bye'))).toBe(true);
    expect(await waitClose(s)).toBe(true);
    expect(await up.closedCount(1)).toBe(true);
    for (let i = 0; i < 50 && tunnels.open > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(tunnels.open).toBe(0);
  });

  it('a destination that speaks first (a banner, as SSH and SMTP send) is heard: bytes sent before the tunnel is joined wait for it', async () => {
    const banner = 'SSH-2.0-fake\r\n' + 'x'.repeat(200_000);
    const up = await fakeUpstream({
      raw: (socket) => {
        socket.write(banner);
        socket.on('data', (c: Buffer) => socket.write(c.toString('latin1').toUpperCase()));
      },
    });
    const { port } = await proxyServer(`Tunnel 127.0.0.1:${up.port}\nPass /*`);
    const s = await client(port);
    const got = received(s);
    s.write(connectTo(`127.0.0.1:${up.port}`));
    expect(await got.until((b) => b.endsWith(banner))).toBe(true);
    expect(got.bytes().split('\r\n\r\n')[1]!.startsWith('SSH-2.0-fake')).toBe(true);
    s.write('hello');
    expect(await got.until((b) => b.endsWith(banner + 'HELLO'))).toBe(true);
    s.destroy();
  });

  it('a client that sends its bytes and its FIN with the CONNECT gets them echoed, then the upstream\'s FIN', async () => {
    const up = await echo();
    const { port } = await proxyServer(`Tunnel 127.0.0.1:${up.port}`);
    const s = await client(port);
    const got = received(s);
    s.end(connectTo(`127.0.0.1:${up.port}`) + 'all at once');
    expect(await got.until((b) => b.endsWith('ALL AT ONCEbye'))).toBe(true);
    expect(await waitClose(s)).toBe(true);
    expect(await up.closedCount(1)).toBe(true);
  });

  it('a reset on either side destroys both', async () => {
    const up = await echo();
    const { port } = await proxyServer(`Tunnel 127.0.0.1:${up.port}`);
    const a = await client(port);
    const gotA = received(a);
    a.write(connectTo(`127.0.0.1:${up.port}`));
    expect(await gotA.until((b) => b.includes('\r\n\r\n'))).toBe(true);
    a.resetAndDestroy();
    expect(await up.closedCount(1)).toBe(true);
    const b = await client(port);
    const gotB = received(b);
    b.write(connectTo(`127.0.0.1:${up.port}`));
    expect(await gotB.until((x) => x.includes('\r\n\r\n'))).toBe(true);
    for (const sock of up.sockets) sock.resetAndDestroy();
    expect(await waitClose(b)).toBe(true);
  });

  it('without a matching Tunnel rule (or with none at all) CONNECT is 403 WWW_ERR_PROXY_NOT_ALLOWED and closes', async () => {
    const up = await echo();
    const rec = recording();
    const { port } = await proxyServer(`Tunnel 127.0.0.1:${up.port + 1}\nPass /*`, rec.options);
    const r = await exchange(port, connectTo(`127.0.0.1:${up.port}`) + get('/smuggled'));
    expect(r.responses.map((x) => x.status)).toEqual([403]);
    expect(r.closed).toBe(true);
    expect(rec.codes).toEqual(['WWW_ERR_PROXY_NOT_ALLOWED']);
    const none = await proxyServer('Pass /*');
    const r2 = await exchange(none.port, connectTo(`127.0.0.1:${up.port}`), { responses: 1 });
    expect(r2.responses[0]!.status).toBe(403);
    expect(up.connections).toBe(0);
  });

  it('a refused connect is 502 WWW_ERR_PROXY_CONNECT; ProxyConnectTimeout bounds the connect (504)', async () => {
    const dead = await closedPort();
    const rec = recording();
    const { port, server } = await proxyServer(`Tunnel 127.0.0.1:*\nProxyConnectTimeout 150ms`, rec.options);
    // A guarded template: loopback is refused before any connect.
    const guarded = await exchange(port, connectTo(`127.0.0.1:${dead}`), { responses: 1 });
    expect(guarded.responses[0]!.status).toBe(403);
    expect(rec.codes).toEqual(['WWW_ERR_PROXY_ADDRESS']);
    const literal = await proxyServer(`Tunnel 127.0.0.1:${dead}\nTunnel *.test:443\nProxyConnectTimeout 150ms`, rec.options);
    const refused = await exchange(literal.port, connectTo(`127.0.0.1:${dead}`), { responses: 1 });
    expect(refused.responses[0]!.status).toBe(502);
    expect(rec.codes.at(-1)).toBe('WWW_ERR_PROXY_CONNECT');
    // A name whose resolution never ends: the connect deadline answers 504.
    literal.server.proxy.resolver = () => new Promise<LookupAddress[]>(() => {});
    const started = Date.now();
    const slow = await exchange(literal.port, connectTo('slow.test:443'), { responses: 1 });
    expect(slow.responses[0]!.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(rec.codes.at(-1)).toBe('WWW_ERR_PROXY_CONNECT_TIMEOUT');
    expect(server.http.connections).toBe(0);
  });
});

describe('the address guard', () => {
  it('a * template never reaches a private address a name resolves to: 403 WWW_ERR_PROXY_ADDRESS, no connect', async () => {
    const up = await echo();
    const rec = recording();
    const { port, server } = await proxyServer(`Tunnel *:${up.port}\nForward *`, rec.options);
    const asked: string[] = [];
    for (const address of ['10.0.0.1', '127.0.0.1', '::ffff:127.0.0.1', '169.254.169.254', 'fd00::1']) {
      server.proxy.resolver = async (host) => {
        asked.push(host);
        return [{ address: '93.184.216.34', family: 4 }, { address, family: net.isIP(address) }];
      };
      const r = await exchange(port, connectTo(`rebound.test:${up.port}`), { responses: 1 });
      expect(r.responses[0]!.status, address).toBe(403);
      const f = await exchange(port, `GET http://rebound.test:${up.port}/x HTTP/1.1\r\nHost: rebound.test\r\n\r\n`, { responses: 1 });
      expect(f.responses[0]!.status, address).toBe(403);
    }
    expect(asked).toHaveLength(10);
    expect(new Set(rec.codes)).toEqual(new Set(['WWW_ERR_PROXY_ADDRESS']));
    expect(up.connections).toBe(0);
  });

  it('literal private addresses and localhost are refused through a * too; named literally they pass', async () => {
    const up = await fakeUpstream((req, socket) => respond(socket, 200, `up ${req.target} ${req.headers.host}`));
    const rec = recording();
    const { port } = await proxyServer(`Tunnel *:${up.port}\nForward *:${up.port}\nForward localhost:*`, rec.options);
    for (const target of [`127.0.0.1:${up.port}`, `[::1]:${up.port}`, `localhost:${up.port}`]) {
      const r = await exchange(port, connectTo(target), { responses: 1 });
      expect(r.responses[0]!.status, target).toBe(403);
      const f = await exchange(port, `GET http://${target}/x HTTP/1.1\r\nHost: ${target}\r\n\r\n`, { responses: 1 });
      expect(f.responses[0]!.status, target).toBe(403);
    }
    expect(up.connections).toBe(0);
    expect(new Set(rec.codes)).toEqual(new Set(['WWW_ERR_PROXY_ADDRESS']));
    const named = await proxyServer(`Forward 127.0.0.1:${up.port}`);
    const ok = await exchange(named.port, `GET http://127.0.0.1:${up.port}/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\n\r\n`, { responses: 1 });
    expect(ok.responses[0]!.body.toString()).toBe(`up /x?y=1 127.0.0.1:${up.port}`);
  });
});

describe('the forward proxy and Forward', () => {
  it('an absolute-form request to a Forward authority goes upstream in origin-form, Host from the target', async () => {
    const up = await fakeUpstream((req, socket) => respond(socket, 200, `${req.method} ${req.target} ${req.headers.host} ${req.headers['x-forwarded-host']}`, 'Connection: keep-alive\r\n'));
    const { port } = await proxyServer(`Forward 127.0.0.1:${up.port}\nPass /*`);
    const r = await exchange(port, `GET http://127.0.0.1:${up.port}/a/b?c=d HTTP/1.1\r\nHost: other.test\r\nProxy-Connection: keep-alive\r\n\r\n`, { responses: 1 });
    expect(r.responses[0]!.status).toBe(200);
    expect(r.responses[0]!.body.toString()).toBe(`GET /a/b?c=d 127.0.0.1:${up.port} 127.0.0.1:${up.port}`);
    expect(r.responses[0]!.headers.via).toBe('1.1 streamstack');
    const fields = up.requests[0]!.fields.map(([n]) => n.toLowerCase());
    expect(fields).not.toContain('proxy-connection');
    expect(fields.filter((n) => n === 'host')).toHaveLength(1);
  });

  it('a Forward template without a port means port 80; an authority no rule names is served as our own path', async () => {
    const up = await fakeUpstream((req, socket) => respond(socket, 200, 'upstream'));
    const { port } = await proxyServer(`Forward 127.0.0.1\nProxy /local/* ${up.origin}/own/*`);
    const r = await exchange(port, `GET http://127.0.0.1:${up.port}/local/x HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\n\r\n`, { responses: 1 });
    expect(r.responses[0]!.status).toBe(200);
    // Served as /local/x by the Proxy rule, not forwarded to /local/x.
    expect(up.requests[0]!.target).toBe('/own/x');
    // RFC 9112 §3.3: the effective request URI's authority is the target's, whatever Host says.
    expect(up.requests[0]!.headers.host).toBe(`127.0.0.1:${up.port}`);
    const https = await exchange(port, `GET https://127.0.0.1:${up.port}/local/y HTTP/1.1\r\nHost: x\r\n\r\n`, { responses: 1 });
    expect(https.responses[0]!.status).toBe(200);
    expect(up.requests[1]!.target).toBe('/own/y');
  });

  it('Upgrade through a Forward rule is tunnelled like a Proxy rule\'s', async () => {
    const up = await switchingUpstream(() => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n');
    const { port } = await proxyServer(`Forward 127.0.0.1:${up.port}`);
    const s = await client(port);
    const got = received(s);
    s.write(`GET http://127.0.0.1:${up.port}/ws HTTP/1.1\r\nHost: 127.0.0.1:${up.port}\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nhi`);
    expect(await got.until((b) => b.endsWith('\r\n\r\nHI'))).toBe(true);
    expect(up.heads[0]).toMatch(/^GET \/ws HTTP\/1\.1\r\n/);
    s.destroy();
  });
});

describe('Tunnel and Forward in the rule file', () => {
  const rules = (text: string) => parseRules(text, '/virtual/t.rules', { serverRoot: '/srv' });

  it('matches host:port, lower-cased, a port left out meaning the default one; a * guards', () => {
    const r = rules('Tunnel Example.org\nTunnel *.example.net:443\nForward [::1]:8080\nForward *');
    expect(r.tunnelFor('example.org:443')?.guarded).toBe(false);
    expect(r.tunnelFor('example.org:8443')).toBeUndefined();
    expect(r.tunnelFor('a.example.net:443')?.guarded).toBe(true);
    expect(r.forwardFor('[::1]:8080')?.guarded).toBe(false);
    expect(r.forwardFor('anything.test:8080')?.guarded).toBe(true);
    expect(rules('Pass /*').tunnelFor('example.org:443')).toBeUndefined();
  });

  it('reports what it expected, with the line', () => {
    expect(() => rules('Pass /*\nTunnel example.org/path')).toThrow(/t\.rules:2: Tunnel: expected HOST:PORT/);
    expect(() => rules('Forward a:99999')).toThrow(/t\.rules:1: Forward: expected HOST:PORT/);
    expect(() => rules('Tunnel')).toThrow(/Tunnel: expected HOST:PORT-TEMPLATE, got none/);
  });
});

describe('Forward and methods', () => {
  it('forwards any method the parser knows but TRACE, which is 405 with the methods it does forward', async () => {
    const up = await fakeUpstream((req, socket) => respond(socket, 200, `${req.method} ${req.body.toString()}`));
    const { port } = await proxyServer(`Forward 127.0.0.1:${up.port}`);
    const at = `http://127.0.0.1:${up.port}/x`;
    const del = await exchange(port, `DELETE ${at} HTTP/1.1\r\nHost: h\r\n\r\n`, { responses: 1 });
    expect(del.responses[0]!.body.toString()).toBe('DELETE ');
    const post = await exchange(port, `POST ${at} HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc`, { responses: 1 });
    expect(post.responses[0]!.body.toString()).toBe('POST abc');
    const trace = await exchange(port, `TRACE ${at} HTTP/1.1\r\nHost: h\r\n\r\n`, { responses: 1 });
    expect(trace.responses[0]!.status).toBe(405);
    expect(trace.responses[0]!.headers.allow).toContain('DELETE');
    expect(trace.responses[0]!.headers.allow).not.toContain('TRACE');
    expect(up.requests.map((r) => r.method)).toEqual(['DELETE', 'POST']);
  });
});
