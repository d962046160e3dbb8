// Error pages over raw sockets: the error stack rendered by negotiation (HTML
// for browsers, RFC 9457 problem details for JSON clients, one line of plain
// text otherwise, always `Vary: Accept`), what a page may show (an escaped
// path, never the query, a file system path or a server error's detail), and
// `ErrorPage STATUS… PATH`: the site's document with the original status,
// through the converters, with its fallback to the built-in page when the
// document is missing, failing, forbidden, protected or not acceptable, and
// never a loop.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CountingFs, fetchRaw, fileRoot, req, startServer, stopServers } from './protocols/file-helpers.js';
import { makeSite, siteRules, type Site } from './auth/fixtures.js';
import { chooseErrorFormat } from '../src/error-page.js';
import { parseRules, RuleFileError } from '../src/rules/index.js';
import { runCli } from './helpers/cli.js';
import { connect, exchange, sleep, type RawResponse } from './helpers/wire.js';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const JSON_CLIENT = 'application/json';
const NOT_FOUND_HTML = '<!doctype html><title>Lost</title><h1>The custom page of this site</h1>\n';

let fixture: ReturnType<typeof fileRoot>;
let site: Site;
beforeAll(() => {
  fixture = fileRoot();
  const w = (rel: string, data: string) => {
    fs.mkdirSync(path.dirname(path.join(fixture.root, rel)), { recursive: true });
    fs.writeFileSync(path.join(fixture.root, rel), data);
  };
  w('404.html', NOT_FOUND_HTML);
  // Over the compression threshold, so the stack's gzip shows.
  w('big-404.html', `<!doctype html><title>Lost</title>\n${'<p>nothing here, nothing at all</p>\n'.repeat(100)}`);
  w('secret/403.html', '<h1>forbidden page</h1>\n');
  w('secret/404.html', '<h1>a 404 page behind a Fail rule</h1>\n');
  w('50x.html', '<h1>try later</h1>\n');
  w('data.json', '{"not":"html"}\n');
  site = makeSite();
});
afterAll(() => {
  fixture.cleanup();
  site.cleanup();
});
afterEach(() => stopServers());

function body(res: RawResponse): string {
  return res.body.toString('utf8');
}

function varyOf(res: RawResponse): string[] {
  return (res.headers.vary ?? '').split(',').map((s) => s.trim().toLowerCase());
}

