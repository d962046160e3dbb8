// The fallback document of a single-page application over raw sockets:
// `Fallback` rules and the `spa` option (`--spa`). A GET or HEAD that takes
// HTML and finds no file gets the document with 200; existing files and
// directories, requests that take no HTML, other methods and a missing
// document keep their answers.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fetchRaw, fileRoot, GET, req, startServer, stopServers } from './protocols/file-helpers.js';
import { parseRules } from '../src/rules/index.js';

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const APP = '<div id="app"></div>\n';
const RULES = ['Fallback /app/* /app/index.html', 'Fallback /gone/* /gone/index.html', 'Enable POST /app/*', 'Enable DELETE /app/*', 'DirAccess Off', 'Pass /*'].join('\n');

let fx: ReturnType<typeof fileRoot>;
beforeAll(() => {
  fx = fileRoot();
  fs.mkdirSync(path.join(fx.root, 'app', 'assets'), { recursive: true });
  fs.writeFileSync(path.join(fx.root, 'app', 'index.html'), APP);
  fs.writeFileSync(path.join(fx.root, 'app', 'assets', 'logo.txt'), 'logo\n');
  fs.writeFileSync(path.join(fx.root, 'index.html'), APP);
});
afterAll(() => fx.cleanup());
afterEach(stopServers);

describe('Fallback rules', () => {
  it('parse a document path and refuse anything else', () => {
    expect(parseRules('Fallback /* /index.html', 'x.rules').fallbackFor('/a/b')).toBe('/index.html');
    expect(() => parseRules('Fallback /* index.html', 'x.rules')).toThrow(/expected the path of a document/);
    expect(() => parseRules('Fallback /* /app/', 'x.rules')).toThrow(/expected the path of a document/);
    expect(() => parseRules('Fallback /* /../x.html', 'x.rules')).toThrow(/expected the path of a document/);
  });
});

describe('the fallback document', () => {
  it('answers an unknown path that takes text/html with 200 and its bytes', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await GET(port, '/app/users/42', { Accept: HTML });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(APP);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers.vary).toMatch(/Accept\b/);
  });

  it('never hides an existing file or directory', async () => {
    const { port } = await startServer(fx.root, RULES);
    const file = await GET(port, '/app/assets/logo.txt', { Accept: HTML });
    expect(file.status).toBe(200);
    expect(file.body.toString()).toBe('logo\n');
    const dir = await GET(port, '/app/assets/', { Accept: HTML });
    expect(dir.status).toBe(403);
  });

  it('not for requests that take no HTML: an image, a JSON API call', async () => {
    const { port } = await startServer(fx.root, RULES);
    for (const accept of ['image/png', 'image/*', 'application/json', 'text/html;q=0, */*']) {
      const r = await GET(port, '/app/users/42', { Accept: accept });
      expect(r.status, accept).toBe(404);
      expect(r.headers.vary, accept).toMatch(/Accept\b/);
    }
  });

  it('no Accept field takes anything, HTML included', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await GET(port, '/app/users/42')).status).toBe(200);
  });

  it('not for other methods: POST and DELETE keep the FILE module\'s 404', async () => {
    const { port } = await startServer(fx.root, RULES);
    const post = await fetchRaw(port, req('POST', '/app/nodir/', { Accept: HTML, 'Content-Type': 'text/plain' }, 'x'));
    const del = await fetchRaw(port, req('DELETE', '/app/users/42', { Accept: HTML }));
    for (const r of [post, del]) {
      expect(r.status).toBe(404);
      expect(r.body.toString()).not.toBe(APP);
    }
  });

  it('HEAD gets the head of the fallback document', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await fetchRaw(port, req('HEAD', '/app/users/42', { Accept: HTML }), true);
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(APP.length));
    expect(r.body.length).toBe(0);
  });

  it('a missing fallback document gives the original 404, and no loop', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await GET(port, '/gone/page', { Accept: HTML });
    expect(r.status).toBe(404);
    // The built-in page a browser gets (src/error-page.ts), not the fallback document.
    expect(r.body.toString()).toContain('<title>404 Not Found</title>');
    expect((await GET(port, '/gone/index.html', { Accept: HTML })).status).toBe(404);
  });

  it('paths no Fallback rule matches keep their 404', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await GET(port, '/elsewhere', { Accept: HTML })).status).toBe(404);
  });
});

describe('the spa option (--spa)', () => {
  it('serves the document for every unknown path that takes HTML', async () => {
    const { port } = await startServer(fx.root, 'Pass /*', { spa: '/index.html' });
    const r = await GET(port, '/deep/link', { Accept: HTML });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(APP);
    expect((await GET(port, '/deep/link.png', { Accept: 'image/png' })).status).toBe(404);
    expect((await GET(port, '/hello.txt', { Accept: HTML })).body.toString()).toBe('Hello, world\n');
  });
});
