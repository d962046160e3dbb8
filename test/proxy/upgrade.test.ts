// Upgrade (WebSocket and any other protocol) through a Proxy rule: the
// request goes upstream with its Upgrade and `Connection: upgrade`; a 101
// is relayed and the two sockets are joined both ways, with what each side
// sent ahead; a refusal is a normal reply and HTTP goes on.

import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { cleanup, fakeUpstream, proxyServer, received, switchingUpstream } from './fakes.js';
import { exchange, get, waitClose } from '../helpers/wire.js';
import { tunnels } from '../../protocols/http-tunnel.js';
import type { Server } from '../../src/server.js';

afterEach(cleanup);

const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nSec-Test: yes\r\nKeep-Alive: timeout=5\r\n\r\n';
const upgrade = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: app.test\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n${extra}\r\n`;

async function setup(answer: (head: string) => string | null) {
  const up = await switchingUpstream(answer);
  const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*`);
  return { up, server, port };
}

function client(port: number, allowHalfOpen = false): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen }, () => resolve(s));
  });
}

async function settled(server: Server): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const pools = server.proxy.pools.stats();
    if (server.http.connections === 0 && tunnels.open === 0 && pools.every((p) => p.busy === 0 && p.idle === 0)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('Upgrade through a Proxy rule', () => {
  it('forwards Upgrade and Connection: upgrade, relays the 101 and joins the sockets with the bytes each side sent ahead', async () => {
    const { up, server, port } = await setup(() => SWITCH + 'hello from upstream|');
    const s = await client(port);
    const got = received(s);
    s.write(upgrade('/ws') + 'early|');
    expect(await got.until((b) => b.includes('EARLY|'))).toBe(true);
    const [head, after] = got.bytes().split('\r\n\r\n') as [string, string];
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
    expect(head).toMatch(/\r\nUpgrade: echo(\r\n|$)/);
    expect(head).toMatch(/\r\nConnection: upgrade(\r\n|$)/);
    expect(head).toMatch(/\r\nSec-Test: yes(\r\n|$)/);
    expect(head).toMatch(/\r\nVia: 1\.1 streamstack(\r\n|$)/);
    expect(head).not.toMatch(/Keep-Alive|Content-Length|Transfer-Encoding/i);
    // The upstream's bytes from the 101's packet come first, then the echo of the client's early bytes.
    expect(after).toBe('hello from upstream|EARLY|');
    // Upstream saw the only hop-by-hop fields kept: Connection: upgrade and Upgrade.
    const sent = up.heads[0]!;
    expect(sent).toMatch(/^GET \/ws HTTP\/1\.1\r\n/);
    expect(sent).toMatch(/\r\nConnection: upgrade\r\n/);
    expect(sent).toMatch(/\r\nUpgrade: echo\r\n/);
    expect(sent).not.toMatch(/keep-alive/i);
    s.write('more|');
    expect(await got.until((b) => b.endsWith('MORE|'))).toBe(true);
    expect(server.http.connections).toBe(0);
    expect(server.proxy.pools.stats().every((p) => p.busy === 0 && p.idle === 0)).toBe(true);
    // Half-close: the client's FIN reaches the upstream, whose answer and FIN come back.
    s.end();
    expect(await got.until((b) => b.endsWith('bye'))).toBe(true);
    expect(await waitClose(s)).toBe(true);
    expect(got.ended).toBe(true);
    expect(await up.closedCount(1)).toBe(true);
    expect(await settled(server)).toBe(true);
  });

  it('an upstream that closes takes the client with it, and a client reset takes the upstream', async () => {
    const { up, server, port } = await setup(() => SWITCH);
    const a = await client(port);
    const gotA = received(a);
    a.write(upgrade('/a'));
    expect(await gotA.until((b) => b.includes('\r\n\r\n'))).toBe(true);
    expect(up.tunnelled).toHaveLength(1);
    for (const sock of up.sockets) sock.destroy();
    expect(await waitClose(a)).toBe(true);

    const b = await client(port);
    const gotB = received(b);
    b.write(upgrade('/b'));
    expect(await gotB.until((x) => x.includes('\r\n\r\n'))).toBe(true);
    b.resetAndDestroy();
    expect(await up.closedCount(2)).toBe(true);
    expect(await settled(server)).toBe(true);
  });

  it('a 101 never written (its connection ends first) leaves no upstream socket behind', async () => {
    const { up, server, port } = await setup((head) => (head.startsWith('GET /slow') ? null : SWITCH));
    // The Upgrade waits in the pipeline behind a request whose answer never comes.
    const s = await client(port);
    received(s);
    s.write(get('/slow') + upgrade('/ws'));
    expect(await up.closedCount(0)).toBe(true);
    for (let i = 0; i < 100 && up.heads.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(up.heads.map((h) => h.split(' ')[1])).toEqual(['/slow', '/ws']);
    await server.close(50);
    expect(await up.closedCount(2)).toBe(true);
    expect(tunnels.open).toBe(0);
    expect(server.proxy.pools.stats()).toEqual([]);
  });

  it('a 101, bytes and the upstream\'s FIN in one packet: the client gets all three, and may still send', async () => {
    const got: string[] = [];
    const up = await fakeUpstream({
      raw: (socket) => {
        socket.once('data', () => {
          socket.end(SWITCH + 'last words');
          socket.on('data', (c: Buffer) => got.push(c.toString()));
        });
      },
    });
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const s = await client(port, true);
    const r = received(s);
    s.write(upgrade('/ws'));
    expect(await r.until(() => r.ended)).toBe(true);
    expect(r.bytes().split('\r\n\r\n')[1]).toBe('last words');
    // Half-closed by the upstream only: the client's bytes still reach it.
    s.end('after');
    for (let i = 0; i < 100 && got.join('') !== 'after'; i++) await new Promise((res) => setTimeout(res, 10));
    expect(got.join('')).toBe('after');
    expect(await waitClose(s)).toBe(true);
    expect(await settled(server)).toBe(true);
  });

  it('any answer but 101 is relayed as a normal reply, and HTTP goes on', async () => {
    const { port, server } = await setup((head) => head.startsWith('GET /refuse')
      ? 'HTTP/1.1 426 Upgrade Required\r\nUpgrade: other\r\nContent-Length: 4\r\n\r\nnope'
      : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const r = await exchange(port, upgrade('/refuse') + get('/next'), { responses: 2 });
    expect(r.responses.map((x) => [x.status, x.body.toString()])).toEqual([[426, 'nope'], [200, 'ok']]);
    expect(r.responses[0]!.headers.upgrade).toBeUndefined();
    const bad = await exchange(port, upgrade('/x', 'X: 1\r\n').replace('GET /x', 'GET /refuse'), { responses: 1 });
    expect(bad.responses[0]!.status).toBe(426);
    expect(server.http.connections).toBeLessThanOrEqual(1);
  });
});