describe('the built-in page, by negotiation', () => {
  it('HTML for a browser, problem+json for a JSON client, plain text otherwise; each with Vary: Accept', async () => {
    const { port } = await startServer(fixture.root);
    const html = await fetchRaw(port, req('GET', '/missing.txt', { Accept: BROWSER }));
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(varyOf(html)).toContain('accept');
    expect(html.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
    const page = body(html);
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page).toContain('<title>404 Not Found</title>');
    expect(page).toContain('<code>GET /missing.txt</code>');
    expect(page).toContain('WWW_ERR_FILE_NOT_FOUND');
    expect(page).toContain('What to try');
    expect(page).toContain('prefers-color-scheme:dark');
    // Self-contained: nothing that would make the browser fetch anything.
    expect(page).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|url\(|@import/i);
    expect(Number(html.headers['content-length'])).toBe(html.body.length);

    const json = await fetchRaw(port, req('GET', '/missing.txt', { Accept: JSON_CLIENT }));
    expect(json.status).toBe(404);
    expect(json.headers['content-type']).toBe('application/problem+json');
    expect(varyOf(json)).toContain('accept');
    expect(JSON.parse(body(json))).toEqual({
      type: 'about:blank', title: 'Not Found', status: 404, detail: 'Not found', instance: '/missing.txt', code: 'WWW_ERR_FILE_NOT_FOUND',
    });

    for (const accept of [undefined, '*/*', 'text/plain', 'image/png']) {
      const text = await fetchRaw(port, req('GET', '/missing.txt', accept === undefined ? {} : { Accept: accept }));
      expect(text.status, accept).toBe(404);
      expect(text.headers['content-type'], accept).toBe('text/plain; charset=utf-8');
      expect(varyOf(text), accept).toContain('accept');
      expect(body(text), accept).toBe('404 Not Found: Not found\n');
    }
  });

  it('HEAD gets the head of the same page: its type and length, no body', async () => {
    const { port } = await startServer(fixture.root);
    const get = await fetchRaw(port, req('GET', '/missing.txt', { Accept: BROWSER }));
    const head = await fetchRaw(port, req('HEAD', '/missing.txt', { Accept: BROWSER }), true);
    expect(head.status).toBe(404);
    expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.body.length).toBe(0);
    // Nothing after the head: the next response on the connection parses.
    const both = await exchange(port, [...req('HEAD', '/missing.txt', { Accept: BROWSER }), ...req('GET', '/hello.txt')], { responses: 2, heads: [0], timeout: 5000 });
    expect(both.responses.map((r) => r.status)).toEqual([404, 200]);
    expect(both.responses[1]!.body.toString()).toBe('Hello, world\n');
  });

  it('keeps what the error says in its fields: Allow on a 405, and says it on the page', async () => {
    const { port } = await startServer(fixture.root);
    const res = await fetchRaw(port, req('DELETE', '/hello.txt', { Accept: BROWSER }));
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(body(res)).toContain('This address allows GET, HEAD, OPTIONS.');
    const json = await fetchRaw(port, req('DELETE', '/hello.txt', { Accept: JSON_CLIENT }));
    expect(json.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(JSON.parse(body(json))).toMatchObject({ status: 405, title: 'Method Not Allowed', code: 'WWW_ERR_REQ_METHOD_NOT_ALLOWED', detail: 'Method not allowed: DELETE' });
  });

  it('escapes a hostile path in HTML, keeps JSON valid, and never shows the query', async () => {
    const { port } = await startServer(fixture.root);
    const target = '/%3Cscript%3Ealert(1)%3C/script%3E%22%27&amp;?token=s3cr3t-t0ken';
    const html = body(await fetchRaw(port, req('GET', target, { Accept: BROWSER })));
    expect(html).toContain('<code>GET /&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;amp;</code>');
    expect(html).not.toMatch(/<script|alert\(1\)<|"'&amp;</);
    const json = await fetchRaw(port, req('GET', target, { Accept: JSON_CLIENT }));
    const problem = JSON.parse(body(json)) as Record<string, unknown>;
    expect(problem.instance).toBe('/%3Cscript%3Ealert(1)%3C/script%3E%22%27&amp;');
    for (const accept of [BROWSER, JSON_CLIENT, '*/*']) {
      expect(body(await fetchRaw(port, req('GET', target, { Accept: accept })))).not.toContain('s3cr3t');
    }
  });

  it('shows no credential: not the Authorization or Cookie fields, not the userinfo of an absolute-form target', async () => {
    const { port } = await startServer(fixture.root);
    const secrets = { Authorization: 'Basic YWxpY2U6czNjcjN0LXB3', Cookie: 'session=s3cr3t-c00kie' };
    for (const accept of [BROWSER, JSON_CLIENT, '*/*']) {
      const res = await fetchRaw(port, req('GET', 'http://alice:s3cr3t-pw@test/missing?key=s3cr3t-key', { ...secrets, Accept: accept }));
      expect(res.status, accept).toBe(404);
      for (const secret of ['s3cr3t', 'YWxpY2U6', 'alice']) expect(body(res), `${accept} ${secret}`).not.toContain(secret);
    }
    expect(body(await fetchRaw(port, req('GET', 'http://alice:s3cr3t-pw@test/missing', { Accept: BROWSER })))).toContain('<code>GET /missing</code>');
  });

  it('shows no path of the disk and no detail of a server error, in any format', async () => {
    const counting = new CountingFs();
    counting.fail.open = (p) => (p.endsWith('hello.txt') ? Object.assign(new Error(`EIO: i/o error, open '${p}'`), { code: 'EIO' }) : undefined);
    const { port } = await startServer(fixture.root, 'Pass /*', { file: { fs: counting.fs, cacheMaxFile: 0 } });
    // A symlink out of the root (a 404 with a detail), a failing disk (500), a dotfile.
    for (const target of ['/escape.txt', '/list/out.txt', '/hello.txt', '/.hidden', '/snow%20%E2%98%83/nope']) {
      for (const accept of [BROWSER, JSON_CLIENT, '*/*']) {
        const res = await fetchRaw(port, req('GET', target, { Accept: accept }));
        expect(res.status, `${target} ${accept}`).toBeGreaterThanOrEqual(400);
        const text = body(res);
        for (const secret of [fixture.root, fixture.outside, path.dirname(fixture.root), 'EIO', 'i/o error', ' at ', 'node:']) {
          expect(text, `${target} ${accept} ${secret}`).not.toContain(secret);
        }
      }
    }
    const failed = await fetchRaw(port, req('GET', '/hello.txt', { Accept: JSON_CLIENT }));
    expect(failed.status).toBe(500);
    expect(JSON.parse(body(failed))).toMatchObject({ status: 500, detail: 'File system error', code: 'WWW_ERR_FILE_IO' });
  });

  it('chooses by weight, then by the type the client names, then plain text', () => {
    expect(chooseErrorFormat(undefined)).toBe('text');
    expect(chooseErrorFormat('*/*')).toBe('text');
    expect(chooseErrorFormat(BROWSER)).toBe('html');
    expect(chooseErrorFormat('application/xhtml+xml')).toBe('html');
    expect(chooseErrorFormat('application/json')).toBe('problem');
    expect(chooseErrorFormat('application/problem+json')).toBe('problem');
    expect(chooseErrorFormat('application/json, */*;q=0.1')).toBe('problem');
    expect(chooseErrorFormat('text/html;q=0.5, application/json')).toBe('problem');
    expect(chooseErrorFormat('text/html, application/json;q=0.9')).toBe('html');
    expect(chooseErrorFormat('application/json, text/*')).toBe('problem');
    expect(chooseErrorFormat('text/plain, text/html')).toBe('text');
    expect(chooseErrorFormat('image/png')).toBe('text');
    expect(chooseErrorFormat('text/html;q=0')).toBe('text');
    expect(chooseErrorFormat('garbage,,;;')).toBe('text');
  });
});

describe('ErrorPage STATUS… PATH', () => {
  it('serves the site\'s document with the original status, through the stack, without its validators', async () => {
    const { port } = await startServer(fixture.root, 'ErrorPage 404 /404.html\nPass /*');
    for (const accept of [BROWSER, '*/*', undefined]) {
      const res = await fetchRaw(port, req('GET', '/nowhere/missing', accept === undefined ? {} : { Accept: accept }));
      expect(res.status, accept).toBe(404);
      expect(res.headers['content-type']).toBe('text/html');
      expect(body(res)).toBe(NOT_FOUND_HTML);
      expect(varyOf(res)).toContain('accept');
      // Validators and caching of the document are not the missing resource's (RFC 9110 §8.8).
      expect(res.headers.etag).toBeUndefined();
      expect(res.headers['last-modified']).toBeUndefined();
      expect(res.headers['accept-ranges']).toBeUndefined();
    }
    // The document itself is still served as it is.
    const doc = await fetchRaw(port, req('GET', '/404.html'));
    expect([doc.status, body(doc)]).toEqual([200, NOT_FOUND_HTML]);
    expect(doc.headers.etag).toBeDefined();
  });

  it('never turns into a 304 or a 206 by the request\'s conditionals or Range, and is compressed as any document', async () => {
    const { port } = await startServer(fixture.root, 'ErrorPage 404 /big-404.html\nPass /*');
    const first = await fetchRaw(port, req('GET', '/big-404.html'));
    const hostile = {
      Accept: BROWSER, 'Accept-Encoding': 'gzip', Range: 'bytes=0-9',
      'If-None-Match': first.headers.etag!, 'If-Modified-Since': new Date(Date.now() + 60_000).toUTCString(),
    };
    const res = await fetchRaw(port, req('GET', '/missing', hostile));
    expect(res.status).toBe(404);
    expect(res.headers['content-range']).toBeUndefined();
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(varyOf(res)).toEqual(expect.arrayContaining(['accept', 'accept-encoding']));
    expect(gunzipSync(res.body).equals(fs.readFileSync(path.join(fixture.root, 'big-404.html')))).toBe(true);
  });

  it('HEAD: the document\'s head with the original status; other methods: the document as for GET', async () => {
    const { port } = await startServer(fixture.root, 'ErrorPage 404 405 /404.html\nEnable DELETE /up/*\nPass /*');
    const head = await fetchRaw(port, req('HEAD', '/missing', { Accept: BROWSER }), true);
    expect(head.status).toBe(404);
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(NOT_FOUND_HTML));
    expect(head.body.length).toBe(0);
    // DELETE of a file that is not there: 404, the document, and nothing on disk changed.
    const del = await fetchRaw(port, req('DELETE', '/up/none.txt', { Accept: BROWSER }));
    expect(del.status).toBe(404);
    expect(body(del)).toBe(NOT_FOUND_HTML);
    expect(fs.existsSync(path.join(fixture.root, '404.html'))).toBe(true);
    // A 405 keeps its Allow field with the document.
    const post = await fetchRaw(port, req('POST', '/hello.txt', { Accept: BROWSER }, 'x=1'));
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(body(post)).toBe(NOT_FOUND_HTML);
  });

  it('falls back to the built-in page when the document is missing, and does not loop', async () => {
    const { port } = await startServer(fixture.root, 'ErrorPage 404 /also-missing.html\nPass /*');
    const res = await fetchRaw(port, req('GET', '/missing', { Accept: BROWSER }));
    expect(res.status).toBe(404);
    expect(body(res)).toContain('<title>404 Not Found</title>');
    expect(body(res)).toContain('<code>GET /missing</code>');
    // The document's own path, missing: the same built-in page, once.
    const self = await fetchRaw(port, req('GET', '/also-missing.html', { Accept: JSON_CLIENT }));
    expect(self.status).toBe(404);
    expect(JSON.parse(body(self))).toMatchObject({ instance: '/also-missing.html', code: 'WWW_ERR_FILE_NOT_FOUND' });
  });

  it('falls back when the document fails to load (a disk error)', async () => {
    const counting = new CountingFs();
    counting.fail.open = (p) => (p.endsWith('404.html') ? Object.assign(new Error('EIO'), { code: 'EIO' }) : undefined);
    const { port } = await startServer(fixture.root, 'ErrorPage 404 /404.html\nPass /*', { file: { fs: counting.fs } });
    const res = await fetchRaw(port, req('GET', '/missing', { Accept: BROWSER }));
    expect(res.status).toBe(404);
    expect(body(res)).toContain('<title>404 Not Found</title>');
    expect(body(res)).not.toContain('custom page');
    expect(counting.calls.get('open') ?? 0).toBeGreaterThan(0);
  });

  it('pipelined behind and ahead of other requests, replies keep their order; a client gone mid-load leaves nothing behind', async () => {
    const counting = new CountingFs();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    counting.hold.open = (p) => (p.endsWith('404.html') ? held : undefined);
    const { port } = await startServer(fixture.root, 'ErrorPage 404 /404.html\nPass /*', { file: { fs: counting.fs } });
    // A client that leaves while its error document is being opened.
    const gone = await connect(port);
    gone.write(req('GET', '/missing-a', { Accept: BROWSER }).join(''));
    await sleep(50);
    gone.destroy();
    // Pipelined: a 404 whose document is still held, then a file, then another 404.
    const pipelined = [...req('GET', '/missing-b', { Accept: BROWSER }), ...req('GET', '/hello.txt'), ...req('GET', '/missing-c', { Accept: JSON_CLIENT })];
    const done = exchange(port, pipelined, { responses: 3, timeout: 5000 });
    await sleep(100);
    release();
    const r = await done;
    expect(r.responses.map((x) => x.status)).toEqual([404, 200, 404]);
    expect(r.responses[0]!.body.toString()).toBe(NOT_FOUND_HTML);
    expect(r.responses[1]!.body.toString()).toBe('Hello, world\n');
    expect(r.responses[2]!.headers['content-type']).toBe('application/problem+json');
    // The server is still well: the next error page is served at once.
    expect(body(await fetchRaw(port, req('GET', '/missing-d', { Accept: BROWSER })))).toBe(NOT_FOUND_HTML);
  });

  it('falls back when a Fail rule forbids the document: for its own 403 and for another status', async () => {
    const { port } = await startServer(fixture.root, 'ErrorPage 403 /secret/403.html\nErrorPage 404 /secret/404.html\nFail /secret/*\nPass /*');
    const forbidden = await fetchRaw(port, req('GET', '/secret/anything', { Accept: BROWSER }));
    expect(forbidden.status).toBe(403);
    expect(body(forbidden)).toContain('<title>403 Forbidden</title>');
    expect(body(forbidden)).not.toContain('forbidden page');
    const missing = await fetchRaw(port, req('GET', '/missing', { Accept: BROWSER }));
    expect(missing.status).toBe(404);
    expect(body(missing)).toContain('<title>404 Not Found</title>');
    expect(body(missing)).not.toContain('behind a Fail rule');
  });

  it('falls back when a Protect rule guards the document: no challenge, no protected bytes', async () => {
    const { port } = await startServer(site.root, siteRules(site, 'ErrorPage 404 /guarded/doc.txt'));
    const res = await fetchRaw(port, req('GET', '/open/missing', { Accept: BROWSER }));
    expect(res.status).toBe(404);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(body(res)).toContain('<title>404 Not Found</title>');
    expect(body(res)).not.toContain('guarded document');
  });

  it('falls back when the client does not accept the document\'s type; a JSON client keeps its problem details', async () => {
    const { port } = await startServer(fixture.root, 'ErrorPage 404 /404.html\nErrorPage 500 /data.json\nPass /*');
    const res = await fetchRaw(port, req('GET', '/missing', { Accept: JSON_CLIENT }));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(varyOf(res)).toContain('accept');
  });

  it('a 401 keeps its challenge with the document', async () => {
    fs.writeFileSync(path.join(site.root, 'open', '401.html'), '<h1>sign in first</h1>\n');
    const { port } = await startServer(site.root, siteRules(site, 'ErrorPage 401 /open/401.html'));
    const res = await fetchRaw(port, req('GET', '/guarded/doc.txt', { Accept: BROWSER }));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect(body(res)).toBe('<h1>sign in first</h1>\n');
  });
});

