// The idle timeout of tunnels (an Upgrade's after its 101, a CONNECT's):
// ProxyBodyTimeout of silence both ways closes both sockets; bytes moving
// either way, one way alone included, keep the tunnel open however long.

import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { cleanup, fakeUpstream, proxyServer, received, switchingUpstream } from './fakes.js';
import { sleep, waitClose } from '../helpers/wire.js';
import { tunnels } from '../../protocols/http-tunnel.js';

afterEach(cleanup);

const TIMEOUT = 400;
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n';
const upgrade = 'GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';
const connectTo = (authority: string) => `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`;

function client(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
  });
}

/** Runs `tick` every 100 ms for `ms` ms; resolves with the time of the last tick. */
async function every100(ms: number, tick: (k: number) => void): Promise<number> {
  let last = 0;
  for (let k = 0; k * 100 < ms; k++) {
    last = Date.now();
    tick(k);
    await sleep(100);
  }
  return last;
}

/** ms from `since` until `socket` closes (or -1 after 3 s). */
async function closesAfter(socket: net.Socket, since: number): Promise<number> {
  return (await waitClose(socket, 3000)) ? Date.now() - since : -1;
}

describe('tunnel idle timeout (ProxyBodyTimeout)', () => {
  it('an Upgrade tunnel stays open while bytes flow both ways past the timeout, then closes both sockets after the silence', async () => {
    const up = await switchingUpstream(() => SWITCH);
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyBodyTimeout ${TIMEOUT}ms`);
    const s = await client(port);
    const got = received(s);
    s.write(upgrade);
    expect(await got.until((b) => b.includes('\r\n\r\n'))).toBe(true);
    // Three timeouts' worth of traffic, a message every 100 ms, each echoed.
    const lastWrite = await every100(3 * TIMEOUT, (k) => s.write(`m${k}|`));
    expect(await got.until((b) => b.endsWith(`M${3 * TIMEOUT / 100 - 1}|`))).toBe(true);
    expect(s.destroyed).toBe(false);
    const after = await closesAfter(s, lastWrite);
    expect(after).toBeGreaterThanOrEqual(TIMEOUT - 20);
    expect(after).toBeLessThan(TIMEOUT + 800);
    // The upstream's side went too.
    expect(await up.closedCount(1)).toBe(true);
    for (let i = 0; i < 50 && tunnels.open > 0; i++) await sleep(10);
    expect(tunnels.open).toBe(0);
  });

  it('a CONNECT tunnel where only the upstream speaks stays open while it does, then closes after the silence', async () => {
    let pushing = true;
    let lastPush = 0;
    const up = await fakeUpstream({
      raw: (socket) => {
        void every100(3 * TIMEOUT, (k) => {
          if (!socket.destroyed) socket.write(`p${k}|`);
        }).then((last) => {
          lastPush = last;
          pushing = false;
        });
      },
    });
    const { port } = await proxyServer(`Tunnel 127.0.0.1:${up.port}\nProxyBodyTimeout ${TIMEOUT}ms`);
    const s = await client(port);
    const got = received(s);
    s.write(connectTo(`127.0.0.1:${up.port}`));
    // The client never writes again: one direction alone keeps the tunnel.
    expect(await got.until(() => !pushing, 5000)).toBe(true);
    expect(got.bytes()).toContain(`p${3 * TIMEOUT / 100 - 1}|`);
    expect(s.destroyed).toBe(false);
    const after = await closesAfter(s, lastPush);
    expect(after).toBeGreaterThanOrEqual(TIMEOUT - 20);
    expect(after).toBeLessThan(TIMEOUT + 800);
    expect(await up.closedCount(1)).toBe(true);
  });

  it('a CONNECT tunnel where only the client speaks (the upstream reads silently) stays open while it does', async () => {
    let upstreamGot = '';
    const up = await fakeUpstream({ raw: (socket) => socket.on('data', (c: Buffer) => (upstreamGot += c.toString('latin1'))) });
    const { port } = await proxyServer(`Tunnel 127.0.0.1:${up.port}\nProxyBodyTimeout ${TIMEOUT}ms`);
    const s = await client(port);
    const got = received(s);
    s.write(connectTo(`127.0.0.1:${up.port}`));
    expect(await got.until((b) => b.startsWith('HTTP/1.1 200 '))).toBe(true);
    const lastWrite = await every100(3 * TIMEOUT, (k) => s.write(`c${k}|`));
    expect(s.destroyed).toBe(false);
    const after = await closesAfter(s, lastWrite);
    expect(upstreamGot.endsWith(`c${3 * TIMEOUT / 100 - 1}|`)).toBe(true);
    expect(after).toBeGreaterThanOrEqual(TIMEOUT - 20);
    expect(after).toBeLessThan(TIMEOUT + 800);
    expect(await up.closedCount(1)).toBe(true);
  });
});
