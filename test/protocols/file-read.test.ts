// The FILE module over raw sockets: GET and HEAD, path safety (traversal
// vectors), dotfiles, OS errors mapped in one place, directories (redirect,
// Welcome, listing, DirAccess) and precompressed sidecars.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { connect, readUntil } from '../helpers/wire.js';
import { APP_JS, CountingFs, GET, fetchRaw, fileRoot, osError, req, startServer, stopServers, until } from './file-helpers.js';

let fx: ReturnType<typeof fileRoot>;
beforeAll(() => {
  fx = fileRoot();
  // Cached (under 1 MiB) but over the stack's 128 KiB syncLimit: GET streams its gzip.
  fs.writeFileSync(path.join(fx.root, 'mid.txt'), 'a line somewhat longer than the others\n'.repeat(5000));
});
afterAll(() => fx.cleanup());
afterEach(stopServers);

describe('GET and HEAD of a file', () => {
  it('sends type, length, validators and Accept-Ranges; no charset or Cache-Control unless a rule says', async () => {
    const { port } = await startServer(fx.root);
    const r = await GET(port, '/hello.txt');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('Hello, world\n');
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['content-length']).toBe('13');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const mtime = fs.statSync(path.join(fx.root, 'hello.txt')).mtime;
    expect(r.headers['last-modified']).toBe(mtime.toUTCString());
    expect(r.headers['cache-control']).toBeUndefined();
  });

  it('a Range of a document that has no encoded sidecar: the 206 says the Vary its 200 says (RFC 9110 §15.3.7)', async () => {
    const { port } = await startServer(fx.root);
    const whole = await GET(port, '/hello.txt', { 'Accept-Encoding': 'gzip' });
    const part = await GET(port, '/hello.txt', { 'Accept-Encoding': 'gzip', Range: 'bytes=0-4' });
    expect(part.status).toBe(206);
    expect(part.body.toString()).toBe('Hello');
    expect(whole.headers.vary).toBe('Accept-Encoding');
    expect(part.headers.vary).toBe(whole.headers.vary);
  });

  it('takes the type from AddType before mime, the charset from AddCharset, Cache-Control from a rule', async () => {
    const rules = 'Pass /*\nAddType .txt text/x-notes\nAddCharset .html utf-8\nCacheControl /site/* "public, max-age=60"';
    const { port } = await startServer(fx.root, rules);
    expect((await GET(port, '/hello.txt')).headers['content-type']).toBe('text/x-notes');
    const html = await GET(port, '/site/other.html');
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['cache-control']).toBe('public, max-age=60');
    expect((await GET(port, '/big.bin')).headers['content-type']).toBe('application/octet-stream');
  });

  it('sends the coding AddType or AddEncoding names as Content-Encoding, with the inner type', async () => {
    fs.writeFileSync(path.join(fx.root, 'notes.txt.gz'), gzipSync('notes\n'));
    fs.writeFileSync(path.join(fx.root, 'pic.svgz'), gzipSync('<svg/>'));
    const { port } = await startServer(fx.root, 'Pass /*\nAddType .svgz image/svg+xml gzip\nAddEncoding .gz gzip');
    const notes = await GET(port, '/notes.txt.gz', { 'Accept-Encoding': 'gzip' });
    expect([notes.headers['content-type'], notes.headers['content-encoding']]).toEqual(['text/plain', 'gzip']);
    expect(gunzipSync(notes.body).toString()).toBe('notes\n');
    const svg = await GET(port, '/pic.svgz', { 'Accept-Encoding': 'gzip, br' });
    expect([svg.headers['content-type'], svg.headers['content-encoding']]).toEqual(['image/svg+xml', 'gzip']);
    const plain = await startServer(fx.root, 'Pass /*\nAddType .txt text/plain 8bit');
    expect((await GET(plain.port, '/hello.txt')).headers['content-encoding']).toBeUndefined();
  });

  it('answers HEAD with the head of the GET and no body', async () => {
    const { port } = await startServer(fx.root);
    const get = await GET(port, '/page.html');
    const head = await fetchRaw(port, req('HEAD', '/page.html'), true);
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'accept-ranges']) expect(head.headers[name]).toBe(get.headers[name]);
    // Compressed on the fly: the HEAD of a cached document knows the GET's Content-Length too.
    const gz = { 'Accept-Encoding': 'gzip' };
    const getGz = await GET(port, '/long.txt', gz);
    const headGz = await fetchRaw(port, req('HEAD', '/long.txt', gz), true);
    expect(headGz.headers['content-length']).toBe(getGz.headers['content-length']);
    expect(headGz.headers['content-encoding']).toBe('gzip');
  });

  // RFC 9110 §9.3.2: the same header fields as GET, Content-Length whenever
  // GET's is known; where GET is chunked, HEAD has neither Content-Length nor
  // Transfer-Encoding (RFC 9112 §6.1: it may leave out the framing of a body it does not send).
  const headCases: Array<[string, string, Record<string, string>, Record<string, unknown>]> = [
    ['a small text, gzip on the fly', '/long.txt', { 'Accept-Encoding': 'gzip' }, {}],
    ['a small text, charset converted', '/long.txt', { 'Accept-Charset': 'utf-8' }, {}],
    ['a small text, uncached: GET streams', '/long.txt', { 'Accept-Encoding': 'gzip' }, { cacheMaxFile: 0 }],
    ['a cached text over syncLimit: GET streams', '/mid.txt', { 'Accept-Encoding': 'gzip' }, {}],
    ['a br sidecar', '/app.js', { 'Accept-Encoding': 'br' }, {}],
    ['a listing', '/list/', {}, {}],
  ];
  it.each(headCases)('HEAD sends every field GET sends but Date: %s', async (_d, target, headers, file) => {
    const rules = 'Pass /*\nAddCharset .txt windows-1252\nDirAccess On';
    for (const headFirst of [true, false]) {
      const { port } = await startServer(fx.root, rules, { file });
      const fields = (r: { names: string[]; headers: Record<string, string> }) =>
        r.names.filter((n) => n !== 'Date' && n !== 'Transfer-Encoding').map((n) => [n, r.headers[n.toLowerCase()]]);
      const head1 = headFirst ? await fetchRaw(port, req('HEAD', target, headers), true) : null;
      const get = await GET(port, target, headers);
      const head = head1 ?? (await fetchRaw(port, req('HEAD', target, headers), true));
      expect(get.status).toBe(200);
      expect(fields(head)).toEqual(fields(get));
      await stopServers();
    }
  });

  it('serves the hard names, an empty file and a big file streamed from disk', async () => {
    const { port } = await startServer(fx.root);
    expect((await GET(port, '/some%20thing.txt')).body.toString()).toBe('spaced\n');
    expect((await GET(port, '/snow%20%E2%98%83/flake.txt')).body.toString()).toBe('cold\n');
    expect((await GET(port, '/do..ts.txt')).body.toString()).toBe('dots\n');
    const empty = await GET(port, '/empty.txt');
    expect([empty.status, empty.headers['content-length']]).toEqual([200, '0']);
    const big = await GET(port, '/big.bin');
    expect(big.headers['content-length']).toBe(String(fx.big.length));
    expect(big.body.equals(fx.big)).toBe(true);
  });
});

