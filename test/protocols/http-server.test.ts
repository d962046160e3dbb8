// Wire tests of the HTTP server module: literal bytes over real sockets.

import { describe, it, expect, afterEach } from 'vitest';
import { Readable } from 'node:stream';
import { HttpServer } from '../../protocols/http-server.js';
import type { Handler, WireOptions } from '../../protocols/http-server.js';
import type { Request } from '../../src/request.js';
import type { Reply } from '../../src/reply.js';
import { textReply, errorReply } from '../../src/reply.js';
import type { HttpError } from '../../src/errors.js';
import { makeFormat } from '../../src/format.js';
import { exchange, connect, readUntil, waitClose, sleep, get, parseResponses, recordWrites, endlessBody } from '../helpers/wire.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers) expect(s.check()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

async function start(handler: Handler, options: Partial<WireOptions> = {}): Promise<{ port: number; server: HttpServer; seen: Request[] }> {
  const seen: Request[] = [];
  const server = new HttpServer((req) => {
    seen.push(req);
    return handler(req);
  }, options);
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  return { port, server, seen };
}

const echoPath: Handler = async (req) => textReply(200, req.target);

/** Reads the whole request body as a string. */
async function readBody(req: Request): Promise<string> {
  const body = req.body();
  if (body === null) return '';
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('latin1');
}

