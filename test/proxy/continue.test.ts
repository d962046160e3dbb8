// `Expect: 100-continue` through the reverse proxy (RFC 9110 §10.1.1): the
// expectation goes upstream with the head; the upstream's 100 is relayed to
// the client, which sends its body only then; a final answer without a 100
// is relayed and the body never reaches the upstream; an upstream silent
// about 100 gets the body after the proxy's wait (CLIENT_DEFAULTS.continueWait),
// with the server's own 100 to a client still waiting, and never two.

import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fakeUpstream, proxyServer, received, type Received } from './fakes.js';
import { parseResponses } from '../helpers/wire.js';
import { CLIENT_DEFAULTS } from '../../protocols/http-client.js';

afterEach(cleanup);

const RULES = (origin: string) => `Proxy /* ${origin}/*\nEnable POST /*`;
const HEAD = 'POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n';
const OWN_100 = 'HTTP/1.1 100 Continue\r\n\r\n';

interface Seen {
  /** Every byte the upstream received, on each connection. */
  bytes: string[];
  /** When the upstream wrote its 100 (ms since the epoch), or 0. */
  sent100At: number;
}

/**
 * A raw upstream: on a complete request head, `onHead` decides (it may
 * write at once, later, or not at all); once the 5-byte body is in, it
 * answers 200 `got BODY` unless `onHead` already gave a final answer.
 */
function upstream(onHead: (socket: net.Socket, seen: Seen) => 'answered' | 'read') {
  const seen: Seen = { bytes: [], sent100At: 0 };
  return fakeUpstream({
    raw: (socket) => {
      const k = seen.bytes.push('') - 1;
      let state: 'head' | 'read' | 'answered' = 'head';
      socket.on('data', (c: Buffer) => {
        seen.bytes[k] += c.toString('latin1');
        const all = seen.bytes[k]!;
        const end = all.indexOf('\r\n\r\n');
        if (end === -1) return;
        if (state === 'head') state = onHead(socket, seen);
        if (state === 'read' && all.length >= end + 4 + 5) {
          state = 'answered';
          const body = `got ${all.slice(end + 4, end + 9)}`;
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        }
      });
    },
  }).then((fake) => Object.assign(fake, { seen }));
}

