// The disk tier (ProxyCacheDir): entries written whole then renamed, read
// back by a new server on the same directory (a restart), torn or foreign
// files never served, invalidation and the bound reaching the files.

import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Clock, write } from './fixtures.js';
import { cleanupDisks, startOnDisk, tempDir, type DiskNode } from './disk-fixtures.js';
import { fakeUpstream, proxyServer, type Fake } from '../proxy/fakes.js';
import { exchange } from '../helpers/wire.js';
import { parseRules } from '../../src/rules/index.js';

afterEach(cleanupDisks);

async function start(up: Fake, clock: Clock, dir: string, extra = ''): Promise<DiskNode> {
  return startOnDisk(up, clock, dir, { extra });
}

/**
 * A server on a fresh directory that has stored /d (fresh for 100 s) and
 * written it to disk; the upstream answers `${prefix}N` to its N-th request.
 */
async function storedOnce(prefix: string) {
  const clock = new Clock();
  const dir = tempDir();
  let n = 0;
  const up = await fakeUpstream((_req, socket) => write(socket, { fields: ['Cache-Control: max-age=100'], body: `${prefix}${++n}` }, clock));
  const a = await start(up, clock, dir);
  await a.get('/d');
  await a.server.proxyCache.disk!.settled();
  return { clock, dir, up, a, upstreamCount: () => n };
}

