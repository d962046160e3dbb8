// Writing through the FILE module over raw sockets: PUT (atomic replace,
// preconditions, 409, 413, a client gone, ENOSPC), DELETE, POST multipart
// uploads (sanitised names, no overwrite, all or nothing), and two concurrent
// PUTs to one path that must never interleave.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { fromWire, sanitizeName } from '../../protocols/file-upload.js';
import { connect, exchange, readUntil, sleep } from '../helpers/wire.js';
import { CountingFs, GET, fetchRaw, fileRoot, req, startServer, stopServers, temporaries, until } from './file-helpers.js';

const RULES = [
  'Pass /*',
  'Enable PUT /up/*',
  'Enable DELETE /up/*',
  'Enable POST /up/*',
  'MaxBodySize 64K /up/small/*',
  'MaxBodySize 32M',
].join('\n');

let fx: ReturnType<typeof fileRoot>;
let up: string;
beforeAll(() => {
  fx = fileRoot();
});
afterAll(() => fx.cleanup());
beforeEach(() => {
  up = path.join(fx.root, 'up');
  fs.rmSync(up, { recursive: true, force: true });
  fs.mkdirSync(path.join(up, 'small'), { recursive: true });
  fs.mkdirSync(path.join(up, 'sub'));
  fs.writeFileSync(path.join(up, 'keep.txt'), 'keep\n');
});
afterEach(stopServers);

const read = (rel: string): string => fs.readFileSync(path.join(up, rel), 'utf8');
const exists = (rel: string): boolean => fs.existsSync(path.join(up, rel));

