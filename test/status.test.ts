// The status page (`Status PATH`) over raw sockets: real counts in its three
// formats after a few requests (replies by class, memory-cache hits and
// misses, connections, upstream pools), the Prometheus text parsed line by
// line, the HTML escaped and self-contained, no-store and Vary, HEAD, the
// Protect rule of its path, and that nothing of a request is shown.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fetchRaw, req, startServer, stopServers } from './protocols/file-helpers.js';
import { connect, exchange, readUntil, sleep } from './helpers/wire.js';
import { cleanup, fakeUpstream, proxyServer, respond } from './proxy/fakes.js';
import { auth, makeSite, siteRules, startProtected, stopAll, type Site } from './auth/fixtures.js';
import { parseRules } from '../src/rules/index.js';
import { chooseFormat, html, prometheus, type Status } from '../src/status.js';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-status-'));
  fs.writeFileSync(path.join(root, 'small.txt'), 'small\n');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(async () => {
  await stopServers();
  await cleanup();
  await stopAll();
});

const RULES = 'Status /status\nPass /*';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const SCRAPER = 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1';

async function json(port: number, target = '/status'): Promise<Status> {
  const res = await fetchRaw(port, req('GET', target, { Accept: 'application/json' }));
  expect(res.status).toBe(200);
  return JSON.parse(res.body.toString()) as Status;
}

/** Three GETs of a small file (one miss, two hits) and one of a missing file (a miss, 404). */
async function traffic(port: number): Promise<void> {
  for (let k = 0; k < 3; k++) expect((await fetchRaw(port, req('GET', '/small.txt'))).status).toBe(200);
  expect((await fetchRaw(port, req('GET', '/missing.txt'))).status).toBe(404);
}

