// Resource and server directives: what a RuleSet answers besides translate().

import { describe, it, expect } from 'vitest';
import { dirname, resolve } from 'node:path';
import { defaultRules, parseRules } from '../../src/rules/index.js';

const rules = (text: string, file = '/etc/streamstack/test.rules', serverRoot?: string) =>
  parseRules(text, file, serverRoot === undefined ? undefined : { serverRoot });

describe('suffix bindings', () => {
  const r = rules(`
AddType .html text/html 8bit 1.0
AddType .HTM  text/html
AddType .txt  text/plain
AddType .txt  text/x-later
AddType .tar.gz application/x-tar-gz binary 0.5
AddType .svgz image/svg+xml gzip
AddType *.*   application/octet-stream
AddType *     text/plain
AddEncoding .gz gzip
AddEncoding .BR br
AddCharset .txt utf-8
AddCharset .latin.txt ISO-8859-1
`);

  it('binds by suffix, case-insensitively, with encoding and quality', () => {
    expect(r.typeFor('index.html')).toEqual({ type: 'text/html', encoding: '8bit', quality: 1 });
    expect(r.typeFor('INDEX.HTML')).toEqual({ type: 'text/html', encoding: '8bit', quality: 1 });
    expect(r.typeFor('old.htm')).toEqual({ type: 'text/html' });
    expect(r.typeFor('/srv/www/a.b/c.svgz')).toEqual({ type: 'image/svg+xml', encoding: 'gzip' });
  });

  it('lets the last listed win for one suffix and the longest suffix win across', () => {
    expect(r.typeFor('notes.txt')).toEqual({ type: 'text/x-later' });
    expect(r.typeFor('src.tar.gz')).toEqual({ type: 'application/x-tar-gz', encoding: 'binary', quality: 0.5 });
    expect(r.charsetFor('a.latin.txt')).toBe('iso-8859-1');
    expect(r.charsetFor('a.txt')).toBe('utf-8');
  });

  it('falls back to *.* for unknown suffixes and * for none', () => {
    expect(r.typeFor('archive.zip')).toEqual({ type: 'application/octet-stream' });
    expect(r.typeFor('README')).toEqual({ type: 'text/plain' });
    expect(r.typeFor('/srv/a.dir/README')).toEqual({ type: 'text/plain' });
  });

  it('binds encodings and knows nothing of what is not listed', () => {
    expect(r.encodingFor('x.html.gz')).toBe('gzip');
    expect(r.encodingFor('x.js.br')).toBe('br');
    expect(r.encodingFor('x.html')).toBeUndefined();
    expect(rules('Pass /*').typeFor('x.html')).toBeUndefined();
  });
});

describe('documents', () => {
  it('defaults: Welcome index.html, AlwaysWelcome off, DirAccess off', () => {
    const r = rules('Pass /*');
    expect(r.welcome).toEqual(['index.html']);
    expect(r.alwaysWelcome).toBe(false);
    expect(r.dirAccess).toBe('off');
    expect(r.outputCharset).toBeUndefined();
  });

  it('any Welcome replaces the default, first listed first', () => {
    const r = rules('Welcome home.html\nWelcome index.htm\nAlwaysWelcome ON\nDirAccess Selective\nOutputCharset UTF-8');
    expect(r.welcome).toEqual(['home.html', 'index.htm']);
    expect(r.alwaysWelcome).toBe(true);
    expect(r.dirAccess).toBe('selective');
    expect(r.outputCharset).toBe('utf-8');
  });
});

describe('Enable', () => {
  const r = rules('Enable put /uploads/*\nEnable DELETE /uploads/*.tmp\nEnable POST /form');
  it('always enables GET, HEAD and OPTIONS', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS']) expect(r.isEnabled(m, '/anything')).toBe(true);
  });
  it('enables other methods only where a template matches', () => {
    expect(r.isEnabled('PUT', '/uploads/a.txt')).toBe(true);
    expect(r.isEnabled('PUT', '/uploads')).toBe(false);
    expect(r.isEnabled('PUT', '/other/a.txt')).toBe(false);
    expect(r.isEnabled('DELETE', '/uploads/a.tmp')).toBe(true);
    expect(r.isEnabled('DELETE', '/uploads/a.txt')).toBe(false);
    expect(r.isEnabled('POST', '/form')).toBe(true);
    expect(r.isEnabled('POST', '/form/')).toBe(false);
    expect(r.isEnabled('PATCH', '/uploads/a.txt')).toBe(false);
  });
  it('compares request methods case-sensitively (RFC 9110 §9.1)', () => {
    expect(r.isEnabled('put', '/uploads/a.txt')).toBe(false);
  });
});

