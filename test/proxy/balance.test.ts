// Upstream groups: round-robin over the members of a Proxy rule, passive
// health (a member that refuses or times out connecting is skipped for a
// while), and the one move to another member for a request that sent
// nothing yet.

import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamGroups, DOWN_FOR } from '../../protocols/http-client-group.js';
import { cleanup, closedPort, fakeUpstream, proxyServer, respond } from './fakes.js';
import { exchange, get } from '../helpers/wire.js';

afterEach(cleanup);

const named = (name: string) => fakeUpstream((req, socket) => respond(socket, 200, `${name} ${req.target}`));

describe('round-robin', () => {
  it('spreads sequential requests over two members in turn', async () => {
    const a = await named('a');
    const b = await named('b');
    const { port } = await proxyServer(`Proxy /* ${a.origin}/* ${b.origin}/*`);
    const served: string[] = [];
    for (let k = 0; k < 6; k++) {
      const ex = await exchange(port, get(`/r${k}`), { responses: 1 });
      served.push(ex.responses[0]!.body.toString());
    }
    expect(served).toEqual(['a /r0', 'b /r1', 'a /r2', 'b /r3', 'a /r4', 'b /r5']);
    expect([a.requests.length, b.requests.length]).toEqual([3, 3]);
    // Each member keeps its own pool: one connection each.
    expect([a.connections, b.connections]).toEqual([1, 1]);
  });
});

describe('passive health', () => {
  it('with one member refusing, every request still succeeds, and it is skipped for a while', async () => {
    const a = await named('a');
    const deadPort = await closedPort();
    const dead = `http://127.0.0.1:${deadPort}`;
    const { server, port } = await proxyServer(`Proxy /* ${dead}/* ${a.origin}/*`);
    for (let k = 0; k < 6; k++) {
      const ex = await exchange(port, get(`/r${k}`), { responses: 1 });
      expect(ex.responses[0]!.status).toBe(200);
      expect(ex.responses[0]!.body.toString()).toBe(`a /r${k}`);
    }
    expect(server.proxy.groups.isDown(dead)).toBe(true);
    // The member comes back at once, but it is left alone until its time is up.
    const back = await fakeUpstream((req, socket) => respond(socket, 200, `back ${req.target}`), deadPort);
    for (let k = 0; k < 4; k++) await exchange(port, get(`/s${k}`), { responses: 1 });
    expect(back.connections).toBe(0);
    expect(a.requests).toHaveLength(10);
  });

  it('a member that times out connecting is skipped too (ProxyConnectTimeout), the request served by another', async () => {
    const a = await named('a');
    const silent = await fakeUpstream({ raw: (socket) => socket.resume() });
    const slow = `https://127.0.0.1:${silent.port}`;
    const { server, port } = await proxyServer(`ProxyConnectTimeout 150ms\nProxy /* ${slow}/* ${a.origin}/*`);
    const started = Date.now();
    const first = await exchange(port, get('/1'), { responses: 1 });
    expect(first.responses[0]!.body.toString()).toBe('a /1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(server.proxy.groups.isDown(slow)).toBe(true);
    const second = Date.now();
    await exchange(port, get('/2'), { responses: 1 });
    expect(Date.now() - second).toBeLessThan(140);
    expect(silent.connections).toBe(1);
  });

  it('a POST that could not be connected is sent to another member, body and all', async () => {
    const a = await fakeUpstream((req, socket) => respond(socket, 201, `a got ${req.body.toString()}`));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const { port } = await proxyServer(`Enable POST /*\nProxy /* ${dead}/* ${a.origin}/*`);
    const ex = await exchange(port, 'POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', { responses: 1 });
    expect(ex.responses[0]!.status).toBe(201);
    expect(ex.responses[0]!.body.toString()).toBe('a got hello');
  });

  it('moves on once only: with every member refusing, 502', async () => {
    const one = `http://127.0.0.1:${await closedPort()}`;
    const two = `http://127.0.0.1:${await closedPort()}`;
    const { port } = await proxyServer(`Proxy /* ${one}/* ${two}/*`);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(502);
  });

  it('an answer with an error status is an answer: no move, no mark', async () => {
    const a = await fakeUpstream((_req, socket) => respond(socket, 503, 'busy'));
    const b = await named('b');
    const { server, port } = await proxyServer(`Proxy /* ${a.origin}/* ${b.origin}/*`);
    const ex = await exchange(port, get('/x'), { responses: 1 });
    expect(ex.responses[0]!.status).toBe(503);
    expect(b.requests).toHaveLength(0);
    expect(server.proxy.groups.isDown(a.origin)).toBe(false);
  });
});

describe('UpstreamGroups', () => {
  const members = ['http://a:1/x', 'http://b:2/x', 'http://c:3/x'];

  it('picks in turn, skips members that are down, and takes them back after DOWN_FOR', () => {
    let now = 1000;
    const groups = new UpstreamGroups(() => now);
    expect([0, 1, 2, 3].map(() => groups.pick(members))).toEqual([members[0], members[1], members[2], members[0]]);
    groups.down('http://b:2');
    expect([0, 1, 2].map(() => groups.pick(members))).toEqual([members[2], members[2], members[0]]);
    now += DOWN_FOR;
    expect(groups.isDown('http://b:2')).toBe(false);
    expect(groups.pick(members)).toBe(members[1]);
  });

  it('when all are down, the rotation is tried as it is; `avoid` is never picked while another remains', () => {
    const groups = new UpstreamGroups(() => 0);
    for (const m of ['http://a:1', 'http://b:2', 'http://c:3']) groups.down(m);
    expect(groups.pick(members)).toBe(members[0]);
    expect(groups.pick(members, 'http://b:2')).toBe(members[2]);
    expect(groups.pick(['http://a:1/', 'http://b:2/'], 'http://a:1')).toBe('http://b:2/');
  });

  it('groups with other members turn separately', () => {
    const groups = new UpstreamGroups();
    expect(groups.pick(['http://a:1/', 'http://b:2/'])).toBe('http://a:1/');
    expect(groups.pick(['http://a:1/', 'http://c:3/'])).toBe('http://a:1/');
    expect(groups.pick(['http://a:1/', 'http://b:2/'])).toBe('http://b:2/');
  });
});