/** One sample line of the text format: name, labels, value. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;

/** Parses the Prometheus text format 0.0.4 strictly: every sample after its HELP and TYPE. */
function parsePrometheus(text: string): Map<string, number> {
  expect(text.endsWith('\n')).toBe(true);
  const samples = new Map<string, number>();
  const help = new Set<string>();
  const type = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (m) {
      help.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (m) {
      expect(help.has(m[1]!), `HELP before TYPE of ${m[1]}`).toBe(true);
      type.set(m[1]!, m[2]!);
      continue;
    }
    m = SAMPLE.exec(line);
    expect(m, `a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, labels, value] = m!;
    expect(type.has(name!), `TYPE of ${name}`).toBe(true);
    if (type.get(name!) === 'counter') expect(name!.endsWith('_total'), name).toBe(true);
    expect(Number.isFinite(Number(value)), line).toBe(true);
    samples.set(labels ? `${name}{${labels}}` : name!, Number(value));
  }
  return samples;
}

describe('the three formats, with real counts', () => {
  it('JSON by default: replies by class, cache hits and misses, connections, uptime; no-store, Vary', async () => {
    const { port } = await startServer(root, RULES);
    await traffic(port);
    const res = await fetchRaw(port, req('GET', '/status'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.vary).toBe('Accept');
    const s = JSON.parse(res.body.toString()) as Status;
    expect(s.requests).toEqual({ '1xx': 0, '2xx': 3, '3xx': 0, '4xx': 1, '5xx': 0 });
    expect(s.cache).toMatchObject({ hits: 2, misses: 2, documents: 1, bytes: 6 });
    expect(s.connections.open).toBeGreaterThanOrEqual(1);
    expect(s.inFlight).toBeGreaterThanOrEqual(1);
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(s.startedAt)).toBeLessThanOrEqual(Date.now());
    expect(s.upstreams).toEqual([]);
    // The page's own reply is counted once written.
    expect((await json(port)).requests['2xx']).toBe(4);
  });

  it('counts ahead of the observers given, which still see every reply (a class, with private fields)', async () => {
    class Observer {
      #seen: number[] = [];
      onReply(_request: unknown, reply: { status: number }): void {
        this.#seen.push(reply.status);
      }
      onCaught(): void {}
      get seen(): number[] {
        return this.#seen;
      }
    }
    const observer = new Observer();
    const { server, port } = await startServer(root, RULES, { events: observer });
    await traffic(port);
    expect(observer.seen).toEqual([200, 200, 200, 404]);
    expect(typeof server.http.events.onCaught).toBe('function');
    expect(server.http.events.onError).toBeUndefined();
    expect((await json(port)).requests).toMatchObject({ '2xx': 3, '4xx': 1 });
    expect(observer.seen).toEqual([200, 200, 200, 404, 200]);
  });

  it('counts the connections open now, by state', async () => {
    const { port } = await startServer(root, RULES);
    const held = await connect(port);
    held.write(req('GET', '/small.txt')[0]!);
    await readUntil(held, (all) => all.toString().endsWith('small\n'));
    expect((await json(port)).connections.open).toBeGreaterThanOrEqual(2);
    held.destroy();
    for (let k = 0; k < 50 && (await json(port)).connections.open > 1; k++) await sleep(10);
    expect((await json(port)).connections.open).toBe(1);
  });

  it('Prometheus for ?format=prometheus and for a scraper’s Accept: valid names, HELP and TYPE, numbers', async () => {
    const { port } = await startServer(root, RULES);
    await traffic(port);
    for (const [target, headers] of [['/status?format=prometheus', {}], ['/status', { Accept: 'text/plain; version=0.0.4' }], ['/status', { Accept: SCRAPER }]] as const) {
      const res = await fetchRaw(port, req('GET', target, headers));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect([res.headers['cache-control'], res.headers.vary]).toEqual(['no-store', 'Accept']);
      const m = parsePrometheus(res.body.toString());
      expect(m.get('streamstack_requests_total{class="4xx"}')).toBe(1);
      expect(m.get('streamstack_requests_total{class="2xx"}')).toBeGreaterThanOrEqual(3);
      expect(m.get('streamstack_requests_total{class="5xx"}')).toBe(0);
      expect(m.get('streamstack_cache_hits_total')).toBe(2);
      expect(m.get('streamstack_cache_misses_total')).toBe(2);
      expect(m.get('streamstack_connections{state="open"}')).toBeGreaterThanOrEqual(1);
      expect(m.get('streamstack_connections{state="closing"}')).toBeGreaterThanOrEqual(0);
      expect(m.get('streamstack_uptime_seconds')).toBeGreaterThanOrEqual(0);
    }
  });

  it('HTML for a browser: the counts, escaped, self-contained, with a CSP that forbids anything else', async () => {
    const { port } = await startServer(root, RULES);
    await traffic(port);
    const res = await fetchRaw(port, req('GET', '/status', { Accept: BROWSER }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect([res.headers['cache-control'], res.headers.vary]).toEqual(['no-store', 'Accept']);
    const page = res.body.toString();
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page).toContain('<tr><td>4xx</td><td>1</td></tr>');
    expect(page).toContain('<tr><td>hits</td><td>2</td></tr>');
    // One inline script (the charts' poller), allowed by its hash and nothing else; fetches to this origin only.
    const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256').update(scripts[0]!).digest('base64');
    expect(res.headers['content-security-policy']).toBe(`default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; connect-src 'self'`);
    expect(page.replace(/<script>[\s\S]*?<\/script>/, '')).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import/i);
    expect(scripts[0]).not.toMatch(/https?:|\/\/[a-z]|import\(|eval\(/i);
  });

  it('escapes what it shows: HTML entities, Prometheus label values', () => {
    const s: Status = {
      pid: 1, uptimeSeconds: 1, startedAt: new Date(0).toISOString(), inFlight: 0,
      connections: { open: 0, closing: 0, closed: 0, dead: 0 },
      requests: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
      cache: { hits: 0, misses: 0, documents: 0, bytes: 0 },
      upstreams: [{ origin: 'http://"><script>alert(1)</script>\\\n', idle: 1, busy: 0, waiting: 0 }],
      series: { bucketSeconds: 10, points: [] },
    };
    const page = html(s);
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('http://&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    const m = parsePrometheus(prometheus(s));
    expect(m.get('streamstack_upstream_connections{origin="http://\\"><script>alert(1)</script>\\\\\\n",state="idle"}')).toBe(1);
  });

  it('negotiates: ?format= first, then the best q; a tie or nothing acceptable is JSON', () => {
    expect(chooseFormat(undefined, '')).toBe('json');
    expect(chooseFormat('*/*', '')).toBe('json');
    expect(chooseFormat('application/json', '')).toBe('json');
    expect(chooseFormat('image/png', '')).toBe('json');
    expect(chooseFormat(BROWSER, '')).toBe('html');
    expect(chooseFormat(SCRAPER, '')).toBe('prometheus');
    expect(chooseFormat('text/plain', '')).toBe('prometheus');
    expect(chooseFormat('text/plain; version=1.0.0', '')).toBe('json');
    expect(chooseFormat(BROWSER, '?format=prometheus')).toBe('prometheus');
    expect(chooseFormat(undefined, '?format=html')).toBe('html');
    expect(chooseFormat(BROWSER, '?format=xml')).toBe('html');
  });
});

describe('the request', () => {
  it('HEAD: the GET’s head, no body (a GET pipelined behind it parses)', async () => {
    const { port } = await startServer(root, RULES);
    const ex = await exchange(port, [req('HEAD', '/status')[0]! + req('GET', '/status?format=prometheus')[0]!], { responses: 2, heads: [0] });
    const [head, get] = ex.responses;
    expect([head!.status, head!.headers['content-type'], head!.headers['cache-control'], head!.headers.vary]).toEqual([200, 'application/json', 'no-store', 'Accept']);
    expect(Number(head!.headers['content-length'])).toBeGreaterThan(0);
    expect(head!.body.length).toBe(0);
    expect(get!.status).toBe(200);
    expect(get!.body.toString()).toContain('# TYPE streamstack_requests_total counter');
  });

  it('is answered before translation; other methods get 405 with Allow, OPTIONS 204', async () => {
    const { port } = await startServer(root, 'Status /status\nFail /*');
    expect((await fetchRaw(port, req('GET', '/status'))).status).toBe(200);
    expect((await fetchRaw(port, req('GET', '/status/'))).status).toBe(403);
    const post = await fetchRaw(port, req('POST', '/status', {}, 'x'));
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD, OPTIONS']);
    const options = await fetchRaw(port, req('OPTIONS', '/status'));
    expect([options.status, options.headers.allow]).toEqual([204, 'GET, HEAD, OPTIONS']);
  });

  it('shows no request field and no credential, in any format', async () => {
    const { port } = await startServer(root, RULES);
    const secrets = { Authorization: 'Basic c2VjcmV0dXNlcjpzZWNyZXRwYXNz', Cookie: 'sid=topsecretcookie', 'X-Token': 'tokensecret' };
    for (const target of ['/status', '/status?format=html', '/status?format=prometheus']) {
      await fetchRaw(port, req('GET', '/small.txt', secrets));
      const body = (await fetchRaw(port, req('GET', target, secrets))).body.toString();
      expect(body).not.toMatch(/c2VjcmV0|topsecret|tokensecret|secretuser|Cookie|Authorization/i);
    }
  });

  it('honours the Protect rule of its path: 401 without credentials, the page with them', async () => {
    const site: Site = makeSite();
    try {
      const { port } = await startProtected(site, siteRules(site, 'Status /status\nProtect /status reading'));
      const none = await fetchRaw(port, req('GET', '/status'));
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Basic /);
      const alice = await fetchRaw(port, req('GET', '/status', auth('alice')));
      expect(alice.status).toBe(200);
      expect(JSON.parse(alice.body.toString()).requests['4xx']).toBe(1);
      expect(alice.body.toString()).not.toContain('alice');
    } finally {
      site.cleanup();
    }
  });

  it('the directive takes one literal path', () => {
    expect(parseRules('Status /server-status\nPass /*', '/virtual/a.rules').settings.statusPath).toBe('/server-status');
    expect(() => parseRules('Status server-status', '/virtual/a.rules')).toThrow(/Status: expected a path like \/server-status/);
    expect(() => parseRules('Status /status/*', '/virtual/a.rules')).toThrow(/without '\*'/);
    expect(() => parseRules('Status', '/virtual/a.rules')).toThrow(/Status/);
  });
});

describe('upstream pools', () => {
  it('idle, busy and waiting connections per origin, after and during proxied requests', async () => {
    let hold = true;
    const waiting: (() => void)[] = [];
    const up = await fakeUpstream((req, socket) => {
      const answer = () => respond(socket, 200, req.target);
      if (hold && req.target !== '/first') waiting.push(answer);
      else answer();
    });
    const { port } = await proxyServer(`Status /status\nProxyMaxConnections 1\nProxy /api/* ${up.origin}/*`);
    expect((await fetchRaw(port, req('GET', '/api/first'))).body.toString()).toBe('/first');
    expect((await json(port)).upstreams).toEqual([{ origin: up.origin, idle: 1, busy: 0, waiting: 0 }]);
    const prom = parsePrometheus((await fetchRaw(port, req('GET', '/status?format=prometheus'))).body.toString());
    expect(prom.get(`streamstack_upstream_connections{origin="${up.origin}",state="idle"}`)).toBe(1);
    expect(prom.get(`streamstack_upstream_connections{origin="${up.origin}",state="busy"}`)).toBe(0);
    expect(prom.get(`streamstack_upstream_waiting{origin="${up.origin}"}`)).toBe(0);

    const inFlight = ['/api/a', '/api/b', '/api/c'].map((p) => fetchRaw(port, req('GET', p)));
    for (let k = 0; k < 100 && waiting.length === 0; k++) await sleep(10);
    await sleep(30);
    expect((await json(port)).upstreams).toEqual([{ origin: up.origin, idle: 0, busy: 1, waiting: 2 }]);
    const page = (await fetchRaw(port, req('GET', '/status', { Accept: 'text/html' }))).body.toString();
    expect(page).toContain(`<tr><td>${up.origin}</td><td>0</td><td>1</td><td>2</td></tr>`);
    // The one upstream connection carries the rest in turn, answered at once from now on.
    hold = false;
    waiting.shift()!();
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await json(port)).upstreams).toEqual([{ origin: up.origin, idle: 1, busy: 0, waiting: 0 }]);
  });
});
