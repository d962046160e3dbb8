// Load-time errors: each one `file:line: Directive: what was expected`, and
// every error of a file reported at once, in line order.

import { describe, it, expect } from 'vitest';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRules, parseRules, RuleFileError } from '../../src/rules/index.js';

function errorsOf(text: string, file = 'bad.rules'): string[] {
  try {
    parseRules(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(RuleFileError);
    const e = err as RuleFileError;
    expect(e.message).toBe(e.errors.map((x) => `${x.file}:${x.line}: ${x.directive}: ${x.message}`).join('\n'));
    return e.message.split('\n');
  }
  throw new Error('expected a RuleFileError');
}

const single: [line: string, message: string][] = [
  ['Frobnicate x', 'Frobnicate: unknown directive'],
  ['Pas /x', 'Pas: unknown directive (did you mean Pass?)'],
  ['REDIRECTT /a /b', 'REDIRECTT: unknown directive (did you mean Redirect?)'],
  ['Map /a/*', 'Map: expected TEMPLATE RESULT, got 1 argument'],
  ['Pass', 'Pass: expected TEMPLATE [RESULT], got none'],
  ['Fail /a /b', 'Fail: expected TEMPLATE, got 2 arguments'],
  ['Redirect /a /b 301 x', 'Redirect: expected TEMPLATE URL [STATUS], got 4 arguments'],
  ['Map /a/* /b/*/*', 'Map: RESULT "/b/*/*" has 2 * but TEMPLATE "/a/*" has 1'],
  ['Pass /a /srv/*', 'Pass: RESULT "/srv/*" has 1 * but TEMPLATE "/a" has 0'],
  ['Redirect /a\\* /b/*', 'Redirect: RESULT "/b/*" has 1 * but TEMPLATE "/a\\*" has 0'],
  ['Redirect /a http://', 'Redirect: expected an absolute http(s) URL or a path starting with "/", got "http://"'],
  ['Redirect /a ftp://x/', 'Redirect: expected an absolute http(s) URL or a path starting with "/", got "ftp://x/"'],
  ['Redirect /a //evil.example/', 'Redirect: expected an absolute http(s) URL or a path starting with "/", got "//evil.example/"'],
  ['Redirect /a relative/path', 'Redirect: expected an absolute http(s) URL or a path starting with "/", got "relative/path"'],
  ['Redirect /a http://x/ 404', 'Redirect: expected a status of 301, 302, 303, 307 or 308, got "404"'],
  ['Redirect /a http://x/ 300', 'Redirect: expected a status of 301, 302, 303, 307 or 308, got "300"'],
  ['Proxy /a/* /local/*', 'Proxy: expected an absolute http(s) URL, got "/local/*"'],
  ['Proxy /a/* http://*/x', 'Proxy: expected the first * after the host, got "http://*/x" (a * in the host lets the client choose the server)'],
  ['Proxy /a* http://backend*', 'Proxy: expected the first * after the host, got "http://backend*" (a * in the host lets the client choose the server)'],
  ['Pass /x/* http://h/*', 'Pass: expected a directory path or a file: URL as RESULT, got "http://h/*" (Proxy hands a request to http)'],
  ['Pass /* file://host/x/*', 'Pass: expected a file: URL with an absolute path before the first *, got "file://host/x/*" (the host must be empty or localhost)'],
  ['Pass /* file:///x?y/*', 'Pass: expected a file: URL with an absolute path before the first *, got "file:///x?y/*" (a query or fragment)'],
  ['Enable FROB /x', 'Enable: unknown method "FROB" (expected one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK)'],
  ['MaxBodySize 10X', 'MaxBodySize: expected a size like 1048576, 512K, 10M or 1G, got "10X"'],
  ['MaxHeaderSize 1.5K', 'MaxHeaderSize: expected a size like 1048576, 512K, 10M or 1G, got "1.5K"'],
  ['HeaderTimeout 10', 'HeaderTimeout: expected a duration like 500ms, 10s or 2m, got "10"'],
  ['KeepAliveTimeout 5 s', 'KeepAliveTimeout: expected DURATION, got 2 arguments'],
  ['Port 70000', 'Port: expected a port number from 0 to 65535, got "70000"'],
  ['Port http', 'Port: expected a port number from 0 to 65535, got "http"'],
  ['Host -bad-', 'Host: expected an IP address or a host name, got "-bad-"'],
  ['MaxPipeline 0', 'MaxPipeline: expected a whole number of at least 1, got "0"'],
  ['AlwaysWelcome yes', 'AlwaysWelcome: expected On or Off, got "yes"'],
  ['DirAccess maybe', 'DirAccess: expected On, Off or Selective, got "maybe"'],
  ['AddType html text/html', 'AddType: expected a suffix like .html, got "html"'],
  ['AddType .x text', 'AddType: expected a media type like text/html, got "text"'],
  ['AddType .x text/plain 8bit 2', 'AddType: expected a quality from 0 to 1 like 0.8, got "2"'],
  ['AddEncoding .gz g/zip', 'AddEncoding: expected a coding name, got "g/zip"'],
  ['Welcome a/b', 'Welcome: expected a file name like index.html, got "a/b"'],
  ['Converter x.js high', 'Converter: expected a quality from 0 to 1 like 0.8, got "high"'],
  ['Protect /p/* nosuch', 'Protect: no Protection block named "nosuch" (expected a block name or a setup file path)'],
  ['Protection p', 'Protection: expected NAME {, got 1 argument'],
  ['Protection p [', 'Protection: expected NAME {, got "[" where "{" opens the block'],
  ['}', '}: no Protection block is open'],
  ['Pass "/unterminated', 'Pass: unterminated "quoted word"'],
  ['Pass /a\\q', 'Pass: unknown escape "\\q" (expected "\\" before a space, *, #, " or \\)'],
  ['CacheControl /x no-cache\\', 'CacheControl: a "\\" at the end of the line escapes nothing'],
  ['Pass /a\u0007', 'Pass: control character U+0007 in the line'],
];

describe('parse errors, one line each', () => {
  it.each(single)('%j', (line, message) => {
    expect(errorsOf(line)).toEqual([`bad.rules:1: ${message}`]);
  });
});

describe('parse errors, the whole file', () => {
  it('reports every error with its line, not just the first', () => {
    const text = [
      '# a comment',
      'Pass /ok/* /srv/ok/*',
      'Pas /x',
      '',
      'Port 99999',
      '    Redirect /a http://x/ 200   # indented, with a comment',
      'Map /a/* /b/*/*',
      'Enable TRACE /x',
    ].join('\n');
    expect(errorsOf(text, 'site.rules')).toEqual([
      'site.rules:3: Pas: unknown directive (did you mean Pass?)',
      'site.rules:5: Port: expected a port number from 0 to 65535, got "99999"',
      'site.rules:6: Redirect: expected a status of 301, 302, 303, 307 or 308, got "200"',
      'site.rules:7: Map: RESULT "/b/*/*" has 2 * but TEMPLATE "/a/*" has 1',
      'site.rules:8: Enable: unknown method "TRACE" (expected one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK)',
    ]);
  });

  it('reports two errors on one line', () => {
    expect(errorsOf('Redirect /a ftp://x/ 200')).toEqual([
      'bad.rules:1: Redirect: expected an absolute http(s) URL or a path starting with "/", got "ftp://x/"',
      'bad.rules:1: Redirect: expected a status of 301, 302, 303, 307 or 308, got "200"',
    ]);
  });

  it('reports errors inside and around Protection blocks', () => {
    const text = [
      'Protection p {',
      '  AuthType Basic',
      '  Realm x',
      '  GetMask',
      '}',
      'Protection p {',
      '}',
      'Protection q {',
      '  ServerId x',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'bad.rules:3: Protection: unknown field "Realm" in block "p" (expected one of UserId, GroupId, AuthType, ServerId, PasswordFile, GroupFile, GetMask, PostMask, PutMask, DeleteMask, ACLOverride, MaskGroup)',
      'bad.rules:4: Protection: GetMask: expected a value',
      'bad.rules:6: Protection: block "p" is defined twice',
      'bad.rules:8: Protection: block "q" has no closing "}"',
    ]);
  });

  it('counts lines in CRLF files and ignores a BOM', () => {
    expect(errorsOf('\uFEFFPass /*\r\nBogus\r\n')).toEqual(['bad.rules:2: Bogus: unknown directive']);
  });

  it('names the file as it was given', () => {
    expect(errorsOf('Bogus', 'conf/site.rules')).toEqual(['conf/site.rules:1: Bogus: unknown directive']);
  });
});

