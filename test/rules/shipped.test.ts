// The rule files shipped in rules/: each parses, and default.rules is what
// `npm start` (streamstack example --rules rules/default.rules) needs.

import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodePath, loadRules, parseRules } from '../../src/rules/index.js';
import { DIRECTIVES } from '../../src/rules/directives.js';

const shipped = readdirSync('rules').filter((f) => f.endsWith('.rules')).map((f) => join('rules', f));

describe('shipped rule files', () => {
  it('ships default.rules and at least three examples', () => {
    expect(shipped).toEqual(expect.arrayContaining(['rules/default.rules', 'rules/static-site.rules', 'rules/reverse-proxy.rules', 'rules/upload-area.rules']));
  });

  it.each(shipped)('%s parses without errors', (file) => {
    expect(() => parseRules(readFileSync(file, 'utf8'), file)).not.toThrow();
  });

  it.each(shipped)('%s documents itself in README.md', (file) => {
    expect(readFileSync('README.md', 'utf8')).toContain(file.slice('rules/'.length));
  });

  it('README and default.rules document every directive', () => {
    const readme = readFileSync('README.md', 'utf8');
    const tutorial = readFileSync('rules/default.rules', 'utf8');
    for (const { name } of DIRECTIVES.values()) {
      expect(readme, name).toContain('`' + name + ' ');
      expect(tutorial, name).toMatch(new RegExp(`^#?${name}\\b`, 'm'));
    }
  });

  it('default.rules, as npm start loads it, passes /* to example/ and lists directories', async () => {
    const rules = await loadRules('rules/default.rules', { serverRoot: 'example' });
    const root = resolve('example');
    expect(rules.serverRoot).toBe(root);
    expect(rules.translate(decodePath('/'))).toEqual({ kind: 'pass', address: `file://${root}/`, root });
    expect(rules.translate(decodePath('/some%20thing.txt'))).toEqual({ kind: 'pass', address: `file://${root}/some%20thing.txt`, root });
    expect(rules.welcome).toEqual(['index.html']);
    expect(rules.dirAccess).toBe('on');
  });

  it('default.rules without a ROOT serves example/ too', async () => {
    const rules = await loadRules('rules/default.rules');
    expect(rules.serverRoot).toBe(resolve('example'));
  });

  it('reverse-proxy.rules proxies /api and refuses the app internals', () => {
    const rules = parseRules(readFileSync('rules/reverse-proxy.rules', 'utf8'), 'rules/reverse-proxy.rules');
    expect(rules.translate('/api/users/1')).toEqual({ kind: 'proxy', address: 'http://127.0.0.1:3000/api/users/1' });
    expect(rules.translate('/app/internal/health')).toEqual({ kind: 'fail', code: 'WWW_ERR_RULE_FORBIDDEN' });
    expect(rules.isEnabled('POST', '/api/users')).toBe(true);
    expect(rules.isEnabled('POST', '/index.html')).toBe(false);
  });

  it('upload-area.rules enables writes under /files/ only and hides dotfiles', () => {
    const rules = parseRules(readFileSync('rules/upload-area.rules', 'utf8'), 'rules/upload-area.rules', { serverRoot: '/tmp/up' });
    expect(rules.translate('/files/a.txt')).toEqual({ kind: 'pass', address: 'file:///tmp/up/a.txt', root: '/tmp/up' });
    expect(rules.translate('/files/.htpasswd')).toEqual({ kind: 'fail', code: 'WWW_ERR_RULE_FORBIDDEN' });
    expect(rules.isEnabled('PUT', '/files/a.txt')).toBe(true);
    expect(rules.isEnabled('PUT', '/a.txt')).toBe(false);
    expect(rules.maxBodySizeFor('/files/a.txt')).toBe(100 * 1024 ** 2);
    expect(rules.protectFor('/files/a.txt')?.protection?.fields.AuthType).toBe('Basic');
  });

  it('static-site.rules redirects .htm and hides dotfiles but not /.well-known', () => {
    const rules = parseRules(readFileSync('rules/static-site.rules', 'utf8'), 'rules/static-site.rules', { serverRoot: '/srv/site' });
    expect(rules.translate('/old/page.htm')).toEqual({ kind: 'redirect', location: '/old/page.html', status: 301 });
    expect(rules.translate('/.git/config')).toEqual({ kind: 'fail', code: 'WWW_ERR_RULE_FORBIDDEN' });
    expect(rules.translate('/.well-known/security.txt')).toEqual({ kind: 'pass', address: 'file:///srv/site/.well-known/security.txt', root: '/srv/site/.well-known' });
    expect(rules.cacheControlFor('/assets/app.js')).toBe('public, max-age=31536000, immutable');
  });
});