describe('path safety', () => {
  // [request path, status]: the path arrives decoded once; nothing decodes it again.
  const vectors: Array<[string, number]> = [
    ['/../outside/secret.txt', 404],
    ['/%2e%2e/outside/secret.txt', 404],
    ['/%2E%2E%2Foutside%2Fsecret.txt', 404],
    ['/..%2F..%2Foutside%2Fsecret.txt', 404],
    ['/snow%20%E2%98%83%2Fflake.txt', 404],
    ['/snow%20%E2%98%83%2fflake.txt', 404],
    ['/..%5Coutside%5Csecret.txt', 404],
    ['/snow%20%E2%98%83%5Cflake.txt', 404],
    ['/hello.txt%00', 400],
    ['/hello.txt%00.html', 400],
    ['/%C0%AE%C0%AE/outside/secret.txt', 400],
    ['/%E0%80%AE%E0%80%AE/x', 400],
    ['/%FF%FE', 400],
    ['/%ED%A0%80', 400],
    ['/escape.txt', 404],
    ['/escape-dir/secret.txt', 404],
    ['/list/out.txt', 404],
    ['/inside-link.txt', 200],
    ['/hello.txt/', 404],
    ['/hello.txt/.', 404],
    ['/' + 'n'.repeat(300), 404],
    ['/.hidden', 404],
    ['/%2Ehidden', 404],
    ['/.hidden-dir/inner.txt', 404],
    ['/list/.secret', 404],
    ['/.well-known/security.txt', 200],
    ['/.well-known/../.hidden', 404],
    ['/nope.txt', 404],
    ['/hello.txt/x', 404],
  ];
  it.each(vectors)('%s → %i', async (target, status) => {
    const { port } = await startServer(fx.root);
    const r = await GET(port, target);
    expect(r.status).toBe(status);
    expect(r.body.toString()).not.toContain('secret');
  });

  it('serves dotfiles when the option allows them', async () => {
    const { port } = await startServer(fx.root, 'Pass /*', { file: { dotfiles: 'allow' } });
    expect((await GET(port, '/.hidden')).status).toBe(200);
    expect((await GET(port, '/.hidden-dir/inner.txt')).status).toBe(200);
    expect((await GET(port, '/escape.txt')).status).toBe(404);
  });

  it('keeps a Pass with its own root confined to it', async () => {
    const { port } = await startServer(fx.root, `Map /docs/* /list/*\nPass /list/* ${fx.root}/list/*`);
    expect((await GET(port, '/docs/a.txt')).body.toString()).toBe('a\n');
    expect((await GET(port, '/docs/out.txt')).status).toBe(404);
    expect((await GET(port, '/docs/../hello.txt')).status).toBe(403);
  });
});

