// The command line as other tools drive it: flags, exit codes, one-line
// errors, the URL on start, serving a root end to end, signals.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, startCli, makeRoot } from './helpers/cli.js';
import type { Running } from './helpers/cli.js';
import { exchange, get, sleep } from './helpers/wire.js';

let fixture: ReturnType<typeof makeRoot>;
let server: Running;

beforeAll(async () => {
  fixture = makeRoot();
  server = await startCli([fixture.root, '--port', '0']);
});
afterAll(async () => {
  await server?.stop();
  fixture?.cleanup();
});

describe('flags and exit codes', () => {
  it('--help prints usage and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: streamstack \[ROOT\]/);
  });

  it('--version prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`streamstack ${pkg.version}`);
  });

  it.each([
    [['--nope'], /Unknown option '--nope'/],
    [['--port', 'abc'], /--port expects a number from 0 to 65535, got 'abc'/],
    [['--port', '70000'], /--port expects a number/],
    [['a', 'b'], /one ROOT expected/],
  ])('%j is one line on stderr and exit 2', async (args, message) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a busy port is one line on stderr and exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await runCli([fixture.root, '--port', String(port)]);
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`streamstack: cannot listen on 127.0.0.1:${port}: address already in use`);
  });

  it('prints the listening URL, on 127.0.0.1 by default', () => {
    expect(server.stdout()).toMatch(new RegExp(`^streamstack: serving .* at http://127\\.0\\.0\\.1:${server.port}/\\n`));
  });

  it('-p and --host choose where it listens', async () => {
    const s = await startCli([fixture.root, '-p', '0', '--host', '127.0.0.1']);
    try {
      expect(s.stdout()).toMatch(new RegExp(`at http://127\\.0\\.0\\.1:${s.port}/`));
      const r = await exchange(s.port, get('/hello.txt'), { responses: 1 });
      expect(r.responses[0]!.body.toString()).toBe('Hello, world\n');
    } finally {
      await s.stop();
    }
  });

  it('SIGTERM stops cleanly with exit 0', async () => {
    const s = await startCli([fixture.root, '--port', '0']);
    expect(await s.stop()).toBe(0);
  });
});

describe('serving a root', () => {
  it('GET a file: type, length, Last-Modified, body', async () => {
    const r = await exchange(server.port, get('/hello.txt'), { responses: 1 });
    const res = r.responses[0]!;
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['content-length']).toBe('13');
    const mtime = fs.statSync(path.join(fixture.root, 'hello.txt')).mtime;
    expect(res.headers['last-modified']).toBe(mtime.toUTCString());
    expect(res.body.toString()).toBe('Hello, world\n');
  });

  it('HEAD has the headers of GET and no body', async () => {
    const r = await exchange(server.port, 'HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n' + get('/page.html'), { responses: 2, heads: [0] });
    expect(r.responses[0]!.headers['content-length']).toBe('13');
    expect(r.responses[0]!.body.length).toBe(0);
    expect(r.responses[1]!.headers['content-type']).toMatch(/^text\/html/);
    expect(r.responses[1]!.body.toString()).toBe('<p>hi</p>\n');
  });

  it('serves the hard names', async () => {
    const r = await exchange(server.port, get('/some%20thing.txt') + get('/do..ts.txt') + get('/snow%20%E2%98%83/flake.txt') + get('/inside-link.txt'), { responses: 4 });
    expect(r.responses.map((x) => x.body.toString())).toEqual(['spaced\n', 'dots\n', 'cold\n', 'Hello, world\n']);
  });

  it('404 for what is not there, 405 with Allow for other methods', async () => {
    const r = await exchange(server.port, get('/missing.txt') + 'DELETE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', { responses: 2 });
    expect(r.responses[0]!.status).toBe(404);
    expect(r.responses[1]!.status).toBe(405);
    expect(r.responses[1]!.headers.allow).toMatch(/^GET, HEAD/);
  });

  it.each([
    ['/../outside/secret.txt'],
    ['/%2e%2e/outside/secret.txt'],
    ['/%2E%2E/%2e%2e/outside/secret.txt'],
    ['/snow%20%E2%98%83/../../outside/secret.txt'],
    ['/..%2foutside/secret.txt'],
    ['/escape.txt'],
    ['/escape-dir/secret.txt'],
    ['/.hidden'],
    ['/hello.txt%00.html'],
    ['/%c0%ae%c0%ae/outside/secret.txt'],
    ['/..\\outside\\secret.txt'],
  ])('no way out of ROOT: %s', async (target) => {
    const r = await exchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, { responses: 1 });
    const res = r.responses[0]!;
    expect([400, 403, 404]).toContain(res.status);
    expect(res.body.toString()).not.toContain('secret');
  });

  it('closes the file when a client disconnects mid-download (no leaked descriptors)', async () => {
    const big = path.join(fixture.root, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(32 * 1024 * 1024));
    const fdsBefore = fs.readdirSync(`/proc/${server.proc.pid}/fd`).length;
    for (let i = 0; i < 5; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => {
        let got = 0;
        s.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 256 * 1024) {
            s.destroy();
            resolve();
          }
        });
        s.write(get('/big.bin'));
      });
    }
    await sleep(300);
    const open = fs.readdirSync(`/proc/${server.proc.pid}/fd`).map((fd) => {
      try {
        return fs.readlinkSync(`/proc/${server.proc.pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(open.filter((l) => l.endsWith('big.bin'))).toEqual([]);
    expect(open.length).toBeLessThanOrEqual(fdsBefore + 1);
  });
});
