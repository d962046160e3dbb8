#!/usr/bin/env node
// `npm run bench:pair -- --against DIR`: an A/B of two builds of streamstack
// that the machine's drift cannot bias. On a shared machine the speed of a
// CPU changes by tens of percent from one half-minute to the next, so two
// builds measured one after the other (run.js --against) differ by more than
// most changes do. Here both run at the same time, pinned to the same CPU
// (0), each loaded by its own wrk (on CPU 1 with the upstream of a proxy
// scenario). The kernel gives each busy server half of that CPU, so the one
// that needs less CPU per request completes more requests in the same
// seconds: the ratio of their req/s is the inverse ratio of their costs,
// whatever the machine does meanwhile. The two swap their wrk's start order
// every round, and `--against .` (a build against itself) shows what is
// left of the difference of two identical servers. `--peer NAME` pairs this
// build with one of the benchmark's Node peers instead (http-proxy,
// node-send…): the ratio of the costs, without the drift of run.js's.
//
//   node test/bench/pair.js --against DIR | --peer NAME [--only NAME[,NAME]] [--rounds N] [--duration S]

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { makeFixtures } from './fixtures.js';
import { PEERS, REPO, startUpstream } from './peers.js';
import { scriptOptions, wholeNumber } from './peer-args.js';
import { SCENARIOS } from './scenarios.js';
import { startServer, stop, runMain, detectPinning, treeTicks, clockTicks } from './proc.js';
import { verify } from './verify.js';
import { runWrk } from './wrk.js';
import { median } from './report.js';

const USAGE = `Usage: node test/bench/pair.js --against DIR | --peer NAME [options]

  --against DIR     the other build: DIR/dist/src/cli.js (built); '.' for this one against itself
  --peer NAME       or a Node peer of the scenario (http-proxy, node-send, node-relay…)
  --only NAMES      scenarios (comma-separated; default proxy-100b); those that run streamstack
                    pinned, not the shared or workers ones
  --rounds N        rounds (default 5)
  --duration S      seconds per round (default 5)
  -h, --help        this text
`;

const log = (line) => process.stdout.write(line + '\n');

function options() {
  const values = scriptOptions({
    against: { type: 'string' },
    peer: { type: 'string' },
    only: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
  }, USAGE);
  if ((values.against === undefined) === (values.peer === undefined)) throw new Error('--against DIR or --peer NAME, one of them (see --help)');
  let other;
  if (values.against !== undefined) {
    const script = path.resolve(values.against, 'dist', 'src', 'cli.js');
    if (!existsSync(script)) throw new Error(`--against ${values.against}: no ${script} (build that checkout first)`);
    other = { ...PEERS.streamstack, label: values.against, script };
  } else {
    other = PEERS[values.peer];
    if (other === undefined || other.nginx || other.script === undefined) throw new Error(`--peer ${values.peer}: not a Node peer of the benchmark`);
  }
  const names = (values.only ?? ['proxy-100b']).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean);
  const scenarios = names.map((name) => {
    const s = SCENARIOS.find((x) => x.name === name);
    if (!s) throw new Error(`unknown scenario: ${name}`);
    if (s.shared || !s.peers.includes('streamstack') || s.script) throw new Error(`${name}: not a pinned streamstack scenario wrk can load as it is`);
    if (values.peer !== undefined && !s.peers.includes(values.peer)) throw new Error(`${name}: ${values.peer} is not one of its peers (${s.peers.join(', ')})`);
    return s;
  });
  return {
    other,
    scenarios,
    rounds: wholeNumber('rounds', values.rounds, 1),
    duration: wholeNumber('duration', values.duration, 1),
  };
}