describe('PUT', () => {
  it('creates (201, ETag), then replaces (204); GET sees the new bytes at once', async () => {
    const { port } = await startServer(fx.root, RULES);
    const created = await fetchRaw(port, req('PUT', '/up/new.txt', {}, 'one\n'));
    expect(created.status).toBe(201);
    expect(created.headers.etag).toMatch(/^"4-[0-9a-f]+"$/);
    expect(read('new.txt')).toBe('one\n');
    const get = await GET(port, '/up/new.txt');
    expect([get.body.toString(), get.headers.etag]).toEqual(['one\n', created.headers.etag]);
    const replaced = await fetchRaw(port, req('PUT', '/up/new.txt', {}, 'second\n'));
    expect(replaced.status).toBe(204);
    expect((await GET(port, '/up/new.txt')).body.toString()).toBe('second\n');
    expect(temporaries(up)).toEqual([]);
  });

  it('takes a chunked body', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await fetchRaw(port, 'PUT /up/chunked.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    expect(r.status).toBe(201);
    expect(read('chunked.txt')).toBe('abcde');
  });

  it('stores a gzip-encoded body decoded; 415 for a coding it cannot undo', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await fetchRaw(port, req('PUT', '/up/zipped.txt', { 'Content-Encoding': 'gzip' }, gzipSync('unzipped\n')));
    expect(r.status).toBe(201);
    expect(read('zipped.txt')).toBe('unzipped\n');
    const bad = await fetchRaw(port, req('PUT', '/up/odd.txt', { 'Content-Encoding': 'compress' }, 'x'));
    expect(bad.status).toBe(415);
    expect(exists('odd.txt')).toBe(false);
  });

  it('415 for more than two content codings, before the body (no 100 Continue); two still decode', async () => {
    const { port } = await startServer(fx.root, RULES);
    const tokens = Array(4000).fill('br').join(',');
    const r = await exchange(port, `PUT /up/many.txt HTTP/1.1\r\nHost: t\r\nContent-Encoding: ${tokens}\r\n`
      + 'Expect: 100-continue\r\nContent-Length: 10\r\n\r\n', { responses: 1 });
    expect(r.raw.toString('latin1')).not.toContain('100 Continue');
    expect(r.responses[0]!.status).toBe(415);
    expect(r.responses[0]!.headers['accept-encoding']).toBe('br, gzip, deflate');
    const thrice = brotliCompressSync(brotliCompressSync(brotliCompressSync('three times\n')));
    expect((await fetchRaw(port, req('PUT', '/up/three.txt', { 'Content-Encoding': 'br, br, br' }, thrice))).status).toBe(415);
    expect([exists('many.txt'), exists('three.txt')]).toEqual([false, false]);
    const twice = gzipSync(brotliCompressSync('twice\n'));
    expect((await fetchRaw(port, req('PUT', '/up/two.txt', { 'Content-Encoding': 'br, gzip' }, twice))).status).toBe(201);
    expect(read('two.txt')).toBe('twice\n');
    expect(temporaries(up)).toEqual([]);
  });

  it('is refused with 405 and Allow where no Enable rule matches', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await fetchRaw(port, req('PUT', '/hello.txt', {}, 'x'));
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(fs.readFileSync(path.join(fx.root, 'hello.txt'), 'utf8')).toBe('Hello, world\n');
  });

  it('If-None-Match: * refuses an overwrite with 412 before reading the body (no 100 Continue)', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await exchange(port, 'PUT /up/keep.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: *\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', { responses: 1 });
    expect(r.raw.toString('latin1')).not.toContain('100 Continue');
    expect(r.responses[0]!.status).toBe(412);
    expect(read('keep.txt')).toBe('keep\n');
    const fresh = await fetchRaw(port, req('PUT', '/up/fresh.txt', { 'If-None-Match': '*' }, 'new'));
    expect(fresh.status).toBe(201);
  });

  it('If-Match guards an update', async () => {
    const { port } = await startServer(fx.root, RULES);
    const etag = (await GET(port, '/up/keep.txt')).headers.etag!;
    expect((await fetchRaw(port, req('PUT', '/up/keep.txt', { 'If-Match': '"stale"' }, 'x'))).status).toBe(412);
    expect(read('keep.txt')).toBe('keep\n');
    expect((await fetchRaw(port, req('PUT', '/up/keep.txt', { 'If-Match': etag }, 'updated'))).status).toBe(204);
    expect(read('keep.txt')).toBe('updated');
    expect((await fetchRaw(port, req('PUT', '/up/absent.txt', { 'If-Match': '*' }, 'x'))).status).toBe(412);
    expect(exists('absent.txt')).toBe(false);
  });

  it('400 for a Content-Range (RFC 9110 §14.5), before the body is read, and nothing stored', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await exchange(port, 'PUT /up/keep.txt HTTP/1.1\r\nHost: t\r\nContent-Range: bytes 0-3/10\r\n'
      + 'Expect: 100-continue\r\nContent-Length: 4\r\n\r\n', { responses: 1 });
    expect(r.raw.toString('latin1')).not.toContain('100 Continue');
    expect(r.responses[0]!.status).toBe(400);
    expect(r.responses[0]!.body.toString()).toContain('Content-Range');
    expect((await fetchRaw(port, req('PUT', '/up/part.txt', { 'Content-Range': 'bytes 0-1/2' }, 'ab'))).status).toBe(400);
    expect([read('keep.txt'), exists('part.txt')]).toEqual(['keep\n', false]);
    expect(temporaries(up)).toEqual([]);
  });

  it('409 for a missing parent or a directory in the way; 404 for a dotfile', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await fetchRaw(port, req('PUT', '/up/no/such/dir.txt', {}, 'x'))).status).toBe(409);
    expect((await fetchRaw(port, req('PUT', '/up/keep.txt/below', {}, 'x'))).status).toBe(409);
    expect((await fetchRaw(port, req('PUT', '/up/sub', {}, 'x'))).status).toBe(409);
    expect((await fetchRaw(port, req('PUT', '/up/.env', {}, 'x'))).status).toBe(404);
    expect(exists('.env')).toBe(false);
    expect(temporaries(up)).toEqual([]);
  });

  it('413 for a chunked body over MaxBodySize, and no file left', async () => {
    const { port } = await startServer(fx.root, RULES);
    const chunk = 'x'.repeat(16 * 1024);
    const pieces = ['PUT /up/small/big.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n'];
    for (let i = 0; i < 6; i++) pieces.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    pieces.push('0\r\n\r\n');
    const r = await exchange(port, pieces, { responses: 1, gap: 5 });
    expect(r.responses[0]!.status).toBe(413);
    await until(() => temporaries(up).length === 0);
    expect(exists('small/big.txt')).toBe(false);
    const declared = await fetchRaw(port, req('PUT', '/up/small/cl.txt', {}, 'y'.repeat(70 * 1024)));
    expect(declared.status).toBe(413);
    expect(exists('small/cl.txt')).toBe(false);
  });

  it('leaves no file behind when the client disconnects mid-upload', async () => {
    const { port } = await startServer(fx.root, RULES);
    const socket = await connect(port);
    socket.write('PUT /up/gone.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n' + 'z'.repeat(100_000));
    await until(() => temporaries(up).length === 1);
    socket.destroy();
    await until(() => temporaries(up).length === 0);
    expect(exists('gone.txt')).toBe(false);
  });

  for (const on of ['write', 'sync'] as const) {
    it(`507 when ${on} fails with ENOSPC, and no file left`, async () => {
      const counting = new CountingFs();
      counting.failWrite = { code: 'ENOSPC', afterBytes: 10_000, on };
      const { port } = await startServer(fx.root, RULES, { file: { fs: counting.fs } });
      const r = await fetchRaw(port, req('PUT', '/up/full.txt', {}, 'f'.repeat(50_000)));
      expect(r.status).toBe(507);
      expect(exists('full.txt')).toBe(false);
      expect(temporaries(up)).toEqual([]);
      // An existing file is left as it was.
      const again = await fetchRaw(port, req('PUT', '/up/keep.txt', {}, 'g'.repeat(50_000)));
      expect(again.status).toBe(507);
      expect(read('keep.txt')).toBe('keep\n');
    });
  }

  it('two concurrent big PUTs to one path never interleave: the file is exactly one of the bodies', async () => {
    const { port } = await startServer(fx.root, RULES);
    const size = 4 * 1024 * 1024;
    const bodies = [Buffer.alloc(size, 'A'), Buffer.alloc(size, 'B')];
    const send = (body: Buffer) => {
      const pieces: Buffer[] = [Buffer.from(`PUT /up/race.bin HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`)];
      for (let off = 0; off < size; off += 256 * 1024) pieces.push(body.subarray(off, off + 256 * 1024));
      return exchange(port, pieces, { responses: 1, gap: 2, timeout: 20_000 });
    };
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all(bodies.map(send));
      expect([a!.responses[0]!.status, b!.responses[0]!.status].every((s) => s === 201 || s === 204)).toBe(true);
      const final = fs.readFileSync(path.join(up, 'race.bin'));
      expect(final.length).toBe(size);
      expect(final.equals(bodies[0]!) || final.equals(bodies[1]!)).toBe(true);
      expect(temporaries(up)).toEqual([]);
    }
  });

  it('a reader during a PUT sees the old file or the new one, never a partial one; after the reply, the new one', async () => {
    const { port } = await startServer(fx.root, RULES, { file: { cacheMaxFile: 0 } });
    const size = 2 * 1024 * 1024;
    const piece = 128 * 1024;
    fs.writeFileSync(path.join(up, 'atomic.bin'), Buffer.alloc(size, 'O'));
    /** The one byte a whole body is made of, or a failure for a partial or mixed one. */
    const whole = async (): Promise<string> => {
      const r = await GET(port, '/up/atomic.bin');
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(size);
      const first = r.body[0]!;
      expect(r.body.every((b) => b === first)).toBe(true);
      return String.fromCharCode(first);
    };
    const socket = await connect(port);
    const answered = readUntil(socket, (all) => all.includes('\r\n\r\n'), 20_000);
    socket.write(`PUT /up/atomic.bin HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`);
    socket.write(Buffer.alloc(size / 2, 'N'));
    // Half the body is in: the PUT cannot have committed, so this reader sees the old file.
    expect(await whole()).toBe('O');
    let replied = false;
    void answered.then(() => (replied = true));
    const sending = (async () => {
      for (let off = size / 2; off < size; off += piece) {
        socket.write(Buffer.alloc(piece, 'N'));
        await sleep(5);
      }
    })();
    const during: string[] = [];
    while (!replied) during.push(await whole());
    await sending;
    expect((await answered).toString('latin1')).toMatch(/^HTTP\/1\.1 204 /);
    socket.destroy();
    expect(during.every((c) => c === 'O' || c === 'N')).toBe(true);
    for (let i = 0; i < 3; i++) expect(await whole()).toBe('N');
    expect(temporaries(up)).toEqual([]);
  });
});

