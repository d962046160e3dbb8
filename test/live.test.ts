// `--live` on the wire: the script is in HTML pages only with it, follows the
// stack's rules (never in a 206; a gzip or br sidecar decoded for it and
// encoded again, a coding it cannot decode left alone; in a page compressed
// on the fly; an ETag of its own; Content-Length right), the
// reserved path is an event stream that tells of a change within the second
// (and is a plain 404 without --live), clients are bounded, and a stop with
// a page listening is fast, in-process and through the CLI.

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LIVE_PATH, LIVE_SNIPPET } from '../converters/live-reload.js';
import { fetchRaw, GET, req, startServer, stopServers } from './protocols/file-helpers.js';
import { startCli, type Running } from './helpers/cli.js';
import { connect, readUntil } from './helpers/wire.js';

const PAGE = '<!DOCTYPE html>\n<html><head><title>t</title></head><body>\n<p>hello</p>\n</BODY></html>\n';
const SCRIPT = LIVE_SNIPPET.toString();

const roots: string[] = [];
const sockets: net.Socket[] = [];
const clis: Running[] = [];
let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-live-'));
  roots.push(root);
  fs.writeFileSync(path.join(root, 'page.html'), PAGE);
  fs.writeFileSync(path.join(root, 'style.css'), 'p { color: red }\n');
  fs.writeFileSync(path.join(root, 'notes.txt'), 'plain text\n');
  fs.mkdirSync(path.join(root, 'dir'));
  fs.writeFileSync(path.join(root, 'dir', 'a.txt'), 'a\n');
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of clis.splice(0)) c.proc.kill('SIGKILL');
  await stopServers();
});
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

const plain = () => startServer(root, 'DirAccess On\nPass /*');
const live = (options: Record<string, unknown> = {}) => startServer(root, 'DirAccess On\nPass /*', { live: { heartbeatMs: 60_000, ...options } });

