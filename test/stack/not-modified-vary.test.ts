// RFC 9110 §15.4.5: a 304 carries the Vary its 200 would have carried. The
// converter stack alone decides what a 200 varies on (a markdown converter
// by Accept, a charset by Accept-Charset, compression by Accept-Encoding);
// the FILE module and the HTTP cache hand it the 304 with the format of the
// representation it confirms, and it says the same of both. Every file of a
// root crossed with every set of request fields, over real sockets: the
// 304's Vary is the 200's. A 304 relayed from an upstream gets the same when
// it names its type; without one the proxy cannot know, and relays it as it is.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPlugin } from '../../src/plugins.js';
import { GET, startServer, stopServers } from '../protocols/file-helpers.js';
import { caching, cleanup } from '../cache/fixtures.js';
import { fakeUpstream, proxyServer, respond } from '../proxy/fakes.js';

const FILES: Record<string, string | Buffer> = {
  'doc.md': '# Title\n\nSome *markdown* text that is long enough to compress. '.repeat(20),
  'page.html': '<p>compressible</p>\n'.repeat(100),
  'latin.txt': Buffer.from('caf\xe9 au lait\n'.repeat(100), 'latin1'),
  'tiny.txt': 'x',
  'pic.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]),
  'app.js': 'let a = 1;\n'.repeat(300),
  'app.js.gz': gzipSync('let a = 1;\n'.repeat(300)),
};

const RULES = 'AddType .md text/markdown\nAddCharset .md utf-8\nAddCharset .html utf-8\nAddCharset .txt iso-8859-1\nOutputCharset utf-8\nPass /*';

/** The request fields each answer is asked with: each one changes what some 200 is. */
const FIELD_SETS: Record<string, string>[] = [
  {},
  { Accept: 'text/html' },
  { Accept: 'text/markdown' },
  { 'Accept-Encoding': 'gzip' },
  { 'Accept-Encoding': 'br, gzip', Accept: 'text/html,*/*;q=0.8' },
  { 'Accept-Charset': 'iso-8859-1' },
  { 'Accept-Charset': 'utf-8', 'Accept-Encoding': 'identity' },
];

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-vary304-'));
  for (const [name, data] of Object.entries(FILES)) fs.writeFileSync(path.join(root, name), data);
  // A sidecar at least as new as its document.
  const later = new Date(Date.now() + 2000);
  fs.utimesSync(path.join(root, 'app.js.gz'), later, later);
});
afterAll(async () => {
  await stopServers();
  fs.rmSync(root, { recursive: true, force: true });
});

async function withMarkdown(rules: string): Promise<number> {
  const { server, port } = await startServer(root, rules);
  for (const c of await loadPlugin('converters/markdown.ts', undefined, process.cwd())) server.registry.register(c);
  return port;
}

describe('a 304 from the FILE module says the Vary of its 200', () => {
  const cases = Object.keys(FILES).filter((f) => !f.endsWith('.gz')).flatMap((file) => FIELD_SETS.map((fields) => [file, fields] as const));

  it.each(cases)('%s with %j', async (file, fields) => {
    const port = await withMarkdown(RULES);
    const ok = await GET(port, `/${file}`, fields);
    expect(ok.status).toBe(200);
    for (const precondition of [{ 'If-None-Match': ok.headers.etag! }, { 'If-Modified-Since': ok.headers['last-modified']! }]) {
      const r = await GET(port, `/${file}`, { ...fields, ...precondition });
      expect(r.status).toBe(304);
      expect(r.headers.vary).toBe(ok.headers.vary);
      expect(r.headers['content-type']).toBeUndefined();
      expect(r.headers['content-encoding']).toBeUndefined();
    }
  });

  it('the markdown case that did not hold when FILE decided alone: Accept', async () => {
    const port = await withMarkdown(RULES);
    const ok = await GET(port, '/doc.md', { Accept: 'text/html' });
    expect(ok.headers['content-type']).toMatch(/^text\/html/);
    const r = await GET(port, '/doc.md', { Accept: 'text/html', 'If-Modified-Since': ok.headers['last-modified']! });
    expect(r.status).toBe(304);
    expect(r.headers.vary?.split(/\s*,\s*/).sort()).toEqual(['Accept', 'Accept-Encoding']);
  });
});

describe('a 304 from the HTTP cache says the Vary of its 200', () => {
  afterAll(() => cleanup());

  it.each(FIELD_SETS)('with %j', async (fields) => {
    const setup = await caching(() => ({
      fields: ['Content-Type: text/markdown; charset=utf-8', 'Cache-Control: max-age=100', 'ETag: "m1"'],
      body: FILES['doc.md'] as string,
    }));
    for (const c of await loadPlugin('converters/markdown.ts', undefined, process.cwd())) setup.server.registry.register(c);
    const extra = Object.entries(fields).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const ok = await setup.get('/doc', extra);
    expect(ok.status).toBe(200);
    const r = await setup.get('/doc', `${extra}If-None-Match: "m1"\r\n`);
    expect(r.status).toBe(304);
    expect(r.headers['cache-status']).toMatch(/hit/);
    expect(r.headers.vary).toBe(ok.headers.vary);
    expect(setup.count).toBe(1);
  });
});

describe('a 304 relayed from an upstream', () => {
  afterAll(() => cleanup());
  const PAGE = '<p>compressible</p>\n'.repeat(100);

  async function proxied(type: string | null): Promise<number> {
    const up = await fakeUpstream((req, socket) => {
      const fields = `${type === null ? '' : `Content-Type: ${type}\r\n`}ETag: "p1"\r\n`;
      if (req.headers['if-none-match'] === '"p1"') socket.write(`HTTP/1.1 304 Not Modified\r\n${fields}\r\n`);
      else respond(socket, 200, PAGE, `Content-Type: text/html\r\nETag: "p1"\r\n`);
    });
    return (await proxyServer(`Proxy /* ${up.origin}/*`)).port;
  }

  it('that names its type says the Vary of the 200 the proxy would send (compressed here)', async () => {
    const port = await proxied('text/html');
    const ok = await GET(port, '/p', { 'Accept-Encoding': 'gzip' });
    expect(ok.headers['content-encoding']).toBe('gzip');
    expect(ok.headers.vary).toBe('Accept-Encoding');
    const r = await GET(port, '/p', { 'Accept-Encoding': 'gzip', 'If-None-Match': '"p1"' });
    expect(r.status).toBe(304);
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers['content-type']).toBeUndefined();
  });

  it('that names no type is relayed as it came: the proxy cannot know what its 200 would be', async () => {
    const port = await proxied(null);
    const r = await GET(port, '/p', { 'Accept-Encoding': 'gzip', 'If-None-Match': '"p1"' });
    expect(r.status).toBe(304);
    expect(r.headers.vary).toBeUndefined();
    expect(r.headers.etag).toBe('"p1"');
  });
});
