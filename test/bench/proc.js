// Child processes for the benchmark: CPU pinning, starting servers, reading
// their CPU time and RSS from /proc, and killing every child we started, on a
// normal end, an error or a signal alike.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const live = new Set();

/** Tracks a child so killAll() finds it; forgets it once it has exited. */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Synchronous, so it also works from an 'exit' handler. */
export function killAll() {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Kills one child by its pid and waits for it to be reaped (bounded). */
export function stop(child, ms = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  });
}

/**
 * Whether `taskset -c 0` and `taskset -c 1` both work here; the server then runs
 * on CPU 0 and wrk on CPU 1, so neither steals the other's core.
 */
export function detectPinning() {
  const cpus = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
  if (cpus < 2) return { pinned: false, cpus, why: `only ${cpus} CPU` };
  for (const cpu of ['0', '1']) {
    const r = spawnSync('taskset', ['-c', cpu, 'true'], { encoding: 'utf8', timeout: 5000 });
    if (r.error || r.status !== 0) {
      return { pinned: false, cpus, why: `taskset -c ${cpu} failed: ${r.error?.message ?? r.stderr.trim()}` };
    }
  }
  return { pinned: true, cpus, why: 'server on CPU 0, wrk on CPU 1' };
}

/** The command prefix that pins to `cpu`, or none. taskset execs, so the pid stays the program's. */
export function pin(pinning, cpu) {
  return pinning.pinned ? ['taskset', '-c', String(cpu)] : [];
}

export function clockTicks() {
  return Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
}

/** utime + stime of all the process's threads, in clock ticks (proc(5): fields 14 and 15). */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * cutime + cstime of this process: the CPU ticks of its children once reaped
 * (proc(5): fields 16 and 17). Around one wrk run, whose child is the only one
 * reaped meanwhile, the difference is exactly wrk's CPU time.
 */
export function reapedChildrenTicks() {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[13]) + Number(fields[14]);
}

/**
 * The process and its descendants (a primary's workers), from
 * /proc/PID/task/TID/children: one pid for a single-process server.
 */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks;
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const kids = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'latin1').trim();
        if (kids) out.push(...kids.split(' ').map(Number));
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

/** cpuTicks of the server and its workers; throws when the server itself is gone. */
export function treeTicks(pid) {
  let ticks = cpuTicks(pid);
  for (const p of processTree(pid).slice(1)) {
    try {
      ticks += cpuTicks(p);
    } catch {
      // A worker that exited meanwhile: its time went to its parent's cutime.
    }
  }
  return ticks;
}

/** rssKiB of the server and its workers together. */
export function treeRssKiB(pid) {
  const tree = processTree(pid);
  const own = rssKiB(pid);
  return tree.slice(1).reduce((sum, p) => sum + (rssKiB(p) || 0), own);
}

/** Resident set size in KiB, or NaN when the process is gone. */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** The last `max` characters a stream produced, for error messages. */
function tail(stream, max = 2000) {
  const t = { text: '' };
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    t.text = (t.text + chunk).slice(-max);
  });
  return t;
}

/** The telling line of a program's output: an error line if there is one, else the last lines. */
export function gist(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^(\w*Error\b|streamstack:)/.test(l)) ?? lines.slice(-3).join(' | ');
}

/**
 * Starts `node SCRIPT ROOT --port 0` (or `node NODEARGS SCRIPT ARGS --port 0`),
 * pinned to `cpu` when possible, and resolves once it
 * prints its URL: { child, pid, port, stdout, stderr }. Output keeps being
 * drained, so a server that logs can never block on a full pipe.
 */
export function startServer({ script, root, args = [root], nodeArgs = [], pinning, cpu = 0, cwd, timeoutMs = 15000 }) {
  const argv = [...pin(pinning, cpu), process.execPath, ...nodeArgs, script, ...args, '--port', '0'];
  const child = track(spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop(child);
      const said = gist(stderr.text) || gist(stdout.text);
      reject(new Error(`${why}${said ? `; it said: ${said}` : ''}`));
    };
    const timer = setTimeout(() => fail(`no listening line within ${timeoutMs} ms`), timeoutMs);
    child.on('error', (err) => fail(`spawn failed: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited before listening (code ${code}, signal ${signal})`));
    child.stdout.on('data', () => {
      const m = /http:\/\/[^\s/]+:(\d+)\//.exec(stdout.text);
      if (!m || done) return;
      done = true;
      clearTimeout(timer);
      resolve({ child, pid: child.pid, port: Number(m[1]), stdout, stderr });
    });
  });
}

/** Per-CPU busy and total ticks from /proc/stat: [{ busy, total }] indexed by CPU number. */
export function systemTicks() {
  const cpus = [];
  for (const line of readFileSync('/proc/stat', 'latin1').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal ...; idle and iowait are the idle time.
    const t = m[2].trim().split(/\s+/).slice(0, 8).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    cpus[Number(m[1])] = { busy: total - t[3] - t[4], total };
  }
  return cpus;
}