/** Opens the event stream on a raw socket; resolves once its head is in. */
async function subscribe(port: number): Promise<{ socket: net.Socket; head: string; next(pred: (text: string) => boolean, ms?: number): Promise<string> }> {
  const socket = await connect(port);
  sockets.push(socket);
  socket.on('error', () => {});
  let all = '';
  socket.on('data', (c: Buffer) => (all += c.toString('latin1')));
  socket.write(`GET ${LIVE_PATH} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\nAccept-Encoding: gzip, br\r\n\r\n`);
  await readUntil(socket, () => all.includes('\r\n\r\n') && all.includes('streamstack live reload'));
  const head = all.slice(0, all.indexOf('\r\n\r\n'));
  return {
    socket,
    head,
    next: async (pred, ms = 1000) => {
      const end = Date.now() + ms;
      while (!pred(all)) {
        if (Date.now() > end) throw new Error(`no such event within ${ms} ms; got ${JSON.stringify(all.slice(-300))}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return all;
    },
  };
}

describe('the script', () => {
  it('is in an HTML page only with --live, before </body>, and the page is otherwise the same bytes', async () => {
    const off = await plain();
    const without = await GET(off.port, '/page.html');
    expect(without.body.toString()).toBe(PAGE);
    expect(without.body.toString()).not.toContain('EventSource');
    const on = await live();
    const withIt = await GET(on.port, '/page.html');
    const at = PAGE.indexOf('</BODY>');
    expect(withIt.body.toString()).toBe(PAGE.slice(0, at) + SCRIPT + PAGE.slice(at));
    expect(SCRIPT).toContain(`new EventSource("${LIVE_PATH}")`);
    // Content-Length, when given, is the length sent; otherwise chunked.
    if (withIt.headers['content-length'] !== undefined) expect(Number(withIt.headers['content-length'])).toBe(withIt.body.length);
    else expect(withIt.headers['transfer-encoding']).toBe('chunked');
    // Not in other types.
    expect((await GET(on.port, '/notes.txt')).body.toString()).toBe('plain text\n');
    expect((await GET(on.port, '/style.css')).body.toString()).toBe('p { color: red }\n');
  });

  it('makes every reply say no-cache unless a CacheControl rule says otherwise, so a reload revalidates scripts too', async () => {
    const off = await plain();
    expect((await GET(off.port, '/style.css')).headers['cache-control']).toBeUndefined();
    const on = await live();
    expect((await GET(on.port, '/style.css')).headers['cache-control']).toBe('no-cache');
    expect((await GET(on.port, '/page.html')).headers['cache-control']).toBe('no-cache');
    const ruled = await startServer(root, 'CacheControl /*.css max-age=60\nPass /*', { live: { heartbeatMs: 60_000 } });
    expect((await GET(ruled.port, '/style.css')).headers['cache-control']).toBe('max-age=60');
  });

  it('gives the page an ETag of its own (weak), and a conditional request with it is a 304', async () => {
    const off = await plain();
    const on = await live();
    const a = (await GET(off.port, '/page.html')).headers.etag!;
    const b = (await GET(on.port, '/page.html')).headers.etag!;
    expect(b).not.toBe(a);
    expect(b.startsWith('W/')).toBe(true);
    expect((await GET(on.port, '/page.html', { 'If-None-Match': b })).status).toBe(304);
  });

  it('is never in a 206: a range is of the page as it is on disk', async () => {
    const on = await live();
    const r = await GET(on.port, '/page.html', { Range: 'bytes=0-14' });
    expect(r.status).toBe(206);
    expect(r.body.toString()).toBe(PAGE.slice(0, 15));
    const tail = await GET(on.port, '/page.html', { Range: `bytes=-20` });
    expect(tail.body.toString()).toBe(PAGE.slice(-20));
  });

  it('in a gzip or br sidecar: decoded, put in, encoded again; a coding it cannot decode is left alone', async () => {
    const { brotliCompressSync, brotliDecompressSync } = await import('node:zlib');
    const sidecarPage = PAGE.replace('hello', 'from the sidecar');
    const later = new Date(Date.now() + 5000);
    for (const [suffix, bytes] of [['.gz', gzipSync(sidecarPage)], ['.br', brotliCompressSync(sidecarPage)]] as const) {
      fs.writeFileSync(path.join(root, 'page.html' + suffix), bytes);
      fs.utimesSync(path.join(root, 'page.html' + suffix), later, later);
    }
    // A coding with no decoder here: `compress` (AddEncoding), sent as it is.
    const opaque = Buffer.from([0x1f, 0x9d, 0x90, 0x3c, 0x62, 0x6f, 0x64, 0x79, 0x3e]);
    fs.writeFileSync(path.join(root, 'old.html.Z'), opaque);
    const on = await startServer(root, 'AddEncoding .Z compress\nPass /*', { live: { heartbeatMs: 60_000 } });
    const want = (page: string) => page.slice(0, page.indexOf('</BODY>')) + SCRIPT + page.slice(page.indexOf('</BODY>'));
    const gz = await GET(on.port, '/page.html', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toContain('Accept-Encoding');
    expect(gunzipSync(gz.body).toString()).toBe(want(sidecarPage));
    const br = await GET(on.port, '/page.html', { 'Accept-Encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).toString()).toBe(want(sidecarPage));
    expect(br.headers.etag).not.toBe(gz.headers.etag);
    const z = await GET(on.port, '/old.html.Z');
    expect(z.headers['content-encoding']).toBe('compress');
    expect(z.body.equals(opaque)).toBe(true);
    // Without --live the sidecar goes out as it is.
    const off = await plain();
    expect(gunzipSync((await GET(off.port, '/page.html', { 'Accept-Encoding': 'gzip' })).body).toString()).toBe(sidecarPage);
  });

  it('a corrupt gzip sidecar fails that reply only (the body is cut, never a wrong page), and the server goes on', async () => {
    const bad = Buffer.concat([gzipSync(PAGE).subarray(0, 12), Buffer.from('not gzip at all, garbage')]);
    fs.writeFileSync(path.join(root, 'page.html.gz'), bad);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(root, 'page.html.gz'), later, later);
    const on = await live();
    const { exchange } = await import('./helpers/wire.js');
    const r = await exchange(on.port, req('GET', '/page.html', { 'Accept-Encoding': 'gzip' }), { timeout: 3000 });
    expect(r.closed).toBe(true);
    const got = r.responses[0];
    if (got !== undefined) expect(() => gunzipSync(got.body)).toThrow(); // never a page that decodes as complete
    expect((await GET(on.port, '/page.html')).body.toString()).toContain(SCRIPT);
  });

  it('is in a page compressed on the fly', async () => {
    const big = PAGE.replace('<p>hello</p>', '<p>hello</p>\n'.repeat(200));
    fs.writeFileSync(path.join(root, 'big.html'), big);
    const on = await live();
    const fly = await GET(on.port, '/big.html', { 'Accept-Encoding': 'gzip' });
    expect(fly.headers['content-encoding']).toBe('gzip');
    expect(fly.headers.vary).toContain('Accept-Encoding');
    const at = big.indexOf('</BODY>');
    expect(gunzipSync(fly.body).toString()).toBe(big.slice(0, at) + SCRIPT + big.slice(at));
  });

  it('HEAD says what GET sends: no Content-Length for the streamed page', async () => {
    const on = await live();
    await GET(on.port, '/page.html');
    const head = await fetchRaw(on.port, req('HEAD', '/page.html'), true);
    const got = await GET(on.port, '/page.html');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(got.headers['content-length']);
    expect(head.headers.etag).toBe(got.headers.etag);
  });

  it('is in a directory listing rendered as HTML', async () => {
    const on = await live();
    const listing = await GET(on.port, '/dir/', { Accept: 'text/html' });
    expect(listing.headers['content-type']).toContain('text/html');
    expect(listing.body.toString()).toContain(SCRIPT);
    const json = await GET(on.port, '/dir/', { Accept: 'application/json' });
    expect(json.body.toString()).not.toContain('EventSource');
  });
});

describe('the event stream', () => {
  it('does not exist without --live: the reserved path is a plain 404', async () => {
    const off = await plain();
    const r = await GET(off.port, LIVE_PATH);
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).not.toContain('event-stream');
  });

  it('tells of a change within the second, as one event with the root-relative paths', async () => {
    const on = await live();
    const sub = await subscribe(on.port);
    expect(sub.head).toMatch(/^HTTP\/1\.1 200/);
    expect(sub.head.toLowerCase()).toContain('content-type: text/event-stream');
    expect(sub.head.toLowerCase()).not.toContain('content-encoding');
    const started = Date.now();
    fs.writeFileSync(path.join(root, 'page.html'), PAGE.replace('hello', 'edited'));
    const text = await sub.next((t) => t.includes('event: change'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(text).toMatch(/event: change\r?\ndata: \["page\.html"\]\n\n/);
  });

  it('gathers an editor save into one event, scratch files left out; a new directory is watched too', async () => {
    const on = await live();
    const sub = await subscribe(on.port);
    // vim: a test file, a backup, the write, the swap file.
    fs.writeFileSync(path.join(root, '4913'), '');
    fs.unlinkSync(path.join(root, '4913'));
    fs.writeFileSync(path.join(root, '.style.css.swp'), 'x');
    fs.renameSync(path.join(root, 'style.css'), path.join(root, 'style.css~'));
    fs.writeFileSync(path.join(root, 'style.css'), 'p { color: blue }\n');
    fs.unlinkSync(path.join(root, 'style.css~'));
    const text = await sub.next((t) => t.includes('event: change'));
    expect(text).toContain('data: ["style.css"]\n\n');
    fs.mkdirSync(path.join(root, 'fresh'));
    await sub.next((t) => t.includes('data: ["fresh"]'));
    await new Promise((r) => setTimeout(r, 100)); // the new directory's watch is in place
    fs.writeFileSync(path.join(root, 'fresh', 'deep.html'), '<p>deep</p>');
    await sub.next((t) => t.includes('data: ["fresh/deep.html"]'));
  });

  it('is bounded: past maxClients a client gets 503 and the others keep theirs', async () => {
    const on = await live({ maxClients: 1, heartbeatMs: 30 });
    const first = await subscribe(on.port);
    const second = await GET(on.port, LIVE_PATH);
    expect(second.status).toBe(503);
    fs.writeFileSync(path.join(root, 'notes.txt'), 'changed\n');
    await first.next((t) => t.includes('data: ["notes.txt"]'));
    // The first one leaves (a FIN is only a half-close: the next heartbeat finds it gone); its place is free again.
    first.socket.destroy();
    const start = Date.now();
    while (on.server.live!.clients > 0 && Date.now() - start < 1000) await new Promise((r) => setTimeout(r, 5));
    expect(on.server.live!.clients).toBe(0);
    await subscribe(on.port);
  });

  it('sends heartbeats to idle clients', async () => {
    const on = await live({ heartbeatMs: 30 });
    const sub = await subscribe(on.port);
    await sub.next((t) => (t.match(/: ping\n\n/g) ?? []).length >= 2);
  });

  it('ends at a stop at once: a graceful stop with a page listening does not wait for the grace', async () => {
    const on = await live();
    const sub = await subscribe(on.port);
    const started = Date.now();
    await on.server.close(10_000);
    expect(Date.now() - started).toBeLessThan(1000);
    const text = await sub.next((t) => t.includes('\r\n0\r\n\r\n'));
    expect(text).toContain('\r\n0\r\n\r\n'); // the stream ended cleanly, chunked
  });
});

describe('through the CLI', () => {
  it('--live adds the script and the stream; without it neither exists; SIGTERM with a client is fast', async () => {
    const off = await startCli([root, '--port', '0']);
    clis.push(off);
    expect((await GET(off.port, '/page.html')).body.toString()).toBe(PAGE);
    expect((await GET(off.port, LIVE_PATH)).status).toBe(404);
    await off.stop();
    const on = await startCli([root, '--port', '0', '--live']);
    clis.push(on);
    expect(on.stdout()).toContain('live reload');
    expect((await GET(on.port, '/page.html')).body.toString()).toContain(SCRIPT);
    const sub = await subscribe(on.port);
    fs.writeFileSync(path.join(root, 'style.css'), 'p { color: green }\n');
    await sub.next((t) => t.includes('data: ["style.css"]'));
    const started = Date.now();
    expect(await on.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