describe('ErrorPage in a rule file', () => {
  function errors(text: string): string[] {
    try {
      parseRules(text, 'site.rules');
    } catch (err) {
      expect(err).toBeInstanceOf(RuleFileError);
      return (err as RuleFileError).message.split('\n');
    }
    return [];
  }

  it('takes several statuses and one path; the last line for a status wins', () => {
    const rules = parseRules('ErrorPage 500 502 503 /50x.html\nErrorPage 404 /404.html\nErrorPage 503 /busy.html\nPass /*', 'site.rules');
    expect(rules.settings.errorPages).toEqual({ 404: '/404.html', 500: '/50x.html', 502: '/50x.html', 503: '/busy.html' });
  });

  it.each([
    ['ErrorPage 302 /x.html', 'site.rules:1: ErrorPage: expected an error status from 400 to 599, got "302"'],
    ['ErrorPage 200 /x.html', 'site.rules:1: ErrorPage: expected an error status from 400 to 599, got "200"'],
    ['ErrorPage 101 /x.html', 'site.rules:1: ErrorPage: expected an error status from 400 to 599, got "101"'],
    ['ErrorPage 600 /x.html', 'site.rules:1: ErrorPage: expected an error status from 400 to 599, got "600"'],
    ['ErrorPage 404', 'site.rules:1: ErrorPage: expected STATUS… PATH, got 1 argument'],
    ['ErrorPage /404.html', 'site.rules:1: ErrorPage: expected STATUS… PATH, got 1 argument'],
    ['ErrorPage 404 404.html', 'site.rules:1: ErrorPage: expected the path of a document like /404.html after the statuses, got "404.html"'],
    ['ErrorPage 404 /errors/', 'site.rules:1: ErrorPage: expected the path of a document like /404.html after the statuses, got "/errors/"'],
    ['ErrorPage 404 /../etc/passwd', 'site.rules:1: ErrorPage: expected the path of a document like /404.html after the statuses, got "/../etc/passwd"'],
  ])('%s is refused with file:line', (line, message) => {
    expect(errors(`${line}\nPass /*`)).toEqual([message]);
  });

  it('the CLI stops with file:line and exit 2 on a bad ErrorPage', async () => {
    const dir = fs.mkdtempSync(path.join(fixture.root, '..', 'rules-'));
    const file = path.join(dir, 'bad.rules');
    fs.writeFileSync(file, 'Pass /*\nErrorPage 304 /x.html\n');
    const r = await runCli(['--rules', file, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${file}:2: ErrorPage: expected an error status from 400 to 599, got "304"\n`);
    expect(r.stdout).not.toContain('serving');
  });
});

describe('the wire\'s own errors, presented as the server\'s', () => {
  it('a 417 for an unknown expectation: HTML for a browser, problem details for a JSON client, text otherwise', async () => {
    const { port } = await startServer(fixture.root);
    const ask = (accept?: string) => fetchRaw(port, req('GET', '/index.html', { Expect: 'teapot', ...(accept && { Accept: accept }) }));
    const html = await ask(BROWSER);
    expect([html.status, html.headers['content-type']]).toEqual([417, 'text/html; charset=utf-8']);
    expect(body(html)).toContain('WWW_ERR_PARSE_EXPECT');
    expect(varyOf(html)).toContain('accept');
    const problem = await ask(JSON_CLIENT);
    expect(problem.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(body(problem))).toMatchObject({ status: 417, code: 'WWW_ERR_PARSE_EXPECT' });
    const text = await ask();
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('a body cut short by the client\'s FIN: 400 as problem details, with Connection: close', async () => {
    const { port } = await startServer(fixture.root, 'Pass /*\nEnable PUT /*');
    const head = `PUT /up.txt HTTP/1.1\r\nHost: a\r\nAccept: ${JSON_CLIENT}\r\nContent-Length: 100\r\n\r\n`;
    const r = await exchange(port, [head, 'only ten b'], { responses: 1, end: true, timeout: 5000 });
    const res = r.responses[0]!;
    expect([res.status, res.headers['content-type'], res.headers.connection]).toEqual([400, 'application/problem+json', 'close']);
    expect(JSON.parse(body(res))).toMatchObject({ status: 400, code: 'WWW_ERR_REQ_BODY_INCOMPLETE', instance: '/up.txt' });
    expect(fs.existsSync(path.join(fixture.root, 'up.txt'))).toBe(false);
  });

  it('a request arriving while the server stops: the 503 page keeps Retry-After and close', async () => {
    const { server, port } = await startServer(fixture.root);
    const s = await connect(port);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.write(`GET /index.html HTTP/1.1\r\nHost: a\r\nAccept: ${BROWSER}\r\n`);
    await sleep(30);
    const stopped = server.close(5000);
    await sleep(30);
    s.write('\r\n');
    const end = Date.now() + 5000;
    while (!Buffer.concat(chunks).toString('latin1').includes('</html>') && Date.now() < end) await sleep(5);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toMatch(/\r\ncontent-type: text\/html; charset=utf-8\r\n/i);
    expect(text).toContain('WWW_ERR_REQ_STOPPING');
    s.destroy();
    await stopped;
  });
});