describe('DELETE', () => {
  it('204, then 404; 404 when absent; 412 on a stale If-Match', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await GET(port, '/up/keep.txt')).status).toBe(200);
    expect((await fetchRaw(port, req('DELETE', '/up/keep.txt', { 'If-Match': '"stale"' }))).status).toBe(412);
    expect(exists('keep.txt')).toBe(true);
    expect((await fetchRaw(port, req('DELETE', '/up/keep.txt'))).status).toBe(204);
    expect(exists('keep.txt')).toBe(false);
    expect((await GET(port, '/up/keep.txt')).status).toBe(404);
    expect((await fetchRaw(port, req('DELETE', '/up/keep.txt'))).status).toBe(404);
    expect((await fetchRaw(port, req('DELETE', '/up/no/such.txt'))).status).toBe(404);
  });

  it('checks If-Match under the path lock: racing a PUT that replaces the file, it gets 412 and the new file stays', async () => {
    const counting = new CountingFs();
    const { port } = await startServer(fx.root, RULES, { file: { fs: counting.fs } });
    const old = (await GET(port, '/up/keep.txt')).headers.etag!;
    // The PUT holds the path lock, its rename waiting, while the DELETE comes in.
    let release!: () => void;
    const renaming = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    counting.hold.rename = (p) => (/\.keep\.txt\.tmp-/.test(p) ? ((held = true), renaming) : undefined);
    const putting = fetchRaw(port, req('PUT', '/up/keep.txt', {}, 'replaced\n'));
    await until(() => held);
    const seen = counting.log.length;
    const deleting = fetchRaw(port, req('DELETE', '/up/keep.txt', { 'If-Match': old }));
    // The DELETE has looked at the file and now waits for the lock.
    await until(() => counting.log.slice(seen).some((l) => /^stat .*\/up$/.test(l)));
    await sleep(50);
    release();
    expect((await putting).status).toBe(204);
    expect((await deleting).status).toBe(412);
    expect(read('keep.txt')).toBe('replaced\n');
  });

  it('removes a symlink, never its target; refuses a directory', async () => {
    const { port } = await startServer(fx.root, RULES);
    fs.symlinkSync(path.join(fx.root, 'hello.txt'), path.join(up, 'link.txt'));
    expect((await fetchRaw(port, req('DELETE', '/up/link.txt'))).status).toBe(204);
    expect(fs.existsSync(path.join(fx.root, 'hello.txt'))).toBe(true);
    expect((await fetchRaw(port, req('DELETE', '/up/sub'))).status).toBe(403);
    expect((await fetchRaw(port, req('DELETE', '/up/sub/'))).status).toBe(403);
    expect((await fetchRaw(port, req('DELETE', '/up/'))).status).toBe(403);
    expect(fs.existsSync(path.join(up, 'sub'))).toBe(true);
    expect((await fetchRaw(port, req('DELETE', '/up/nothing/'))).status).toBe(404);
    // A file named with a trailing slash is not that file.
    expect((await fetchRaw(port, req('DELETE', '/up/keep.txt/'))).status).toBe(404);
    expect(read('keep.txt')).toBe('keep\n');
  });
});

interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: string | Buffer;
}

function multipart(parts: Part[], boundary = 'b0undary'): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += `\r\nContent-Type: ${p.type ?? 'text/plain'}\r\n\r\n`;
    chunks.push(Buffer.from(head, 'utf8'), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

function post(target: string, body: Buffer, headers: Record<string, string> = {}): (string | Buffer)[] {
  return req('POST', target, { 'Content-Type': 'multipart/form-data; boundary=b0undary', ...headers }, body);
}

describe('POST multipart/form-data', () => {
  it('stores each file part and answers 201 with what was stored (JSON)', async () => {
    const { port } = await startServer(fx.root, RULES);
    const body = multipart([
      { name: 'note', data: 'a field' },
      { name: 'f1', filename: 'one.txt', data: 'first\n' },
      { name: 'f2', filename: 'two.bin', type: 'application/octet-stream', data: Buffer.from([0, 1, 2]) },
    ]);
    const r = await fetchRaw(port, post('/up/sub/', body, { Accept: 'application/json' }));
    expect(r.status).toBe(201);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body.toString())).toEqual({
      files: [
        { field: 'f1', name: 'one.txt', size: 6, type: 'text/plain', href: '/up/sub/one.txt' },
        { field: 'f2', name: 'two.bin', size: 3, type: 'application/octet-stream', href: '/up/sub/two.bin' },
      ],
    });
    expect(read('sub/one.txt')).toBe('first\n');
    expect(fs.readFileSync(path.join(up, 'sub', 'two.bin'))).toEqual(Buffer.from([0, 1, 2]));
  });

  it('sanitises names and never overwrites: name (1).ext', async () => {
    const { port } = await startServer(fx.root, RULES);
    const body = multipart([
      { name: 'a', filename: '../../evil.txt', data: 'e' },
      { name: 'b', filename: '.bashrc', data: 'b' },
      { name: 'c', filename: 'C:\\Users\\me\\win.txt', data: 'w' },
      { name: 'd', filename: 'ctl\u202egnp.txt', data: 'c' },
      { name: 'u', filename: 'snow ☃.txt', data: 'u' },
      { name: 'e', filename: 'keep.txt', data: 'not keep' },
      { name: 'f', filename: 'keep.txt', data: 'nor this' },
      { name: 'g', filename: '...', data: 'dots' },
    ]);
    const r = await fetchRaw(port, post('/up/', body));
    expect(r.status).toBe(201);
    const names = (JSON.parse(r.body.toString()) as { files: { name: string }[] }).files.map((f) => f.name);
    expect(names).toEqual(['evil.txt', 'bashrc', 'win.txt', 'ctlgnp.txt', 'snow ☃.txt', 'keep (1).txt', 'keep (2).txt', 'upload']);
    expect(read('keep.txt')).toBe('keep\n');
    expect(read('keep (1).txt')).toBe('not keep');
    expect(fs.existsSync(path.join(fx.root, 'evil.txt'))).toBe(false);
    expect(exists('evil.txt')).toBe(true);
    expect(read('snow ☃.txt')).toBe('u');
  });

  it('answers HTML to a browser, and overwrites when the option allows', async () => {
    const { port } = await startServer(fx.root, RULES, { file: { overwriteUploads: true } });
    const r = await fetchRaw(port, post('/up/', multipart([{ name: 'f', filename: 'keep.txt', data: 'over' }]), { Accept: 'text/html,*/*;q=0.8' }));
    expect(r.status).toBe(201);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body.toString()).toContain('<a href="/up/keep.txt">keep.txt</a>');
    expect(read('keep.txt')).toBe('over');
  });

  it('all or nothing: a file over the limit removes the parts already stored (413)', async () => {
    const { port } = await startServer(fx.root, RULES, { file: { uploadLimits: { fileSize: 1000 } } });
    const body = multipart([
      { name: 'ok', filename: 'small.txt', data: 's' },
      { name: 'big', filename: 'big.txt', data: 'b'.repeat(5000) },
    ]);
    const r = await fetchRaw(port, post('/up/sub/', body));
    expect(r.status).toBe(413);
    await until(() => temporaries(up).length === 0);
    expect(fs.readdirSync(path.join(up, 'sub'))).toEqual([]);
  });

  it('ENOSPC in the second part → 507 and nothing left', async () => {
    const counting = new CountingFs();
    const { port } = await startServer(fx.root, RULES, { file: { fs: counting.fs } });
    counting.failWrite = { code: 'ENOSPC', afterBytes: 20_000, on: 'write' };
    const body = multipart([
      { name: 'a', filename: 'a.txt', data: 'a'.repeat(15_000) },
      { name: 'b', filename: 'b.txt', data: 'b'.repeat(15_000) },
    ]);
    const r = await fetchRaw(port, post('/up/sub/', body));
    expect(r.status).toBe(507);
    await until(() => temporaries(up).length === 0);
    expect(fs.readdirSync(path.join(up, 'sub'))).toEqual([]);
  });

  it('leaves nothing when the client disconnects mid-upload', async () => {
    const { port } = await startServer(fx.root, RULES);
    const socket = await connect(port);
    const partial = multipart([{ name: 'a', filename: 'a.txt', data: 'a' }, { name: 'b', filename: 'b.txt', data: 'b'.repeat(200_000) }]).subarray(0, 150_000);
    socket.write(Buffer.concat([Buffer.from('POST /up/sub/ HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 400000\r\n\r\n'), partial]));
    await until(() => temporaries(up).length === 1 || fs.readdirSync(path.join(up, 'sub')).length > 0);
    await sleep(50);
    socket.destroy();
    await until(() => temporaries(up).length === 0 && fs.readdirSync(path.join(up, 'sub')).length === 0);
  });

  it('415 for another type, 405 for a file target, 400 without a file part', async () => {
    const { port } = await startServer(fx.root, RULES);
    expect((await fetchRaw(port, req('POST', '/up/', { 'Content-Type': 'text/plain' }, 'x'))).status).toBe(415);
    expect((await fetchRaw(port, post('/up/keep.txt', multipart([{ name: 'f', filename: 'x.txt', data: 'x' }])))).status).toBe(405);
    expect((await fetchRaw(port, post('/up/', multipart([{ name: 'only', data: 'field' }])))).status).toBe(400);
    expect((await fetchRaw(port, post('/list/', multipart([{ name: 'f', filename: 'x.txt', data: 'x' }])))).status).toBe(405);
  });
});

