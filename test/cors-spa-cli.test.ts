// --cors[=ORIGIN] and --spa[=FILE] through the built command line: the bare
// forms take their defaults and never the ROOT after them; bad values are
// one line on stderr and exit 2.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, startCli, makeRoot } from './helpers/cli.js';
import { exchange, get } from './helpers/wire.js';

let fixture: ReturnType<typeof makeRoot>;
beforeAll(() => {
  fixture = makeRoot();
  fs.writeFileSync(path.join(fixture.root, 'index.html'), '<p>index</p>\n');
  fs.writeFileSync(path.join(fixture.root, 'app.html'), '<p>app</p>\n');
});
afterAll(() => fixture?.cleanup());

async function one(port: number, target: string, extra = '') {
  const r = await exchange(port, get(target, extra), { responses: 1 });
  return r.responses[0]!;
}

async function serving(args: string[], check: (port: number) => Promise<void>): Promise<void> {
  const s = await startCli(args);
  try {
    await check(s.port);
  } finally {
    expect(await s.stop()).toBe(0);
  }
}

describe('--cors', () => {
  it('bare, before ROOT: any origin, and ROOT is still the root', async () => {
    await serving(['--cors', fixture.root, '--port', '0'], async (port) => {
      const r = await one(port, '/hello.txt', 'Origin: https://anyone.example\r\n');
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('Hello, world\n');
      expect(r.headers['access-control-allow-origin']).toBe('*');
    });
  });

  it('=ORIGIN: that origin only', async () => {
    await serving([fixture.root, '--cors=https://a.example', '--port', '0'], async (port) => {
      const a = await one(port, '/hello.txt', 'Origin: https://a.example\r\n');
      expect(a.headers['access-control-allow-origin']).toBe('https://a.example');
      expect(a.headers.vary).toMatch(/Origin/);
      const b = await one(port, '/hello.txt', 'Origin: https://b.example\r\n');
      expect(b.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  it('a value that is no origin is exit 2', async () => {
    const r = await runCli(['--cors=a.example/x', fixture.root]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("streamstack: --cors expects * or an origin like https://app.example, got 'a.example/x' (see --help)");
  });
});

describe('--spa', () => {
  it('bare, before ROOT: index.html of ROOT for unknown paths that take HTML', async () => {
    await serving(['--spa', fixture.root, '--port', '0'], async (port) => {
      const r = await one(port, '/some/route', 'Accept: text/html\r\n');
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('<p>index</p>\n');
      expect((await one(port, '/some/route', 'Accept: application/json\r\n')).status).toBe(404);
      expect((await one(port, '/hello.txt', 'Accept: text/html\r\n')).body.toString()).toBe('Hello, world\n');
    });
  });

  it('=FILE: that file under ROOT', async () => {
    await serving([fixture.root, '--spa=app.html', '--port', '0'], async (port) => {
      const r = await one(port, '/some/route', 'Accept: text/html\r\n');
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('<p>app</p>\n');
    });
  });

  it('a FILE outside the root is exit 2', async () => {
    const r = await runCli(['--spa=../x.html', fixture.root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^streamstack: --spa expects a file name relative to the root/);
  });

  it('--help lists both', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toMatch(/--cors\[=ORIGIN\]/);
    expect(r.stdout).toMatch(/--spa\[=FILE\]/);
  });
});
