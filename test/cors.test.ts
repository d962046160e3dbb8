// CORS over raw sockets: `Cors` rules and the `cors` option (`--cors`).
// Preflights answered per origin with the methods of the Allow list, the
// asked headers as tokens, Max-Age and Vary; actual responses and error
// replies carry Access-Control-Allow-Origin; proxied paths forward their
// preflights unless a Cors rule makes them ours.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchRaw, fileRoot, GET, req, startServer, stopServers } from './protocols/file-helpers.js';
import { cleanup, fakeUpstream, proxyServer, respond } from './proxy/fakes.js';
import { parseRules } from '../src/rules/index.js';

const RULES = [
  'Cors /api/* https://a.example',
  'Cors /api/* https://b.example',
  'Cors /pub/* *',
  'Cors /mixed/* *',
  'Cors /mixed/* https://a.example',
  'Enable PUT /api/*',
  'Enable DELETE /api/*',
  'Pass /api/* list/*',
  'Pass /pub/* list/*',
  'Pass /mixed/* list/*',
  'Pass /*',
].join('\n');

const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

let fx: ReturnType<typeof fileRoot>;
beforeAll(() => {
  fx = fileRoot();
});
afterAll(() => fx.cleanup());
afterEach(async () => {
  await stopServers();
  await cleanup();
});

function preflight(port: number, target: string, origin: string, extra: Record<string, string> = {}) {
  return fetchRaw(port, req('OPTIONS', target, { Origin: origin, 'Access-Control-Request-Method': 'PUT', ...extra }));
}

describe('Cors rules', () => {
  it('parse origins and *, and refuse anything else', () => {
    const rules = parseRules(RULES, '/virtual/test.rules', { serverRoot: '/tmp' });
    expect(rules.corsFor('/api/a.txt')).toEqual(['https://a.example', 'https://b.example']);
    expect(rules.corsFor('/pub/a.txt')).toEqual(['*']);
    expect(rules.corsFor('/a.txt')).toEqual([]);
    expect(() => parseRules('Cors /* https://a.example/path', 'x.rules')).toThrow(/expected \* or an origin/);
    expect(() => parseRules('Cors /* a.example', 'x.rules')).toThrow(/expected \* or an origin/);
  });
});

describe('preflight', () => {
  it('from a listed origin: 204 with the origin, the Enable methods, the asked headers, Max-Age and Vary', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await preflight(port, '/api/a.txt', 'https://b.example', { 'Access-Control-Request-Headers': 'Content-Type, X-Token' });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://b.example');
    expect(r.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS, PUT, DELETE');
    expect(r.headers['access-control-allow-methods']).toBe(r.headers.allow);
    expect(r.headers['access-control-allow-headers']).toBe('content-type, x-token');
    expect(r.headers['access-control-max-age']).toBe('600');
    expect(r.headers.vary).toBe(PREFLIGHT_VARY);
  });

  it('under * from any origin: *, and only the methods enabled there', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await preflight(port, '/pub/a.txt', 'https://anyone.example');
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    expect(r.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('a listed origin is named even where * is listed too', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await preflight(port, '/mixed/a.txt', 'https://a.example')).headers['access-control-allow-origin']).toBe('https://a.example');
    expect((await preflight(port, '/mixed/a.txt', 'https://c.example')).headers['access-control-allow-origin']).toBe('*');
  });

  it('from an unlisted origin, or where no Cors rule matches: the plain OPTIONS answer', async () => {
    const { port } = await startServer(fx.root, RULES);
    for (const [target, origin] of [['/api/a.txt', 'https://evil.example'], ['/hello.txt', 'https://a.example']]) {
      const r = await preflight(port, target!, origin!);
      expect(r.status).toBe(204);
      expect(r.headers.allow).toBeDefined();
      expect(Object.keys(r.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
      expect(r.headers.vary).toBeUndefined();
    }
  });

  it('asked headers that are not tokens are never echoed', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await preflight(port, '/api/a.txt', 'https://a.example', { 'Access-Control-Request-Headers': 'x-ok, bad header, x"q", X-OK' });
    expect(r.headers['access-control-allow-headers']).toBe('x-ok');
  });
});

