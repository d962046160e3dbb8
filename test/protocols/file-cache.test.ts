// The memory cache of the FILE module (libwww's HyperDoc on the anchor): a
// hit touches no file system (an injected fs counts every call), replies with
// a Buffer, is kept fresh by directory watches (file-watch.test.ts) or, where
// none covers it, by one stat per request, is bounded by size with
// least-recent-use eviction, and is flushed on restart.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Request } from '../../src/request.js';
import type { FileCache, FileDocument } from '../../protocols/file-cache.js';
import { parseRules } from '../../src/rules/index.js';
import { APP_JS, CountingFs, GET, fetchRaw, fileRoot, req, startServer, stopServers } from './file-helpers.js';

let fx: ReturnType<typeof fileRoot>;
let counting: CountingFs;
let clock: number;
const now = () => clock;

beforeAll(() => {
  fx = fileRoot();
  fs.mkdirSync(path.join(fx.root, 'lru'));
  for (const n of ['a', 'b', 'c', 'd']) fs.writeFileSync(path.join(fx.root, 'lru', `${n}.bin`), Buffer.alloc(1000, n));
  fs.writeFileSync(path.join(fx.root, 'exact.bin'), Buffer.alloc(64 * 1024, 1));
  fs.writeFileSync(path.join(fx.root, 'over.bin'), Buffer.alloc(64 * 1024 + 1, 2));
  fs.writeFileSync(path.join(fx.root, 'text.txt'), 'compress me, please. '.repeat(2000));
  fs.mkdirSync(path.join(fx.root, 'many'));
  for (let i = 0; i < 80; i++) fs.writeFileSync(path.join(fx.root, 'many', `${i}.bin`), Buffer.alloc(10 * 1024, i));
});
afterAll(() => fx.cleanup());
beforeEach(() => {
  counting = new CountingFs();
  clock = 1_000_000;
});
afterEach(stopServers);

const start = (rules = 'Pass /*', file: Record<string, unknown> = {}) => startServer(fx.root, rules, { file: { fs: counting.fs, now, ...file } });

function request(target: string, headers: Record<string, string> = {}, method = 'GET'): Request {
  return new Request({ method, target, versionMinor: 1, headers: { host: 't', ...headers }, rawHeaders: [], bodyLength: 0 });
}

describe('a hit', () => {
  it('makes no file system call, whatever the request asks of the document', async () => {
    const { port } = await start();
    const first = await GET(port, '/hello.txt');
    expect(counting.total).toBeGreaterThan(0);
    counting.reset();
    const variants: Array<Record<string, string>> = [
      {},
      { 'If-None-Match': first.headers.etag! },
      { 'If-Modified-Since': first.headers['last-modified']! },
      { Range: 'bytes=0-4' },
      { Range: 'bytes=0-1,5-6' },
      { 'Accept-Encoding': 'gzip' },
      { 'If-Match': '"other"' },
    ];
    const statuses = [];
    for (const headers of variants) statuses.push((await GET(port, '/hello.txt', headers)).status);
    statuses.push((await fetchRaw(port, req('HEAD', '/hello.txt'), true)).status);
    expect(statuses).toEqual([200, 304, 304, 206, 206, 200, 412, 200]);
    expect(Object.fromEntries(counting.calls)).toEqual({});
  });

  it('keeps the realpath: a symlinked document and a Welcome file are hits too', async () => {
    const { port } = await start();
    for (const target of ['/inside-link.txt', '/site/', '/app.js']) {
      await GET(port, target, { 'Accept-Encoding': 'br' });
      counting.reset();
      const r = await GET(port, target, { 'Accept-Encoding': 'br' });
      expect(r.status).toBe(200);
      expect([target, counting.total]).toEqual([target, 0]);
    }
  });

  it('is answered at once, without a promise, while its directory is watched, however much time passes', async () => {
    const { server } = await start();
    const first = server.handle(request('/page.html'));
    expect(typeof (first as Partial<Promise<unknown>>).then).toBe('function'); // a miss waits for the disk
    await first;
    counting.reset();
    for (const later of [0, 1000, 3_600_000]) {
      clock += later;
      const hit = server.handle(request('/page.html'));
      expect(typeof (hit as Partial<Promise<unknown>>).then).toBe('undefined');
      expect(hit).toMatchObject({ status: 200, length: 10 });
    }
    expect(counting.total).toBe(0);
  });

  it('waits for one stat on every request when no watch covers it', async () => {
    const { server } = await start('Pass /*', { watch: null });
    await server.handle(request('/page.html'));
    counting.reset();
    for (let i = 1; i <= 3; i++) {
      const due = server.handle(request('/page.html'));
      expect(typeof (due as Partial<Promise<unknown>>).then).toBe('function');
      expect(await due).toMatchObject({ status: 200, length: 10 });
      expect(counting.calls.get('stat')).toBe(i);
    }
  });

  it('replies with a Buffer body (head and body leave in one write); a big miss streams', async () => {
    const { server } = await start();
    await server.handle(request('/page.html'));
    const hit = await server.handle(request('/page.html'));
    expect(Buffer.isBuffer(hit.body)).toBe(true);
    expect(hit.length).toBe(10);
    const big = await server.handle(request('/big.bin'));
    expect(big.body).toBeInstanceOf(Readable);
    (big.body as Readable).destroy();
  });

  it('serves sidecars and on-the-fly encodings from memory, charged to the total', async () => {
    const { port, server } = await start();
    const first = await GET(port, '/text.txt', { 'Accept-Encoding': 'gzip' });
    expect(first.headers['content-encoding']).toBe('gzip');
    const size = fs.statSync(path.join(fx.root, 'text.txt')).size;
    // Charged when the stack added it, before any further request.
    expect(server.file.cache.total).toBe(size + first.body.length);
    counting.reset();
    const again = await GET(port, '/text.txt', { 'Accept-Encoding': 'gzip' });
    expect(again.body.equals(first.body)).toBe(true);
    expect(gunzipSync(again.body).length).toBe(size);
    expect(counting.total).toBe(0);
    expect(server.file.cache.total).toBe(size + first.body.length);
    const br = await GET(port, '/app.js', { 'Accept-Encoding': 'br' });
    counting.reset();
    expect((await GET(port, '/app.js', { 'Accept-Encoding': 'br' })).body.equals(br.body)).toBe(true);
    expect((await GET(port, '/app.js')).body.toString()).toBe(APP_JS);
    expect(counting.total).toBe(0);
  });
});

