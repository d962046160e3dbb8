// One measured run: wrk against one server, with the server's CPU time from
// /proc/PID/stat, its peak RSS from /proc/PID/status, and how busy each CPU was.
// A server with workers (`--workers N`) is its primary and their processes,
// summed (CPU time and RSS alike).
// In a proxy scenario (ctx.upstream) the upstream's CPU time too: it shares CPU 1
// with wrk, so it counts as ours there, not as another process's.

import { setTimeout as sleep } from 'node:timers/promises';
import { cpuTicks, treeTicks, treeRssKiB, processTree, systemTicks, allProcessTicks, reapedChildrenTicks, commandLine, gist } from './proc.js';
import { runWrk } from './wrk.js';

export const NOISY = 20; // % of the server's or wrk's CPU taken by other processes: past it, a run is unreliable

export const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/** The error for a server that died; waits (briefly) for its exit status first. */
async function died(server) {
  if (!exited(server.child)) {
    await Promise.race([new Promise((resolve) => server.child.once('exit', resolve)), sleep(1000)]);
  }
  const { exitCode, signalCode } = server.child;
  return new Error(`server process exited (code ${exitCode}, signal ${signalCode}); it said: ${gist(server.stderr.text) || '(nothing)'}`);
}

/** One measured wrk run against one server: req/s, CPU per request, peak RSS. */
export async function measure(ctx, scenario, server, round, duration) {
  const { pid } = server;
  if (exited(server.child)) throw await died(server);
  const wrkOptions = {
    url: `http://127.0.0.1:${server.port}${scenario.path}`,
    duration,
    connections: scenario.connections,
    threads: ctx.opts.threads,
    headers: scenario.headers,
    script: scenario.script,
    scriptArgs: scenario.scriptArgs,
    pinning: ctx.pinning,
  };
  const others0 = allProcessTicks();
  const start = process.hrtime.bigint();
  const system0 = systemTicks();
  let ticks0;
  try {
    ticks0 = treeTicks(pid);
  } catch {
    throw await died(server);
  }
  const upstreamPid = ctx.upstream?.pid;
  const upstreamTicks = () => {
    try {
      return cpuTicks(upstreamPid);
    } catch {
      throw new Error(`the upstream (pid ${upstreamPid}) is gone`);
    }
  };
  const up0 = upstreamPid ? upstreamTicks() : 0;
  let peak = treeRssKiB(pid);
  const sampler = setInterval(() => {
    const kib = treeRssKiB(pid);
    if (kib > peak) peak = kib;
  }, 50);
  const reaped0 = reapedChildrenTicks();
  let wrkPid = 0;
  let report;
  try {
    report = await runWrk({ ...wrkOptions, onSpawn: (p) => (wrkPid = p) });
  } finally {
    clearInterval(sampler);
  }
  // wrk has been reaped by now (runWrk resolves on 'close'), its exit included.
  const wrkTicks = reapedChildrenTicks() - reaped0;
  let ticks;
  try {
    ticks = treeTicks(pid) - ticks0;
  } catch {
    throw await died(server);
  }
  if (exited(server.child)) throw await died(server);
  const upTicks = upstreamPid ? upstreamTicks() - up0 : 0;
  const system1 = systemTicks();
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;

  const cpuSeconds = ticks / ctx.clkTck;
  // Busy time of the measuring CPUs not charged to the server or to wrk: other
  // processes (kernel work such as softirqs is charged to the task it interrupts).
  // It only costs us where the CPU was full (busy 90% or more); elsewhere the
  // machine's background just used idle time. Pinned, each CPU is judged alone
  // and the worse counts; unpinned, all CPUs together.
  const delta = system1.map((c, i) => ({ busy: c.busy - system0[i].busy, total: c.total - system0[i].total }));
  const share = (d, own) => (d.total ? (Math.max(0, d.busy - own) / d.total) * 100 : NaN);
  const full = (d) => d.total > 0 && d.busy / d.total >= 0.9;
  let otherPercent;
  let otherByCpu = null;
  if (ctx.pinning.pinned) {
    otherByCpu = { server: share(delta[0], ticks), wrk: share(delta[1], wrkTicks + upTicks) };
    otherPercent = Math.max(full(delta[0]) ? otherByCpu.server : 0, full(delta[1]) ? otherByCpu.wrk : 0);
  } else {
    const all = delta.reduce((a, d) => ({ busy: a.busy + d.busy, total: a.total + d.total }), { busy: 0, total: 0 });
    otherPercent = full(all) ? share(all, ticks + wrkTicks + upTicks) : 0;
  }
  // Near 100% means the load generator, not the server, set the pace.
  const wrkCpuPercent = (wrkTicks / ctx.clkTck / wallSeconds) * 100;
  const neighbours = otherPercent > NOISY ? busiestOthers(others0, [...processTree(pid), wrkPid, process.pid, upstreamPid], ctx.clkTck, wallSeconds) : [];
  return {
    round,
    rps: report.rps,
    requests: report.requests,
    seconds: report.seconds,
    bytesRead: report.bytesRead,
    cpuTicks: ticks,
    cpuUsPerReq: report.requests ? (cpuSeconds * 1e6) / report.requests : NaN,
    // Over the whole window the ticks were read in (wrk's start and end included).
    cpuPercent: (cpuSeconds / wallSeconds) * 100,
    peakRssMiB: peak / 1024,
    otherCpuPercent: otherPercent,
    otherByCpu,
    neighbours,
    wrkCpuPercent,
    // How busy each CPU was, all processes together (pinned: CPU 0 the server's, CPU 1 wrk's).
    cpuBusyPercent: delta.map((d) => (d.total ? (d.busy / d.total) * 100 : NaN)),
    ...(upstreamPid ? { upstreamCpuPercent: (upTicks / ctx.clkTck / wallSeconds) * 100 } : {}),
    non2xx3xx: report.non2xx3xx,
    socketErrors: report.socketErrors,
  };
}

