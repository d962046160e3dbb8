// Fixtures of the disk tier's tests (disk.test.ts, peers.test.ts): caching
// proxies with a ProxyCacheDir in a fresh temporary directory, each request
// on its own connection, and the clean-up that waits for their writes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, type Clock } from './fixtures.js';
import { proxyServer, type Fake } from '../proxy/fakes.js';
import { exchange, type RawResponse } from '../helpers/wire.js';
import type { Server } from '../../src/server.js';

const dirs: string[] = [];
const started: Server[] = [];

/** For afterEach: the servers' writes end first, since one still in flight would put a file back in a removed directory. */
export async function cleanupDisks(): Promise<void> {
  await Promise.all(started.splice(0).map((s) => s.proxyCache.disk?.settled()));
  await cleanup();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
}

export interface DiskNode {
  server: Server;
  get(path: string, extra?: string, method?: string): Promise<RawResponse>;
}

/** A caching proxy of every path to `up`, POST enabled, its disk tier in `dir` (of `dirSize` bytes, if given); `extra` rules. */
export async function startOnDisk(up: Fake, clock: Clock, dir: string, options: { extra?: string; dirSize?: number } = {}): Promise<DiskNode> {
  const { server, port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /*\nEnable POST /*\n${options.extra ?? ''}`, {
    proxyCache: { now: () => clock.now, dir, ...(options.dirSize !== undefined && { dirSize: options.dirSize }) },
  });
  await server.proxyCache.ready;
  started.push(server);
  return {
    server,
    async get(path, extra = '', method = 'GET') {
      const r = await exchange(port, `${method} ${path} HTTP/1.1\r\nHost: cache.test\r\n${extra}\r\n`, { responses: 1 });
      return r.responses[0]!;
    },
  };
}

/** A fresh directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-cache-'));
  dirs.push(dir);
  return dir;
}
