// The FILE module and the HTTP cache share one memory cache (src/cache/),
// seen over the wire: an encoded variant the stack makes is counted as soon
// as it is made (the status page says so before any further request), and
// an entry evicted by the bound leaves its anchor empty, so the next request
// misses and reads the file again / goes upstream again.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { caching, cleanup } from './fixtures.js';
import { exchange } from '../helpers/wire.js';
import { CountingFs, GET, fileRoot, startServer, stopServers } from '../protocols/file-helpers.js';
import type { FileDocument } from '../../protocols/file-cache.js';

let fx: ReturnType<typeof fileRoot>;
const TEXT = 'the same words, again and again. '.repeat(300);

beforeAll(() => {
  fx = fileRoot();
  fs.writeFileSync(path.join(fx.root, 'words.txt'), TEXT);
  fs.mkdirSync(path.join(fx.root, 'lru'));
  for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(fx.root, 'lru', `${n}.bin`), Buffer.alloc(1000, n));
});
afterAll(() => fx.cleanup());
afterEach(async () => {
  await stopServers();
  await cleanup();
});

/** The status page's JSON, over the wire. */
async function status(port: number): Promise<{ cache: { bytes: number; documents: number }; proxyCache: { bytes: number; entries: number } }> {
  const r = await GET(port, '/server-status', { Accept: 'application/json' });
  expect(r.status).toBe(200);
  return JSON.parse(r.body.toString());
}

describe('an encoded variant is counted when it is made', () => {
  it('a cached file: the first gzip request adds the gzip bytes to the count at once', async () => {
    const { port, server } = await startServer(fx.root, 'Status /server-status\nPass /*');
    expect((await GET(port, '/words.txt')).body.toString()).toBe(TEXT);
    expect((await status(port)).cache.bytes).toBe(TEXT.length);
    const gz = await GET(port, '/words.txt', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(TEXT);
    // No request for the file since: the count already holds the variant.
    const now = await status(port);
    expect(now.cache).toMatchObject({ documents: 1, bytes: TEXT.length + gz.body.length });
    expect(server.file.cache.total).toBe(TEXT.length + gz.body.length);
    server.file.cache.check();
  });

  it('a cached proxied response: the first gzip hit adds the gzip bytes to the count at once', async () => {
    const s = await caching(() => ({ fields: ['Cache-Control: max-age=100', 'Content-Type: text/plain'], body: TEXT }), 'Status /server-status');
    expect((await s.get('/p')).body.toString()).toBe(TEXT);
    const stored = (await status(s.port)).proxyCache;
    expect(stored.entries).toBe(1);
    const gz = await s.get('/p', 'Accept-Encoding: gzip\r\n');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['cache-status']).toContain('hit');
    expect(gunzipSync(gz.body).toString()).toBe(TEXT);
    const now = (await status(s.port)).proxyCache;
    expect(now).toMatchObject({ entries: 1, bytes: stored.bytes + gz.body.length });
    expect(s.count).toBe(1);
    s.server.proxyCache.store.cache.check();
  });

  it('a variant that would pass the bound evicts at once: the count never exceeds ProxyCacheSize', async () => {
    // 64 KiB: eight responses of 6000 hardly compressible bytes (about 7 KiB
    // each, with their fields) fit; their gzip variants (about 4.5 KiB each)
    // do not, and each one made on a hit must push out the oldest at once.
    const bodies = Array.from({ length: 8 }, () => randomBytes(4500).toString('base64'));
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=100', 'Content-Type: text/plain'], body: bodies[Number(req.target.slice(1))] }), 'Status /server-status', 64 * 1024);
    for (let i = 0; i < 8; i++) await s.get(`/${i}`);
    const store = s.server.proxyCache.store;
    expect([store.count, store.evictions]).toEqual([8, 0]);
    for (let i = 4; i < 8; i++) {
      const gz = await s.get(`/${i}`, 'Accept-Encoding: gzip\r\n');
      expect(gz.headers['cache-status']).toContain('hit');
      expect(gunzipSync(gz.body).toString()).toBe(bodies[i]);
      // Before any further request for a stored response: counted, and within the bound.
      expect((await status(s.port)).proxyCache.bytes).toBeLessThanOrEqual(64 * 1024);
      store.cache.check();
    }
    expect(store.evictions).toBeGreaterThan(0);
    expect(store.select('http://cache.test/0', {}).entry).toBeNull();
  });
});