describe('the disk tier across a restart', () => {
  it('a new server on the same directory answers from what the first one stored', async () => {
    const clock = new Clock();
    const dir = tempDir();
    const up0: { n?: number } = {};
    const up = await fakeUpstream((req, socket) => write(socket, {
      fields: ['Content-Type: text/plain; charset=utf-8', 'Cache-Control: max-age=100', 'ETag: "d1"', 'Vary: Accept-Language'],
      body: `stored ${req.headers['accept-language'] ?? '-'} ${up0.n = (up0.n ?? 0) + 1}`,
    }, clock));
    const a = await start(up, clock, dir);
    await a.get('/d', 'Accept-Language: en\r\n');
    await a.get('/d', 'Accept-Language: fr\r\n');
    await a.server.proxyCache.disk!.settled();
    expect(readdirSync(dir).filter((f) => f.endsWith('.entry')).length).toBe(2);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    clock.advance(30);
    const b = await start(up, clock, dir);
    expect(b.server.proxyCache.store.count).toBe(0);
    const en = await b.get('/d', 'Accept-Language: en\r\n');
    const fr = await b.get('/d', 'Accept-Language: fr\r\n');
    expect(up.requests.length).toBe(2);
    expect(en.body.toString()).toBe('stored en 1');
    expect(fr.body.toString()).toBe('stored fr 2');
    expect(en.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(en.headers.etag).toBe('"d1"');
    expect(en.headers.age).toBe('30');
    expect(en.headers['cache-status']).toBe('streamstack; hit; ttl=70');
    // And it is stale after its time, restart or not.
    clock.advance(80);
    await b.get('/d', 'Accept-Language: en\r\n');
    expect(up.requests.length).toBe(3);
  });

  it('a 304 rewrites the stored file: the new server sees the freshened entry', async () => {
    const clock = new Clock();
    const dir = tempDir();
    const up = await fakeUpstream((req, socket) => write(socket, req.headers['if-none-match'] === '"v1"'
      ? { status: 304, fields: ['ETag: "v1"', 'Cache-Control: max-age=100', 'X-Seen: 304'] }
      : { fields: ['ETag: "v1"', 'Cache-Control: max-age=10'], body: 'v1' }, clock));
    const a = await start(up, clock, dir);
    await a.get('/d');
    clock.advance(20);
    await a.get('/d');
    await a.server.proxyCache.disk!.settled();
    expect(readdirSync(dir).filter((f) => f.endsWith('.entry')).length).toBe(1);
    clock.advance(50);
    const b = await start(up, clock, dir);
    const r = await b.get('/d');
    expect(up.requests.length).toBe(2);
    expect(r.headers['x-seen']).toBe('304');
    expect(r.headers.age).toBe('50');
  });
});

describe('a restart by new rules (SIGHUP)', () => {
  it('empties the memory tier and keeps the disk tier', async () => {
    const { dir, up, a, upstreamCount } = await storedOnce('r');
    a.server.setRules(parseRules(`Proxy /* ${up.origin}/*\nProxyCache /*`, '/virtual/proxy.rules', { serverRoot: tmpdir() }));
    expect(a.server.proxyCache.store.count).toBe(0);
    expect(a.server.proxyCache.disk?.dir).toBe(dir);
    const r = await a.get('/d');
    expect(r.body.toString()).toBe('r1');
    expect(upstreamCount()).toBe(1);
  });
});

describe('never a torn entry', () => {
  it('leftover temporary files, truncated and foreign files are deleted at start, never served', async () => {
    const { clock, dir, up } = await storedOnce('fresh ');
    const [file] = readdirSync(dir);
    const whole = readFileSync(join(dir, file!));
    // A crash mid-write leaves a temporary file; a torn final file (as a crash without the rename would) is shorter.
    writeFileSync(join(dir, `${file}.0123456789ab.tmp`), whole.subarray(0, whole.length - 3));
    writeFileSync(join(dir, file!), whole.subarray(0, whole.length - 3));
    writeFileSync(join(dir, 'feedface.entry'), 'not an entry at all');
    writeFileSync(join(dir, 'badjson.entry'), Buffer.concat([Buffer.from('SSC1'), Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]));
    const b = await start(up, clock, dir);
    expect(b.server.proxyCache.disk!.discarded).toBe(4);
    expect(readdirSync(dir)).toEqual([]);
    const r = await b.get('/d');
    expect(r.body.toString()).toBe('fresh 2');
    expect(up.requests.length).toBe(2);
  });

  it('a file that breaks after start is deleted when read, and the request goes upstream', async () => {
    const { clock, dir, up } = await storedOnce('fresh ');
    const b = await start(up, clock, dir);
    const [file] = readdirSync(dir);
    const bytes = readFileSync(join(dir, file!));
    writeFileSync(join(dir, file!), bytes.subarray(0, bytes.length - 3));
    const r = await b.get('/d');
    expect(r.body.toString()).toBe('fresh 2');
  });
});

describe('invalidation and bounds reach the files', () => {
  it('a POST removes the stored file', async () => {
    const clock = new Clock();
    const dir = tempDir();
    const up = await fakeUpstream((req, socket) => write(socket, { fields: ['Cache-Control: max-age=100'], body: `${req.method} ${req.index}` }, clock));
    const a = await start(up, clock, dir);
    await a.get('/d');
    await a.server.proxyCache.disk!.settled();
    await a.get('/d', 'Content-Length: 0\r\n', 'POST');
    // The invalidation's deletions are among what settled() waits for.
    await a.server.proxyCache.disk!.settled();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('ProxyCacheDir SIZE bounds the files, least recently used deleted first', async () => {
    const clock = new Clock();
    const dir = tempDir();
    const up = await fakeUpstream((req, socket) => write(socket, { fields: ['Cache-Control: max-age=1000'], body: 'z'.repeat(3000) + req.target }, clock));
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*\nProxyCacheDir ${dir} 16K`, { proxyCache: { now: () => clock.now } });
    for (let i = 0; i < 12; i++) {
      await exchange(port, `GET /${i} HTTP/1.1\r\nHost: cache.test\r\n\r\n`, { responses: 1 });
      await server.proxyCache.disk!.settled();
    }
    const disk = server.proxyCache.disk!;
    expect(disk.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(disk.evictions).toBeGreaterThan(0);
    const total = readdirSync(dir).reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
    expect(total).toBeLessThanOrEqual(16 * 1024);
  });
});

describe('a directory that cannot be used', () => {
  it('is reported once, and the cache works in memory', async () => {
    const clock = new Clock();
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    let n = 0;
    const up = await fakeUpstream((_req, socket) => write(socket, { fields: ['Cache-Control: max-age=100'], body: `r${++n}` }, clock));
    const reported: string[] = [];
    const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*`, {
      proxyCache: { now: () => clock.now, dir: join(file, 'cache'), onDiskError: (dir, err) => reported.push(`${dir}: ${(err as NodeJS.ErrnoException).code}`) },
    });
    await server.proxyCache.ready;
    expect(reported).toEqual([`${join(file, 'cache')}: ENOTDIR`]);
    expect(server.proxyCache.disk).toBeNull();
    for (let i = 0; i < 2; i++) await exchange(port, 'GET /d HTTP/1.1\r\nHost: cache.test\r\n\r\n', { responses: 1 });
    expect(n).toBe(1);
  });
});

describe('the directive', () => {
  it('ProxyCacheDir is relative to ServerRoot, SIZE optional', () => {
    const r = parseRules('ServerRoot /srv/site\nProxyCacheDir cache 2G', '/etc/x.rules');
    expect(r.settings.proxyCacheDir).toBe('/srv/site/cache');
    expect(r.settings.proxyCacheDirSize).toBe(2 * 1024 ** 3);
    expect(() => parseRules('ProxyCacheDir cache lots', 'x.rules')).toThrow('x.rules:1: ProxyCacheDir: expected a size');
  });
});
