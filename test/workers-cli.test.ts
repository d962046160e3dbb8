// Workers through the command line (`--workers N`, `Workers N|auto`): one
// port answered by several processes, signals relayed by the primary, a
// killed worker replaced, a crash loop backed off, a graceful stop that lets
// a download finish, and the write guards of PUT across processes.

import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import { spawn } from 'node:child_process';
import { CLI, cliScratch, runCli, startCli } from './helpers/cli.js';
import type { Running } from './helpers/cli.js';
import { connect, exchange, get, sleep } from './helpers/wire.js';
import { tlsExchange } from './helpers/tls.js';

const { running, tmp, cleanup } = cliScratch('streamstack-workers-');
afterEach(async () => {
  // No worker's exception boundary caught anything (test/helpers/boundary.ts sees only this process).
  const caught = running.filter((r) => r.stderr().includes('ended on an internal error'));
  await cleanup();
  expect(caught.map((r) => r.stderr())).toEqual([]);
});

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

/** A root with x.txt, and a rule file serving it with a status page at /status. */
function site(extra = ''): { dir: string; root: string; file: string } {
  const dir = tmp();
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'x.txt'), 'one\n');
  const file = path.join(dir, 'site.rules');
  fs.writeFileSync(file, `ServerRoot ${root}\nStatus /status\nPass /*\n${extra}`);
  return { dir, root, file };
}

async function start(args: string[]): Promise<Running> {
  const s = await startCli(args);
  running.push(s);
  return s;
}

/** The pids the primary printed at start. */
function workerPids(s: Running): number[] {
  const m = /streamstack: \d+ workers \(pids ([\d, ]+)\)/.exec(s.stdout());
  return m === null ? [] : m[1]!.split(', ').map(Number);
}

/** On one new connection: the pid of the worker that took it, and its answer to GET `target`. */
async function served(port: number, target = '/x.txt'): Promise<{ pid: number; status: number; body: string }> {
  const r = await exchange(port, get('/status', 'Accept: application/json\r\n') + get(target), { responses: 2 });
  const [status, doc] = r.responses;
  return { pid: (JSON.parse(status!.body.toString()) as { pid: number }).pid, status: doc!.status, body: doc!.body.toString() };
}

/** `n` connections one after another (the cluster deals them out in turn). */
async function many(port: number, n: number, target = '/x.txt') {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await served(port, target));
  return out;
}