describe('loadRules errors', () => {
  it('reports an unreadable file at line 0', async () => {
    const file = join(tmpdir(), 'streamstack-no-such-file.rules');
    await expect(loadRules(file)).rejects.toThrow(`${file}:0: cannot read: ENOENT`);
    await expect(loadRules(file)).rejects.toBeInstanceOf(RuleFileError);
  });

  it('reports a directory given as the rule file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streamstack-rules-'));
    await expect(loadRules(dir)).rejects.toThrow(`${dir}:0: cannot read: EISDIR`);
  });

  it('reports a ServerRoot that is not a directory, at its line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streamstack-rules-'));
    const file = join(dir, 'site.rules');
    await writeFile(file, '# site\nServerRoot missing\nPass /*\n');
    await expect(loadRules(file)).rejects.toThrow(`${file}:2: ServerRoot: expected an existing directory, got ${JSON.stringify(join(dir, 'missing'))} (ENOENT)`);
    await mkdir(join(dir, 'missing'));
    const rules = await loadRules(file);
    expect(rules.serverRoot).toBe(join(dir, 'missing'));
    expect(rules.file).toBe(file);
  });

  it('lists parse errors and does not check ServerRoot given as an option', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streamstack-rules-'));
    const file = join(dir, 'site.rules');
    await writeFile(file, 'ServerRoot missing\nPass /*\n');
    const rules = await loadRules(file, { serverRoot: dir });
    expect(rules.serverRoot).toBe(dir);
    await writeFile(file, 'Pass /*\nBogus\n');
    await expect(loadRules(file)).rejects.toThrow(`${file}:2: Bogus: unknown directive`);
  });
});
