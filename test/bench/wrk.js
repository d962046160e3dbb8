// One wrk run, bounded in time, and the parse of its report.

import { spawn } from 'node:child_process';
import { track, pin } from './proc.js';

/**
 * Runs wrk against `url` and resolves with the parsed report. wrk is killed if
 * it outlives its duration by `graceS` seconds. `onSpawn(pid)` lets the caller watch it.
 */
export function runWrk({ url, duration, connections, threads = 1, headers = [], script, scriptArgs = [], timeoutS = 10, pinning, cpu = 1, graceS = 20, onSpawn }) {
  const args = [
    '-t', String(threads),
    '-c', String(Math.max(connections, threads)),
    '-d', `${duration}s`,
    '--timeout', `${timeoutS}s`,
    ...headers.flatMap((h) => ['-H', h]),
    ...(script ? ['-s', script] : []),
    url,
    ...(scriptArgs.length ? ['--', ...scriptArgs] : []),
  ];
  const argv = [...pin(pinning, cpu), 'wrk', ...args];
  const child = track(spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
  onSpawn?.(child.pid);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, (duration + graceS) * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`wrk: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const report = parseWrk(out);
      if (code !== 0 || report.rps === undefined) {
        const why = signal ? `killed by ${signal} (time limit ${duration + graceS} s)` : `exit code ${code}`;
        reject(new Error(`wrk ${why}: ${(err || out).trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      resolve(report);
    });
  });
}

const UNIT = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Reads wrk 4's text report. */
export function parseWrk(text) {
  const report = { rps: undefined, requests: 0, seconds: 0, bytesRead: '', non2xx3xx: 0, socketErrors: null, raw: text };
  let m = /(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+\w+) read/.exec(text);
  if (m) {
    report.requests = Number(m[1]);
    report.seconds = Number(m[2]) * UNIT[m[3]];
    report.bytesRead = m[4];
  }
  m = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (m) report.rps = Number(m[1]);
  m = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  if (m) report.non2xx3xx = Number(m[1]);
  m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (m) report.socketErrors = { connect: +m[1], read: +m[2], write: +m[3], timeout: +m[4] };
  return report;
}