describe('workers on one port', () => {
  it('two workers answer on one port: connections reach two worker pids, none the primary', async () => {
    const { file } = site();
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    const pids = workerPids(s);
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(s.proc.pid);
    const seen = await many(s.port, 8);
    expect(seen.every((r) => r.status === 200 && r.body === 'one\n')).toBe(true);
    expect(new Set(seen.map((r) => r.pid))).toEqual(new Set(pids));
    // Started once: one start line, whatever the number of workers.
    expect(s.stdout().match(/serving .* at http:\/\//g)).toHaveLength(1);
  });

  it('the status page adds up every worker\'s numbers and lists each worker\'s own', async () => {
    const { file } = site();
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    for (let i = 0; i < 6; i++) expect((await exchange(s.port, get('/x.txt'), { responses: 1 })).responses[0]!.status).toBe(200);
    expect((await exchange(s.port, get('/nothing-here'), { responses: 1 })).responses[0]!.status).toBe(404);
    const r = await exchange(s.port, get('/status'), { responses: 1 });
    const status = JSON.parse(r.responses[0]!.body.toString()) as {
      pid: number; requests: Record<string, number>; cache: { hits: number; misses: number };
      workers: { pid: number; requests: Record<string, number> }[];
      series: { points: { requests: number }[] };
    };
    expect(status.workers.map((w) => w.pid).sort()).toEqual(workerPids(s).sort());
    expect(workerPids(s)).toContain(status.pid);
    expect([status.requests['2xx'], status.requests['4xx']]).toEqual([6, 1]);
    // Each served some of them (the cluster deals connections out in turn), and the sums are theirs.
    for (const w of status.workers) expect(w.requests['2xx']).toBeGreaterThan(0);
    expect(status.workers.reduce((n, w) => n + w.requests['2xx']!, 0)).toBe(6);
    // The series too: one point per bucket of the last minutes, holding every worker's replies.
    expect(status.series.points).toHaveLength(30);
    expect(status.series.points.reduce((n, p) => n + p.requests, 0)).toBe(7);
    const prom = (await exchange(s.port, get('/status?format=prometheus'), { responses: 1 })).responses[0]!.body.toString();
    expect(prom).toContain('\nstreamstack_workers 2\n');
    expect(prom).toContain('\nstreamstack_requests_total{class="2xx"} 7\n');
  });

  it('the Workers directive starts them; --workers wins over it; --workers 1 is a single process', async () => {
    const { file } = site('Workers 3\n');
    const three = await start(['--port', '0', '--rules', file]);
    expect(workerPids(three)).toHaveLength(3);
    const two = await start(['--port', '0', '--rules', file, '--workers', '2']);
    expect(workerPids(two)).toHaveLength(2);
    const one = await start(['--port', '0', '--rules', file, '--workers', '1']);
    expect(one.stdout()).not.toMatch(/\d+ workers \(pids/);
    expect((await served(one.port)).pid).toBe(one.proc.pid);
  });

  it('Workers auto is one per CPU', async () => {
    const { file } = site('Workers auto\n');
    const s = await start(['--port', '0', '--rules', file]);
    const n = availableParallelism();
    if (n === 1) expect((await served(s.port)).pid).toBe(s.proc.pid);
    else expect(workerPids(s)).toHaveLength(n);
  });
});

describe('TLS under workers', () => {
  it('--tls-self-signed: one certificate, made by the primary, served by every worker; RedirectHTTP from each', async () => {
    const { file } = site('RedirectHTTP 0\n');
    const s = await start(['--port', '0', '--rules', file, '--workers', '2', '--tls-self-signed']);
    expect(s.stdout()).toContain('self-signed certificate for localhost');
    expect(s.stdout().match(/serving .* at https:\/\//g)).toHaveLength(1);
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const r = await tlsExchange(s.port, null, get('/status', 'Accept: application/json\r\n'), { responses: 1 });
      seen.push({ pid: (JSON.parse(r.responses[0]!.body.toString()) as { pid: number }).pid, fingerprint: r.fingerprint });
    }
    expect(new Set(seen.map((x) => x.pid)).size).toBe(2);
    expect(new Set(seen.map((x) => x.fingerprint)).size).toBe(1);
    // The plain port all workers share: each redirects to https on the same port.
    const plain = Number(/redirecting http:\/\/[^:]+:(\d+)\//.exec(s.stdout())![1]);
    for (let i = 0; i < 4; i++) {
      const r = await exchange(plain, get('/x.txt'), { responses: 1 });
      expect([r.responses[0]!.status, r.responses[0]!.headers.location]).toEqual([308, `https://test:${s.port}/x.txt`]);
    }
  });
});

describe('bad values and failed starts', () => {
  it('Workers 0 and Workers x: file:line, exit 2, nothing forked', async () => {
    for (const [value, line] of [['0', 2], ['x', 2], ['-1', 2], ['2000', 2]] as const) {
      const d = tmp();
      const file = path.join(d, 'w.rules');
      fs.writeFileSync(file, `Pass /*\nWorkers ${value}\n`);
      const r = await runCli(['--port', '0', '--rules', file]);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
        code: 2,
        stderr: `${file}:${line}: Workers: expected a number of workers from 1 to 1024 or auto, got "${value}"\n`,
        stdout: '',
      });
    }
  });

  it('--workers 0 and --workers x: one line, exit 2', async () => {
    for (const value of ['0', 'x', '1.5', '']) {
      const r = await runCli(['--port', '0', `--workers=${value}`, tmp()]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 2,
        stderr: `streamstack: --workers expects a number from 1 to 1024 or auto, got '${value}' (see --help)\n`,
      });
    }
  });

  it('a port in use: said once, not once per worker, and exit 1', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['--port', String(port), '--workers', '3', tmp()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`streamstack: cannot listen on 127.0.0.1:${port}: address already in use\n`);
    } finally {
      busy.close();
    }
  });
});