describe('an upload beside a document (sidecars)', () => {
  const GENUINE = 'the genuine report, line after line\n'.repeat(100);
  const FORGED = gzipSync('forged\n');
  const gz = { 'Accept-Encoding': 'gzip' };
  /** What the client reads, decoded. */
  const seen = (r: { headers: Record<string, string>; body: Buffer }): string => {
    const coding = r.headers['content-encoding'];
    return (coding === 'gzip' ? gunzipSync(r.body) : coding === 'br' ? brotliDecompressSync(r.body) : r.body).toString();
  };
  const names = (r: { body: Buffer }): string[] => (JSON.parse(r.body.toString()) as { files: { name: string }[] }).files.map((f) => f.name);

  it('report.txt.gz next to report.txt is stored as report (1).txt.gz: gzip clients still get report.txt', async () => {
    fs.writeFileSync(path.join(up, 'report.txt'), GENUINE);
    const { port } = await startServer(fx.root, RULES);
    expect(seen(await GET(port, '/up/report.txt', gz))).toBe(GENUINE);
    for (const name of ['report.txt.gz', 'report.txt.br', 'REPORT.TXT.GZ']) {
      const r = await fetchRaw(port, post('/up/', multipart([{ name: 'f', filename: name, type: 'application/gzip', data: FORGED }])));
      expect(r.status).toBe(201);
      expect(seen(await GET(port, '/up/report.txt', { 'Accept-Encoding': 'gzip, br' }))).toBe(GENUINE);
      // REPORT.TXT.GZ stays as named where names are case-sensitive: it is no sidecar there.
      expect(names(r)[0]).not.toMatch(/^report\.txt\.(gz|br)$/);
    }
    expect(exists('report.txt.gz') || exists('report.txt.br')).toBe(false);
    expect(exists('report (1).txt.gz')).toBe(true);
    for (const ae of ['gzip', 'br', 'gzip, br']) expect(seen(await GET(port, '/up/report.txt', { 'Accept-Encoding': ae }))).toBe(GENUINE);
  });

  it('report.txt after report.txt.gz is stored as report (1).txt: the earlier sidecar never serves for it', async () => {
    const { port } = await startServer(fx.root, RULES);
    const planted = await fetchRaw(port, post('/up/', multipart([{ name: 'f', filename: 'report.txt.gz', type: 'application/gzip', data: FORGED }])));
    expect(names(planted)).toEqual(['report.txt.gz']);
    // A timestamp tick is coarse (and clocks move): the sidecar may look as new as what comes after it.
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(up, 'report.txt.gz'), later, later);
    const r = await fetchRaw(port, post('/up/', multipart([{ name: 'f', filename: 'report.txt', data: GENUINE }])));
    expect(r.status).toBe(201);
    const href = r.headers.location!;
    expect(seen(await GET(port, href, gz))).toBe(GENUINE);
    expect(names(r)).toEqual(['report (1).txt']);
    expect((await GET(port, '/up/report.txt', gz)).status).toBe(404);
  });

  it('one form with a file and its .gz keeps them apart too', async () => {
    const { port } = await startServer(fx.root, RULES);
    const r = await fetchRaw(port, post('/up/', multipart([
      { name: 'a', filename: 'page.html', data: GENUINE },
      { name: 'b', filename: 'page.html.gz', type: 'application/gzip', data: FORGED },
    ])));
    expect(seen(await GET(port, '/up/page.html', gz))).toBe(GENUINE);
    expect(names(r)).toEqual(['page.html', 'page (1).html.gz']);
  });

  it('an upload of x.gz while a PUT is creating x is kept apart from it', async () => {
    const counting = new CountingFs();
    // The PUT's temporary file is opened only once the upload is stored: the PUT is writing, not committing.
    let release!: () => void;
    const writing = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    counting.hold.open = (p) => (/\.new\.txt\.tmp-/.test(p) ? ((held = true), writing) : undefined);
    const { port } = await startServer(fx.root, RULES, { file: { fs: counting.fs } });
    const putting = fetchRaw(port, req('PUT', '/up/new.txt', {}, GENUINE));
    await until(() => held);
    const r = await fetchRaw(port, post('/up/', multipart([{ name: 'f', filename: 'new.txt.gz', type: 'application/gzip', data: FORGED }])));
    release();
    expect((await putting).status).toBe(201);
    expect(seen(await GET(port, '/up/new.txt', gz))).toBe(GENUINE);
    expect(names(r)).toEqual(['new (1).txt.gz']);
  });

  it('with overwriteUploads an uploader may replace report.txt itself, so report.txt.gz is stored as named', async () => {
    fs.writeFileSync(path.join(up, 'report.txt'), GENUINE);
    const { port } = await startServer(fx.root, RULES, { file: { overwriteUploads: true } });
    const r = await fetchRaw(port, post('/up/', multipart([{ name: 'f', filename: 'report.txt.gz', data: FORGED }])));
    expect(names(r)).toEqual(['report.txt.gz']);
  });
});

