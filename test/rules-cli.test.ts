// Rule files through the command line: --check, a bad file never starts a
// server, flags override the file, and SIGHUP swaps rules in atomically.

import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliScratch, runCli, startCli } from './helpers/cli.js';
import { exchange, get, sleep } from './helpers/wire.js';

const REPO = path.join(__dirname, '..');
const { running, tmp, cleanup } = cliScratch('streamstack-rules-');
afterEach(cleanup);

async function body(port: number, target: string): Promise<[number, string]> {
  const r = await exchange(port, get(target), { responses: 1 });
  return [r.responses[0]!.status, r.responses[0]!.body.toString()];
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await sleep(20);
}

describe('--check', () => {
  it('accepts every shipped rule file', async () => {
    for (const f of fs.readdirSync(path.join(REPO, 'rules')).filter((n) => n.endsWith('.rules'))) {
      // upload-area.rules names /tmp/uploads as its ServerRoot; a ROOT argument stands in for it.
      const root = f === 'upload-area.rules' ? ['example'] : [];
      const r = await runCli([...root, '--check', '--rules', path.join(REPO, 'rules', f)], { cwd: REPO });
      expect({ f, code: r.code, stderr: r.stderr }).toEqual({ f, code: 0, stderr: '' });
      expect(r.stdout).toContain(': OK');
    }
  });

  it('refuses a password file with a hash other than bcrypt: file:line, exit 2, no listener', async () => {
    const d = tmp();
    const file = path.join(d, 'auth.rules');
    fs.writeFileSync(path.join(d, 'passwd'), '# users\nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
    fs.writeFileSync(file, 'Protection p {\n AuthType Basic\n ServerId R\n PasswordFile passwd\n PutMask All\n}\nProtect /* p\nPass /*\n');
    const expected = `${path.join(d, 'passwd')}:2: PasswordFile: expected a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B writes), got {SHA} (SHA-1)\n`;
    const check = await runCli(['--check', '--rules', file]);
    expect([check.code, check.stderr]).toEqual([2, expected]);
    const start = await runCli(['--rules', file, '--port', '0']);
    expect([start.code, start.stderr]).toEqual([2, expected]);
    expect(start.stdout).not.toContain('serving');
  });

  it('prints every error as file:line and exits 2', async () => {
    const d = tmp();
    const file = path.join(d, 'bad.rules');
    fs.writeFileSync(file, 'Pass /*\nFrobnicate on\nRedirect /a http://x/ 404\nPass /b/* /c/*/*\n');
    const r = await runCli(['--check', '--rules', file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: `));
    expect(lines[1]).toMatch(/:3: Redirect: /);
    expect(lines[2]).toMatch(/:4: Pass: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad rule file never starts a server', async () => {
    const d = tmp();
    const file = path.join(d, 'bad.rules');
    fs.writeFileSync(file, 'Pass /* *\nPort nope\n');
    const r = await runCli(['--rules', file, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('serving');
    expect(r.stderr).toMatch(/bad\.rules:2: Port: /);
  });

  it('an unreadable rule file is exit 2 naming the file', async () => {
    const r = await runCli(['--rules', '/nonexistent/x.rules', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/nonexistent\/x\.rules/);
  });
});

describe('serving with a rule file', () => {
  it('npm start: the example root with rules/default.rules', async () => {
    const s = await startCli(['example', '--port', '0', '--rules', 'rules/default.rules'], { cwd: REPO });
    running.push(s);
    expect(await body(s.port, '/hello.txt')).toEqual([200, 'Hello, world\n']);
  });

  it('flags override the file: --port beats Port', async () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'x.txt'), 'x\n');
    fs.writeFileSync(path.join(d, 'site.rules'), 'Port 1\nPass /* *\n');
    const s = await startCli(['--rules', path.join(d, 'site.rules'), '--port', '0']);
    running.push(s);
    expect(await body(s.port, '/x.txt')).toEqual([200, 'x\n']);
  });

  it('anything not passed is refused with 403', async () => {
    const d = tmp();
    fs.mkdirSync(path.join(d, 'pub'));
    fs.writeFileSync(path.join(d, 'pub', 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(d, 'secret.txt'), 's\n');
    fs.writeFileSync(path.join(d, 'site.rules'), 'Pass /pub/*\n');
    const s = await startCli(['--rules', path.join(d, 'site.rules'), '--port', '0']);
    running.push(s);
    expect(await body(s.port, '/pub/a.txt')).toEqual([200, 'a\n']);
    expect((await body(s.port, '/secret.txt'))[0]).toBe(403);
  });
});

describe('the wire takes its limits from the rule file', () => {
  it('HeaderTimeout and MaxHeaderSize reach the connections', async () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'x.txt'), 'x\n');
    fs.writeFileSync(path.join(d, 'site.rules'), 'HeaderTimeout 200ms\nMaxHeaderSize 1K\nPass /* *\n');
    const s = await startCli(['--rules', path.join(d, 'site.rules'), '--port', '0']);
    running.push(s);
    const big = await exchange(s.port, get('/x.txt', `X-Big: ${'a'.repeat(2048)}\r\n`));
    expect(big.responses.map((r) => r.status)).toEqual([431]);
    const started = Date.now();
    const slow = await exchange(s.port, ['GET /x.txt HTTP/1.1\r\n', 'Host: x\r\n', 'X-1: a\r\n', 'X-2: a\r\n'], { gap: 150 });
    expect(slow.responses.map((r) => r.status)).toEqual([408]);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('SIGHUP', () => {
  it('swaps in new rules, and keeps them when the next file is broken', async () => {
    const d = tmp();
    for (const n of ['one', 'two']) {
      fs.mkdirSync(path.join(d, n));
      fs.writeFileSync(path.join(d, n, 'x.txt'), `${n}\n`);
    }
    const file = path.join(d, 'site.rules');
    fs.writeFileSync(file, 'Pass /* one/*\n');
    const s = await startCli(['--rules', file, '--port', '0']);
    running.push(s);
    expect(await body(s.port, '/x.txt')).toEqual([200, 'one\n']);

    fs.writeFileSync(file, 'Redirect /old http://example.test/new 301\nPass /* two/*\n');
    s.proc.kill('SIGHUP');
    await until(() => s.stdout().includes('restarted'));
    expect(s.stdout()).toMatch(/restarted with .*site\.rules/);
    expect(await body(s.port, '/x.txt')).toEqual([200, 'two\n']);
    const redirect = await exchange(s.port, get('/old'), { responses: 1 });
    expect(redirect.responses[0]!.status).toBe(301);
    expect(redirect.responses[0]!.headers.location).toBe('http://example.test/new');

    fs.writeFileSync(file, 'Pass /* one/*\nBogus directive\n');
    s.proc.kill('SIGHUP');
    await until(() => s.stderr().includes('restart refused'));
    expect(s.stderr()).toMatch(/restart refused.*\n?.*site\.rules:2: /);
    expect(await body(s.port, '/x.txt')).toEqual([200, 'two\n']);
  });
});
