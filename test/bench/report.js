// Summaries of the runs: medians, ratios against streamstack, targets, and
// the plain-text table printed at the end (the JSON file holds the same).

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Fills in each peer's medians, its ratio and the scenario's target verdict. */
export function summarize(scenario) {
  for (const p of scenario.results) {
    const ok = p.runs.filter((r) => !r.error);
    p.median = {
      rps: median(ok.map((r) => r.rps)),
      cpuUsPerReq: median(ok.map((r) => r.cpuUsPerReq)),
      cpuPercent: median(ok.map((r) => r.cpuPercent)),
      otherCpuPercent: median(ok.map((r) => r.otherCpuPercent)),
      wrkCpuPercent: median(ok.map((r) => r.wrkCpuPercent)),
      ...(scenario.proxy ? {
        upstreamCpuPercent: median(ok.map((r) => r.upstreamCpuPercent)),
        loadCpuBusyPercent: median(ok.map((r) => r.cpuBusyPercent?.[1])),
      } : {}),
    };
    p.peakRssMiB = ok.length ? Math.max(...ok.map((r) => r.peakRssMiB).filter(Number.isFinite)) : NaN;
    const rps = ok.map((r) => r.rps);
    p.spread = rps.length > 1 ? (Math.max(...rps) - Math.min(...rps)) / p.median.rps : 0;
  }
  // The scenario's base: streamstack, or the variant a workers or status scenario compares with the plain one.
  const base = scenario.base ?? 'streamstack';
  const ss = scenario.results.find((p) => p.peer === base);
  for (const p of scenario.results) {
    if (p.peer === base || !ss) continue;
    // ratio = base / peer, of the medians; and the median of the per-round ratios.
    p.ratio = ss.median.rps / p.median.rps;
    const perRound = [];
    for (const r of p.runs) {
      const s = ss.runs.find((x) => x.round === r.round);
      if (s && !s.error && !r.error) perRound.push(s.rps / r.rps);
    }
    p.ratioPerRoundMedian = median(perRound);
  }
  const t = scenario.target;
  if (t) {
    if (t.maxRssMiB !== undefined) {
      t.value = ss?.peakRssMiB;
      t.met = Number.isFinite(t.value) ? t.value < t.maxRssMiB : false;
    } else {
      const peer = scenario.results.find((p) => p.peer === t.peer);
      t.value = peer?.ratio;
      t.met = Number.isFinite(t.value) ? t.value >= t.ratio : false;
    }
  }
}