describe('server settings', () => {
  it('parses sizes, durations, ports and hosts', () => {
    const r = rules(`
Port 8080
Host ::1
MaxHeaderSize 16K
MaxPipeline 32
HeaderTimeout 500ms
KeepAliveTimeout 5s
BodyTimeout 1.5s
WriteTimeout 2m
MaxBodySize 10M /uploads/*
MaxBodySize 1G /big/*
MaxBodySize 64k
`);
    expect(r.settings).toEqual({
      serverRoot: '/etc/streamstack',
      port: 8080,
      host: '::1',
      maxHeaderSize: 16 * 1024,
      maxPipeline: 32,
      headerTimeout: 500,
      keepAliveTimeout: 5000,
      bodyTimeout: 1500,
      writeTimeout: 120_000,
      maxBodySize: [
        { size: 10 * 1024 ** 2, template: '/uploads/*' },
        { size: 1024 ** 3, template: '/big/*' },
        { size: 64 * 1024, template: null },
      ],
    });
    expect(r.maxBodySizeFor('/uploads/a')).toBe(10 * 1024 ** 2);
    expect(r.maxBodySizeFor('/big/a')).toBe(1024 ** 3);
    expect(r.maxBodySizeFor('/other')).toBe(64 * 1024);
  });

  it('leaves unset what the file does not say', () => {
    const r = rules('Pass /*');
    expect(r.settings).toEqual({ serverRoot: '/etc/streamstack', maxBodySize: [] });
    expect(r.maxBodySizeFor('/x')).toBeUndefined();
  });

  it('takes the first matching MaxBodySize template, the template-less one as default', () => {
    const r = rules('MaxBodySize 1K\nMaxBodySize 2K /a/*\nMaxBodySize 3K /a/b/*');
    expect(r.maxBodySizeFor('/a/b/c')).toBe(2048);
    expect(r.maxBodySizeFor('/z')).toBe(1024);
  });

  it('accepts 0 as a duration and a port, and a bracketed IPv6 host', () => {
    const r = rules('Port 0\nHost [::]\nKeepAliveTimeout 0');
    expect(r.settings.port).toBe(0);
    expect(r.settings.host).toBe('::');
    expect(r.settings.keepAliveTimeout).toBe(0);
  });
});

describe('ServerRoot and relative paths', () => {
  it('defaults to the rule file directory', () => {
    const r = rules('Pass /x/* data/*', '/etc/streamstack/site.rules');
    expect(r.serverRoot).toBe('/etc/streamstack');
    expect(r.translate('/x/a')).toEqual({ kind: 'pass', address: 'file:///etc/streamstack/data/a', root: '/etc/streamstack/data' });
  });

  it('resolves a relative ServerRoot against the rule file directory, even when it comes last', () => {
    const r = rules('Pass /x/* data/*\nServerRoot ../www', '/etc/streamstack/site.rules');
    expect(r.serverRoot).toBe('/etc/www');
    expect(r.translate('/x/a')).toEqual({ kind: 'pass', address: 'file:///etc/www/data/a', root: '/etc/www/data' });
  });

  it('lets the option override the directive, relative to the current directory', () => {
    const r = rules('ServerRoot /srv/www\nPass /*', '/etc/streamstack/site.rules', 'example');
    expect(r.serverRoot).toBe(resolve('example'));
    expect(r.settings.serverRoot).toBe(resolve('example'));
    expect(r.translate('/a')).toEqual({ kind: 'pass', address: `file://${resolve('example')}/a`, root: resolve('example') });
  });

  it('resolves a rule file given as a relative name against the current directory', () => {
    expect(rules('Pass /*', 'conf/site.rules').serverRoot).toBe(resolve('conf'));
  });
});