describe('keep-alive and versions', () => {
  it('answers two requests on one connection, with Date and Server', async () => {
    const { port } = await start(echoPath);
    const r = await exchange(port, [get('/a'), get('/b')], { responses: 2, gap: 20 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/b\n']);
    expect(r.closed).toBe(false);
    expect(r.responses[0]!.headers.date).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(r.responses[0]!.headers.server).toBe('streamstack');
    expect(r.responses[0]!.headers['content-length']).toBe('3');
  });

  it('closes after an HTTP/1.0 request unless keep-alive is asked for', async () => {
    const { port } = await start(echoPath);
    const plain = await exchange(port, 'GET /x HTTP/1.0\r\n\r\n');
    expect(plain.closed).toBe(true);
    expect(plain.responses).toHaveLength(1);
    expect(plain.responses[0]!.headers.connection).toBe('close');
    const ka = await exchange(port, ['GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 'GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'], { responses: 2, gap: 20 });
    expect(ka.responses.map((x) => x.body.toString())).toEqual(['/1\n', '/2\n']);
    expect(ka.responses[0]!.headers.connection).toBe('keep-alive');
    expect(ka.closed).toBe(false);
  });

  it('honours Connection: close and ignores what follows it', async () => {
    const { port, seen } = await start(echoPath);
    const r = await exchange(port, get('/a', 'Connection: close\r\n') + get('/b'));
    expect(r.closed).toBe(true);
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n']);
    expect(r.responses[0]!.headers.connection).toBe('close');
    expect(seen.map((s) => s.target)).toEqual(['/a']);
  });

  it('still answers a client that half-closed after sending', async () => {
    const { port } = await start(async (req) => {
      await sleep(50);
      return textReply(200, req.target);
    });
    const r = await exchange(port, get('/a') + get('/b'), { end: true });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/b\n']);
    expect(r.closed).toBe(true);
  });

  it('sends no body for HEAD, 204 and 304, and the next response still parses', async () => {
    const { port } = await start(async (req) => {
      const status = req.target === '/204' ? 204 : req.target === '/304' ? 304 : 200;
      return textReply(status, 'hello');
    });
    const r = await exchange(port, `HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n` + get('/204') + get('/304') + get('/g'), { responses: 4, heads: [0] });
    expect(r.responses.map((x) => x.status)).toEqual([204 === 0 ? 0 : 200, 204, 304, 200]);
    expect(r.responses[0]!.headers['content-length']).toBe('6');
    expect(r.responses[0]!.body.length).toBe(0);
    expect(r.responses[1]!.headers['content-length']).toBeUndefined();
    expect(r.responses[3]!.body.toString()).toBe('hello\n');
  });

  it('frames a stream body of unknown length as chunked for 1.1 and close-delimited for 1.0', async () => {
    const { port } = await start(async () => ({
      status: 200, headers: {}, format: makeFormat('text/plain'), length: -1,
      body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]),
    }));
    const r11 = await exchange(port, get('/'), { responses: 1 });
    expect(r11.responses[0]!.headers['transfer-encoding']).toBe('chunked');
    expect(r11.responses[0]!.body.toString()).toBe('abcd');
    const r10 = await exchange(port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    expect(r10.closed).toBe(true);
    expect(r10.responses[0]!.headers['transfer-encoding']).toBeUndefined();
    expect(r10.responses[0]!.body.toString()).toBe('abcd');
  });
});

describe('writes', () => {
  it('sends head and a large in-memory body in one writev, so the client wakes once per reply', async () => {
    const big = Buffer.alloc(64 * 1024, 0x61);
    const format = makeFormat('application/octet-stream');
    const { port } = await start(async (): Promise<Reply> => ({ status: 200, headers: {}, format, body: big, length: big.length }));
    let r!: Awaited<ReturnType<typeof exchange>>;
    const calls = await recordWrites(port, async () => {
      r = await exchange(port, get('/a'), { responses: 1 });
    });
    expect(r.responses[0]!.body.equals(big)).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^writev \d+\+65536$/);
  });

  it('serves a reply the handler gives at once (no promise), in order with pipelined ones that wait', async () => {
    const { port } = await start(((req: Request) => req.target === '/later'
      ? sleep(30).then(() => textReply(200, req.target))
      : textReply(200, req.target)) as Handler);
    const one = await exchange(port, get('/now'), { responses: 1 });
    expect(one.responses[0]!.body.toString()).toBe('/now\n');
    const r = await exchange(port, get('/a') + get('/later') + get('/b'), { responses: 3 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/later\n', '/b\n']);
  });

  it('a handler that throws at once gets a 500, and the connection goes on', async () => {
    const { port } = await start(((req: Request) => {
      if (req.target === '/boom') throw new Error('boom');
      return textReply(200, req.target);
    }) as Handler);
    const r = await exchange(port, get('/boom') + get('/ok'), { responses: 2 });
    expect(r.responses.map((x) => x.status)).toEqual([500, 200]);
  });

  it('sends a small reply as one buffer', async () => {
    const { port } = await start(echoPath);
    const calls = await recordWrites(port, async () => {
      await exchange(port, get('/a'), { responses: 1 });
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^write \d+$/);
  });
});

describe('pipelining', () => {
  it('replies in request order even when a later reply is ready first', async () => {
    const { port } = await start(async (req) => {
      if (req.target === '/slow') await sleep(150);
      return textReply(200, req.target);
    });
    const r = await exchange(port, get('/a') + get('/slow') + get('/b') + get('/c'), { responses: 4 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/slow\n', '/b\n', '/c\n']);
  });

  it('parses ahead only up to maxPipeline requests', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { port, seen } = await start(async (req) => {
      await gate;
      return textReply(200, req.target);
    }, { maxPipeline: 4 });
    let data = '';
    for (let i = 0; i < 10; i++) data += get(`/${i}`);
    const pending = exchange(port, data, { responses: 10 });
    await sleep(100);
    expect(seen.length).toBe(4);
    release();
    const r = await pending;
    expect(r.responses.map((x) => x.body.toString().trim())).toEqual([...Array(10).keys()].map((i) => `/${i}`));
  });

  it('batches consecutive ready replies into one write', async () => {
    const { port } = await start(echoPath);
    const n = 8;
    let data = '';
    for (let i = 0; i < n; i++) data += get(`/${i}`);
    let r!: Awaited<ReturnType<typeof exchange>>;
    // One client write: the server reads all n heads at once, and the n replies
    // become ready in the same turn.
    const calls = await recordWrites(port, async () => {
      r = await exchange(port, data, { responses: n });
    });
    expect(r.responses.map((x) => x.body.toString())).toEqual([...Array(n).keys()].map((i) => `/${i}\n`));
    // Counted where the server writes, not at the client, where loopback merges reads anyway.
    expect(calls).toHaveLength(1);
    const [kind, sizes] = calls[0]!.split(' ');
    expect(kind).toMatch(/^writev?$/);
    expect(sizes!.split('+').reduce((sum, x) => sum + Number(x), 0)).toBe(r.raw.length);
  });

  it('keeps memory bounded when a client pipelines 10,000 requests without reading', async () => {
    const size = 16 * 1024;
    const maxPipeline = 16;
    const { port, server, seen } = await start(async (req) => {
      const body = Buffer.from(`${req.target}\n`.padEnd(size, 'x'), 'latin1');
      return { status: 200, headers: {}, format: makeFormat('text/plain'), length: size, body };
    }, { maxPipeline });
    const s = await connect(port);
    const n = 10_000;
    // About 1 KiB a request, 10 MiB in all: more than the kernel buffers between
    // the two sockets hold, so a server that stops reading leaves requests queued
    // at the client.
    const pad = `X-Pad: ${'p'.repeat(1000)}\r\n`;
    s.pause();
    // One write each, so that the client's writableLength shows what the kernel did not take.
    for (let i = 0; i < n; i++) s.write(get(`/${i}`, pad));
    await sleep(800);
    const [stats] = server.stats();
    // The bound: maxPipeline parsed requests plus what the socket holds
    // (one batch of replies past the high-water mark) and one unparsed read.
    expect(stats!.queued).toBeLessThanOrEqual(maxPipeline);
    expect(stats!.writableLength).toBeLessThanOrEqual((maxPipeline + 1) * (size + 200));
    expect(stats!.pendingBytes).toBeLessThanOrEqual(128 * 1024);
    expect(seen.length).toBeLessThan(n / 2);
    // And the condition was reached: replies backed up at the server, the
    // pipeline is full, and the server stopped reading with requests left.
    expect(stats!.writableLength).toBeGreaterThan(0);
    expect(stats!.queued).toBe(maxPipeline);
    expect(s.writableLength).toBeGreaterThan(0);
    // When the client reads, every response arrives, in order.
    const targets: string[] = [];
    let buffered = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${targets.length} responses`)), 15000);
      s.on('data', (c: Buffer) => {
        buffered = buffered.length === 0 ? c : Buffer.concat([buffered, c]);
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end === -1) break;
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.toString('latin1', 0, end))?.[1]);
          if (buffered.length < end + 4 + length) break;
          targets.push(buffered.toString('latin1', end + 4, buffered.indexOf('\n', end + 4)));
          buffered = buffered.subarray(end + 4 + length);
        }
        if (targets.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      });
      s.resume();
    });
    s.destroy();
    expect(targets).toEqual([...Array(n).keys()].map((i) => `/${i}`));
    expect(buffered.length).toBe(0);
    expect(seen.length).toBe(n);
  });
});

describe('request bodies', () => {
  it('reads a Content-Length body and a chunked body only once the handler asks', async () => {
    const { port } = await start(async (req) => textReply(200, `${req.method}:${await readBody(req)}`));
    const r = await exchange(port,
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n' +
      get('/c'), { responses: 3 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['POST:hello\n', 'POST:abcde\n', 'GET:\n']);
  });

  it('discards a small unread body and keeps the connection', async () => {
    const { port } = await start(echoPath);
    const r = await exchange(port, 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' + get('/b'), { responses: 2 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['/a\n', '/b\n']);
    expect(r.responses[0]!.headers.connection).toBeUndefined();
  });

  it('closes instead of reading a large unread body', async () => {
    const { port } = await start(echoPath, { maxDiscard: 10 });
    const r = await exchange(port, 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.headers.connection).toBe('close');
    expect(r.closed).toBe(true);
  });

  it('sends 100 Continue only when the body is wanted, then the final status', async () => {
    const { port } = await start(async (req) => {
      if (req.target === '/no') return textReply(404, 'no');
      return textReply(200, await readBody(req));
    });
    const s = await connect(port);
    s.write('POST /yes HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    const interim = await readUntil(s, (b) => b.includes('\r\n\r\n'));
    expect(interim.toString()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    s.write('data');
    const final = await readUntil(s, (b) => b.toString().endsWith('data\n'));
    expect(final.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    s.destroy();

    const r = await exchange(port, 'POST /no HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    expect(r.raw.toString()).not.toContain('100 Continue');
    expect(r.responses[0]!.status).toBe(404);
    expect(r.responses[0]!.headers.connection).toBe('close');
  });

  it('sends no 100 Continue to a client whose body arrived with its head (it is not waiting), and reads the body', async () => {
    const { port } = await start(async (req) => {
      // The body is wanted only after a turn: the bytes are there by then.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return textReply(200, await readBody(req));
    });
    const r = await exchange(port, 'POST /yes HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\ndata' + get('/next'), { responses: 2 });
    expect(r.raw.toString()).not.toContain('100 Continue');
    expect(r.responses.map((x) => [x.status, x.body.toString()])).toEqual([[200, 'data\n'], [200, '\n']]);
  });

  it('answers an unknown expectation with 417 without calling the handler', async () => {
    const { port, seen } = await start(echoPath);
    const r = await exchange(port, get('/a', 'Expect: teapot\r\n'), { responses: 1 });
    expect(r.responses[0]!.status).toBe(417);
    expect(seen).toHaveLength(0);
  });

  it('stops a chunked body over the limit with 413 and closes', async () => {
    const { port } = await start(async (req) => {
      req.maxBodySize = 10;
      try {
        await readBody(req);
        return textReply(200, 'read');
      } catch (err) {
        return textReply((err as { status?: number }).status ?? 500, 'too big');
      }
    });
    const r = await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n');
    expect(r.responses[0]!.status).toBe(413);
    expect(r.responses[0]!.headers.connection).toBe('close');
    expect(r.closed).toBe(true);
  });

  it('paces a slow body consumer instead of buffering the body', async () => {
    let resolveRead!: (n: number) => void;
    const done = new Promise<number>((r) => (resolveRead = r));
    const { port, server } = await start(async (req) => {
      req.maxBodySize = Infinity;
      const body = req.body()!;
      await sleep(400); // do not read yet
      let n = 0;
      for await (const c of body) n += (c as Buffer).length;
      resolveRead(n);
      return textReply(200, String(n));
    });
    const size = 32 * 1024 * 1024;
    const s = await connect(port);
    s.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 32; i++) s.write(chunk);
    await sleep(250);
    const [stats] = server.stats();
    expect(stats!.pendingBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(s.writableLength).toBeGreaterThan(size / 4); // the client is held back by TCP
    expect(await done).toBe(size);
    s.destroy();
  });
});

describe('framing errors and smuggling', () => {
  const cases: [string, string, number][] = [
    ['CL with TE', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['TE with CL', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['TE obfuscated with space before colon', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['TE not chunked last', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['TE xchunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['unknown transfer coding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 501],
    ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['differing CL', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 41\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['malformed CL', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x4\r\nabcd\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['chunk size overflow', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nabcd\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['chunk without CRLF', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['bare LF', 'GET / HTTP/1.1\nHost: x\n\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['bare CR', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['NUL in value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['no Host', 'GET / HTTP/1.1\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 505],
    ['unknown method', 'BREW / HTTP/1.1\r\nHost: x\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n', 501],
  ];
  // The handler reads the body, so an error inside it reaches the reply.
  const reading: Handler = async (req) => {
    try {
      return textReply(200, await readBody(req));
    } catch (err) {
      return errorReply(err as HttpError);
    }
  };
  for (const [name, bytes, status] of cases) {
    it(`${name} → ${status}, one response, closed`, async () => {
      const { port, seen } = await start(reading);
      const r = await exchange(port, bytes);
      expect(r.responses.map((x) => x.status)).toEqual([status]);
      expect(r.responses[0]!.headers.connection).toBe('close');
      expect(r.responses[0]!.body.toString()).toMatch(new RegExp(`^${status} `));
      expect(r.closed).toBe(true);
      expect(seen.map((s) => s.target)).not.toContain('/smuggled');
    });
  }

  it('never reads what follows a CONNECT head as HTTP', async () => {
    const { port, seen } = await start(echoPath);
    const r = await exchange(port, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n' + get('/smuggled'));
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.headers.connection).toBe('close');
    expect(r.closed).toBe(true);
    expect(seen.map((s) => s.target)).toEqual(['example.test:443']);
  });

  it('answers earlier pipelined requests before the error', async () => {
    const { port } = await start(echoPath);
    const r = await exchange(port, get('/ok') + 'GET / HTTP/1.1\r\n\r\n');
    expect(r.responses.map((x) => x.status)).toEqual([200, 400]);
    expect(r.closed).toBe(true);
  });
});

describe('limits', () => {
  it('414 for a request line over the limit, even before it ends', async () => {
    const { port } = await start(echoPath, { maxRequestLine: 100 });
    const r = await exchange(port, 'GET /' + 'a'.repeat(200));
    expect(r.responses.map((x) => x.status)).toEqual([414]);
    expect(r.closed).toBe(true);
  });

  it('431 for a header block over the size and the count limits', async () => {
    const { port } = await start(echoPath, { maxHeaderSize: 200, maxHeaders: 5 });
    const bySize = await exchange(port, get('/', `X-Big: ${'a'.repeat(300)}\r\n`));
    expect(bySize.responses.map((x) => x.status)).toEqual([431]);
    let many = '';
    for (let i = 0; i < 6; i++) many += `X-${i}: v\r\n`;
    const byCount = await exchange(port, get('/', many));
    expect(byCount.responses.map((x) => x.status)).toEqual([431]);
  });

  it('413 for a declared body over the limit, without reading it', async () => {
    const { port, seen } = await start(async (req) => {
      // The policy refuses by the declared length; the limit is the server's option.
      if (req.bodyLength > req.maxBodySize) return textReply(413, 'too large');
      return textReply(200, await readBody(req));
    }, { maxBodySize: 1024 });
    const declared = 64 * 1024 * 1024;
    const sent = 32 * 1024 * 1024;
    const s = await connect(port);
    const ended = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      s.once('end', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    // Half the declared body, and never the rest: a server that waited for it would never answer.
    s.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 'b');
    for (let i = 0; i < sent / chunk.length; i++) s.write(chunk);
    const got = parseResponses(await readUntil(s, (b) => parseResponses(b).length === 1));
    // The answer came while most of what the client wrote was still held back by TCP.
    const heldBack = s.writableLength;
    expect(got.map((x) => x.status)).toEqual([413]);
    expect(got[0]!.headers.connection).toBe('close');
    expect(seen.map((x) => x.maxBodySize)).toEqual([1024]);
    // The server closes its side at once, without reading the body to its end.
    expect(await ended).toBe(true);
    // (the kernel buffers take a few MiB at most). After its FIN the server
    // reads and drops what still comes, for a bounded time (lingering close).
    expect(heldBack).toBeGreaterThan(sent / 2);
    s.destroy();
  });
});

describe('timeouts', () => {
  it('408 and close when a head trickles in too slowly (slowloris)', async () => {
    const { port } = await start(echoPath, { headerTimeout: 200 });
    const started = Date.now();
    const r = await exchange(port, ['GET / HTTP/1.1\r\n', 'Host: x\r\n', 'X-1: a\r\n', 'X-2: a\r\n', 'X-3: a\r\n', 'X-4: a\r\n'], { gap: 60 });
    expect(r.responses.map((x) => x.status)).toEqual([408]);
    expect(r.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('closes an idle keep-alive connection silently', async () => {
    const timeout = 300;
    let answeredAt = 0;
    const { port } = await start(async (req) => {
      // A slow handler: the idle time runs from the reply, not from the request.
      await sleep(200);
      answeredAt = Date.now();
      return textReply(200, req.target);
    }, { keepAliveTimeout: timeout });
    const s = await connect(port);
    let all = Buffer.alloc(0);
    let repliedAt = 0;
    s.on('data', (c: Buffer) => {
      all = Buffer.concat([all, c]);
      if (repliedAt === 0 && all.includes('\r\n\r\n/a\n')) repliedAt = Date.now();
    });
    s.write(get('/a'));
    expect(await waitClose(s, timeout + 3000)).toBe(true);
    const closedAt = Date.now();
    // Silently: not one byte after the reply (no 408, nothing).
    const replies = parseResponses(all);
    expect(replies.map((x) => `${x.status} ${x.body.toString()}`)).toEqual(['200 /a\n']);
    expect(all.subarray(all.indexOf('\r\n\r\n') + 4 + replies[0]!.body.length).toString('latin1')).toBe('');
    // No earlier than the timeout after the reply was ready (less a few ms: Node's
    // timers count from the loop's cached clock), and not much later.
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(timeout - 10);
    expect(closedAt - repliedAt).toBeLessThanOrEqual(timeout + 1500);
  });

  it('408 and close when a body stops arriving', async () => {
    const { port } = await start(async (req) => {
      try {
        return textReply(200, await readBody(req));
      } catch (err) {
        return textReply((err as { status?: number }).status ?? 500, 'timeout');
      }
    }, { bodyTimeout: 200 });
    const r = await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', { timeout: 2000 });
    expect(r.responses.map((x) => x.status)).toEqual([408]);
    expect(r.closed).toBe(true);
  });

  it('drops a client that stops reading a large response', async () => {
    let destroyed = false;
    const { port, server } = await start(async () => {
      let n = 0;
      const body = new Readable({
        read() {
          if (n++ < 4096) this.push(Buffer.alloc(64 * 1024));
          else this.push(null);
        },
        destroy(err, cb) {
          destroyed = true;
          cb(err);
        },
      });
      return { status: 200, headers: {}, format: makeFormat('application/octet-stream'), length: 4096 * 64 * 1024, body };
    }, { writeTimeout: 200 });
    const s = await connect(port);
    s.write(get('/big'));
    s.pause();
    await sleep(1000);
    expect(destroyed).toBe(true);
    expect(server.connections).toBe(0);
    s.destroy();
  });
});

describe('a slow but steady reader', () => {
  it('is not cut off by the write timeout while it keeps taking bytes', async () => {
    const size = 8 * 1024 * 1024;
    const { port } = await start(async () => {
      let sent = 0;
      const body = new Readable({
        read() {
          if (sent >= size) return void this.push(null);
          sent += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 'z'));
        },
      });
      return { status: 200, headers: {}, format: makeFormat('application/octet-stream'), length: size, body };
    }, { writeTimeout: 300 });
    const s = await connect(port);
    s.write(get('/big'));
    let got = 0;
    const started = Date.now();
    // Read at a steady pace, so that the whole download takes about three write timeouts.
    await new Promise<void>((resolve, reject) => {
      s.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= size) return resolve();
        const due = started + (got / size) * 900;
        s.pause();
        setTimeout(() => s.resume(), Math.max(0, due - Date.now()));
      });
      s.on('close', () => (got >= size ? resolve() : reject(new Error(`closed after ${got} bytes`))));
    });
    expect(Date.now() - started).toBeGreaterThan(800);
    expect(got).toBeGreaterThanOrEqual(size);
    s.destroy();
  });
});

describe('aborts', () => {
  it('aborts the load and destroys the body stream when the client disconnects mid-response', async () => {
    let request: Request | null = null;
    let destroyed = false;
    const { port } = await start(async (req) => {
      request = req;
      const body = endlessBody(1024, () => (destroyed = true));
      return { status: 200, headers: {}, format: makeFormat('text/plain'), length: -1, body } satisfies Reply;
    });
    const s = await connect(port);
    s.write(get('/stream'));
    await readUntil(s, (b) => b.length > 4096);
    s.destroy();
    await sleep(100);
    expect(destroyed).toBe(true);
    expect(request!.aborted).toBe(true);
  });
});