describe('Vary: several entries on one anchor', () => {
  const answer = (req: { headers: Record<string, string | undefined> }) => ({
    fields: ['Cache-Control: max-age=100', 'Content-Type: text/plain', 'Vary: X-Id'],
    body: `id ${req.headers['x-id']}: ${TEXT}`,
  });

  it('each keeps its own encoded variants, counted at once, and a hit on one never gets the other\'s bytes', async () => {
    const s = await caching(answer, 'Status /server-status');
    for (const id of ['1', '2']) await s.get('/v', `X-Id: ${id}\r\n`);
    const store = s.server.proxyCache.store;
    const [one, two] = ['1', '2'].map((id) => store.select('http://cache.test/v', { 'x-id': id }).entry!);
    expect(one!.anchor).toBe(two!.anchor);
    const before = (await status(s.port)).proxyCache.bytes;
    for (const id of ['1', '2', '1', '2', '2', '1']) {
      const gz = await s.get('/v', `X-Id: ${id}\r\nAccept-Encoding: gzip\r\n`);
      expect(gz.headers['cache-status']).toContain('hit');
      expect(gunzipSync(gz.body).toString()).toBe(`id ${id}: ${TEXT}`);
    }
    expect(one!.memory!.bodies.has('gzip')).toBe(true);
    expect(two!.memory!.bodies.has('gzip')).toBe(true);
    const variants = one!.memory!.bodies.get('gzip')!.length + two!.memory!.bodies.get('gzip')!.length;
    expect((await status(s.port)).proxyCache.bytes).toBe(before + variants);
    expect(s.count).toBe(2);
    store.cache.check([one!.anchor!]);
  });

  it('pipelined hits on two entries of one anchor, each encoded afresh: every reply has its own bytes', async () => {
    const s = await caching(answer);
    for (const id of ['1', '2']) await s.get('/v', `X-Id: ${id}\r\n`);
    const ids = ['1', '2', '2', '1', '1', '2'];
    const raw = ids.map((id) => `GET /v HTTP/1.1\r\nHost: cache.test\r\nX-Id: ${id}\r\nAccept-Encoding: gzip\r\n\r\n`).join('');
    const r = await exchange(s.port, raw, { responses: ids.length });
    expect(r.responses.map((x) => gunzipSync(x.body).toString())).toEqual(ids.map((id) => `id ${id}: ${TEXT}`));
    expect(s.count).toBe(2);
    const store = s.server.proxyCache.store;
    store.cache.check([store.select('http://cache.test/v', { 'x-id': '1' }).entry!.anchor!]);
  });
});

describe('an evicted entry leaves its anchor empty, and the next request misses', () => {
  it('files: CacheSize 2500, three files of 1000 bytes: the first is evicted, its anchor holds nothing, and it is read again', async () => {
    const counting = new CountingFs();
    const { port, server } = await startServer(fx.root, 'CacheSize 2500\nPass /*', { file: { fs: counting.fs } });
    await GET(port, '/lru/a.bin');
    const [a] = server.file.cache.check() as FileDocument[];
    expect(a!.anchor.document).toBe(a);
    await GET(port, '/lru/b.bin');
    await GET(port, '/lru/c.bin');
    expect(a!.inCache).toBe(false);
    expect(a!.anchor.document).toBeUndefined();
    expect(server.file.cache.check(server.file.cache.check().map((d) => d.anchor).concat(a!.anchor)).length).toBe(2);
    counting.calls.clear();
    const again = await GET(port, '/lru/a.bin');
    expect(again.body.equals(Buffer.alloc(1000, 'a'))).toBe(true);
    expect(counting.calls.get('open')).toBeGreaterThan(0);
    expect(a!.anchor.document).not.toBe(a);
    expect(server.file.cache.total).toBeLessThanOrEqual(2500);
  });

  it('proxied responses invalidated by a POST (§4.4): every Vary entry leaves the anchor, with its encoded variants, and the next GET goes upstream', async () => {
    const s = await caching((req) => (req.method === 'GET'
      ? { fields: ['Cache-Control: max-age=100', 'Content-Type: text/plain', 'Vary: X-Id'], body: `${req.index} ${TEXT}` }
      : { status: 204 }), 'Enable POST /*\nStatus /server-status');
    for (const id of ['1', '2']) {
      await s.get('/p', `X-Id: ${id}\r\n`);
      expect((await s.get('/p', `X-Id: ${id}\r\nAccept-Encoding: gzip\r\n`)).headers['content-encoding']).toBe('gzip');
    }
    const store = s.server.proxyCache.store;
    const anchor = store.select('http://cache.test/p', { 'x-id': '1' }).entry!.anchor!;
    expect([...store.cache.on(anchor)].length).toBe(2);
    await s.get('/p', 'Content-Length: 0\r\n', 'POST');
    expect(anchor.document).toBeUndefined();
    expect((await status(s.port)).proxyCache).toMatchObject({ entries: 0, bytes: 0 });
    store.cache.check([anchor]);
    const before = s.count;
    expect((await s.get('/p', 'X-Id: 1\r\n')).headers['cache-status']).toContain('fwd=uri-miss');
    expect(s.count).toBe(before + 1);
  });

  it('proxied responses: ProxyCacheSize 64K, traffic that evicts: the evicted anchors hold no document, and the next request goes upstream', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=1000'], body: `${req.target} `.padEnd(6000, '.') }), '', 64 * 1024);
    const store = s.server.proxyCache.store;
    await s.get('/0');
    const first = store.select('http://cache.test/0', {}).entry!;
    const anchor = first.anchor!;
    expect(anchor.document).toBe(first.memory);
    for (let i = 1; i < 15; i++) await s.get(`/${i}`);
    expect(store.evictions).toBeGreaterThan(0);
    expect(store.select('http://cache.test/0', {}).entry).toBeNull();
    // Nothing left on the anchor that the cache no longer counts.
    expect(anchor.document).toBeUndefined();
    expect(first.memory!.inCache).toBe(false);
    store.cache.check([anchor]);
    const before = s.count;
    const again = await s.get('/0');
    expect(again.body.toString()).toBe('/0 '.padEnd(6000, '.'));
    expect(again.headers['cache-status']).toContain('fwd=uri-miss');
    expect(s.count).toBe(before + 1);
    expect(store.bytes).toBeLessThanOrEqual(64 * 1024);
  });
});