/** CPU ticks of every process on the machine: Map pid → ticks. */
export function allProcessTicks() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), cpuTicks(Number(name)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A process's command line, shortened, for naming the neighbours that made a run noisy. */
export function commandLine(pid, max = 80) {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
    // Kernel threads have no command line, only a name.
    if (!argv) return `[${readFileSync(`/proc/${pid}/comm`, 'latin1').trim()}]`;
    return argv.length > max ? argv.slice(0, max - 3) + '...' : argv;
  } catch {
    return `pid ${pid}`;
  }
}

/** Whether an `nginx` binary runs here (Debian: apt-get install nginx-light). */
export function nginxInstalled() {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8', timeout: 5000 });
  return !r.error && r.status === 0;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * nginx as a reverse proxy to 127.0.0.1:UPSTREAM, configured as its documentation
 * advises for keep-alive upstreams: an upstream block with `keepalive 32` (idle
 * connections kept), HTTP/1.1 upstream and an empty Connection field; and the
 * X-Forwarded-For streamstack and http-proxy add. Responses are buffered in
 * memory as by default, never in temporary files (`proxy_max_temp_file_size 0`),
 * so the disk stays out of the measure.
 *
 * With `cache` ({ dir, zone }), `proxy_cache` in front of it: the cache's files in
 * DIR/cache (written there directly, `use_temp_path=off`), its keys in a shared
 * zone of `zone` (1m holds about 8,000 keys; past it the least recently used go,
 * their files with them, which bounds the disk without a cache manager, absent
 * with `master_process off`). The freshness is the upstream's `max-age`. Every
 * response says `Cache-Status: nginx; HIT|MISS|...` ($upstream_cache_status), as
 * streamstack's Cache-Status, so the check before the runs sees nginx hit too.
 * A cacheable response always goes through a file, whatever
 * `proxy_max_temp_file_size` says: that is how nginx stores it. `noPush` turns
 * `tcp_nopush` off in this server: measured with a 64 KiB hit (sendfile from the
 * cache file), nginx with it on waited about 40 ms per response (1,300 req/s,
 * 10% CPU) and without it served 21,000 req/s; with 4 KiB, on is 5% faster.
 */
function proxyServer(port, upstreamPort, cache) {
  return [
    `  upstream bench_upstream { server 127.0.0.1:${upstreamPort}; keepalive 32; }`,
    ...(cache ? [`  proxy_cache_path ${cache.dir}/cache levels=1:2 keys_zone=bench_cache:${cache.zone} use_temp_path=off;`] : []),
    '  server {',
    `    listen 127.0.0.1:${port};`,
    ...(cache?.noPush ? ['    tcp_nopush off;'] : []),
    '    location / {',
    '      proxy_pass http://bench_upstream;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    ...(cache
      ? ['      proxy_cache bench_cache;', '      add_header Cache-Status "nginx; $upstream_cache_status" always;']
      : ['      proxy_max_temp_file_size 0;']),
    '    }',
    '  }',
  ];
}

/**
 * Starts nginx on ROOT (or, given `upstreamPort`, as a reverse proxy to it; with `cache`, a caching one) as a reference: one process (`master_process off`, so
 * the pid measured is the one serving), sendfile on, no access log, keep-alive
 * connections never closed by a request count. Its config and temporary files
 * live in a fresh directory removed when it exits. Resolves like startServer
 * once the port accepts connections.
 */
export async function startNginx({ root, upstreamPort, cache, pinning, cpu = 0, timeoutMs = 15000 }) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'streamstack-bench-nginx-'));
  const conf = path.join(dir, 'nginx.conf');
  const server = upstreamPort ? proxyServer(port, upstreamPort, cache && { dir, zone: cache.zone ?? '1m', noPush: Boolean(cache.noPush) }) : [`  server { listen 127.0.0.1:${port}; root ${root}; }`];
  writeFileSync(conf, [
    'daemon off;',
    'master_process off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  keepalive_requests 100000000;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
    ...server,
    '}',
    '',
  ].join('\n'));
  const argv = [...pin(pinning, cpu), 'nginx', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf];
  const child = track(spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  let exited = null;
  child.once('exit', (code, signal) => (exited = `exited before listening (code ${code}, signal ${signal})`));
  child.on('error', (err) => (exited = `spawn failed: ${err.message}`));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null || Date.now() > deadline) {
      await stop(child);
      const said = gist(stderr.text) || gist(stdout.text);
      throw new Error(`${exited ?? `not accepting within ${timeoutMs} ms`}${said ? `; it said: ${said}` : ''}`);
    }
    if (await canConnect(port)) return { child, pid: child.pid, port, stdout, stderr };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs a benchmark script's `main(guard)`. Whatever happens (an error, a
 * signal, the exit), no child outlives it and the fixture directory it
 * registered in `guard.fixtures` goes. Exits 0 when main resolves, 1 with
 * "NAME: message" when it rejects, 130 on a signal.
 */
export function runMain(name, main) {
  const guard = { fixtures: null };
  const cleanUp = () => {
    killAll();
    try {
      guard.fixtures?.remove();
    } catch {
      // best effort
    }
    guard.fixtures = null;
  };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\n${name}: ${signal}, stopping\n`);
      cleanUp();
      process.exit(130);
    });
  }
  main(guard).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${name}: ${err.message}\n`);
      cleanUp();
      process.exit(1);
    },
  );
}
