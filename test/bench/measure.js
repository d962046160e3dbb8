// One measured run: wrk against one server, with the server's CPU time from
// /proc/PID/stat, its peak RSS from /proc/PID/status, and how busy each CPU was.

import { setTimeout as sleep } from 'node:timers/promises';
import { cpuTicks, rssKiB, systemTicks, gist } from './proc.js';
import { runWrk } from './wrk.js';

const NOISY = 20; // percent of the server's CPU taken by others before a run counts as unreliable

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
  const system0 = systemTicks();
  let ticks0;
  try {
    ticks0 = cpuTicks(pid);
  } catch {
    throw await died(server);
  }
  let peak = rssKiB(pid);
  const sampler = setInterval(() => {
    const kib = rssKiB(pid);
    if (kib > peak) peak = kib;
  }, 50);
  let report;
  try {
    report = await runWrk(wrkOptions);
  } finally {
    clearInterval(sampler);
  }
  let ticks;
  try {
    ticks = cpuTicks(pid) - ticks0;
  } catch {
    throw await died(server);
  }
  if (exited(server.child)) throw await died(server);
  const system1 = systemTicks();

  const cpuSeconds = ticks / ctx.clkTck;
  // What else ran on the server's CPU (other processes, and kernel work not
  // charged to the server such as softirqs): a noise gauge, not a result.
  const cpus = ctx.pinning.pinned ? [0] : system1.map((_, i) => i);
  let busy = 0;
  let total = 0;
  for (const i of cpus) {
    busy += system1[i].busy - system0[i].busy;
    total += system1[i].total - system0[i].total;
  }
  const otherPercent = total ? (Math.max(0, busy - ticks) / total) * 100 : NaN;
  // How busy wrk's CPU was: near 100% means the load generator, not the server, set the pace.
  const load = ctx.pinning.pinned ? { busy: system1[1].busy - system0[1].busy, total: system1[1].total - system0[1].total } : null;
  const wrkCpuPercent = load && load.total ? (load.busy / load.total) * 100 : NaN;
  return {
    round,
    rps: report.rps,
    requests: report.requests,
    seconds: report.seconds,
    bytesRead: report.bytesRead,
    cpuTicks: ticks,
    cpuUsPerReq: report.requests ? (cpuSeconds * 1e6) / report.requests : NaN,
    cpuPercent: report.seconds ? (cpuSeconds / report.seconds) * 100 : NaN,
    peakRssMiB: peak / 1024,
    otherCpuPercent: otherPercent,
    wrkCpuPercent,
    non2xx3xx: report.non2xx3xx,
    socketErrors: report.socketErrors,
  };
}

/** Problems of one run worth flagging: error statuses, socket errors, nothing served, a busy machine. */
export function flags(run, warmup = false) {
  const out = [];
  if (!warmup && run.otherCpuPercent > NOISY) {
    out.push(`busy machine: ${run.otherCpuPercent.toFixed(0)}% of the server's CPU went to other processes: this run is unreliable`);
  }
  if (run.non2xx3xx) out.push(`${run.non2xx3xx} non-2xx/3xx responses of ${run.requests}`);
  const e = run.socketErrors;
  if (e && e.connect + e.read + e.write + e.timeout > 0) {
    out.push(`socket errors: connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`);
  }
  // A 1 s warm-up of 50 clients fetching 16 MiB each may finish none: only runs must.
  if (!run.requests && !warmup) out.push('no request completed');
  return out;
}
