// What the socket-level fuzzer found, each kept as the smallest byte sequence
// that reproduced it, with the seed and sequence it came from
// (`npm run fuzz -- --seed S --only I` replays the original). Each test states
// the correct behaviour: the process survives, the client gets an answer or
// a close in time, and no connection, handle or temporary file is left.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Server } from '../../src/server.js';
import { parseRules } from '../../src/rules/index.js';
import { makeFuzzRoot, FILE, RULES, WIRE, temporaries, clearUploads, rulesFor, startUpstream } from './fixture.js';
import { parseResponses } from './responses.js';

let fx: ReturnType<typeof makeFuzzRoot>;
let server: Server;
let port: number;
/** Open fds once the server listens. */
let baseFds = 0;
/** Open fds of this process (Linux); 0 elsewhere, where only the other checks apply. */
const openFds = (): number => {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
};
const errors: string[] = [];
const record = (err: unknown) => errors.push(err instanceof Error ? (err.stack ?? err.message) : String(err));

beforeAll(() => {
  fx = makeFuzzRoot();
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
});
afterAll(() => {
  process.off('uncaughtException', record);
  process.off('unhandledRejection', record);
  fx.cleanup();
});
beforeEach(async () => {
  errors.length = 0;
  clearUploads(fx.upload);
  server = new Server(parseRules(RULES, 'fuzz.rules', { serverRoot: fx.root }), { wire: WIRE, file: FILE });
  ({ port } = await server.listen(0, '127.0.0.1'));
  baseFds = openFds();
});
afterEach(() => server.close(100));

interface Seen {
  /** Final responses, in order. */
  statuses: number[];
  raw: string;
  /** The server closed the connection within the bound. */
  closed: boolean;
}

/**
 * Writes `bytes` in one write, then half-closes (`end`) and/or closes (a
 * reset when there was no FIN) after `resetAfter` ms (0: in the same tick as
 * the write); collects what comes back until the close or `bound` ms.
 */
function play(bytes: string, { end = false, resetAfter = -1, bound = 2500 } = {}): Promise<Seen> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const statuses = parseResponses(raw, () => 'no', true).responses.map((r) => r.status);
      resolve({ statuses, raw: raw.toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), bound);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(Buffer.from(bytes, 'latin1'));
      if (end) socket.end();
      // After our FIN, libuv cannot reset: the close then sends an RST only if bytes are unread.
      const close = () => (end ? socket.destroy() : socket.resetAndDestroy());
      if (resetAfter === 0) close();
      else if (resetAfter > 0) setTimeout(close, resetAfter);
    });
  });
}

/**
 * Waits for the server to forget every connection, for the upload area to
 * hold no temporaries and for the fds to come back to what they were, and
 * to stay so for 300 ms (a handler still running may yet open a file).
 */