describe('signals reach every worker', () => {
  it('SIGHUP to the primary restarts every worker with the new rules', async () => {
    const { dir, file } = site();
    fs.mkdirSync(path.join(dir, 'two'));
    fs.writeFileSync(path.join(dir, 'two', 'x.txt'), 'two\n');
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    // Each worker has x.txt in its memory cache.
    const before = await many(s.port, 6);
    expect(new Set(before.map((r) => r.body))).toEqual(new Set(['one\n']));
    expect(new Set(before.map((r) => r.pid)).size).toBe(2);

    fs.writeFileSync(file, `Status /status\nPass /* two/*\n`);
    s.proc.kill('SIGHUP');
    await until(() => (s.stdout().match(/restarted with .*site\.rules/g) ?? []).length === 2);
    const after = await many(s.port, 6);
    expect(after.map((r) => r.body)).toEqual(Array(6).fill('two\n'));
    expect(new Set(after.map((r) => r.pid))).toEqual(new Set(workerPids(s)));
  });

  it('SIGUSR1 reopens the access log in every worker: after a rotation, both write to the new file', async () => {
    const d = tmp();
    const log = path.join(d, 'access.log');
    const { file } = site(`AccessLog ${log}\n`);
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    const before = await many(s.port, 4, '/x.txt?before');
    expect(new Set(before.map((r) => r.pid)).size).toBe(2);
    await until(() => (fs.readFileSync(log, 'utf8').match(/\?before/g) ?? []).length === 4);
    fs.renameSync(log, log + '.1');
    s.proc.kill('SIGUSR1');
    await sleep(300);
    const after = await many(s.port, 6, '/x.txt?after');
    expect(new Set(after.map((r) => r.pid)).size).toBe(2);
    await until(() => fs.existsSync(log) && (fs.readFileSync(log, 'utf8').match(/\?after/g) ?? []).length === 6);
    expect(fs.readFileSync(log + '.1', 'utf8')).not.toContain('?after');
    // One line per reply, whole: the two processes append to one file.
    for (const line of fs.readFileSync(log, 'utf8').trimEnd().split('\n')) expect(line).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/(x\.txt\?after|status) HTTP\/1\.1" 200 \d+$/);
  });

  it('SIGTERM while the workers are still starting: they stop as soon as they can hear it, exit 0', async () => {
    const { file } = site();
    const proc = spawn(process.execPath, [CLI, '--port', '0', '--rules', file, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (c) => (out += c));
    const exit = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
    try {
      // The workers are forked, and not yet listening.
      const children = `/proc/${proc.pid}/task/${proc.pid}/children`;
      await until(() => fs.existsSync(children) && fs.readFileSync(children, 'utf8').trim().split(' ').filter(Boolean).length === 2);
      expect(out).not.toContain('serving');
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      expect(await exit).toBe(0);
      clearTimeout(t);
      expect(out).toContain('streamstack: SIGTERM, stopping\n');
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('SIGTERM to the primary lets a long download finish on its worker, then exits 0', async () => {
    const { root, file } = site('GraceTimeout 20s\n');
    const size = 16 * 1024 * 1024;
    fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(size, 'b'));
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    const exit = new Promise<number | null>((r) => s.proc.on('close', (code) => r(code)));
    const c = await connect(s.port);
    let got = 0;
    let head = -1;
    let buf = Buffer.alloc(0);
    const ended = new Promise<void>((resolve) => {
      c.on('data', (chunk: Buffer) => {
        if (head === -1) {
          buf = Buffer.concat([buf, chunk]);
          const end = buf.indexOf('\r\n\r\n');
          if (end === -1) return;
          head = end + 4;
          got = buf.length - head;
          // A slow reader: the download is in flight when the stop comes.
          c.pause();
        } else got += chunk.length;
        if (got >= size) resolve();
      });
      c.on('close', () => resolve());
    });
    c.write(get('/big.bin'));
    await until(() => head !== -1);
    s.proc.kill('SIGTERM');
    await sleep(500);
    expect(s.proc.exitCode).toBeNull();
    c.resume();
    await ended;
    expect(buf.subarray(0, head).toString()).toMatch(/^HTTP\/1\.1 200 /);
    expect(got).toBe(size);
    expect(await exit).toBe(0);
    expect(s.stdout().match(/SIGTERM, stopping/g)).toHaveLength(1);
    expect(s.stderr()).toBe('');
    running.length = 0;
  });
});

describe('a second signal', () => {
  it('stops every worker at once, cutting a download, and the primary exits 0', async () => {
    const { root, file } = site('GraceTimeout 30s\n');
    fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(16 * 1024 * 1024, 'b'));
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    const exit = new Promise<number | null>((r) => s.proc.on('close', (code) => r(code)));
    const c = await connect(s.port);
    const closed = new Promise<void>((r) => c.on('close', () => r()));
    c.on('error', () => {});
    // A reader that never reads: the download stays in flight.
    c.once('data', () => c.pause());
    c.write(get('/big.bin'));
    await sleep(300);
    s.proc.kill('SIGTERM');
    await sleep(500);
    expect(s.proc.exitCode).toBeNull();
    const again = Date.now();
    s.proc.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(Date.now() - again).toBeLessThan(2500);
    // The download was cut: what is left to read ends before the 16 MiB.
    let got = 0;
    c.on('data', (chunk: Buffer) => (got += chunk.length));
    c.resume();
    await closed;
    expect(got).toBeLessThan(16 * 1024 * 1024);
    expect(s.stdout()).toContain('streamstack: SIGTERM again, exiting now\n');
    running.length = 0;
  });
});

describe('a worker that dies', () => {
  it('kill -9: logged with its pid and signal, replaced, and the port keeps answering', async () => {
    const { file } = site();
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    const [victim, survivor] = workerPids(s);
    process.kill(victim!, 'SIGKILL');
    await until(() => s.stderr().includes(`streamstack: worker ${victim} was killed by SIGKILL; replacing it\n`));
    // Answered meanwhile, by whoever is there.
    const during = await many(s.port, 4);
    expect(during.every((r) => r.status === 200 && r.pid !== victim)).toBe(true);
    await until(() => /worker \d+ listening/.test(s.stdout()));
    const replacement = Number(/worker (\d+) listening/.exec(s.stdout())![1]);
    expect([victim, survivor]).not.toContain(replacement);
    const after = await many(s.port, 6);
    expect(new Set(after.map((r) => r.pid))).toEqual(new Set([survivor, replacement]));
  });

  it('workers that keep dying at start are replaced with a doubling delay, serve again once the cause is gone, and the delay resets after 10 s of life', async () => {
    const { file } = site();
    const good = fs.readFileSync(file, 'utf8');
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    const [victim, survivor] = workerPids(s);
    // A replacement reads the rule file as it is now: a broken one stops each at start.
    fs.writeFileSync(file, good + 'Bogus line\n');
    const started = Date.now();
    process.kill(victim!, 'SIGKILL');
    await until(() => /replacing it in 2 s/.test(s.stderr()), 8000);
    const elapsed = Date.now() - started;
    const delays = [...s.stderr().matchAll(/replacing it(?: in ([\d.]+) s)?\n/g)].map((m) => Number(m[1] ?? 0));
    expect(delays).toEqual([0, 0.5, 1, 2]);
    // Three replacements, each refused by the rules and said so, in at least 0 + 0.5 + 1 s.
    expect(s.stderr().match(/worker \d+: .*site\.rules:4: Bogus: unknown directive/g)).toHaveLength(3);
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    // The survivor served all along.
    expect((await served(s.port)).pid).toBe(survivor);
    fs.writeFileSync(file, good);
    await until(() => /worker \d+ listening/.test(s.stdout()), 8000);
    const after = await many(s.port, 6);
    expect(new Set(after.map((r) => r.pid)).size).toBe(2);
    // A replacement that lived 10 s was healthy: its death is replaced at once again.
    const healthy = Number(/worker (\d+) listening/.exec(s.stdout())![1]);
    await sleep(10_500);
    process.kill(healthy, 'SIGKILL');
    await until(() => s.stderr().includes(`worker ${healthy} was killed`));
    expect(s.stderr()).toContain(`streamstack: worker ${healthy} was killed by SIGKILL; replacing it\n`);
  }, 45_000);
});

describe('the write guards of PUT hold across workers', () => {
  /** `n` PUTs of `bodies` to `target` at once, each on its own connection; the statuses and ETags. */
  async function puts(port: number, target: string, bodies: Buffer[], condition: string) {
    return Promise.all(bodies.map(async (b) => {
      const head = `PUT ${target} HTTP/1.1\r\nHost: t\r\n${condition}\r\nContent-Length: ${b.length}\r\n\r\n`;
      const r = await exchange(port, [Buffer.concat([Buffer.from(head), b])], { responses: 1, timeout: 10_000 });
      return { status: r.responses[0]?.status, etag: r.responses[0]?.headers.etag, body: b };
    }));
  }

  // Enough rounds that the race shows without the cross-process lock (see README: Workers).
  const ROUNDS = 60;
  const WRITERS = 8;
  const bodiesFor = (round: number, n: number) =>
    Array.from({ length: n }, (_, i) => Buffer.alloc(4096 + 512 * i, `round ${round} writer ${i}|`));

  it('If-None-Match: * — exactly one 201, the rest 412, every round; the file is the winner\'s, byte for byte', async () => {
    const { root, file } = site('Enable PUT /*\n');
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    for (let round = 0; round < ROUNDS; round++) {
      const results = await puts(s.port, `/new-${round}.txt`, bodiesFor(round, WRITERS), 'If-None-Match: *');
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, `round ${round}`).toEqual([201, ...Array(WRITERS - 1).fill(412)]);
      const winner = results.find((r) => r.status === 201)!;
      expect(fs.readFileSync(path.join(root, `new-${round}.txt`)).equals(winner.body), `round ${round}`).toBe(true);
    }
    expect(fs.readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('If-Match on PUT and DELETE together — exactly one of them succeeds every round, and the file says which', async () => {
    const { root, file } = site('Enable PUT /*\nEnable DELETE /*\n');
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    // Both commits are a few system calls: the race is rarer than between PUTs, hence more rounds.
    for (let round = 0; round < 3 * ROUNDS; round++) {
      const target = `/both-${round}.txt`;
      const [first] = await puts(s.port, target, [Buffer.from(`first ${round}\n`)], 'X-Round: 0');
      const condition = `If-Match: ${first!.etag}`;
      const del = () => exchange(s.port, `DELETE ${target} HTTP/1.1\r\nHost: t\r\n${condition}\r\n\r\n`, { responses: 1, timeout: 10_000 })
        .then((r) => ({ status: r.responses[0]?.status, body: null }));
      const results = await Promise.all([
        // Small bodies: the PUTs reach their commit as soon as the DELETEs reach theirs.
        puts(s.port, target, Array.from({ length: WRITERS }, (_, i) => Buffer.from(`round ${round} put ${i}${'!'.repeat(i)}\n`)), condition),
        Promise.all(Array.from({ length: WRITERS }, del)),
      ]).then(([p, d]) => [...p, ...d]);
      const won = results.filter((r) => r.status === 204);
      expect(won, `round ${round}: ${results.map((r) => r.status).join(' ')}`).toHaveLength(1);
      // The losers: 412 (the ETag changed or the file went), or 404 for a DELETE that came after another.
      expect(results.every((r) => r.status === 204 || r.status === 412 || (r.body === null && r.status === 404))).toBe(true);
      const onDisk = path.join(root, `both-${round}.txt`);
      if (won[0]!.body === null) expect(fs.existsSync(onDisk), `round ${round}`).toBe(false);
      else expect(fs.readFileSync(onDisk).equals(won[0]!.body), `round ${round}`).toBe(true);
    }
  }, 90_000);

  it('If-Match — exactly one 204, the rest 412, every round; the file is the winner\'s, byte for byte', async () => {
    const { root, file } = site('Enable PUT /*\n');
    const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
    for (let round = 0; round < ROUNDS; round++) {
      const target = `/doc-${round}.txt`;
      const [first] = await puts(s.port, target, [Buffer.from(`first ${round}\n`)], 'X-Round: 0');
      expect(first!.status).toBe(201);
      const results = await puts(s.port, target, bodiesFor(round, WRITERS), `If-Match: ${first!.etag}`);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, `round ${round}`).toEqual([204, ...Array(WRITERS - 1).fill(412)]);
      const winner = results.find((r) => r.status === 204)!;
      expect(fs.readFileSync(path.join(root, `doc-${round}.txt`)).equals(winner.body), `round ${round}`).toBe(true);
    }
  });
});

describe('the HTTP cache under workers', () => {
  it("a POST through one worker invalidates the other's stored response too (RFC 9111 §4.4)", async () => {
    // The upstream's document changes with each POST it takes; a GET is fresh for 100 s.
    let version = 1;
    let gets = 0;
    const upstream = net.createServer((socket) => {
      let buf = '';
      socket.on('data', (c) => {
        buf += c.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
          const method = buf.slice(0, buf.indexOf(' '));
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length < end + 4 + length) return;
          buf = buf.slice(end + 4 + length);
          if (method === 'POST') version++;
          else gets++;
          const body = method === 'POST' ? 'posted' : `v${version}`;
          socket.write(`HTTP/1.1 200 OK\r\nCache-Control: max-age=100\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    try {
      const port = (upstream.address() as net.AddressInfo).port;
      const dir = tmp();
      const file = path.join(dir, 'cache.rules');
      fs.writeFileSync(file, `ServerRoot ${dir}\nStatus /status\nProxyCache /c/*\nEnable POST /c/*\nProxy /c/* http://127.0.0.1:${port}/c/*\n`);
      const s = await start(['--port', '0', '--rules', file, '--workers', '2']);
      // Both workers store v1 (each has its own memory tier).
      const before = await many(s.port, 4, '/c/d');
      expect(new Set(before.map((r) => r.pid)).size).toBe(2);
      expect(before.map((r) => r.body)).toEqual(['v1', 'v1', 'v1', 'v1']);
      expect(gets).toBe(2);

      const posted = await exchange(s.port, 'POST /c/d HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\n\r\nx', { responses: 1 });
      expect(posted.responses[0]!.status).toBe(200);
      // The other worker hears of it through the primary, a moment later; it would answer v1 for 100 s otherwise.
      let after: Awaited<ReturnType<typeof many>> = [];
      for (const end = Date.now() + 5000; Date.now() < end; await sleep(50)) {
        after = await many(s.port, 4, '/c/d');
        if (after.every((r) => r.body === 'v2')) break;
      }
      expect(new Set(after.map((r) => r.pid)).size).toBe(2);
      expect(after.map((r) => r.body)).toEqual(['v2', 'v2', 'v2', 'v2']);
    } finally {
      upstream.close();
    }
  });
});