describe('OS errors, mapped in one place', () => {
  const rows: Array<[string, number, string | undefined]> = [
    ['ENOENT', 404, undefined],
    ['ENOTDIR', 404, undefined],
    ['ENAMETOOLONG', 404, undefined],
    ['EACCES', 403, undefined],
    ['EPERM', 403, undefined],
    ['EMFILE', 503, '5'],
    ['ENFILE', 503, '5'],
    ['EIO', 500, undefined],
  ];
  it.each(rows)('open fails with %s → %i', async (code, status, retryAfter) => {
    const counting = new CountingFs();
    const logged: string[] = [];
    counting.fail.open = (p) => (p.endsWith('hello.txt') ? osError(code) : undefined);
    const { port } = await startServer(fx.root, 'Pass /*', { file: { fs: counting.fs, log: (m) => logged.push(m) } });
    const r = await GET(port, '/hello.txt');
    expect(r.status).toBe(status);
    expect(r.headers['retry-after']).toBe(retryAfter);
    if (status === 500) {
      expect(logged).toEqual(['GET /hello.txt: EIO']);
      expect(r.body.toString()).not.toContain('EIO');
    } else {
      expect(logged).toEqual([]);
    }
  });

  it('maps a failing realpath the same way', async () => {
    const counting = new CountingFs();
    counting.fail.realpath = (p) => (p.endsWith('hello.txt') ? osError('EACCES') : undefined);
    const { port } = await startServer(fx.root, 'Pass /*', { file: { fs: counting.fs } });
    expect((await GET(port, '/hello.txt')).status).toBe(403);
  });
});

