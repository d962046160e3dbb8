// Stopping through the command line: a graceful stop exits 0 after what is
// in flight, within GraceTimeout; a request during the stop gets 503; a
// second signal exits at once.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as net from 'node:net';
import { startCli, makeRoot } from './helpers/cli.js';
import type { Running } from './helpers/cli.js';
import { connect, parseResponses, readUntil, sleep } from './helpers/wire.js';

let fixture: ReturnType<typeof makeRoot>;
const running: Running[] = [];
const sockets: net.Socket[] = [];
beforeAll(() => {
  fixture = makeRoot();
});
afterAll(() => fixture.cleanup());
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const r of running.splice(0)) r.proc.kill('SIGKILL');
});

/** A started CLI and its exit: code and when. */
async function start(extra = ''): Promise<{ s: Running; exit: Promise<{ code: number | null; at: number }> }> {
  const file = path.join(fixture.root, '..', `stop-${running.length}.rules`);
  fs.writeFileSync(file, `ServerRoot ${fixture.root}\nPass /*\n${extra}`);
  const s = await startCli(['--port', '0', '--rules', file]);
  running.push(s);
  const exit = new Promise<{ code: number | null; at: number }>((r) => s.proc.on('close', (code) => r({ code, at: Date.now() })));
  return { s, exit };
}

/** A connection in the middle of a request head: in flight for the server. */
async function halfHead(port: number): Promise<net.Socket> {
  const c = await connect(port);
  sockets.push(c);
  c.on('error', () => {});
  c.write('GET /hello.txt HTTP/1.1\r\nHost: a\r\n');
  await sleep(50);
  return c;
}

describe('stopping the CLI', () => {
  it('SIGTERM waits for a request in flight, answers it 503 with Retry-After and close, and exits 0', async () => {
    const { s, exit } = await start();
    const c = await halfHead(s.port);
    s.proc.kill('SIGTERM');
    await sleep(300);
    expect(s.proc.exitCode).toBeNull();
    c.write('\r\n');
    const [r] = parseResponses(await readUntil(c, (b) => parseResponses(b).length === 1));
    expect([r!.status, r!.headers['retry-after'], r!.headers.connection]).toEqual([503, '5', 'close']);
    expect((await exit).code).toBe(0);
    expect(s.stdout()).toContain('streamstack: SIGTERM, stopping\n');
  });

  it('GraceTimeout bounds the wait, then exits 0', async () => {
    const { s, exit } = await start('GraceTimeout 400ms\n');
    await halfHead(s.port);
    const signalled = Date.now();
    s.proc.kill('SIGTERM');
    const { code, at } = await exit;
    expect(code).toBe(0);
    expect(at - signalled).toBeGreaterThanOrEqual(350);
    expect(at - signalled).toBeLessThan(3000);
  });

  it('a second signal exits at once, with 0', async () => {
    const { s, exit } = await start();
    await halfHead(s.port);
    s.proc.kill('SIGINT');
    await sleep(300);
    expect(s.proc.exitCode).toBeNull();
    const again = Date.now();
    s.proc.kill('SIGTERM');
    const { code, at } = await exit;
    expect(code).toBe(0);
    expect(at - again).toBeLessThan(2000);
    expect(s.stdout()).toContain('streamstack: SIGTERM again, exiting now\n');
  });
});