/**
 * Waits until the server has finished what the last run left in flight (wrk
 * stops without waiting for its responses): no CPU used for 100 ms, at most `maxMs`.
 * Otherwise that work lands on the CPU while the next server is measured.
 */
export async function settle(server, maxMs = 3000) {
  const deadline = Date.now() + maxMs;
  let last = NaN;
  while (Date.now() < deadline && !exited(server.child)) {
    let now;
    try {
      now = treeTicks(server.pid);
    } catch {
      return;
    }
    if (now === last) return;
    last = now;
    await sleep(100);
  }
}

/** The processes, other than ours, that used the most CPU since `before` (those still alive). */
function busiestOthers(before, ours, clkTck, seconds) {
  const used = [];
  for (const [pid, ticks] of allProcessTicks()) {
    if (ours.includes(pid)) continue;
    const d = ticks - (before.get(pid) ?? 0);
    if (d > 0) used.push({ pid, percent: (d / clkTck / seconds) * 100 });
  }
  used.sort((a, b) => b.percent - a.percent);
  return used.slice(0, 3).filter((u) => u.percent >= 5).map((u) => ({ ...u, percent: Math.round(u.percent), command: commandLine(u.pid) }));
}

/** A run that other processes disturbed: the line that says so and names them, or null. */
export function noise(run) {
  if (!(run.otherCpuPercent > NOISY)) return null;
  const who = run.neighbours?.length ? ` (${run.neighbours.map((n) => `${n.command}: ${n.percent}%`).join('; ')})` : '';
  return `busy machine: other processes took ${run.otherCpuPercent.toFixed(0)}% of the server's or wrk's CPU${who}: this run is unreliable`;
}

/** Problems of one run worth flagging: error statuses, socket errors, nothing served. */
export function flags(run, warmup = false) {
  const out = [];
  if (run.non2xx3xx) out.push(`${run.non2xx3xx} non-2xx/3xx responses of ${run.requests}`);
  const e = run.socketErrors;
  if (e && e.connect + e.read + e.write + e.timeout > 0) {
    out.push(`socket errors: connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`);
  }
  // A 1 s warm-up of 50 clients fetching 16 MiB each may finish none: only runs must.
  if (!run.requests && !warmup) out.push('no request completed');
  return out;
}