describe('converters, protection, cache control', () => {
  it('resolves converter modules: paths against ServerRoot, packages as written', () => {
    const r = rules('ServerRoot /srv\nConverter ./plugins/upper.js 0.9\nConverter lib/x.mjs\nConverter /opt/y.js 1\nConverter streamstack-markdown\nConverter @acme/conv\nConverter file:///opt/z.js', '/etc/s.rules');
    expect(r.converters).toEqual([
      { module: '/srv/plugins/upper.js', quality: 0.9, file: '/etc/s.rules', line: 2 },
      { module: '/srv/lib/x.mjs', file: '/etc/s.rules', line: 3 },
      { module: '/opt/y.js', quality: 1, file: '/etc/s.rules', line: 4 },
      { module: 'streamstack-markdown', file: '/etc/s.rules', line: 5 },
      { module: '@acme/conv', file: '/etc/s.rules', line: 6 },
      { module: '/opt/z.js', file: '/etc/s.rules', line: 7 },
    ]);
  });

  it('keeps Protection blocks and Protect rules, first match wins', () => {
    const r = rules(`
Protect /admin/* admins
Protection admins {
    AuthType Basic
    ServerId "The admins"
    PasswordFile passwd
    getmask  admins, root
}
Protect /admin/* /etc/other.conf
Protect /private/* setup/private.conf
`, '/etc/s.rules');
    const admins = { name: 'admins', fields: { AuthType: 'Basic', ServerId: 'The admins', PasswordFile: 'passwd', GetMask: 'admins, root' }, file: '/etc/s.rules', line: 3 };
    expect(r.protectionBlocks.get('admins')).toEqual(admins);
    expect(r.protectFor('/admin/x')).toEqual({ template: '/admin/*', setup: 'admins', protection: admins, file: '/etc/s.rules', line: 2 });
    expect(r.protectFor('/private/x')).toEqual({ template: '/private/*', setup: '/etc/setup/private.conf', protection: undefined, file: '/etc/s.rules', line: 10 });
    expect(r.protectFor('/public/x')).toBeUndefined();
    expect(r.protections).toHaveLength(3);
  });

  it('answers CacheControl by the first matching template', () => {
    const r = rules('CacheControl /assets/* "public, max-age=31536000, immutable"\nCacheControl * no-cache');
    expect(r.cacheControlFor('/assets/app.js')).toBe('public, max-age=31536000, immutable');
    expect(r.cacheControlFor('/index.html')).toBe('no-cache');
    expect(r.cacheControl.map((c) => c.line)).toEqual([1, 2]);
  });
});

describe('defaultRules', () => {
  it('is the rule file `Pass /* ROOT/*`, ROOT relative to the current directory', () => {
    const d = defaultRules('example');
    const root = resolve('example');
    const f = rules(`Pass /* ${root}/*`);
    expect(d.file).toBeNull();
    expect(d.serverRoot).toBe(root);
    for (const p of ['/', '/a/b.txt', '/dir/', '/some thing.txt', '/snow☃/x', '/a%2Fb']) {
      expect(d.translate(p)).toEqual(f.translate(p));
    }
    expect(d.translate('/a')).toEqual({ kind: 'pass', address: `file://${root}/a`, root });
    expect(d.welcome).toEqual(['index.html']);
    expect(d.dirAccess).toBe('off');
    expect(d.isEnabled('PUT', '/a')).toBe(false);
  });

  it('takes a ROOT with characters the rule syntax would read', () => {
    const d = defaultRules('/tmp/a dir*#');
    expect(d.translate('/x')).toEqual({ kind: 'pass', address: 'file:///tmp/a%20dir*%23/x', root: '/tmp/a dir*#' });
  });

  it('gives each call its own immutable rule set', () => {
    const d = defaultRules('/srv');
    expect(Object.isFrozen(d.welcome)).toBe(true);
    expect(Object.isFrozen(d.settings)).toBe(true);
    expect(dirname(d.serverRoot)).toBe('/');
  });
});
