// The HTTP cache under workers (src/http-cache/peers.ts): two servers on one
// ProxyCacheDir, each with its own memory tier and index, told of each
// other's invalidations, writes and deletions as workers are through their
// primary (asynchronously, a turn of the event loop later). Together they
// must act as one cache: one's invalidation reaches the other's memory, one's
// file is the other's hit, and the directory's bound holds for both.

import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Clock, write } from './fixtures.js';
import { cleanupDisks, startOnDisk, tempDir, type DiskNode } from './disk-fixtures.js';
import { fakeUpstream, type Fake } from '../proxy/fakes.js';
import type { CacheMessage } from '../../src/http-cache/peers.js';

afterEach(cleanupDisks);

/**
 * Two servers on one fresh directory, each telling the other what its cache
 * changed, a turn later (as a worker's message through the primary);
 * `settled()` waits until both have written and followed everything told.
 */
async function pair(up: Fake, clock: Clock, dirSize?: number) {
  const dir = tempDir();
  const a = await startOnDisk(up, clock, dir, { dirSize });
  const b = await startOnDisk(up, clock, dir, { dirSize });
  const inFlight = new Set<Promise<void>>();
  const link = (from: DiskNode, to: DiskNode): void => from.server.proxyCache.setPeers((op, key) => {
    const m: CacheMessage = { streamstack: 'cache', op, key };
    const p: Promise<void> = new Promise<void>((r) => setImmediate(r)).then(() => to.server.proxyCache.fromPeer(m)).finally(() => inFlight.delete(p));
    inFlight.add(p);
  });
  link(a, b);
  link(b, a);
  const settled = async (): Promise<void> => {
    for (;;) {
      await Promise.all([a.server.proxyCache.disk!.settled(), b.server.proxyCache.disk!.settled()]);
      if (inFlight.size === 0) break;
      await Promise.all([...inFlight]);
    }
  };
  return { dir, a, b, settled };
}

/** The entry files in `dir`, and their bytes. */
function onDisk(dir: string): { count: number; bytes: number } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.entry'));
  return { count: files.length, bytes: files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) };
}

describe('workers act as one HTTP cache', () => {
  it('what one stores on disk, the other answers from the disk without asking the upstream', async () => {
    const clock = new Clock();
    let n = 0;
    const up = await fakeUpstream((_req, socket) => write(socket, { fields: ['Cache-Control: max-age=100'], body: `v${++n}` }, clock));
    const { a, b, settled } = await pair(up, clock);
    expect((await a.get('/d')).body.toString()).toBe('v1');
    await settled();
    const r = await b.get('/d');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('v1');
    expect(r.headers['cache-status']).toMatch(/^streamstack; hit/);
    expect(n).toBe(1);
  });

  it("an invalidation in one reaches the other's memory and index: its next GET goes upstream", async () => {
    const clock = new Clock();
    let n = 0;
    const up = await fakeUpstream((req, socket) => write(socket, req.method === 'POST' ? { body: 'posted' } : { fields: ['Cache-Control: max-age=100'], body: `v${++n}` }, clock));
    const { a, b, settled } = await pair(up, clock);
    await a.get('/d');
    await settled();
    // In b's memory as well: answered at once from there from now on.
    expect((await b.get('/d')).body.toString()).toBe('v1');
    expect((await b.get('/d')).headers['cache-status']).toMatch(/^streamstack; hit/);

    expect((await a.get('/d', 'Content-Length: 0\r\n', 'POST')).status).toBe(200);
    await settled();
    const after = await b.get('/d');
    expect(after.body.toString()).toBe('v2');
    expect(after.headers['cache-status']).toMatch(/fwd=uri-miss/);
    await settled();
    expect((await a.get('/d')).body.toString()).toBe('v2');
    expect(n).toBe(2);
  });

  it('the bound of the directory holds for both, and both indexes are the directory, when their recency differs', async () => {
    const clock = new Clock();
    const body = 'x'.repeat(2000);
    const up = await fakeUpstream((_req, socket) => write(socket, { fields: ['Cache-Control: max-age=100'], body }, clock));
    // Three entries fit in 8K.
    const { dir, a, b, settled } = await pair(up, clock, 8 * 1024);
    const both = async (): Promise<void> => {
      await settled();
      const files = onDisk(dir);
      expect(files.bytes).toBeLessThanOrEqual(8 * 1024);
      for (const d of [a, b]) expect({ count: d.server.proxyCache.disk!.count, bytes: d.server.proxyCache.disk!.bytes }).toEqual(files);
    };
    for (const path of ['/d0', '/d1', '/d2']) {
      await a.get(path);
      await both();
    }
    expect(onDisk(dir).count).toBe(3);
    // b reads /d0 from the disk: the most recent in b's eyes, the oldest in a's.
    expect((await b.get('/d0')).headers['cache-status']).toMatch(/^streamstack; hit/);
    await both();
    // The next store puts both over the bound: a evicts its oldest (/d0); b, unless it heard of that
    // first, evicts its own (/d1). Each forgets what the other deleted.
    await a.get('/d3');
    await both();
    for (let i = 4; i < 12; i++) {
      await (i % 2 === 0 ? a : b).get(`/d${i}`);
      await both();
    }
  });
});