describe('a cold document asked for by many at once', () => {
  it('is read once; the others wait for that load', async () => {
    const { port } = await start();
    const replies = await Promise.all(Array.from({ length: 20 }, () => GET(port, '/long.txt')));
    expect(new Set(replies.map((r) => r.body.length))).toEqual(new Set([fs.statSync(path.join(fx.root, 'long.txt')).size]));
    expect(counting.log.filter((l) => l.startsWith('open ') && l.endsWith('/long.txt')).length).toBe(1);
  });
});

describe('bounds', () => {
  it('keeps documents up to cacheMaxFile, not one byte more', async () => {
    const { port } = await start('Pass /*', { cacheMaxFile: 64 * 1024 });
    for (const [name, cached] of [['exact.bin', true], ['over.bin', false]] as const) {
      await GET(port, `/${name}`);
      counting.reset();
      await GET(port, `/${name}`);
      expect([name, counting.total === 0]).toEqual([name, cached]);
    }
  });

  it('evicts the least recently used past cacheMaxTotal', async () => {
    const { port, server } = await start('Pass /*', { cacheMaxTotal: 3500 });
    for (const n of ['a', 'b', 'c', 'a', 'd']) await GET(port, `/lru/${n}.bin`);
    expect(server.file.cache.count).toBe(3);
    expect(server.file.cache.total).toBe(3000);
    const missed: string[] = [];
    for (const n of ['a', 'c', 'd', 'b']) {
      counting.reset();
      const r = await GET(port, `/lru/${n}.bin`);
      expect(r.body.equals(Buffer.alloc(1000, n))).toBe(true);
      if (counting.total > 0) missed.push(n);
    }
    expect(missed).toEqual(['b']); // b was the oldest when d came in
  });

  it('keeps nothing with cacheMaxFile 0', async () => {
    const { port, server } = await start('Pass /*', { cacheMaxFile: 0 });
    await GET(port, '/hello.txt');
    counting.reset();
    await GET(port, '/hello.txt');
    expect(counting.total).toBeGreaterThan(0);
    expect(server.file.cache.count).toBe(0);
  });
});

describe('the rule file sets the bounds', () => {
  it('CacheMaxFile and CacheSize reach the cache', async () => {
    const off = await start('CacheMaxFile 0\nPass /*');
    await GET(off.port, '/hello.txt');
    expect(off.server.file.cache.count).toBe(0);
    const small = await start('CacheSize 2500\nPass /*');
    for (const n of ['a', 'b', 'c']) await GET(small.port, `/lru/${n}.bin`);
    expect(small.server.file.cache.total).toBeLessThanOrEqual(2500);
  });
});

