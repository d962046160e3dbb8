// The cache's directives: ProxyCache TEMPLATE and ProxyCacheSize SIZE, their
// errors (file:line, exit 2), and that only the paths a ProxyCache names go
// through the cache.

import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRules, RuleFileError } from '../../src/rules/index.js';
import { cleanup, fakeUpstream, proxyServer, respond } from '../proxy/fakes.js';
import { exchange } from '../helpers/wire.js';
import { runCli } from '../helpers/cli.js';

afterEach(cleanup);

function errorOf(text: string): string {
  try {
    parseRules(text, 'bad.rules');
  } catch (err) {
    expect(err).toBeInstanceOf(RuleFileError);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('directives', () => {
  it.each([
    ['ProxyCacheSize 10X', 'bad.rules:1: ProxyCacheSize: expected a size like 1048576, 512K, 10M or 1G, got "10X"'],
    ['ProxyCacheSize', 'bad.rules:1: ProxyCacheSize: expected SIZE, got none'],
    ['ProxyCache', 'bad.rules:1: ProxyCache: expected TEMPLATE, got none'],
    ['ProxyCache /a /b', 'bad.rules:1: ProxyCache: expected TEMPLATE, got 2 arguments'],
  ])('%s', (line, message) => {
    expect(errorOf(line)).toBe(message);
  });

  it('ProxyCacheFor matches the decoded path', () => {
    const rules = parseRules('ProxyCache /api/*\nProxyCacheSize 1M', 'x.rules');
    expect(rules.proxyCacheFor('/api/x')).toBe(true);
    expect(rules.proxyCacheFor('/other')).toBe(false);
    expect(rules.settings.proxyCacheSize).toBe(1024 * 1024);
  });

  it('the CLI refuses a bad ProxyCacheSize with file:line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-rules-'));
    const file = join(dir, 'c.rules');
    writeFileSync(file, 'Pass /*\nProxyCacheSize lots\n');
    const r = await runCli(['--check', '--rules', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:2: ProxyCacheSize: expected a size`);
  });
});

describe('only the paths ProxyCache names are cached', () => {
  it('a Proxy path without ProxyCache is never stored and has no Cache-Status', async () => {
    const up = await fakeUpstream((req, socket) => respond(socket, 200, `r${req.index}`, 'Cache-Control: max-age=100\r\n'));
    const { port } = await proxyServer(`Proxy /* ${up.origin}/*\nProxyCache /cached/*`);
    const get = async (path: string) => (await exchange(port, `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`, { responses: 1 })).responses[0]!;
    const a = await get('/plain');
    await get('/plain');
    expect(a.headers['cache-status']).toBeUndefined();
    expect(up.requests.length).toBe(2);
    await get('/cached/x');
    const hit = await get('/cached/x');
    expect(hit.headers['cache-status']).toMatch(/^streamstack; hit/);
    expect(up.requests.length).toBe(3);
  });
});
