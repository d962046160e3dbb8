// Interim responses from the upstream (100 Continue, 103 Early Hints) are
// relayed to the client in order, before the final reply: only while the
// request is at the head of the client's pipeline and unanswered, never to
// an HTTP/1.0 client, and a 100 only when the client expects one and has
// not had one yet.

import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fakeUpstream, proxyServer, respond } from './fakes.js';
import { exchange, get } from '../helpers/wire.js';

afterEach(cleanup);

const HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\nLink: </app.js>; rel=preload\r\nKeep-Alive: timeout=1\r\n\r\n';

/** Answers each request with `interim` bytes at once, then the final reply after `delay` ms (per path). */
function hinting(interim: string, delay: (target: string) => number = () => 30) {
  return fakeUpstream((req, socket) => {
    socket.write(interim);
    setTimeout(() => respond(socket, 200, `final ${req.target}`), delay(req.target));
  });
}

describe('interim responses', () => {
  it('103 Early Hints reach the client before the final reply, with their fields (hop-by-hop ones dropped)', async () => {
    const up = await hinting(HINTS);
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const r = await exchange(port, get('/page'), { responses: 1 });
    expect(r.responses.map((x) => x.status)).toEqual([103, 200]);
    const hints = r.responses[0]!;
    expect(hints.headers.link).toBe('</style.css>; rel=preload; as=style, </app.js>; rel=preload');
    expect(hints.names).not.toContain('Keep-Alive');
    expect(r.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 103 Early Hints\r\n/);
    expect(r.responses[1]!.body.toString()).toBe('final /page');
  });

  it('two interim responses arrive in the upstream\'s order', async () => {
    const up = await hinting(HINTS + 'HTTP/1.1 103 Early Hints\r\nLink: </second.css>; rel=preload\r\n\r\n');
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const r = await exchange(port, get('/page'), { responses: 1 });
    expect(r.responses.map((x) => x.status)).toEqual([103, 103, 200]);
    expect(r.responses[1]!.headers.link).toBe('</second.css>; rel=preload');
  });

  it('never to an HTTP/1.0 client', async () => {
    const up = await hinting(HINTS);
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const r = await exchange(port, 'GET /old HTTP/1.0\r\n\r\n', { timeout: 2000 });
    expect(r.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.raw.toString('latin1')).not.toContain('103');
  });

  it('dropped for a pipelined request that is not at the head of the queue', async () => {
    const up = await hinting(HINTS, (target) => (target === '/first' ? 150 : 10));
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*`);
    const r = await exchange(port, get('/first') + get('/second'), { responses: 2 });
    // /first was at the head when its hints came; /second's came while /first was still unanswered.
    expect(r.responses.map((x) => x.status)).toEqual([103, 200, 200]);
    expect(r.responses.filter((x) => x.status === 200).map((x) => x.body.toString())).toEqual(['final /first', 'final /second']);
  });

  it('an upstream 100 is never a second 100: the client that expects one gets exactly one', async () => {
    const up = await fakeUpstream((req, socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      respond(socket, 200, `got ${req.body.length}`);
    });
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*\nEnable POST /*`);
    const r = await exchange(port, ['POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', 'hello'], { responses: 1, gap: 50 });
    expect(r.responses.map((x) => x.status)).toEqual([100, 200]);
    expect(r.responses[1]!.body.toString()).toBe('got 5');
    // No Expect: no 100 at all, whatever the upstream sends.
    const plain = await exchange(port, 'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello', { responses: 1 });
    expect(plain.responses.map((x) => x.status)).toEqual([200]);
  });
});