describe('file names from the wire', () => {
  it('takes the UTF-8 bytes busboy read as latin1 as UTF-8, and leaves true latin1 alone', () => {
    expect(fromWire(Buffer.from('snow ☃.txt', 'utf8').toString('latin1'))).toBe('snow ☃.txt');
    expect(fromWire('caf\xe9.txt')).toBe('caf\xe9.txt');
    expect(fromWire('plain.txt')).toBe('plain.txt');
    expect(fromWire('☃ already')).toBe('☃ already');
  });
});

describe('sanitizeName', () => {
  const rows: Array<[string, string]> = [
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['.htaccess', 'htaccess'],
    ['...', 'upload'],
    ['', 'upload'],
    ['a\u0000b', 'ab'],
    ['tab\there', 'tabhere'],
    ['name. ', 'name'],
    ['evil\u202Etxt.exe', 'eviltxt.exe'],
    ['snow ☃.txt', 'snow ☃.txt'],
    ['e\u0301.txt', '\u00e9.txt'],
  ];
  it.each(rows)('%j → %j', (raw, safe) => {
    expect(sanitizeName(raw)).toBe(safe);
  });

  it('keeps names under 200 bytes with their extension', () => {
    const name = sanitizeName('☃'.repeat(200) + '.txt');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(200);
    expect(name.endsWith('.txt')).toBe(true);
  });
});