/**
 * Checks the cache's list after every put and touch. A broken list would make
 * the next eviction spin for ever, in this very process: at the first broken
 * invariant the error is kept and the cache stops linking anything.
 */
function tripwire(cache: FileCache): { broken: Error | null } {
  const state: { broken: Error | null } = { broken: null };
  for (const name of ['put', 'touch'] as const) {
    const original = cache[name].bind(cache) as (doc: FileDocument) => boolean;
    cache[name] = (doc: FileDocument): boolean => {
      if (state.broken !== null) return false;
      const result = original(doc);
      try {
        cache.check();
      } catch (err) {
        state.broken = err as Error;
      }
      return result;
    };
  }
  return state;
}

describe('a document evicted while its stat is in flight', () => {
  it('is not linked back: CacheSize 256K, 20 of 80 files stat\'ed (unwatched), all 80 at once', async () => {
    const { port, server } = await start('CacheSize 256K\nPass /*', { watch: null });
    const cache = server.file.cache;
    const trip = tripwire(cache);
    const target = (i: number) => `/many/${i}.bin`;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) await GET(port, target(i));
      // The 20 stats wait until the 60 misses have been read and have evicted them. Only
      // theirs: a miss whose file is still cached from the last round (its request parsed
      // before the loads that evict it) stats too, and must not wait for the misses.
      let release!: () => void;
      const stats = new Promise<void>((resolve) => (release = resolve));
      const due20 = new Set(Array.from({ length: 20 }, (_, i) => path.join('many', `${i}.bin`)));
      let held = 0;
      counting.hold.stat = (file) => ([...due20].some((d) => file.endsWith(path.sep + d)) ? (held++, stats) : undefined);
      const due = Array.from({ length: 20 }, (_, i) => GET(port, target(i)));
      const misses = await Promise.all(Array.from({ length: 60 }, (_, i) => GET(port, target(20 + i))));
      release();
      const replies = [...(await Promise.all(due)), ...misses];
      counting.hold = {};
      expect(held).toBeGreaterThanOrEqual(20);
      expect(trip.broken).toBeNull();
      replies.forEach((r, i) => expect([i, r.status, r.body.equals(Buffer.alloc(10 * 1024, i))]).toEqual([i, 200, true]));
      cache.check();
      expect(cache.total).toBeLessThanOrEqual(256 * 1024);
    }
  });
});

describe('revalidation where no watch covers the document', () => {
  it('one stat on every request, no time window; a change reloads it at once', async () => {
    const file = path.join(fx.root, 'changing.txt');
    fs.writeFileSync(file, 'version one\n');
    const { port } = await start('Pass /*', { watch: null });
    expect((await GET(port, '/changing.txt')).body.toString()).toBe('version one\n');
    fs.writeFileSync(file, 'version two, longer\n');
    counting.reset();
    expect((await GET(port, '/changing.txt')).body.toString()).toBe('version two, longer\n');
    expect(counting.calls.get('stat')).toBe(1);
    // Unchanged: exactly one stat, no open.
    counting.reset();
    expect((await GET(port, '/changing.txt')).body.toString()).toBe('version two, longer\n');
    expect(Object.fromEntries(counting.calls)).toEqual({ stat: 1 });
    // Same size, new mtime: reloaded too.
    fs.writeFileSync(file, 'version 3, longer!! \n');
    const t = new Date(Date.now() + 10_000);
    fs.utimesSync(file, t, t);
    expect((await GET(port, '/changing.txt')).body.toString()).toBe('version 3, longer!! \n');
  });

  it('drops a document whose file vanished', async () => {
    const file = path.join(fx.root, 'vanishing.txt');
    fs.writeFileSync(file, 'here\n');
    const { port, server } = await start('Pass /*', { watch: null });
    expect((await GET(port, '/vanishing.txt')).status).toBe(200);
    fs.unlinkSync(file);
    expect((await GET(port, '/vanishing.txt')).status).toBe(404);
    expect(server.file.cache.count).toBe(0);
  });

  it('a PUT drops every document read from the file, the Welcome of its directory too', async () => {
    fs.writeFileSync(path.join(fx.root, 'site', 'index.html'), '<h1>welcome</h1>\n');
    const { port } = await start('Pass /*\nEnable PUT /site/*');
    expect((await GET(port, '/site/')).body.toString()).toBe('<h1>welcome</h1>\n');
    expect((await fetchRaw(port, req('PUT', '/site/index.html', {}, '<h1>new</h1>\n'))).status).toBe(204);
    expect((await GET(port, '/site/')).body.toString()).toBe('<h1>new</h1>\n');
    fs.writeFileSync(path.join(fx.root, 'site', 'index.html'), '<h1>welcome</h1>\n');
  });

  it('a PUT of a new sidecar drops the document that had none', async () => {
    fs.writeFileSync(path.join(fx.root, 'site', 'plain.css'), 'p{}\n'.repeat(400));
    const { port } = await start('Pass /*\nEnable PUT /site/*');
    const gz = { 'Accept-Encoding': 'gzip' };
    expect((await GET(port, '/site/plain.css', gz)).headers.vary).toBe('Accept-Encoding');
    const sidecar = gzipSync('q{}\n');
    expect((await fetchRaw(port, req('PUT', '/site/plain.css.gz', {}, sidecar))).status).toBe(201);
    const r = await GET(port, '/site/plain.css', gz);
    expect(r.body.equals(sidecar)).toBe(true);
  });

  it('resolves the realpath of a file it does not keep on every request (no memo to go stale)', async () => {
    const { port } = await start();
    for (let i = 0; i < 2; i++) {
      counting.reset();
      await GET(port, '/big.bin');
      expect(Object.fromEntries(counting.calls)).toMatchObject({ realpath: 2, open: 1 }); // the root's and the file's
    }
  });
});