/** Both servers under their own wrk at once; each one's req/s and CPU µs per request. */
async function round(pair, scenario, duration, pinning, swap, clkTck) {
  const ticks0 = pair.map((s) => treeTicks(s.pid));
  const load = (s) => runWrk({
    url: `http://127.0.0.1:${s.port}${scenario.path}`, duration, connections: scenario.connections, headers: scenario.headers ?? [], pinning, cpu: 1,
  });
  const order = swap ? [1, 0] : [0, 1];
  const reports = [];
  reports[order[0]] = load(pair[order[0]]);
  reports[order[1]] = load(pair[order[1]]);
  const done = await Promise.all(reports);
  return done.map((r, i) => ({
    rps: r.rps,
    cpuUsPerReq: ((treeTicks(pair[i].pid) - ticks0[i]) / clkTck) * 1e6 / Math.max(1, r.requests),
    errors: r.non2xx3xx + (r.socketErrors ? Object.values(r.socketErrors).reduce((a, b) => a + b, 0) : 0),
  }));
}

/** Starts this build and the other (`reversed`: the other first), and checks one response of each: [this, other]. */
async function startPair(opts, scenario, fixtures, upstream, pinning, reversed) {
  const defs = [PEERS.streamstack, opts.other];
  const argsOf = (def) => (scenario.proxy ? def.proxyArgs({ root: fixtures.root, upstream: upstream.url, rules: upstream.rules }) : def.args ? def.args({ root: fixtures.root }) : [fixtures.root]);
  const pair = [];
  try {
    for (const i of reversed ? [1, 0] : [0, 1]) {
      const server = await startServer({ script: defs[i].script, args: argsOf(defs[i]), pinning, cpu: 0, cwd: REPO });
      pair[i] = server;
      const expected = fixtures.files[scenario.file ?? scenario.path.slice(1)];
      const problems = await verify({ port: server.port, path: scenario.path, headers: scenario.headers, expected, gzip: scenario.gzip });
      if (problems.length) throw new Error(`${i === 0 ? 'this' : opts.other.label}: ${problems.join('; ')}`);
    }
  } catch (err) {
    await Promise.all(pair.filter(Boolean).map((s) => stop(s.child)));
    throw err;
  }
  return pair;
}

async function main(guard) {
  const opts = options();
  const pinning = detectPinning();
  if (!pinning.pinned) throw new Error(`pinning is needed (both servers on one CPU): ${pinning.why}`);
  const clkTck = clockTicks();
  const fixtures = makeFixtures();
  guard.fixtures = fixtures;
  const labels = ['this', opts.other.label];
  log(`streamstack pair: this build and ${labels[1]}, both on CPU 0 at once, each under its own wrk on CPU 1; ${opts.rounds} rounds x ${opts.duration} s`);
  for (const scenario of opts.scenarios) {
    let upstream = null;
    let pair = [];
    const stopPair = () => Promise.all(pair.map((s) => stop(s.child)));
    try {
      if (scenario.proxy) upstream = await startUpstream({ root: fixtures.root, pinning, cache: scenario.cache });
      log(`\n${scenario.name}: ${scenario.what} (${scenario.connections} connections each)`);
      const ratios = [];
      for (let r = 1; r <= opts.rounds; r++) {
        // Fresh servers every round, started in turn in either order: whatever
        // favours the first or the second started favours each build alike.
        pair = await startPair(opts, scenario, fixtures, upstream, pinning, r % 2 === 0);
        await round(pair, scenario, 1, pinning, false, clkTck); // warm-up
        const [a, b] = await round(pair, scenario, opts.duration, pinning, r % 2 === 0, clkTck);
        await stopPair();
        pair = [];
        const ratio = b.rps / a.rps;
        ratios.push(ratio);
        log(`  round ${r}  this ${Math.round(a.rps).toLocaleString('en-US').padStart(7)} req/s ${a.cpuUsPerReq.toFixed(1).padStart(6)} us/req` +
          `   ${labels[1]} ${Math.round(b.rps).toLocaleString('en-US').padStart(7)} req/s ${b.cpuUsPerReq.toFixed(1).padStart(6)} us/req   ratio ${ratio.toFixed(3)}` +
          (a.errors + b.errors > 0 ? `   (errors: ${a.errors}, ${b.errors})` : ''));
      }
      log(`${scenario.name}: ${labels[1]} / this, median of ${ratios.length}: ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`);
    } finally {
      await Promise.all([...pair, ...(upstream ? [upstream] : [])].map((s) => stop(s.child)));
    }
  }
  fixtures.remove();
  guard.fixtures = null;
}

runMain('bench pair', main);
