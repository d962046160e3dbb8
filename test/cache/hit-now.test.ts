// A fresh hit in memory is answered at once: Server.handle returns the reply
// itself, with no promise between (as the FILE module's memory hits are).
// Anything that must wait (a miss, a stale entry to validate, a precondition
// the origin evaluates) still gets a promise, and the same reply handle()
// would give.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup } from './fixtures.js';
import { Request } from '../../src/request.js';

afterEach(cleanup);

function request(target: string, headers: Record<string, string> = {}, method = 'GET'): Request {
  return new Request({ method, target, versionMinor: 1, headers: { host: 'cache.test', ...headers }, rawHeaders: [], bodyLength: 0 });
}

describe('a fresh hit', () => {
  it('is a reply, not a promise; a miss, a stale entry and If-Match are promises', async () => {
    const s = await caching((req) => ({ fields: ['ETag: "v1"', 'Cache-Control: max-age=10'], body: `body ${req.index}` }));
    const miss = s.server.handle(request('/d'));
    expect(miss).toBeInstanceOf(Promise);
    expect((await miss).status).toBe(200);
    // The miss's body is stored as it is read: read it through the wire once.
    await s.get('/d');
    const hit = s.server.handle(request('/d'));
    expect(hit).not.toBeInstanceOf(Promise);
    const reply = hit as Exclude<typeof hit, Promise<unknown>>;
    expect(reply.status).toBe(200);
    expect(String(reply.headers['Cache-Status'])).toMatch(/^streamstack; hit; ttl=10/);
    expect(Buffer.isBuffer(reply.body) && reply.body.toString()).toBe('body 1');
    // The client's 304 is answered at once too.
    const notModified = s.server.handle(request('/d', { 'if-none-match': '"v1"' }));
    expect(notModified).not.toBeInstanceOf(Promise);
    expect((notModified as { status: number }).status).toBe(304);
    expect(s.server.handle(request('/d', { 'if-match': '"v1"' }))).toBeInstanceOf(Promise);
    s.clock.advance(20);
    const stale = s.server.handle(request('/d'));
    expect(stale).toBeInstanceOf(Promise);
    expect(String((await stale).headers['Cache-Status'])).toMatch(/fwd=stale/);
  });
});