describe('open files are released', () => {
  const fds = () => fs.readdirSync('/proc/self/fd').length;

  it('when a client goes away mid-download, and after HEAD, 304, 416 and multi-range answers', async () => {
    const { port } = await startServer(fx.root, 'Pass /*\nDirAccess On');
    await GET(port, '/big.bin'); // warm: realpath roots, lazy handles of the runtime
    const baseline = fds();
    for (let i = 0; i < 5; i++) {
      const socket = await connect(port);
      socket.write(req('GET', '/big.bin')[0]!);
      await readUntil(socket, (all) => all.length > 100_000);
      socket.destroy();
    }
    const etag = (await GET(port, '/big.bin', { Range: 'bytes=0-0' })).headers.etag!;
    await fetchRaw(port, req('HEAD', '/big.bin'), true);
    await GET(port, '/big.bin', { 'If-None-Match': etag });
    await GET(port, '/big.bin', { Range: 'bytes=9999999-' });
    await GET(port, '/big.bin', { Range: 'bytes=0-10,100-200' });
    await GET(port, '/list/');
    await until(() => fds() <= baseline + 1);
  });
});

describe('directories', () => {
  it('redirects to the trailing slash with 308, keeping the query, not cached forever', async () => {
    const { port } = await startServer(fx.root);
    const r = await GET(port, '/snow%20%E2%98%83?x=1&y');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('/snow%20%E2%98%83/?x=1&y');
    expect(r.headers['cache-control']).toBe('no-cache');
    const list = await GET(port, '/list');
    expect([list.status, list.headers.location]).toEqual([308, '/list/']);
  });

  it('serves the Welcome file, the first listed that exists', async () => {
    const { port } = await startServer(fx.root);
    expect((await GET(port, '/site/')).body.toString()).toBe('<h1>welcome</h1>\n');
    const two = await startServer(fx.root, 'Pass /*\nWelcome missing.html\nWelcome other.html\nWelcome index.html');
    const r = await GET(two.port, '/site/');
    expect(r.body.toString()).toBe('<h1>other</h1>\n');
    expect(r.headers['content-type']).toBe('text/html');
  });

  it('looks for the Welcome file without the slash under AlwaysWelcome', async () => {
    const { port } = await startServer(fx.root, 'Pass /*\nAlwaysWelcome On');
    const r = await GET(port, '/site');
    expect([r.status, r.body.toString()]).toEqual([200, '<h1>welcome</h1>\n']);
    expect((await GET(port, '/list')).status).toBe(308);
  });

  it('refuses a listing without DirAccess (the default) with 403', async () => {
    const { port } = await startServer(fx.root);
    expect((await GET(port, '/list/')).status).toBe(403);
  });

  it('lists as www/dir rendered per Accept, without dotfiles or links out of the root', async () => {
    const { port } = await startServer(fx.root, 'Pass /*\nDirAccess On');
    const html = await GET(port, '/list/');
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    const text = html.body.toString();
    expect(text).toContain('Index of');
    expect(text).toContain('a.txt');
    expect(text).toContain('sub/');
    expect(text).not.toContain('.secret');
    expect(text).not.toContain('out.txt');
    const json = await GET(port, '/list/', { Accept: 'application/json' });
    expect(json.headers['content-type']).toBe('application/json');
    const names = (JSON.parse(json.body.toString()) as { name: string }[]).map((e) => e.name);
    expect(names).toEqual(['sub', 'a.txt', 'b.txt']);
    const head = await fetchRaw(port, req('HEAD', '/list/'), true);
    expect([head.status, head.body.length]).toEqual([200, 0]);
  });

  it('answers 403 for a directory it may not read, before any body', async () => {
    const counting = new CountingFs();
    counting.fail.opendir = () => osError('EACCES');
    const { port } = await startServer(fx.root, 'Pass /*\nDirAccess On', { file: { fs: counting.fs } });
    expect((await GET(port, '/list/')).status).toBe(403);
  });

  it('lists only directories holding .www_browsable under DirAccess Selective', async () => {
    const { port } = await startServer(fx.root, 'Pass /*\nDirAccess Selective');
    expect((await GET(port, '/list/')).status).toBe(403);
    const r = await GET(port, '/browsable/', { Accept: 'application/json' });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body.toString()) as { name: string }[]).map((e) => e.name)).toEqual(['x.txt']);
  });
});

