// What `npm start` shows: the start line names the root and the rule file,
// the example's rule file loads the markdown plugin (docs/README.md is a page
// for a browser, markdown for curl), its index links to a listing, a markdown
// page and an error page, and a missing page is the example's own 404.html.

import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliScratch, startCli } from './helpers/cli.js';
import { fetchRaw, req } from './protocols/file-helpers.js';

const REPO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const scratch = cliScratch('streamstack-example-');
afterEach(() => scratch.cleanup());

async function npmStart() {
  const s = await startCli(['example', '--port', '0', '--rules', 'rules/default.rules'], { cwd: REPO });
  scratch.running.push(s);
  return s;
}

describe('the start line', () => {
  it('names the root and the rule file, relative to the working directory', async () => {
    const s = await npmStart();
    expect(s.stdout()).toBe(`streamstack: serving example/ (rules/default.rules) at http://127.0.0.1:${s.port}/\n`);
  });

  it('says when there is no rule file, and shows a root outside the working directory in full', async () => {
    const inside = await startCli(['example', '--port', '0'], { cwd: REPO });
    scratch.running.push(inside);
    expect(inside.stdout()).toBe(`streamstack: serving example/ (no rule file) at http://127.0.0.1:${inside.port}/\n`);
    const dir = scratch.tmp();
    const outside = await startCli([dir, '--port', '0'], { cwd: REPO });
    scratch.running.push(outside);
    expect(outside.stdout()).toBe(`streamstack: serving ${dir}/ (no rule file) at http://127.0.0.1:${outside.port}/\n`);
  });

  it('a rule file elsewhere: its ServerRoot and its full name', async () => {
    const dir = scratch.tmp();
    fs.mkdirSync(path.join(dir, 'site'));
    fs.writeFileSync(path.join(dir, 'site.rules'), 'ServerRoot site\nPass /*\n');
    const s = await startCli(['--rules', path.join(dir, 'site.rules'), '--port', '0'], { cwd: REPO });
    scratch.running.push(s);
    expect(s.stdout()).toBe(`streamstack: serving ${path.join(dir, 'site')}/ (${path.join(dir, 'site.rules')}) at http://127.0.0.1:${s.port}/\n`);
  });
});

describe('npm start', () => {
  it('renders docs/README.md through the markdown plugin for a browser, and keeps the markdown for curl', async () => {
    const s = await npmStart();
    const page = await fetchRaw(s.port, req('GET', '/docs/README.md', { Accept: BROWSER }));
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers.vary).toMatch(/Accept\b/);
    expect(page.body.toString()).toMatch(/<h1[^>]*>The example document root<\/h1>/);
    expect(page.body.toString()).not.toContain('# The example document root');
    const source = await fetchRaw(s.port, req('GET', '/docs/README.md', { Accept: '*/*' }));
    expect(source.headers['content-type']).toMatch(/^text\/markdown/);
    expect(source.body.equals(fs.readFileSync(path.join(REPO, 'example', 'docs', 'README.md')))).toBe(true);
  });

  it('answers a missing page with the example\'s own 404.html and status 404; a JSON client gets problem details', async () => {
    const s = await npmStart();
    const res = await fetchRaw(s.port, req('GET', '/no-such-page', { Accept: BROWSER }));
    expect(res.status).toBe(404);
    expect(res.body.equals(fs.readFileSync(path.join(REPO, 'example', '404.html')))).toBe(true);
    const json = await fetchRaw(s.port, req('GET', '/no-such-page', { Accept: 'application/json' }));
    expect(json.status).toBe(404);
    expect(json.headers['content-type']).toBe('application/problem+json');
  });

  it('the index links to a listing, a markdown page and a missing page, and each link answers as it says', async () => {
    const s = await npmStart();
    const index = (await fetchRaw(s.port, req('GET', '/', { Accept: BROWSER }))).body.toString();
    const links = [...index.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);
    expect(links).toEqual(expect.arrayContaining(['docs/', 'docs/README.md', 'no-such-page']));
    const status = async (link: string) => (await fetchRaw(s.port, req('GET', `/${link}`, { Accept: BROWSER }))).status;
    expect([await status('docs/'), await status('docs/README.md'), await status('no-such-page')]).toEqual([200, 200, 404]);
  });
});