async function settled(ms = 2000): Promise<{ connections: number; temporaries: string[]; fdsLeft: number }> {
  const deadline = Date.now() + ms;
  let cleanSince = -1;
  for (;;) {
    const state = { connections: server.http.connections, temporaries: temporaries(fx.upload), fdsLeft: Math.max(0, openFds() - baseFds) };
    const clean = state.connections === 0 && state.temporaries.length === 0 && state.fdsLeft === 0;
    if (!clean) cleanSince = -1;
    else if (cleanSince < 0) cleanSince = Date.now();
    if ((clean && Date.now() - cleanSince >= 300) || Date.now() > deadline) return state;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const CLEAN = { connections: 0, temporaries: [], fdsLeft: 0 };

async function stillServes(): Promise<void> {
  const seen = await play('GET /f/three.txt HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n');
  expect(seen.statuses).toEqual([200]);
  expect(seen.raw.endsWith('\r\n\r\nabc')).toBe(true);
}

describe('a half-close while a request body waits unread', () => {
  // TypeError: Cannot read properties of null (reading 'received') in
  // Connection.onBody, an uncaught exception: the FIN forgot the body reader,
  // then parsing the buffered body bytes went on without it.

  // seed 1 sequence 0 (a complete multipart POST, then the FIN).
  it('answers a complete PUT sent with its FIN, and stores it', async () => {
    const seen = await play('PUT /up/a.txt HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\nhello', { end: true });
    expect(errors).toEqual([]);
    expect(seen.closed).toBe(true);
    expect(seen.statuses).toEqual([201]);
    expect(fs.readFileSync(path.join(fx.upload, 'a.txt'), 'latin1')).toBe('hello');
    expect(await settled()).toEqual(CLEAN);
    await stillServes();
  });

  // seed 2 sequence 1.
  it('answers a complete chunked PUT sent with its FIN', async () => {
    const seen = await play('PUT /up/a.txt HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', { end: true });
    expect(errors).toEqual([]);
    expect(seen.statuses).toEqual([201]);
    expect(seen.closed).toBe(true);
    expect(await settled()).toEqual(CLEAN);
  });

  // seed 5 sequence 6.
  it('stores nothing from a body cut short by the FIN, and closes', async () => {
    const seen = await play('PUT /up/a.txt HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\nab', { end: true });
    expect(errors).toEqual([]);
    expect(seen.closed).toBe(true);
    expect(seen.statuses.filter((s) => s < 300)).toEqual([]);
    expect(fs.existsSync(path.join(fx.upload, 'a.txt'))).toBe(false);
    expect(await settled()).toEqual(CLEAN);
    await stillServes();
  });

  it('answers the requests before a body cut short', async () => {
    const seen = await play('GET /f/three.txt HTTP/1.1\r\nHost: fuzz\r\n\r\n' +
      'POST /up/ HTTP/1.1\r\nHost: fuzz\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100\r\n\r\n--b\r\n', { end: true });
    expect(errors).toEqual([]);
    expect(seen.closed).toBe(true);
    expect(seen.statuses[0]).toBe(200);
    expect(seen.statuses.slice(1).filter((s) => s < 300)).toEqual([]);
    expect(await settled()).toEqual(CLEAN);
  });
});

describe('a half-close right after a head that announced a body', () => {
  // seed 2 sequence 43: the FIN came before the handler opened the body; the
  // body it then opened never ended, so no answer, no close, and the
  // connection (paused, with no timer) outlived even the client's reset.
  it('answers or closes at once, and keeps no temporary file', async () => {
    const seen = await play('PUT /up/a.txt HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\n', { end: true });
    expect(errors).toEqual([]);
    expect(seen.closed).toBe(true);
    expect(seen.statuses.filter((s) => s < 300)).toEqual([]);
    expect(await settled()).toEqual(CLEAN);
    await stillServes();
  });

  it('forgets the connection when the client then closes', async () => {
    const head = 'POST /up/ HTTP/1.1\r\nHost: fuzz\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 269\r\n\r\n';
    await play(head, { end: true, resetAfter: 20, bound: 500 });
    expect(errors).toEqual([]);
    expect(await settled()).toEqual(CLEAN);
  });

  it('forgets a PUT whose client closed after its FIN, and its temporary file', async () => {
    await play('PUT /up/a.txt HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\n', { end: true, resetAfter: 20, bound: 500 });
    expect(errors).toEqual([]);
    expect(await settled()).toEqual(CLEAN);
  });

  // seed 4 sequence 414: no FIN at all, a reset right after the head; the
  // server never notices it, and keeps the connection and the temporary file.
  it('forgets a PUT whose client reset right after the head, and its temporary file', async () => {
    await play('PUT /up/b.bin HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 100\r\n\r\n', { resetAfter: 0, bound: 500 });
    expect(errors).toEqual([]);
    expect(await settled()).toEqual(CLEAN);
    await stillServes();
  });

  // seed 6 sequence 153: a reset a millisecond or two after the head. The
  // connection closes, but the PUT, which was opening its temporary file,
  // goes on for a request that is gone: the file and its descriptor stay.
  it('removes the temporary file of a PUT whose client reset while it was opened', async () => {
    for (const ms of [1, 2, 3]) {
      await play('PUT /up/b.bin HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n', { resetAfter: ms, bound: 500 });
      expect({ ms, errors }).toEqual({ ms, errors: [] });
      expect({ ms, ...(await settled()) }).toEqual({ ms, ...CLEAN });
    }
    await stillServes();
  });

  // seed 2 sequence 7: the bytes after the head were a broken chunk size; the
  // 400 for it queued behind the PUT, whose body never ended.
  it('answers 400 for a bad chunk size that came with the FIN', async () => {
    const seen = await play('PUT /up/e.txt HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\nhello\r\n0\r\n\r\n', { end: true });
    expect(errors).toEqual([]);
    expect(seen.closed).toBe(true);
    expect(seen.statuses).toEqual([400]);
    expect(await settled()).toEqual(CLEAN);
  });
});

describe('a body its consumer gave up on', () => {
  // seed 6 sequence 183: a multipart POST whose boundary has a space. The
  // parser refuses it at once (400, keep-alive), the body stays unread and is
  // neither dropped nor a reason to close; the connection, paused, with no
  // timer armed, never reads again: the next request is never answered and
  // the client's FIN never seen.
  const POST = 'POST /up/ HTTP/1.1\r\nHost: fuzz\r\nContent-Type: multipart/form-data; boundary=a b\r\nContent-Length: 5\r\n\r\nhello';

  it('answers the next pipelined request, or says it closes and does', async () => {
    const seen = await play(POST + 'GET /f/three.txt HTTP/1.1\r\nHost: fuzz\r\n\r\n');
    expect(errors).toEqual([]);
    const answeredBoth = seen.statuses.join() === '400,200' && seen.raw.endsWith('\r\n\r\nabc');
    const closedAfter = seen.statuses.join() === '400' && /\r\nConnection: close\r\n/i.test(seen.raw) && seen.closed;
    expect(answeredBoth || closedAfter, seen.raw).toBe(true);
  });

  // The same, then the FIN: the TypeError of Connection.onBody, and the
  // abandoned body's 'error' (HttpError: body incomplete) with no listener,
  // both uncaught.
  it('survives the FIN that follows, and forgets the connection', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(POST);
    await new Promise((r) => setTimeout(r, 100));
    socket.end();
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    expect(await settled()).toEqual(CLEAN);
    expect(errors).toEqual([]);
    await stillServes();
  });
});

describe('before a fake upstream', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(() => upstream.close());
  beforeEach(async () => {
    await server.close(100);
    server = new Server(parseRules(rulesFor(upstream.port), 'fuzz.rules', { serverRoot: fx.root }), { wire: WIRE, file: FILE });
    ({ port } = await server.listen(0, '127.0.0.1'));
    baseFds = openFds();
  });

  describe('a proxied body cut by the upstream while its reply waits its turn', () => {
    // seed 1 sequence 48: a request, then a GET through the HTTP cache whose
    // upstream dies mid-body, pipelined. The cut came while the first reply was
    // written: the cache's copy of the body (a stream piped from the upstream's)
    // was destroyed before the writer listened to it, so its error and close
    // were gone; the writer sent the head and waited for the body forever: no
    // close, and the connection outlived the client.
    const PIPELINE = 'GET /d/a.txt HTTP/1.1\r\nHost: fuzz\r\n\r\nGET /c/cut?cut=1 HTTP/1.1\r\nHost: fuzz\r\n\r\n';

    for (const end of [false, true]) {
      it(`answers the first, then closes in the cut reply${end ? ' (with the client\'s FIN)' : ''}, and stores nothing`, async () => {
        const seen = await play(PIPELINE, { end });
        expect(errors).toEqual([]);
        expect(seen.closed).toBe(true);
        // The first answer whole; the second cut short by the close (never complete).
        expect(seen.statuses, seen.raw).toEqual([200]);
        expect(seen.raw.split('\r\n\r\n')[1]!.startsWith('a\n')).toBe(true);
        expect(await settled()).toEqual(CLEAN);
        const again = await play('GET /c/cut?cut=1 HTTP/1.1\r\nHost: fuzz\r\nCache-Control: only-if-cached\r\nConnection: close\r\n\r\n');
        expect(again.statuses).toEqual([504]);
      });
    }
  });

  describe('a reply cut short while the client reads late', () => {
    // seed 13 sequence 920: nine pipelined requests, a GET whose upstream dies
    // mid-body among them, then a large PUT; the client stopped reading for a
    // while. The cut closed the connection at once with the PUT's bytes
    // unread: the kernel sent a reset, which erased the replies before the
    // cut one from the client's buffers (RFC 9112 §9.6). Closed in stages,
    // they arrive; and the PUT, never to get its body, leaves no temporary file.
    it('delivers the replies before the cut one, then closes, and leaves no upload behind', async () => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      const closed = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 3000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
        // The server's FIN: the client ends too, as a client done with the connection does.
        socket.once('end', () => socket.end());
      });
      socket.pause();
      socket.write('GET /d/a.txt HTTP/1.1\r\nHost: fuzz\r\n\r\nGET /c/cut?cut=1 HTTP/1.1\r\nHost: fuzz\r\n\r\n' +
        'PUT /up/a.txt HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 600000\r\n\r\n');
      // The body goes on arriving after the cut.
      for (let k = 0; k < 10 && socket.writable; k++) {
        socket.write('x'.repeat(20000));
        await new Promise((r) => setTimeout(r, 30));
      }
      socket.resume();
      expect(await closed).toBe(true);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      expect(parseResponses(Buffer.concat(chunks), () => 'no', true).responses.map((r) => r.status), raw.slice(0, 300)).toEqual([200]);
      expect(raw.split('\r\n\r\n')[1]!.startsWith('a\n')).toBe(true);
      expect(await settled(4000)).toEqual(CLEAN);
    });
  });

  describe('a request pipelined after an unsafe one', () => {
    // seed 7 sequence 13: GET stores /c/small?inv=…, a POST to it (its body
    // trickling in), then GET with only-if-cached, pipelined. The last GET
    // was handled as soon as it was parsed, while the POST was still on its
    // way upstream: it was answered from the response the POST then
    // invalidated (RFC 9111 §4.4). RFC 9112 §9.3.2: only safe requests may
    // be processed in parallel.
    it('is answered after what the unsafe one did: the invalidated response is gone', async () => {
      const uri = '/c/small?inv=found';
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      socket.write(`GET ${uri} HTTP/1.1\r\nHost: fuzz\r\n\r\nPOST ${uri} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 10\r\n\r\n`);
      await sleep(20);
      socket.write('hello');
      await sleep(20);
      socket.write(`world${`GET ${uri} HTTP/1.1\r\nHost: fuzz\r\nCache-Control: only-if-cached\r\nConnection: close\r\n\r\n`}`);
      await new Promise((r) => socket.once('close', r));
      const responses = parseResponses(Buffer.concat(chunks), () => 'no', true).responses;
      expect(responses.map((r) => r.status)).toEqual([200, 200, 504]);
      expect(responses[1]!.body.toString()).toBe(`POST ${uri} 10\n`);
      expect(errors).toEqual([]);
    });
  });

  describe('a 304 the HTTP cache makes', () => {
    // Seen while the checker learned what a 304 must carry: the stack adds
    // Vary: Accept-Encoding to a text 200 it may compress, and leaves a 304
    // alone, so the cache's 304 lacked it. RFC 9110 §15.4.5: a 304 carries
    // the Vary a 200 to the same request would.
    it('says Vary as its 200 does, fresh or validated', async () => {
      for (const target of ['/c/small', '/c/reval']) {
        const stored = await play(`GET ${target} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n`);
        expect(stored.statuses).toEqual([200]);
        expect(stored.raw).toMatch(/\r\nVary: Accept-Encoding\r\n/);
        const etag = /\r\nETag: ("[^"]*")\r\n/.exec(stored.raw)![1];
        const seen = await play(`GET ${target} HTTP/1.1\r\nHost: fuzz\r\nIf-None-Match: ${etag}\r\nConnection: close\r\n\r\n`);
        expect(seen.statuses).toEqual([304]);
        expect(seen.raw).toMatch(/\r\nCache-Status: streamstack; (hit|fwd=stale)/);
        expect(seen.raw, target).toMatch(/\r\nVary: Accept-Encoding\r\n/);
      }
      expect(errors).toEqual([]);
    });
  });

  describe('an upstream connection back in the pool after a body read whole while paused', () => {
    // seed 7 sequence 857: a ranged GET of a large resource (a 206 of 23 KiB,
    // its head and body in one read), then a HEAD on another connection. The
    // exchange paused the upstream socket at the head until the client's
    // socket took the body, and the body was all in that read: the connection
    // went back to the pool paused, and the next request on it never read its
    // answer (the client got nothing, the connection stayed).
    for (const target of ['/api/big', '/c/big/0']) {
      it(`answers the next request on it (${target})`, async () => {
        const first = await play(`GET ${target} HTTP/1.1\r\nHost: fuzz\r\nRange: bytes=1000-30999\r\nConnection: close\r\n\r\n`);
        expect(first.statuses).toEqual([206]);
        const next = await play('HEAD /api/x HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n', { bound: 2000 });
        expect(next.closed).toBe(true);
        expect(next.statuses).toEqual([200]);
        expect(errors).toEqual([]);
        expect(await settled()).toEqual(CLEAN);
      });
    }
  });
});

describe('a GET pipelined after a PUT of the same file', () => {
  // The same rule in the FILE module: the GET is read once the PUT is answered.
  it('gets what the PUT stored', async () => {
    const seen = await play('PUT /up/n.txt HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\nhello' +
      'GET /up/n.txt HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n');
    expect(errors).toEqual([]);
    expect(seen.statuses).toEqual([201, 200]);
    expect(seen.raw.endsWith('\r\n\r\nhello')).toBe(true);
  });
});
