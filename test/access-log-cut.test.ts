// Replies cut short reach the access log (and the status counts) as nginx
// logs them: a download the client resets halfway keeps its status with the
// bytes the kernel took; a request the connection closed under before its
// head was sent is a 499 with no bytes; a proxied body whose upstream dies
// is its 200 with what was relayed. Each line says `"complete":false`.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server } from '../src/server.js';
import { parseRules } from '../src/rules/index.js';
import { openAccessLog } from '../src/access-log.js';
import type { AccessLog, LogFormat } from '../src/access-log.js';
import { connect, readUntil, sleep } from './helpers/wire.js';

const BIG = 32 * 1024 * 1024;
let dir: string;
let root: string;
const servers: Server[] = [];
const upstreams: net.Server[] = [];
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-cut-'));
  root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(BIG, 'big.'));
  fs.writeFileSync(path.join(root, 'hello.txt'), 'Hello, world\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of servers) expect(s.http.check()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
  for (const u of upstreams.splice(0)) u.close();
});

let files = 0;

/** A server logging in `format` to a fresh file; `lines(n)` waits for n lines of it. */
async function logging(format: LogFormat, rules = 'Pass /*') {
  const file = path.join(dir, `access-${++files}.log`);
  const log = openAccessLog({ accessLog: file, logFormat: format }, { isTTY: false, color: false }) as AccessLog;
  const server = new Server(parseRules(rules, '/virtual/test.rules', { serverRoot: root }), {
    events: { onReply: (rq, rp, b, peer) => log.onReply(rq, rp, b, peer), onCut: (rq, rp, b) => log.onCut(rq, rp, b) },
  });
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  const lines = async (n: number): Promise<string[]> => {
    for (const end = Date.now() + 3000; Date.now() < end; await sleep(20)) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'latin1') : '';
      const got = text.split('\n').slice(0, -1);
      if (got.length >= n) {
        // Nothing more than asked for comes after a moment.
        await sleep(100);
        return fs.readFileSync(file, 'latin1').split('\n').slice(0, -1);
      }
    }
    throw new Error(`fewer than ${n} lines in the log`);
  };
  return { server, port, lines };
}

/** An upstream that answers each connection with `answer` (raw bytes, then what it does). */
async function upstream(answer: (socket: net.Socket) => void): Promise<{ origin: string; got: () => number }> {
  let got = 0;
  const u = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      got++;
      answer(socket);
    });
  });
  upstreams.push(u);
  await new Promise<void>((r) => u.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(u.address() as net.AddressInfo).port}`, got: () => got };
}

describe('replies cut short are logged', () => {
  it('a download reset halfway, with a pipelined request behind it: its 200 and the bytes the kernel took, then a 499 for the other', async () => {
    const { server, port, lines } = await logging('json');
    const s = await connect(port);
    s.write('GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n');
    const got = await readUntil(s, (b) => b.length > 1024 * 1024);
    const body = got.length - (got.indexOf('\r\n\r\n') + 4);
    s.resetAndDestroy();
    const [cut, never] = (await lines(2)).map((l) => JSON.parse(l));
    expect(cut).toMatchObject({ method: 'GET', target: '/big.bin', status: 200, complete: false });
    expect(cut.bytes).toBeGreaterThanOrEqual(body);
    expect(cut.bytes).toBeLessThan(BIG);
    expect(never).toMatchObject({ method: 'GET', target: '/hello.txt', status: 499, bytes: 0, complete: false });
    // The status page counts them by the status they had.
    expect(server.counters.replies[2]).toBe(1);
    expect(server.counters.replies[4]).toBe(1);
  });

  it('a request whose upstream has not answered when the client resets: 499, in the common format', async () => {
    const silent = await upstream(() => {});
    const { port, lines } = await logging('common', `Proxy /slow/* ${silent.origin}/*\nPass /*`);
    const s = await connect(port);
    s.write('GET /slow/x HTTP/1.1\r\nHost: a\r\n\r\n');
    for (const end = Date.now() + 3000; silent.got() === 0 && Date.now() < end;) await sleep(10);
    expect(silent.got()).toBe(1);
    s.resetAndDestroy();
    const [line] = await lines(1);
    expect(line).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/slow\/x HTTP\/1\.1" 499 -$/);
  });

  it('an upstream that dies mid-body: the 200 with the bytes relayed, and the client sees the close short of its length', async () => {
    const sent = 100 * 1024;
    const dying = await upstream((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
      socket.write(Buffer.alloc(sent, 'd'), () => setTimeout(() => socket.destroy(), 50));
    });
    const { port, lines } = await logging('json', `Proxy /dying/* ${dying.origin}/*\nPass /*`);
    const s = await connect(port);
    s.write('GET /dying/x HTTP/1.1\r\nHost: a\r\n\r\n');
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    let got = Buffer.alloc(0);
    s.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
    await closed;
    const body = got.length - (got.indexOf('\r\n\r\n') + 4);
    expect(body).toBe(sent);
    const [line] = (await lines(1)).map((l) => JSON.parse(l));
    expect(line).toMatchObject({ target: '/dying/x', status: 200, bytes: sent, complete: false });
  });
});
