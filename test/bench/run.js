#!/usr/bin/env node
// `npm run bench`: streamstack against node:http, send and compression (and,
// as a reverse proxy, against http-proxy; nginx as a reference in both roles), under
// wrk, alternating the servers round by round in one run on one machine.
// Each server is a child process pinned to CPU 0 (wrk to CPU 1) where taskset
// works; we read its CPU time from /proc/PID/stat and its RSS from
// /proc/PID/status. Prints a table and writes bench-results.json.
//
//   node test/bench/run.js [--quick] [--only NAME[,NAME]] [--rounds N]
//     [--duration S] [--warmup S] [--threads N] [--json FILE] [--no-pin]

import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeFixtures } from './fixtures.js';
import { PEERS, REPO, startUpstream } from './peers.js';
import { scriptOptions, wholeNumber } from './peer-args.js';
import { SCENARIOS } from './scenarios.js';
import { startServer, startNginx, nginxInstalled, stop, runMain, detectPinning, clockTicks, rssKiB, systemTicks } from './proc.js';
import { measure, settle, flags, noise, exited, NOISY } from './measure.js';
import { verify, verifyHit } from './verify.js';
import { summarize, table } from './report.js';

const USAGE = `Usage: node test/bench/run.js [options]

  --quick           1 s runs (the same as --duration 1 --warmup 1)
  --only NAMES      run only these scenarios (comma-separated, repeatable; 'file-*' matches a prefix)
  --rounds N        rounds per scenario, each running every peer once (default 3)
  --duration S      seconds per measured wrk run (default 3)
  --warmup S        seconds of wrk warm-up per server and scenario, 0 for none (default 1;
                    3 for newconn-13b, whose first seconds run slower)
  --threads N       wrk threads (default 1: wrk has one core of its own)
  --retries N       runs measured again, in all, when other processes took over 20% of the
                    server's or wrk's CPU (default 10; the first measure stays in the JSON as discarded)
  --json FILE       where to write the results (default bench-results.json)
  --no-pin          do not pin with taskset
  --against DIR     also run the streamstack of another checkout (DIR/dist/src/cli.js, built) in
                    every scenario streamstack runs in, labelled 'against': an A/B of two builds
  -h, --help        this text

Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
`;