/** A client that sends the head, and the body only once a 100 (or `waitMs`) came; resolves with what it received. */
async function expectingClient(port: number, opts: { waitMs?: number; bodyAnyway?: boolean } = {}): Promise<{ r: Received; got100At: number; sentBodyAt: number; start: number }> {
  const socket = net.connect(port, '127.0.0.1');
  const r = received(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  const start = Date.now();
  socket.write(HEAD);
  let got100At = 0;
  const answered = await r.until((all) => {
    if (got100At === 0 && all.startsWith('HTTP/1.1 100 ')) got100At = Date.now();
    return got100At !== 0 || /^HTTP\/1\.1 [2-5]/.test(all);
  }, opts.waitMs ?? 4000);
  let sentBodyAt = 0;
  if ((got100At !== 0 || opts.bodyAnyway === true || !answered) && !socket.destroyed) {
    sentBodyAt = Date.now();
    socket.write('hello');
  }
  await r.until((all) => parseResponses(Buffer.from(all, 'latin1')).some((x) => x.status >= 200), 4000);
  // Anything that would follow (a second 100, a reset) has time to arrive.
  await r.until(() => r.closed, 300);
  socket.destroy();
  return { r, got100At, sentBodyAt, start };
}

const count100 = (all: string) => all.split('HTTP/1.1 100 ').length - 1;

describe('Expect: 100-continue through the proxy', () => {
  it('the upstream\'s 100 is relayed to the client, which then sends its body; exactly one 100, before the final', async () => {
    const up = await upstream((socket, seen) => {
      setTimeout(() => {
        seen.sent100At = Date.now();
        socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }, 300);
      return 'read';
    });
    const { port } = await proxyServer(RULES(up.origin));
    const { r, got100At } = await expectingClient(port);
    const all = r.bytes();
    // The relayed 100 (with the proxy's Via), then the final answer: nothing else, nothing before.
    expect(all.startsWith('HTTP/1.1 100 Continue\r\nVia: 1.1 streamstack\r\n\r\nHTTP/1.1 200 OK\r\n')).toBe(true);
    expect(count100(all)).toBe(1);
    expect(parseResponses(Buffer.from(all, 'latin1')).at(-1)!.body.toString()).toBe('got hello');
    // The client heard its 100 only after the upstream sent one.
    expect(up.seen.sent100At).toBeGreaterThan(0);
    expect(got100At).toBeGreaterThanOrEqual(up.seen.sent100At);
    // What the upstream received: the expectation, then the body, on one connection.
    expect(up.seen.bytes).toHaveLength(1);
    const sent = up.seen.bytes[0]!;
    expect(sent).toMatch(/^POST \/up HTTP\/1\.1\r\n/);
    expect(sent).toMatch(/\r\nExpect: 100-continue\r\n/i);
    expect(sent.endsWith('\r\n\r\nhello')).toBe(true);
  });

  it.each([401, 413, 417])('a %i without a 100 is relayed; the body never reaches the upstream, even sent anyway', async (status) => {
    const up = await upstream((socket) => {
      socket.write(`HTTP/1.1 ${status} No\r\nContent-Length: 6\r\n\r\ndenied`);
      return 'answered';
    });
    const { port } = await proxyServer(RULES(up.origin));
    // The client sends its body once it has the answer (an impatient or careless one).
    const { r } = await expectingClient(port, { bodyAnyway: true });
    const all = r.bytes();
    const responses = parseResponses(Buffer.from(all, 'latin1'));
    expect(all.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(count100(all)).toBe(0);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.body.toString()).toBe('denied');
    // The body was never read: the connection cannot go on.
    expect(responses[0]!.headers.connection).toBe('close');
    await r.until(() => r.closed, 2000);
    expect(r.closed).toBe(true);
    // The upstream got the head with the expectation, and not one byte more.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(up.seen.bytes).toHaveLength(1);
    const sent = up.seen.bytes[0]!;
    expect(sent).toMatch(/\r\nExpect: 100-continue\r\n/i);
    expect(sent.endsWith('\r\n\r\n')).toBe(true);
  });

  it('an upstream silent about 100: after the wait, the server\'s own 100 to the waiting client, then the body goes up', async () => {
    const up = await upstream(() => 'read');
    const { port } = await proxyServer(RULES(up.origin));
    const { r, got100At, start } = await expectingClient(port);
    const all = r.bytes();
    expect(all.startsWith(`${OWN_100}HTTP/1.1 200 OK\r\n`)).toBe(true);
    expect(count100(all)).toBe(1);
    expect(parseResponses(Buffer.from(all, 'latin1')).at(-1)!.body.toString()).toBe('got hello');
    // Not before the wait: until then the upstream could still have said 100 or refused.
    expect(got100At - start).toBeGreaterThanOrEqual(CLIENT_DEFAULTS.continueWait - 50);
    expect(got100At - start).toBeLessThan(CLIENT_DEFAULTS.continueWait + 1500);
    expect(up.seen.bytes[0]).toMatch(/\r\nExpect: 100-continue\r\n/i);
    expect(up.seen.bytes[0]!.endsWith('\r\n\r\nhello')).toBe(true);
  });

  it('an upstream 100 that comes after the wait is not a second 100', async () => {
    const up = await upstream((socket, seen) => {
      setTimeout(() => {
        seen.sent100At = Date.now();
        socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }, CLIENT_DEFAULTS.continueWait + 400);
      return 'read';
    });
    // The final answer waits for the late 100 too.
    const { port } = await proxyServer(RULES(up.origin));
    const { r, got100At, start } = await expectingClient(port);
    const all = r.bytes();
    expect(count100(all)).toBe(1);
    expect(all.startsWith(OWN_100)).toBe(true);
    expect(got100At - start).toBeGreaterThanOrEqual(CLIENT_DEFAULTS.continueWait - 50);
    expect(up.seen.bytes[0]).toMatch(/\r\nExpect: 100-continue\r\n/i);
    expect(parseResponses(Buffer.from(all, 'latin1')).at(-1)!.body.toString()).toBe('got hello');
  });

  it('a client that sends its body without waiting gets no 100 from the server; the body goes up after the wait', async () => {
    const up = await upstream(() => 'read');
    const { port } = await proxyServer(RULES(up.origin));
    const socket = net.connect(port, '127.0.0.1');
    const r = received(socket);
    socket.write(HEAD + 'hello');
    await r.until((all) => parseResponses(Buffer.from(all, 'latin1')).some((x) => x.status >= 200), 4000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    const all = r.bytes();
    expect(all.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(count100(all)).toBe(0);
    expect(up.seen.bytes[0]!.endsWith('\r\n\r\nhello')).toBe(true);
  });

  it('an HTTP/1.0 client\'s expectation is ignored: no Expect upstream, no wait, no 100', async () => {
    const up = await upstream(() => 'read');
    const { port } = await proxyServer(RULES(up.origin));
    const socket = net.connect(port, '127.0.0.1');
    const r = received(socket);
    const start = Date.now();
    socket.write('POST /up HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello');
    await r.until((all) => /^HTTP\/1\.1 200 /.test(all) && all.endsWith('got hello'), 4000);
    expect(Date.now() - start).toBeLessThan(CLIENT_DEFAULTS.continueWait);
    socket.destroy();
    expect(count100(r.bytes())).toBe(0);
    expect(up.seen.bytes[0]).not.toMatch(/\r\nExpect:/i);
  });
});
