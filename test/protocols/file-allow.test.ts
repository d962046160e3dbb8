// Allow (RFC 9110 §10.2.1, §15.5.6) over raw sockets: one list per address,
// built from what the rules enable there and what the module of the address
// answers (the FILE module: GET, HEAD, OPTIONS, PUT, DELETE, POST). OPTIONS
// says it, and every 405 says the same; a method is refused exactly when it
// is not listed.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exchange } from '../helpers/wire.js';
import { fetchRaw, fileRoot, req, startServer, stopServers } from './file-helpers.js';

const RULES = [
  'Pass /*',
  'Enable PUT /up/*',
  'Enable DELETE /up/*',
  'Enable PATCH /up/*',
  'Enable MKCOL /up/*',
  'Enable PUT /drop/*',
  'Enable POST /drop/*',
  'Enable PATCH /ro/*',
].join('\n');

let fx: ReturnType<typeof fileRoot>;
beforeAll(() => {
  fx = fileRoot();
  fs.mkdirSync(path.join(fx.root, 'drop'));
  fs.writeFileSync(path.join(fx.root, 'drop', 'in.txt'), 'in\n');
  fs.mkdirSync(path.join(fx.root, 'ro'));
  fs.writeFileSync(path.join(fx.root, 'ro', 'r.txt'), 'r\n');
});
afterAll(() => fx.cleanup());
afterEach(stopServers);

const METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'POST', 'PATCH', 'MKCOL', 'PROPFIND', 'TRACE'];

async function allowOf(port: number, target: string): Promise<string> {
  const r = await fetchRaw(port, req('OPTIONS', target));
  expect(r.status).toBe(204);
  return r.headers.allow!;
}

describe('Allow', () => {
  const rows: Array<[string, string]> = [
    ['/up/new.txt', 'GET, HEAD, OPTIONS, PUT, DELETE'], // PATCH and MKCOL enabled, but no module here answers them
    ['/hello.txt', 'GET, HEAD, OPTIONS'],
    ['/drop/', 'GET, HEAD, OPTIONS, PUT, POST'],
    ['/ro/r.txt', 'GET, HEAD, OPTIONS'],
  ];
  it.each(rows)('OPTIONS %s lists %s, and every 405 there says the same', async (target, allow) => {
    const { port } = await startServer(fx.root, RULES);
    expect(await allowOf(port, target)).toBe(allow);
    const listed = allow.split(', ');
    for (const method of METHODS) {
      if (listed.includes(method)) continue;
      const r = await fetchRaw(port, req(method, target, {}, method === 'GET' ? undefined : ''), method === 'HEAD');
      expect([method, r.status, r.headers.allow]).toEqual([method, 405, allow]);
    }
  });

  it('a listed method is not refused with 405', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await fetchRaw(port, req('PUT', '/up/new.txt', {}, 'x'))).status).toBe(201);
    expect((await fetchRaw(port, req('DELETE', '/up/new.txt'))).status).toBe(204);
    expect((await fetchRaw(port, req('GET', '/ro/r.txt'))).status).toBe(200);
  });

  it('OPTIONS *: what every address allows; CONNECT without a Tunnel rule: 403', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await fetchRaw(port, 'OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n')).headers.allow).toBe('GET, HEAD, OPTIONS');
    const r = await exchange(port, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n', { responses: 1 });
    expect(r.responses[0]!.status).toBe(403);
    expect(r.responses[0]!.body.toString()).toContain('Destination not allowed by the rules');
  });

  it('POST to a file where uploads go to directories: 405, and Allow is the file\'s list without POST', async () => {
    const { port } = await startServer(fx.root, RULES);
    const body = '--b\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n\r\nx\r\n--b--\r\n';
    const r = await fetchRaw(port, req('POST', '/drop/in.txt', { 'Content-Type': 'multipart/form-data; boundary=b' }, body));
    expect(await allowOf(port, '/drop/in.txt')).toBe('GET, HEAD, OPTIONS, PUT, POST');
    expect([r.status, r.headers.allow]).toEqual([405, 'GET, HEAD, OPTIONS, PUT']);
  });
});