function options() {
  const values = scriptOptions({
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    threads: { type: 'string', default: '1' },
    retries: { type: 'string', default: '10' },
    json: { type: 'string', default: 'bench-results.json' },
    'no-pin': { type: 'boolean', default: false },
    against: { type: 'string' },
  }, USAGE);
  const wanted = (values.only ?? []).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean);
  const scenarios = wanted.length
    ? SCENARIOS.filter((s) => wanted.some((w) => (w.endsWith('*') ? s.name.startsWith(w.slice(0, -1)) : s.name === w)))
    : SCENARIOS;
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => (w.endsWith('*') ? s.name.startsWith(w.slice(0, -1)) : s.name === w)));
  if (unknown.length) throw new Error(`unknown scenario: ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  if (values.against !== undefined) {
    const script = path.resolve(values.against, 'dist', 'src', 'cli.js');
    if (!existsSync(script)) throw new Error(`--against ${values.against}: no ${script} (build that checkout first)`);
    PEERS.against = { ...PEERS.streamstack, label: 'against', script };
  }
  return {
    quick: values.quick,
    scenarios: values.against === undefined ? scenarios
      : scenarios.map((s) => (s.peers.includes('streamstack') ? { ...s, peers: [...s.peers, 'against'] } : s)),
    rounds: wholeNumber('rounds', values.rounds, 1),
    duration: wholeNumber('duration', values.duration ?? (values.quick ? '1' : '3'), 1),
    warmup: wholeNumber('warmup', values.warmup ?? '1', 0),
    warmupGiven: values.warmup !== undefined,
    threads: wholeNumber('threads', values.threads, 1),
    retries: wholeNumber('retries', values.retries, 0),
    json: values.json,
    pin: !values['no-pin'],
  };
}

const log = (line) => process.stderr.write(line + '\n');

/** One round's run of one server; logs it, and retires the server if it died. */
async function measureOnce(ctx, scenario, server, p, round, warn) {
  let run;
  try {
    run = await measure(ctx, scenario, server, round, ctx.opts.duration);
  } catch (err) {
    warn(`${p.label} round ${round}: ${err.message}`);
    if (exited(server.child)) p.error = err.message;
    return { round, error: err.message };
  }
  log(`  round ${round}  ${p.label.padEnd(17)} ${Math.round(run.rps).toLocaleString('en-US').padStart(9)} req/s` +
    `  ${run.cpuUsPerReq.toFixed(1).padStart(8)} us/req  CPU ${run.cpuPercent.toFixed(0).padStart(3)}%` +
    `  RSS ${run.peakRssMiB.toFixed(1)} MiB  other ${run.otherCpuPercent.toFixed(0)}%  wrk CPU ${run.wrkCpuPercent.toFixed(0)}%` +
    (run.upstreamCpuPercent !== undefined ? `  upstream CPU ${run.upstreamCpuPercent.toFixed(0)}%` : ''));
  return run;
}

/** The context of a `shared` scenario: nothing pinned, wrk with two threads or more. */
function sharedContext(ctx) {
  return {
    ...ctx,
    pinning: { ...ctx.pinning, pinned: false, why: 'shared: server and wrk on all CPUs' },
    opts: { ...ctx.opts, threads: Math.max(2, ctx.opts.threads) },
  };
}

/** The upstream of a proxy scenario (peers.js, startUpstream), logged. */
async function startScenarioUpstream(ctx, scenario) {
  const upstream = await startUpstream({ root: ctx.fixtures.root, pinning: ctx.pinning, cache: scenario.cache });
  log(`  started upstream (pid ${upstream.pid}, port ${upstream.port}, ${ctx.pinning.pinned ? 'CPU 1 with wrk' : 'unpinned'})`);
  return upstream;
}

/** Starts one peer of the scenario (nginx from a config, the others as node scripts). */
function startPeer(ctx, scenario, peer) {
  const { root } = ctx.fixtures;
  const def = PEERS[peer];
  if (def.nginx) {
    if (!ctx.nginx) throw new Error('not installed, left out (Debian: apt-get install nginx-light)');
    const cache = def.caching && scenario.cache ? { zone: scenario.cache.nginxZone, noPush: scenario.cache.nginxNoPush } : undefined;
    return startNginx({ root, upstreamPort: scenario.proxy ? ctx.upstream.port : undefined, cache, pinning: ctx.pinning });
  }
  const args = scenario.proxy ? def.proxyArgs({ root, upstream: ctx.upstream.url, rules: ctx.upstream.rules }) : def.args ? def.args({ root }) : [root];
  return startServer({ script: def.script, args, pinning: ctx.pinning, cwd: REPO });
}

async function runScenario(outer, scenario) {
  let ctx = scenario.shared ? sharedContext(outer) : outer;
  const { opts } = ctx;
  const result = {
    name: scenario.name,
    what: scenario.what,
    path: scenario.path,
    connections: scenario.connections,
    headers: scenario.headers ?? [],
    pipeline: scenario.scriptArgs ? Number(scenario.scriptArgs[0]) : 1,
    target: scenario.target ? { ...scenario.target } : null,
    base: scenario.base ?? 'streamstack',
    shared: Boolean(scenario.shared),
    proxy: Boolean(scenario.proxy),
    cache: scenario.cache ?? null,
    warnings: [],
    results: scenario.peers.map((peer) => ({ peer, label: PEERS[peer].label, runs: [], discarded: [], error: null })),
  };
  const warn = (line) => {
    result.warnings.push(line);
    log(`  warning: ${line}`);
  };
  log(`\n${scenario.name}: ${scenario.what} (${scenario.connections} connections` +
    `${scenario.shared ? `, shared CPUs, wrk -t${opts.threads}` : ''})`);
  const expected = ctx.fixtures.files[scenario.file ?? scenario.path.slice(1)];
  // --quick and an explicit --warmup keep their own; the default gives way to the scenario's.
  const warmup = opts.warmupGiven || opts.quick ? opts.warmup : Math.max(opts.warmup, scenario.warmup ?? 0);

  // Fresh servers for each scenario, started one after the other.
  const servers = new Map();
  let upstream = null;
  try {
    if (scenario.proxy) {
      try {
        upstream = await startScenarioUpstream(ctx, scenario);
      } catch (err) {
        throw new Error(`${scenario.name}: the upstream did not start: ${err.message}`);
      }
      ctx = { ...ctx, upstream };
      result.upstreamPid = upstream.pid;
    }
    for (const p of result.results) {
      try {
        const server = await startPeer(ctx, scenario, p.peer);
        servers.set(p.peer, server);
        p.pid = server.pid;
        p.idleRssMiB = rssKiB(server.pid) / 1024;
        log(`  started ${p.label} (pid ${server.pid}, port ${server.port}, RSS ${p.idleRssMiB.toFixed(1)} MiB)`);
        const problems = await verify({ port: server.port, path: scenario.path, headers: scenario.headers, expected, gzip: scenario.gzip });
        for (const problem of problems) warn(`${p.label}: ${problem}`);
        // A caching proxy must answer the same request again from its cache, or it would be measured as a plain one.
        if (scenario.cache && PEERS[p.peer].caching) {
          for (const problem of await verifyHit({ port: server.port, path: scenario.path, expected })) warn(`${p.label}: ${problem}`);
        }
        if (warmup > 0) {
          const w = await measure(ctx, scenario, server, 'warmup', warmup);
          for (const f of flags(w, true)) warn(`${p.label} warm-up: ${f}`);
          await settle(server);
        }
      } catch (err) {
        p.error = err.message;
        warn(`${p.label}: ${err.message}`);
        const server = servers.get(p.peer);
        if (server) await stop(server.child);
        servers.delete(p.peer);
      }
    }

    // Rounds: every server once per round, the order reversed every other round.
    for (let round = 1; round <= opts.rounds; round++) {
      const order = round % 2 === 1 ? result.results : [...result.results].reverse();
      for (const p of order) {
        const server = servers.get(p.peer);
        if (!server) continue;
        let run = await measureOnce(ctx, scenario, server, p, round, warn);
        // Another process took the server's CPU: measure again, a bounded number of times per invocation.
        if (!run.error && run.otherCpuPercent > NOISY && ctx.retries.left > 0 && servers.has(p.peer)) {
          ctx.retries.left--;
          log(`  (other processes took ${run.otherCpuPercent.toFixed(0)}% of the server's or wrk's CPU: measuring again)`);
          p.discarded.push(run);
          await settle(server);
          run = await measureOnce(ctx, scenario, server, p, round, warn);
        }
        p.runs.push(run);
        if (p.error) servers.delete(p.peer);
        if (!run.error) {
          for (const f of flags(run)) warn(`${p.label} round ${round}: ${f}`);
          // Noise goes to the log as it happens and to the JSON; the table sums it up.
          const n = noise(run);
          if (n) log(`  note: ${p.label} round ${round}: ${n}`);
        }
        await settle(server);
      }
    }
  } finally {
    await Promise.all([...servers.values(), ...(upstream ? [upstream] : [])].map((s) => stop(s.child)));
  }
  summarize(result);
  return result;
}

function nodeVersion() {
  return spawnSync(process.execPath, ['--version'], { encoding: 'utf8' }).stdout.trim() || process.version;
}

async function main(guard) {
  const opts = options();
  const wrk = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (wrk.error) throw new Error(`wrk not found (${wrk.error.message}); on Debian: apt-get install wrk`);
  if (!existsSync(PEERS.streamstack.script)) throw new Error(`${PEERS.streamstack.script} is missing: build first (npx tsc -p .)`);

  const detected = detectPinning();
  const pinning = opts.pin ? detected : { ...detected, pinned: false, why: '--no-pin' };
  const clkTck = clockTicks();
  const header = {
    node: nodeVersion(),
    nproc: detected.cpus,
    pinned: pinning.pinned,
    pinning: pinning.why,
    clkTck,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    rounds: opts.rounds,
    duration: opts.duration,
    warmup: opts.warmup,
    threads: opts.threads,
    loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    date: new Date().toISOString(),
  };
  const headline = `streamstack bench: node ${header.node}, nproc ${header.nproc}, taskset pinning: ${pinning.pinned ? 'yes' : 'no'} (${pinning.why}); ` +
    `${opts.rounds} round${opts.rounds === 1 ? '' : 's'} x ${opts.duration} s, warm-up ${opts.warmup} s, wrk -t${opts.threads}`;
  process.stdout.write(headline + '\n');
  // Other work on the machine skews every number; say so rather than hide it.
  const before = systemTicks();
  await sleep(1000);
  const after = systemTicks();
  header.busyAtStart = after.map((c, i) => Math.round(((c.busy - before[i].busy) / Math.max(1, c.total - before[i].total)) * 100));
  if (header.busyAtStart.some((b) => b > 10)) {
    process.stdout.write(`warning: CPUs busy before start (${header.busyAtStart.map((b, i) => `cpu${i} ${b}%`).join(', ')}): ` +
      'other processes share them, expect noise\n');
  }

  const fixtures = makeFixtures();
  guard.fixtures = fixtures;
  const ctx = { opts, pinning, clkTck, fixtures, nginx: nginxInstalled(), retries: { left: opts.retries } };
  const results = { header, scenarios: [] };
  for (const scenario of opts.scenarios) {
    results.scenarios.push(await runScenario(ctx, scenario));
  }
  fixtures.remove();
  guard.fixtures = null;
  header.remeasured = opts.retries - ctx.retries.left;
  header.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));

  process.stdout.write('\n' + table(results) + '\n');
  const jsonPath = path.resolve(opts.json);
  writeFileSync(jsonPath, JSON.stringify(results, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  log(`\nresults written to ${jsonPath}`);
}

runMain('bench', main);
