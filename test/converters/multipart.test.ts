// multipart/form-data → parts: fields and files, every limit crossed (413,
// nothing half stored), malformed bodies, and a slow file consumer that must
// slow the request body down.

import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors.js';
import { parseMultipart, type FilePart, type MultipartLimits } from '../../converters/multipart.js';
import { collect, makeRequest } from '../stack/fixtures.js';

const B = 'XyZzY';
const HEADERS = { 'content-type': `multipart/form-data; boundary=${B}` };
const LIMITS: MultipartLimits = { parts: 10, fieldSize: 100, fileSize: 1000, files: 3 };

interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: string | Buffer;
}

function head(p: Part): string {
  return `--${B}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}\r\n`
    + (p.type === undefined ? '' : `Content-Type: ${p.type}\r\n`) + '\r\n';
}

function form(parts: Part[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(head(p)), Buffer.from(p.data), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${B}--\r\n`));
  return Buffer.concat(chunks);
}

/** A store like the FILE module's: keeps finished files, removes half-written ones. */
function store() {
  const files = new Map<string, Buffer>();
  const removed: string[] = [];
  const onFile = async (part: FilePart): Promise<number> => {
    const chunks: Buffer[] = [];
    try {
      await pipeline(part.stream, new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb(); } }));
    } catch (err) {
      removed.push(part.filename);
      throw err;
    }
    const data = Buffer.concat(chunks);
    files.set(part.filename, data);
    return data.length;
  };
  return { files, removed, onFile };
}

const parse = (body: Buffer, limits = LIMITS, s = store()) =>
  parseMultipart({ headers: HEADERS, body: Readable.from([body]) }, limits, s.onFile);

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

describe('parseMultipart', () => {
  it('returns the fields and stores the files, in order', async () => {
    const s = store();
    const result = await parse(form([
      { name: 'title', data: 'Snow ☃' },
      { name: 'upload', filename: 'a.txt', type: 'text/plain', data: 'hello' },
      { name: 'upload', filename: 'b.bin', type: 'application/octet-stream', data: Buffer.from([0, 1, 2, 255]) },
      { name: 'note', data: '' },
    ]), LIMITS, s);
    expect(result.fields).toEqual([{ name: 'title', value: 'Snow ☃' }, { name: 'note', value: '' }]);
    expect(result.files).toEqual([
      { name: 'upload', filename: 'a.txt', mimeType: 'text/plain', result: 5 },
      { name: 'upload', filename: 'b.bin', mimeType: 'application/octet-stream', result: 4 },
    ]);
    expect(s.files.get('b.bin')).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('reads a Request body', async () => {
    const body = form([{ name: 'f', filename: 'x.txt', data: 'xyz' }]);
    const request = makeRequest(HEADERS, 'POST', () => Readable.from([body]));
    const s = store();
    const result = await parseMultipart(request, LIMITS, s.onFile);
    expect(result.files.map((f) => f.filename)).toEqual(['x.txt']);
    expect(s.files.get('x.txt')!.toString()).toBe('xyz');
  });

  it('lets a file of exactly fileSize bytes and a field of exactly fieldSize bytes through', async () => {
    const s = store();
    const result = await parse(form([{ name: 'f', data: 'v'.repeat(100) }, { name: 'u', filename: 'full', data: Buffer.alloc(1000, 1) }]), LIMITS, s);
    expect(result.fields[0]!.value).toHaveLength(100);
    expect(s.files.get('full')!.length).toBe(1000);
  });

  const over: Array<[string, Part[], string]> = [
    ['a file one byte over fileSize', [{ name: 'u', filename: 'big', data: Buffer.alloc(1001) }], 'file larger than 1000 bytes'],
    ['a field one byte over fieldSize', [{ name: 'f', data: 'v'.repeat(101) }], 'field larger than 100 bytes'],
    ['more files than allowed', [1, 2, 3, 4].map((i) => ({ name: 'u', filename: `f${i}`, data: 'x' })), 'more than 3 files'],
    ['more parts than allowed', Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, data: 'x' })), 'more than 10 parts'],
  ];
  it.each(over)('%s → 413 with nothing half stored', async (_d, parts, detail) => {
    const s = store();
    const err = await rejection(parse(form(parts), LIMITS, s));
    expect(err.status).toBe(413);
    expect(err.code).toBe('WWW_ERR_REQ_BODY_TOO_LARGE');
    expect(err.detail).toBe(detail);
    await new Promise((resolve) => setImmediate(resolve));
    if (detail.startsWith('file')) {
      expect(s.removed).toEqual(['big']);
      expect(s.files.size).toBe(0);
    }
    if (detail === 'more than 3 files') expect(s.files.has('f4')).toBe(false);
  });

  it('refuses the part over the count before it is stored', async () => {
    const s = store();
    const err = await rejection(parse(form([1, 2, 3].map((i) => ({ name: 'u', filename: `f${i}`, data: 'x' }))), { ...LIMITS, files: 2 }, s));
    expect(err.status).toBe(413);
    expect([...s.files.keys()].sort()).not.toContain('f3');
  });

  it('is 415 for a body that is not multipart/form-data', async () => {
    const err = await rejection(parseMultipart({ headers: { 'content-type': 'application/json' }, body: Readable.from(['{}']) }, LIMITS, store().onFile));
    expect(err.status).toBe(415);
  });

  it.each([
    ['no closing boundary', Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue`)],
    ['garbage', Buffer.from('not a multipart body at all')],
    ['a truncated file', Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="u"; filename="t"\r\n\r\nhalf a file`)],
  ])('is 400 for %s', async (_d, body) => {
    const s = store();
    const err = await rejection(parse(body, LIMITS, s));
    expect(err.status).toBe(400);
    expect(err.code).toBe('WWW_ERR_CONV_MULTIPART');
    expect(s.files.size).toBe(0);
  });

  it('rejects with the consumer\'s own error', async () => {
    const boom = new HttpError('WWW_ERR_FILE_NO_SPACE');
    const err = await rejection(parseMultipart({ headers: HEADERS, body: Readable.from([form([{ name: 'u', filename: 'x', data: 'abc' }])]) }, LIMITS, async (part) => {
      part.stream.destroy();
      throw boom;
    }));
    expect(err).toBe(boom);
  });

  it('does not stall when a consumer returns without reading', async () => {
    const result = await parseMultipart({ headers: HEADERS, body: Readable.from([form([
      { name: 'u', filename: 'skipped', data: Buffer.alloc(200_000) },
      { name: 'after', data: 'still parsed' },
    ])]) }, { ...LIMITS, fileSize: 1e6 }, async () => 'ignored');
    expect(result.fields).toEqual([{ name: 'after', value: 'still parsed' }]);
  });

  it('ends with the abort of its signal, destroying the file being stored', async () => {
    const body = new PassThrough();
    const controller = new AbortController();
    const s = store();
    const done = parseMultipart({ headers: HEADERS, body, signal: controller.signal }, { ...LIMITS, fileSize: 1e9 }, s.onFile);
    body.write(head({ name: 'u', filename: 'partial' }) + 'some bytes');
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new HttpError('WWW_ERR_REQ_ABORTED'));
    const err = await rejection(done);
    expect(err.code).toBe('WWW_ERR_REQ_ABORTED');
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.removed).toEqual(['partial']);
  });

  it('a slow file consumer slows the body down (64 MiB upload)', async () => {
    const size = 64 * 1024 * 1024;
    const prefix = Buffer.from(head({ name: 'u', filename: 'big.bin', type: 'application/octet-stream' }));
    const suffix = Buffer.from(`\r\n--${B}--\r\n`);
    const total = prefix.length + size + suffix.length;
    let produced = 0;
    const body = new Readable({
      read() {
        if (produced === total) return void this.push(null);
        const n = Math.min(64 * 1024, total - produced);
        const chunk = Buffer.alloc(n, 0x61);
        // The prefix and suffix land inside the first and last chunks.
        if (produced === 0) prefix.copy(chunk);
        if (produced + n === total) suffix.copy(chunk, n - suffix.length);
        produced += n;
        this.push(chunk);
      },
    });
    let consumed = 0;
    let maxAhead = 0;
    const result = await parseMultipart({ headers: HEADERS, body }, { ...LIMITS, fileSize: size }, async (part) => {
      await pipeline(part.stream, new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _e, cb) {
          consumed += chunk.length;
          maxAhead = Math.max(maxAhead, produced - consumed);
          setImmediate(cb);
        },
      }));
      return consumed;
    });
    expect(result.files[0]!.result).toBe(size);
    // Body source 16 KiB + busboy 16 KiB + file stream 16 KiB + a 64 KiB chunk or two.
    expect(maxAhead).toBeLessThanOrEqual(512 * 1024);
  }, 60_000);
});

it('collect helper sanity: the multipart body is well formed', async () => {
  const bytes = await collect(Readable.from([form([{ name: 'a', data: 'b' }])]));
  expect(bytes.toString()).toBe(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--${B}--\r\n`);
});