describe('precompressed sidecars', () => {
  const br = () => fs.readFileSync(path.join(fx.root, 'app.js.br'));
  const gz = () => fs.readFileSync(path.join(fx.root, 'app.js.gz'));

  for (const [label, options] of [['from memory', {}], ['from disk', { cacheMaxFile: 0 }]] as const) {
    describe(label, () => {
      const rows: Array<[string | undefined, string | null]> = [
        ['gzip, deflate, br', 'br'],
        ['br, gzip', 'br'],
        ['gzip', 'gzip'],
        ['x-gzip', 'gzip'],
        ['br;q=0.5, gzip', 'gzip'],
        ['br;q=0, gzip;q=0', null],
        ['identity, gzip;q=0.5', null],
        ['*', 'br'],
        [undefined, null],
      ];
      it.each(rows)('Accept-Encoding %s → %s', async (ae, coding) => {
        const { port } = await startServer(fx.root, 'Pass /*', { file: options });
        const identity = await GET(port, '/app.js', { 'Accept-Encoding': 'identity' });
        const r = await GET(port, '/app.js', ae === undefined ? {} : { 'Accept-Encoding': ae });
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toBe('text/javascript');
        expect(r.headers.vary).toBe('Accept-Encoding');
        expect(r.headers['content-encoding']).toBe(coding ?? undefined);
        if (coding === 'br') {
          expect(r.body.equals(br())).toBe(true);
          expect(brotliDecompressSync(r.body).toString()).toBe(APP_JS);
        } else if (coding === 'gzip') {
          expect(r.body.equals(gz())).toBe(true);
          expect(gunzipSync(r.body).toString()).toBe(APP_JS);
        } else {
          expect(r.body.toString()).toBe(APP_JS);
        }
        expect(r.headers['content-length']).toBe(String(r.body.length));
        if (coding !== null) expect(r.headers.etag).not.toBe(identity.headers.etag);
      });

      it('answers a Range from the identity bytes, never encoded, with the Vary its 200 has (RFC 9110 §15.3.7)', async () => {
        const { port } = await startServer(fx.root, 'Pass /*', { file: options });
        const r = await GET(port, '/app.js', { 'Accept-Encoding': 'br, gzip', Range: 'bytes=0-7' });
        expect(r.status).toBe(206);
        expect(r.headers['content-encoding']).toBeUndefined();
        expect(r.body.toString()).toBe(APP_JS.slice(0, 8));
        const whole = await GET(port, '/app.js', { 'Accept-Encoding': 'br, gzip' });
        expect(whole.headers.vary).toBe('Accept-Encoding');
        expect(r.headers.vary).toBe(whole.headers.vary);
      });

      it('304s on the sidecar ETag', async () => {
        const { port } = await startServer(fx.root, 'Pass /*', { file: options });
        const first = await GET(port, '/app.js', { 'Accept-Encoding': 'br' });
        const again = await GET(port, '/app.js', { 'Accept-Encoding': 'br', 'If-None-Match': first.headers.etag! });
        expect(again.status).toBe(304);
        expect(again.headers.etag).toBe(first.headers.etag);
        expect(again.headers.vary).toBe('Accept-Encoding');
      });
    });
  }

  it('ignores a sidecar older than its document, and one that is a symlink', async () => {
    const dir = path.join(fx.root, 'side');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'old.css'), 'a{}\n'.repeat(500));
    fs.writeFileSync(path.join(dir, 'old.css.gz'), 'not really gzip');
    const past = new Date(Date.now() - 3600_000);
    fs.utimesSync(path.join(dir, 'old.css.gz'), past, past);
    fs.writeFileSync(path.join(dir, 'linked.css'), 'b{}\n'.repeat(500));
    fs.writeFileSync(path.join(fx.outside, 'linked.css.gz'), 'outside');
    fs.symlinkSync(path.join(fx.outside, 'linked.css.gz'), path.join(dir, 'linked.css.gz'));
    const { port } = await startServer(fx.root, 'Pass /*', { compressMinSize: 1_000_000 });
    for (const name of ['old.css', 'linked.css']) {
      const r = await GET(port, `/side/${name}`, { 'Accept-Encoding': 'gzip' });
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.body.toString()).toMatch(/^[ab]\{\}/);
    }
  });
});
