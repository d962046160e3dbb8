#!/usr/bin/env node
// `npm run fuzz`: the socket-level fuzzer against the compiled server (dist/,
// built by `npm run build`). Runs sequences until --seconds or --sequences,
// prints the seed and progress, and on a failure the seed and the sequence
// index to replay it with.
//
//   npm run fuzz -- [--seconds N] [--sequences N] [--seed S] [--only I] [--repeat N]
//                   [--keep-going] [--no-half-close]

import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as path from 'node:path';
import { Fuzzer, report } from './fuzzer.js';

const USAGE = `Usage: npm run fuzz -- [options]

  --seconds N     run for about N seconds (default 30, unless --sequences is given)
  --sequences N   run N sequences
  --seed S        the run's seed, a 32-bit number (default: drawn from the clock, and printed)
  --only I        run sequence I of the seed alone (a replay)
  --repeat N      with --only: run it N times (timing-dependent failures)
  --keep-going    after a failure, restart the server and go on; failures are listed at the end
  --no-half-close replace the client's half-closes by resets or nothing (to look past a known bug)
  -h, --help      this text
`;

function options() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      sequences: { type: 'string' },
      seed: { type: 'string' },
      only: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'keep-going': { type: 'boolean', default: false },
      'no-half-close': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name, v) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`--${name} expects a whole number, got '${v}'`);
    return Number(v);
  };
  const seed = int('seed', values.seed) ?? (Date.now() ^ (process.pid << 16)) >>> 0;
  const sequences = int('sequences', values.sequences);
  return {
    seed: seed >>> 0,
    seconds: int('seconds', values.seconds) ?? (sequences === undefined ? 30 : Infinity),
    sequences: sequences ?? Infinity,
    only: int('only', values.only),
    repeat: int('repeat', values.repeat),
    keepGoing: values['keep-going'],
    halfClose: !values['no-half-close'],
  };
}

async function main() {
  const opts = options();
  const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dist = path.join(repo, 'dist', 'src');
  if (!existsSync(path.join(dist, 'server.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const { Server } = await import(pathToFileURL(path.join(dist, 'server.js')).href);
  const { parseRules } = await import(pathToFileURL(path.join(dist, 'rules', 'index.js')).href);
  const { readBuffers } = await import(pathToFileURL(path.join(dist, '..', 'protocols', 'http-client-reads.js')).href);
  const indexes = opts.only !== undefined ? Array(opts.repeat).fill(opts.only) : null;
  // Printed before the server starts: stdout's first write opens a handle that is no leak.
  console.log(`fuzz: seed ${opts.seed}` + (indexes ? `, sequence ${opts.only} x${opts.repeat}` :
    `, ${Number.isFinite(opts.sequences) ? `${opts.sequences} sequences` : `${opts.seconds} s`}`) +
    (opts.halfClose ? '' : ', no half-closes'));
  const fuzzer = new Fuzzer({ Server, parseRules, readBuffers, halfClose: opts.halfClose });
  await fuzzer.start();
  const t0 = Date.now();
  let lastProgress = t0;
  let ran = 0;
  let connections = 0;
  let requests = 0;
  const failures = [];
  const signatures = new Map();
  for (let n = 0; ; n++) {
    if (indexes ? n >= indexes.length : n >= opts.sequences || Date.now() - t0 >= opts.seconds * 1000) break;
    const index = indexes ? indexes[n] : n;
    const outcome = await fuzzer.runSequence(opts.seed, index);
    ran++;
    connections += outcome.seq.connections.length;
    for (const c of outcome.seq.connections) requests += c.entries.length;
    if (outcome.problems.length > 0) {
      // An exception names the bug best; the rest is often its consequence.
      const signature = signatureOf(outcome.problems.find((p) => /^(uncaught|unhandled|the server reported)/.test(p)) ?? outcome.problems[0]);
      const first = !signatures.has(signature);
      signatures.set(signature, [...(signatures.get(signature) ?? []), index]);
      failures.push(index);
      if (first) console.log('\n' + report(outcome) + '\n');
      else console.log(`FAIL seed ${opts.seed} sequence ${index}: as sequence ${signatures.get(signature)[0]} (${outcome.problems[0].slice(0, 120)})`);
      if (!opts.keepGoing && !indexes) break;
      await fuzzer.restart();
    }
    if (Date.now() - lastProgress >= 5000) {
      lastProgress = Date.now();
      console.log(`fuzz: seed ${opts.seed}: ${ran} sequences, ${connections} connections, ${requests} requests, ` +
        `${failures.length} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  await fuzzer.stop();
  console.log(`fuzz: seed ${opts.seed}: ${ran} sequences, ${connections} connections, ${requests} requests in ` +
    `${((Date.now() - t0) / 1000).toFixed(1)} s: ${failures.length === 0 ? 'no failures' : `${failures.length} failed (sequences ${failures.join(', ')})`}`);
  if (signatures.size > 1) {
    console.log('distinct failures:');
    for (const [sig, idx] of signatures) console.log(`  sequences ${idx.join(', ')}: ${sig.slice(0, 300)}`);
  }
  return failures.length === 0 ? 0 : 1;
}

/** A failure's kind without the parts that vary from one sequence to the next. */
function signatureOf(problem) {
  return problem
    .split('\n')[0]
    .replace(/^connection \d+: /, '')
    .replace(/#\d+/g, '#N')
    .replace(/\d+/g, 'N')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/ to [A-Z]+ \S+( \+N B( chunked)?)?( \[[^\]]*\])?/, ' to REQ');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fuzz: ${err.message}`);
    process.exit(2);
  },
);
