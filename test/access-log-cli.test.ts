// The access log through the command line: a file named by the rules, a
// rotation (rename, SIGUSR1), stdout with `AccessLog -`, nothing when
// stdout is no terminal, and a file that cannot be opened.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, startCli, makeRoot } from './helpers/cli.js';
import type { Running } from './helpers/cli.js';
import { exchange, get, sleep } from './helpers/wire.js';

let fixture: ReturnType<typeof makeRoot>;
const running: Running[] = [];
beforeAll(() => {
  fixture = makeRoot();
});
afterAll(() => fixture.cleanup());
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

/** A rule file beside the root, serving it, with `extra` lines. */
function rules(name: string, extra: string): string {
  const file = path.join(fixture.root, '..', name);
  fs.writeFileSync(file, `ServerRoot ${fixture.root}\nPass /*\n${extra}`);
  return file;
}

describe('AccessLog through the command line', () => {
  it('writes each request to the file, and after a rename and SIGUSR1 to a new file under the name', async () => {
    const log = path.join(fixture.root, '..', 'access.log');
    const s = await startCli(['--port', '0', '--rules', rules('rotate.rules', `AccessLog ${log}\nLogFormat combined\n`)]);
    running.push(s);
    await exchange(s.port, get('/hello.txt', 'User-Agent: before\r\n'), { responses: 1 });
    await until(() => read(log).includes('"before"'));
    expect(read(log)).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello\.txt HTTP\/1\.1" 200 13 "-" "before"\n$/);
    fs.renameSync(log, log + '.1');
    s.proc.kill('SIGUSR1');
    await sleep(100);
    await exchange(s.port, get('/some%20thing.txt', 'User-Agent: after\r\n'), { responses: 1 });
    await until(() => read(log).includes('"after"'));
    expect(read(log)).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/some%20thing\.txt HTTP\/1\.1" 200 7 "-" "after"\n$/);
    expect(read(log + '.1')).not.toContain('after');
    expect(await s.stop()).toBe(0);
    running.length = 0;
  });

  it('the last lines reach the file before a stop exits', async () => {
    const log = path.join(fixture.root, '..', 'last.log');
    const s = await startCli(['--port', '0', '--rules', rules('last.rules', `AccessLog ${log}\nLogFormat json\n`)]);
    await exchange(s.port, get('/hello.txt') + get('/page.html'), { responses: 2 });
    expect(await s.stop()).toBe(0);
    expect(read(log).trim().split('\n').map((l) => JSON.parse(l).target)).toEqual(['/hello.txt', '/page.html']);
  });

  it('AccessLog - writes to stdout', async () => {
    const s = await startCli(['--port', '0', '--rules', rules('stdout.rules', 'AccessLog -\n')]);
    running.push(s);
    await exchange(s.port, get('/hello.txt'), { responses: 1 });
    await until(() => s.stdout().includes('"GET /hello.txt HTTP/1.1" 200 13'));
  });

  it('without AccessLog, and with stdout no terminal, nothing is logged', async () => {
    const s = await startCli([fixture.root, '--port', '0']);
    running.push(s);
    await exchange(s.port, get('/hello.txt'), { responses: 1 });
    await sleep(100);
    expect(s.stdout()).toMatch(/^streamstack: serving [^\n]*\n$/);
  });

  it('a log file that cannot be opened is one line and exit 1', async () => {
    const r = await runCli(['--port', '0', '--rules', rules('bad-log.rules', 'AccessLog /nonexistent/dir/access.log\n')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^streamstack: cannot open the access log \/nonexistent\/dir\/access\.log: ENOENT[^\n]*\n$/);
  });
});

describe('a restart', () => {
  it('SIGHUP switches to the file and format the new rules name', async () => {
    const first = path.join(fixture.root, '..', 'first.log');
    const second = path.join(fixture.root, '..', 'second.log');
    const file = rules('restart.rules', `AccessLog ${first}\n`);
    const s = await startCli(['--port', '0', '--rules', file]);
    running.push(s);
    await exchange(s.port, get('/hello.txt'), { responses: 1 });
    await until(() => read(first).includes('/hello.txt'));
    fs.writeFileSync(file, `ServerRoot ${fixture.root}\nPass /*\nAccessLog ${second}\nLogFormat json\n`);
    s.proc.kill('SIGHUP');
    await until(() => s.stdout().includes('restarted'));
    await exchange(s.port, get('/page.html'), { responses: 1 });
    await until(() => read(second).includes('/page.html'));
    expect(JSON.parse(read(second)).target).toBe('/page.html');
    expect(read(first)).not.toContain('/page.html');
  });
});
