// Plugins as users load them: --plugin and the rule file's Converter line,
// the example markdown plugin negotiated by Accept, and plugins that fail.

import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli, startCli } from './helpers/cli.js';
import type { Running } from './helpers/cli.js';
import { exchange, get } from './helpers/wire.js';

const REPO = path.join(__dirname, '..');
const MARKDOWN = path.join(REPO, 'dist', 'converters', 'markdown.js');
const running: Running[] = [];
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-plugins-'));
  fs.writeFileSync(path.join(dir, 'README.md'), '# Title\n\nSome *emphasis*.\n');
  fs.writeFileSync(path.join(dir, 'throws.mjs'), `
import { Transform } from 'node:stream';
export default [{ from: 'text/plain', to: 'text/x-shout', create: () => new Transform({
  transform(chunk, _e, cb) { cb(new Error('plugin exploded')); } }) }];
`);
  fs.writeFileSync(path.join(dir, 'a.txt'), 'quiet\n');
  fs.writeFileSync(path.join(dir, 'nodefault.mjs'), 'export const x = 1;\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function fetchMd(port: number, accept: string) {
  const r = await exchange(port, get('/README.md', `Accept: ${accept}\r\n`), { responses: 1 });
  return r.responses[0]!;
}

describe('the markdown plugin', () => {
  it('--plugin: a browser gets HTML, curl gets markdown, both with Vary: Accept', async () => {
    const s = await startCli([dir, '--port', '0', '--plugin', MARKDOWN]);
    running.push(s);
    const browser = await fetchMd(s.port, 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8');
    expect(browser.status).toBe(200);
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
    expect(browser.body.toString()).toContain('<h1>Title</h1>');
    expect(browser.body.toString()).toContain('<em>emphasis</em>');
    expect(browser.headers.vary).toMatch(/\bAccept\b/);
    const curl = await fetchMd(s.port, '*/*');
    expect(curl.headers['content-type']).toMatch(/^text\/markdown/);
    expect(curl.body.toString()).toBe('# Title\n\nSome *emphasis*.\n');
    expect(curl.headers.vary).toMatch(/\bAccept\b/);
  });

  it('the rule file Converter line loads it, relative to ServerRoot', async () => {
    fs.copyFileSync(MARKDOWN, path.join(dir, 'md-plugin.js'));
    // The copy needs its imports: load it through a module that re-exports the built one.
    fs.writeFileSync(path.join(dir, 'md.mjs'), `export { default } from ${JSON.stringify(MARKDOWN)};\n`);
    fs.writeFileSync(path.join(dir, 'site.rules'), 'ServerRoot .\nConverter md.mjs 0.9\nPass /* *\n');
    const s = await startCli(['--rules', path.join(dir, 'site.rules'), '--port', '0']);
    running.push(s);
    const browser = await fetchMd(s.port, 'text/html');
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
  });
});

describe('plugins that fail', () => {
  it.each([
    [['--plugin', '/nonexistent/plugin.js'], /plugin.*\/nonexistent\/plugin\.js/],
    [['--plugin', 'NODEFAULT'], /nodefault\.mjs/],
  ])('%j stops startup with one line naming it, exit 1', async (args, message) => {
    const a = (args as string[]).map((x) => (x === 'NODEFAULT' ? path.join(dir, 'nodefault.mjs') : x));
    const r = await runCli([dir, '--port', '0', ...a]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toContain('serving');
  });

  it('a plugin that throws while streaming fails that request only; the server keeps serving', async () => {
    const s = await startCli([dir, '--port', '0', '--plugin', path.join(dir, 'throws.mjs')]);
    running.push(s);
    const bad = await exchange(s.port, get('/a.txt', 'Accept: text/x-shout\r\n'), { timeout: 2000 });
    if (bad.responses.length > 0) expect(bad.responses[0]!.status).toBeGreaterThanOrEqual(500);
    else expect(bad.closed).toBe(true);
    const good = await exchange(s.port, get('/a.txt'), { responses: 1 });
    expect(good.responses[0]!.status).toBe(200);
    expect(good.responses[0]!.body.toString()).toBe('quiet\n');
  });
});