const fmt = {
  int: (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-'),
  fixed: (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-'),
  pct: (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-'),
  ratio: (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-'),
};

function row(cells, widths) {
  return cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd();
}

/**
 * Under the table, per proxy scenario: the median of the per-round ratios, the
 * upstream's CPU (on CPU 1 with wrk when pinned), where that CPU rather than the
 * proxy set the pace; then streamstack's peak RSS over all proxy scenarios.
 */
/** The reference proxies of proxy-100b (peers.js), as the notes under the table name them. */
const REFERENCES = [
  ['node-relay', 'the byte relay (no HTTP)', 'the least a Node proxy costs here'],
  ['node-minimal', 'the minimal HTTP proxy (no checks)', "the least HTTP's own work adds"],
];

function proxyNotes(results) {
  const lines = [];
  const proxied = results.scenarios.filter((s) => s.proxy);
  for (const s of proxied) {
    const peers = s.results.filter((p) => p.peer !== 'streamstack' && Number.isFinite(p.ratioPerRoundMedian));
    if (peers.length) {
      lines.push(`${s.name}: median of the per-round ratios: ${peers.map((p) => `${p.label} ${fmt.ratio(p.ratioPerRoundMedian)}`).join(', ')}.`);
    }
    // The references bound every Node proxy: their own ratios to the target's peer are as far as one gets here.
    const against = s.results.find((p) => p.peer === s.target?.peer && p.median);
    for (const [peer, what, meaning] of REFERENCES) {
      const ref = s.results.find((p) => p.peer === peer && p.median);
      if (!ref || !against) continue;
      lines.push(`${s.name}: ${what} is ${fmt.ratio(ref.median.rps / against.median.rps)} ${against.label} in req/s, ` +
        `at ${fmt.fixed(ref.median.cpuUsPerReq, 1)} CPU us/req: ${meaning}.`);
    }
    const loaded = s.results.filter((p) => p.median && Number.isFinite(p.median.upstreamCpuPercent));
    if (loaded.length) {
      lines.push(`${s.name}: upstream CPU% (median) while each proxy ran: ${loaded.map((p) => `${p.label} ${fmt.fixed(p.median.upstreamCpuPercent, 0)}`).join(', ')}.`);
    }
    // Pinned, wrk and the upstream share CPU 1: full (with whatever else ran there),
    // it, not the proxy, set the pace.
    // Shared scenarios run unpinned: no CPU is wrk's alone.
    const paced = results.header.pinned && !s.shared
      ? loaded.filter((p) => p.median.loadCpuBusyPercent >= 90 && p.median.cpuPercent < 90)
      : [];
    if (paced.length) {
      lines.push(`${s.name}: CPU 1 (wrk, the upstream and any other process) was full while the proxy had CPU to spare ` +
        `(${paced.map((p) => `${p.label}: CPU 1 ${fmt.fixed(p.median.loadCpuBusyPercent, 0)}%, proxy ${fmt.fixed(p.median.cpuPercent, 0)}%`).join('; ')}): ` +
        'the req/s is a floor; compare CPU us/req.');
    }
  }
  const rss = proxied.flatMap((s) => s.results.filter((p) => p.peer === 'streamstack')).map((p) => p.peakRssMiB).filter(Number.isFinite);
  if (rss.length) lines.push(`streamstack peak RSS over the proxy scenarios: ${fmt.fixed(Math.max(...rss))} MiB.`);
  return lines;
}

/** The plain-text table: one block per scenario, then the targets and every warning. */
export function table(results) {
  const lines = [];
  const head = ['scenario', 'peer', 'req/s', 'spread', 'CPU us/req', 'CPU%', 'other%', 'wrk%', 'RSS MiB', 'ratio', 'target', 'met'];
  const widths = [17, 16, 8, 6, 10, 4, 6, 4, 7, 7, 9, 3];
  lines.push(row(head, widths));
  lines.push('-'.repeat(widths.reduce((a, b) => a + b + 2, -2)));
  for (const s of results.scenarios) {
    const t = s.target;
    for (const [i, p] of s.results.entries()) {
      let target = '';
      let met = '';
      if (t && t.maxRssMiB !== undefined && p.peer === 'streamstack') {
        target = `<${t.maxRssMiB} MiB`;
        met = t.met ? 'yes' : 'NO';
      } else if (t && t.ratio !== undefined && p.peer === t.peer) {
        target = `>=${t.ratio}x`;
        met = t.met ? 'yes' : 'NO';
      }
      const failed = p.runs.length === 0 || p.runs.every((r) => r.error);
      lines.push(
        row(
          [
            i === 0 ? s.name + (s.shared ? ' *' : '') : '',
            p.label,
            failed ? 'error' : fmt.int(p.median.rps),
            failed ? '' : fmt.pct(p.spread),
            failed ? '' : fmt.fixed(p.median.cpuUsPerReq),
            failed ? '' : fmt.fixed(p.median.cpuPercent, 0),
            failed ? '' : fmt.fixed(p.median.otherCpuPercent, 0),
            failed ? '' : fmt.fixed(p.median.wrkCpuPercent, 0),
            failed ? '' : fmt.fixed(p.peakRssMiB),
            p.peer === (s.base ?? 'streamstack') ? '' : fmt.ratio(p.ratio),
            target,
            met,
          ],
          widths,
        ),
      );
    }
  }
  const targets = results.scenarios.filter((s) => s.target);
  lines.push('');
  lines.push(`targets met: ${targets.filter((s) => s.target.met).length} of ${targets.length}` +
    (targets.some((s) => !s.target.met) ? ` (missed: ${targets.filter((s) => !s.target.met).map((s) => s.name).join(', ')})` : ''));
  // Where wrk, not the server, set the pace, the requests/s ratio understates the server.
  for (const s of results.scenarios) {
    const ss = s.results.find((p) => p.peer === 'streamstack');
    if (s.shared || s.proxy || !ss?.median || !(ss.median.wrkCpuPercent >= 90 && ss.median.cpuPercent < 90)) continue;
    const peer = s.results.find((p) => p.peer === s.target?.peer && p.peer !== 'streamstack');
    const cpuRatio = peer ? peer.median.cpuUsPerReq / ss.median.cpuUsPerReq : NaN;
    lines.push(`${s.name}: wrk set the pace (wrk ${fmt.fixed(ss.median.wrkCpuPercent, 0)}%, streamstack ${fmt.fixed(ss.median.cpuPercent, 0)}% CPU): ` +
      `the req/s ratio understates it` + (peer ? `; CPU per request: ${peer.label} / streamstack = ${fmt.ratio(cpuRatio)}` : '') + '.');
  }
  lines.push(...proxyNotes(results));
  const runs = results.scenarios.flatMap((s) => s.results.flatMap((p) => p.runs.filter((r) => !r.error)));
  const noisy = runs.filter((r) => r.otherCpuPercent > 20);
  if (noisy.length) {
    const blame = new Map();
    for (const r of noisy) for (const n of r.neighbours ?? []) blame.set(n.command, (blame.get(n.command) ?? 0) + n.percent);
    const top = [...blame].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([c]) => c);
    lines.push(`busy machine: ${noisy.length} of ${runs.length} runs had other% over 20 and are unreliable` +
      (top.length ? `; the busiest neighbours: ${top.join('; ')}` : '') + '.');
  }
  if (results.header.remeasured) {
    lines.push(`${results.header.remeasured} run(s) measured again because other processes took the server's or wrk's CPU (see the JSON).`);
  }
  lines.push('ratio = streamstack median req/s / peer median req/s (file-4k-workers: two workers / one; file-4k-status:');
  lines.push('with a Status rule / without); spread = (max - min) / median over the rounds;');
  lines.push('CPU = the server process utime+stime over the run (% of one core; with workers, all its processes); wrk% = the same for wrk: near 100, the');
  lines.push('load generator set the pace; other% = time other processes took on the server\'s or wrk\'s CPU while it was');
  lines.push('full: over 20, a noisy run (medians of the rounds); RSS = the highest VmRSS, sampled every 50 ms.');
  if (results.scenarios.some((s) => s.proxy)) {
    lines.push(results.header.pinned
      ? 'proxy-*: the proxies on CPU 0, the upstream (raw net, responses serialized once) and wrk on CPU 1; other% leaves it out.'
      : 'proxy-*: the proxies, the upstream (raw net, responses serialized once) and wrk unpinned; other% leaves the upstream out.');
  }
  if (results.scenarios.some((s) => s.shared)) {
    lines.push('* shared: server and wrk (2 threads) unpinned on all CPUs, since one pinned wrk thread reads slower than');
    lines.push('the servers write at these sizes; wrk% then counts both threads (up to 200).');
  }
  const notes = results.scenarios.flatMap((s) => s.warnings.map((w) => `${s.name}: ${w}`));
  if (notes.length) {
    lines.push('');
    lines.push('warnings:');
    for (const n of notes) lines.push(`  ${n}`);
  }
  return lines.join('\n');
}