describe('actual responses', () => {
  it('a listed origin gets itself and Vary: Origin merged with the stack\'s Vary', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await GET(port, '/api/a.txt', { Origin: 'https://a.example', 'Accept-Encoding': 'gzip' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('a\n');
    expect(r.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(r.headers.vary!.split(', ')).toContain('Origin');
    const compressed = await GET(port, '/long.txt', {});
    expect(compressed.headers['access-control-allow-origin']).toBeUndefined();
    const withVary = await startServer(fx.root, 'Cors /* https://a.example\nPass /*');
    const v = await GET(withVary.port, '/long.txt', { Origin: 'https://a.example', 'Accept-Encoding': 'gzip' });
    expect(v.headers['content-encoding']).toBe('gzip');
    expect(v.headers.vary).toBe('Accept-Encoding, Origin');
  });

  it('under * any origin gets *, without Vary: Origin', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await GET(port, '/pub/a.txt', { Origin: 'https://anyone.example' });
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers.vary ?? '').not.toMatch(/Origin/);
  });

  it('no Origin, an unlisted origin, or a path no rule matches: no CORS field', async () => {
    const { port } = await startServer(fx.root, RULES);
    for (const [target, headers] of [['/api/a.txt', {}], ['/api/a.txt', { Origin: 'https://evil.example' }], ['/hello.txt', { Origin: 'https://a.example' }]] as const) {
      const r = await GET(port, target, headers);
      expect(r.status).toBe(200);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('error replies carry the field: 404, 405', async () => {
    const { port } = await startServer(fx.root, RULES);
    const missing = await GET(port, '/api/none.txt', { Origin: 'https://a.example' });
    expect(missing.status).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe('https://a.example');
    const refused = await fetchRaw(port, req('POST', '/pub/a.txt', { Origin: 'https://x.example' }, 'x'));
    expect(refused.status).toBe(405);
    expect(refused.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('the cors option (--cors)', () => {
  it('* allows every origin on every path', async () => {
    const { port } = await startServer(fx.root, 'Pass /*', { cors: '*' });
    const r = await GET(port, '/hello.txt', { Origin: 'https://anyone.example' });
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const p = await preflight(port, '/hello.txt', 'https://anyone.example');
    expect(p.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
  });

  it('one origin allows that origin only', async () => {
    const { port } = await startServer(fx.root, 'Pass /*', { cors: 'https://a.example' });
    expect((await GET(port, '/hello.txt', { Origin: 'https://a.example' })).headers['access-control-allow-origin']).toBe('https://a.example');
    expect((await GET(port, '/hello.txt', { Origin: 'https://b.example' })).headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('proxied paths', () => {
  it('forward a preflight upstream unless a Cors rule matches; then it is ours', async () => {
    const up = await fakeUpstream((request, socket) => {
      respond(socket, 200, 'up', request.method === 'OPTIONS' ? 'Access-Control-Allow-Origin: https://up.example\r\n' : '');
    });
    const { port } = await proxyServer(`Cors /ours/* https://a.example\nProxy /app/* ${up.origin}/*\nProxy /ours/* ${up.origin}/*`);
    const forwarded = await preflight(port, '/app/x', 'https://a.example');
    expect(forwarded.status).toBe(200);
    expect(forwarded.headers['access-control-allow-origin']).toBe('https://up.example');
    expect(up.requests).toHaveLength(1);
    const ours = await preflight(port, '/ours/x', 'https://a.example');
    expect(ours.status).toBe(204);
    expect(ours.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(up.requests).toHaveLength(1);
    const actual = await GET(port, '/ours/x', { Origin: 'https://a.example' });
    expect(actual.body.toString()).toBe('up');
    expect(actual.headers['access-control-allow-origin']).toBe('https://a.example');
  });
});