describe('flush', () => {
  it('empties the cache on flush() and on a rules swap (SIGHUP)', async () => {
    const { port, server } = await start();
    await GET(port, '/hello.txt');
    expect(server.file.cache.count).toBe(1);
    server.file.flush();
    expect([server.file.cache.count, server.file.cache.total]).toEqual([0, 0]);
    counting.reset();
    await GET(port, '/hello.txt');
    expect(counting.total).toBeGreaterThan(0);
    server.setRules(parseRules('Pass /*', '/virtual/test.rules', { serverRoot: fx.root }));
    expect(server.file.cache.count).toBe(0);
    counting.reset();
    await GET(port, '/hello.txt');
    expect(counting.total).toBeGreaterThan(0);
  });

  it('takes CacheMaxFile and CacheSize from the new rules on a swap (SIGHUP)', async () => {
    const rules = (extra: string) => parseRules(`${extra}\nPass /*`, '/virtual/test.rules', { serverRoot: fx.root });
    const { port, server } = await startServer(fx.root, 'CacheMaxFile 0\nPass /*', { file: { fs: counting.fs, now } });
    await GET(port, '/exact.bin');
    expect(server.file.cache.count).toBe(0);
    server.setRules(rules('CacheMaxFile 64K\nCacheSize 1M'));
    expect([server.file.cache.maxFile, server.file.cache.maxTotal]).toEqual([64 * 1024, 1024 * 1024]);
    await GET(port, '/exact.bin');
    await GET(port, '/over.bin');
    expect(server.file.cache.count).toBe(1);
    counting.reset();
    expect((await GET(port, '/exact.bin')).body.length).toBe(64 * 1024);
    expect(counting.total).toBe(0);
    // No directive: the defaults again.
    server.setRules(rules(''));
    expect([server.file.cache.maxFile, server.file.cache.maxTotal]).toEqual([1024 * 1024, 64 * 1024 * 1024]);
    await GET(port, '/over.bin');
    expect(server.file.cache.count).toBe(1);
  });

  it('keeps bounds given in the options over the rules on a swap', async () => {
    const { server } = await startServer(fx.root, 'Pass /*', { file: { fs: counting.fs, now, cacheMaxFile: 2000 } });
    server.setRules(parseRules('CacheMaxFile 64K\nCacheSize 2M\nPass /*', '/virtual/test.rules', { serverRoot: fx.root }));
    expect([server.file.cache.maxFile, server.file.cache.maxTotal]).toEqual([2000, 2 * 1024 * 1024]);
  });

  it('lowering the bounds drops what no longer fits at once', async () => {
    const { port, server } = await start();
    for (const n of ['a', 'b', 'c']) await GET(port, `/lru/${n}.bin`);
    await GET(port, '/exact.bin');
    expect(server.file.cache.count).toBe(4);
    server.file.setCacheLimits(1000, 2000);
    expect(server.file.cache.count).toBe(2);
    expect(server.file.cache.total).toBeLessThanOrEqual(2000);
  });
});
