#!/usr/bin/env node
// The command line (the Mini Server's main): register protocol modules and
// converters, read flags, the rule file and plugins, then listen. SIGHUP is a
// restart (reread and validate the rules, swap them in, flush the anchors);
// SIGTERM and SIGINT stop accepting and finish what is in flight within
// GraceTimeout, and a second one exits at once (a fast stop, as nginx's);
// SIGUSR1 reopens the access log after a rotation. With TLS, SIGHUP also
// rereads the certificate and key (a renewal without a restart). With
// `--workers N` (or `Workers N`), this process becomes the primary of N
// workers that each run the server (src/workers.ts): it validates the
// configuration once, then forks them and relays the signals above.
// Exit codes: 0 clean stop (a fast one too), 1 could not start or run, 2 bad
// command line or configuration.

import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from './server.js';
import { defaultRules, loadRules, RuleFileError } from './rules/index.js';
import type { RuleSet } from './rules/index.js';
import { Expected, parseOrigin, parseWorkers } from './rules/values.js';
import { loadPlugin } from './plugins.js';
import { openAccessLog, useColor } from './access-log.js';
import type { AccessLog } from './access-log.js';
import { readTlsFiles, selfSigned, TlsFileError } from './tls.js';
import type { TlsFiles } from './tls.js';
import { PrimaryLink, runPrimary, workerCount } from './workers.js';
import { snapshot } from './status.js';
import type { Status } from './status.js';
import type { RelayedSignal } from './workers.js';

/** In a worker of `--workers`: the channel to the primary, opened before anything else can arrive on it. */
const link = cluster.isWorker ? new PrimaryLink() : null;

const USAGE = `Usage: streamstack [ROOT] [options]

Serve the documents under ROOT (default: the current directory), or what a
rule file describes.

Options:
  -p, --port N        port to listen on (0 picks a free one; default 8080)
      --host ADDR     address to listen on (default 127.0.0.1)
      --rules FILE    the rule file; ROOT, when given, becomes its ServerRoot
      --plugin MODULE load a converter plugin (repeatable)
      --check         validate the rule file and plugins, then exit
      --cors[=ORIGIN] let pages from ORIGIN read every path (bare: any origin, *)
      --spa[=FILE]    serve FILE under ROOT for unknown paths a browser asks for
                      (bare: index.html)
      --tls-cert FILE --tls-key FILE
                      serve https with this certificate and key
      --tls-self-signed
                      serve https with a certificate made for localhost
      --workers N     N worker processes on the port (auto: one per CPU)
      --live          HTML pages reload by themselves when a file under the
                      root changes (stylesheets are swapped in place)
  -h, --help          show this help
  -v, --version       show the version
`;

class UsageError extends Error {}
class StartError extends Error {}

function version(): string {
  const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

interface Flags {
  root: string | undefined;
  port: number | undefined;
  host: string | undefined;
  rules: string | undefined;
  plugins: string[];
  check: boolean;
  cors: string | undefined;
  /** The fallback document's decoded path. */
  spa: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsSelfSigned: boolean;
  workers: number | 'auto' | undefined;
  live: boolean;
  help: boolean;
  version: boolean;
}

/**
 * `--cors` and `--spa` take a value only in the `=` form, so a bare one never
 * takes the ROOT after it: it becomes its default before parseArgs sees it.
 */
function withDefaults(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (end !== -1 && i > end ? a : a === '--cors' ? '--cors=*' : a === '--spa' ? '--spa=index.html' : a));
}

function parseFlags(argv: string[]): Flags {
  let parsed;
  try {
    parsed = parseArgs({
      args: withDefaults(argv),
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        rules: { type: 'string' },
        plugin: { type: 'string', multiple: true },
        check: { type: 'boolean' },
        cors: { type: 'string' },
        spa: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-self-signed': { type: 'boolean' },
        workers: { type: 'string' },
        live: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`one ROOT expected, got ${positionals.length}: ${positionals.join(' ')}`);
  let port: number | undefined;
  if (values.port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(values.port) || Number(values.port) > 65535) {
      throw new UsageError(`--port expects a number from 0 to 65535, got '${values.port}'`);
    }
    port = Number(values.port);
  }
  if (values.host !== undefined && values.host === '') throw new UsageError('--host expects an address');
  if (values.cors !== undefined && parseOrigin(values.cors) instanceof Expected) {
    throw new UsageError(`--cors expects * or an origin like https://app.example, got '${values.cors}'`);
  }
  const spa = values.spa?.replace(/^(\.\/)+/, '');
  if (spa !== undefined && (spa === '' || spa.startsWith('/') || spa.endsWith('/') || /(^|\/)\.\.(\/|$)/.test(spa))) {
    throw new UsageError(`--spa expects a file name relative to the root, like index.html, got '${values.spa}'`);
  }
  const workers = values.workers === undefined ? undefined : parseWorkers(values.workers);
  if (workers instanceof Expected) throw new UsageError(`--workers expects a number from 1 to 1024 or auto, got '${values.workers}'`);
  if (values['tls-self-signed'] === true && (values['tls-cert'] !== undefined || values['tls-key'] !== undefined)) {
    throw new UsageError('--tls-self-signed excludes --tls-cert and --tls-key');
  }
  return {
    root: positionals[0],
    port,
    host: values.host,
    rules: values.rules,
    plugins: values.plugin ?? [],
    check: values.check ?? false,
    cors: values.cors,
    spa: spa === undefined ? undefined : '/' + spa,
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    tlsSelfSigned: values['tls-self-signed'] ?? false,
    workers,
    live: values.live ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

async function readRules(flags: Flags): Promise<RuleSet> {
  if (flags.rules === undefined) return defaultRules(path.resolve(flags.root ?? '.'));
  return loadRules(flags.rules, flags.root === undefined ? {} : { serverRoot: flags.root });
}

async function loadPlugins(server: Server | null, rules: RuleSet, flags: Flags): Promise<void> {
  const plugins = [
    ...rules.converters.map((c) => ({ module: c.module, quality: c.quality, where: `${c.file}:${c.line}` })),
    ...flags.plugins.map((m) => ({ module: path.resolve(m), quality: undefined, where: '--plugin' })),
  ];
  for (const p of plugins) {
    let converters;
    try {
      converters = await loadPlugin(p.module, p.quality);
    } catch (err) {
      throw new StartError(`${p.where}: ${(err as Error).message}`);
    }
    if (server !== null) for (const c of converters) server.registerConverter(c);
  }
}

/** The access log the rules ask for (see access-log.ts); a file that cannot be opened stops the start. */
function openLog(rules: RuleSet): AccessLog | null {
  try {
    return openAccessLog(rules.settings, { isTTY: process.stdout.isTTY === true, color: useColor(process.env) });
  } catch (err) {
    throw new StartError(`cannot open the access log ${rules.settings.accessLog}: ${(err as Error).message}`);
  }
}

/** After a restart: the same log if its file and format are unchanged, else the new one (the old kept if it fails). */
function reopenLog(log: AccessLog | null, next: RuleSet): AccessLog | null {
  const { accessLog, logFormat } = next.settings;
  if (log !== null && log.sink.path === (accessLog ?? '-') && log.format === (accessLog === undefined ? 'terminal' : logFormat ?? 'common')) return log;
  let fresh: AccessLog | null;
  try {
    fresh = openLog(next);
  } catch (err) {
    process.stderr.write(`streamstack: ${(err as Error).message}; the old log is kept\n`);
    return log;
  }
  void log?.sink.close();
  return fresh;
}

/** The certificate and key files: the flags (relative to the working directory), else TLSCertificate and TLSKey. */
function tlsFiles(flags: Flags, rules: RuleSet): TlsFiles | null {
  const cert = flags.tlsCert !== undefined ? path.resolve(flags.tlsCert) : rules.settings.tlsCertificate;
  const key = flags.tlsKey !== undefined ? path.resolve(flags.tlsKey) : rules.settings.tlsKey;
  if (cert === undefined && key === undefined) return null;
  if (cert === undefined) throw new UsageError('a TLS key needs a certificate (--tls-cert or TLSCertificate)');
  if (key === undefined) throw new UsageError('a TLS certificate needs a key (--tls-key or TLSKey)');
  return { cert, key };
}

/** SIGHUP: the certificate and key read again; a pair that cannot be used leaves the old one in force. */
function reloadTls(server: Server, old: TlsFiles, current: () => TlsFiles | null): void {
  let files = old;
  try {
    files = current() ?? old;
    server.http.setSecureContext(readTlsFiles(files));
    process.stdout.write(`streamstack: certificate reloaded from ${files.cert}\n`);
  } catch (err) {
    process.stderr.write(`streamstack: ${(err as Error).message}; the old certificate is kept\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`streamstack ${version()}\n`);
    return 0;
  }
  const rules = await readRules(flags);
  if (flags.check) {
    await loadPlugins(null, rules, flags);
    process.stdout.write(`${rules.file ?? 'default rules'}: OK\n`);
    return 0;
  }
  const files = flags.tlsSelfSigned ? null : tlsFiles(flags, rules);
  if (rules.settings.redirectHttp !== undefined && files === null && !flags.tlsSelfSigned) {
    throw new UsageError('RedirectHTTP needs TLS (--tls-cert and --tls-key, TLSCertificate and TLSKey, or --tls-self-signed)');
  }
  let secure;
  try {
    // Workers share the certificate their primary made: one for every connection.
    secure = flags.tlsSelfSigned ? (link === null ? await selfSigned() : (await link.setup).tls) : files === null ? undefined : readTlsFiles(files);
  } catch (err) {
    throw err instanceof TlsFileError ? new StartError(err.message) : err;
  }
  // The flag wins over the directive; a worker is one process whatever they say.
  const workers = link === null ? workerCount(flags.workers ?? rules.settings.workers, availableParallelism) : 1;
  if (workers > 1) return runPrimary({ count: workers, setup: flags.tlsSelfSigned && secure !== undefined ? { tls: secure } : {} });
  return serve(flags, rules, files, secure);
}

/** The server, in this process: a single one, or a worker of `--workers`. */
async function serve(flags: Flags, rules: RuleSet, files: TlsFiles | null, secure: { cert: string; key: string } | undefined): Promise<number> {
  let log = openLog(rules);
  const server = new Server(rules, {
    tls: secure,
    events: {
      onReply: (request, reply, bytes, peer) => log?.onReply(request, reply, bytes, peer),
      onCut: (request, reply, bytes) => log?.onCut(request, reply, bytes),
    },
    ...(flags.cors !== undefined && { cors: flags.cors }),
    ...(flags.spa !== undefined && { spa: flags.spa }),
    // PUT and DELETE commit under a lock every worker honours; the status page adds up every worker's numbers.
    ...(link !== null && { file: { sharedLock: link.locks }, gatherStatus: (own: Status) => link.gatherStatus(own) }),
    ...(flags.live && { live: true }),
  });
  await loadPlugins(server, rules, flags);
  link?.answerStatus(() => snapshot(server));
  if (link !== null) {
    // The workers' HTTP caches act as one: each tells the others what it invalidated, wrote and deleted.
    server.proxyCache.setPeers(link.cachePeers);
    link.onCache((m) => void server.proxyCache.fromPeer(m));
  }
  // Signals are handled before the URL is printed: whoever reads it may signal at once.
  let listening = false;
  let early: string | null = null;
  let stop: (signal: string) => void = () => {};
  // A worker's primary says what a single process says about stopping, once for all.
  const say = (line: string): void => {
    if (link === null) process.stdout.write(line);
  };
  const stopped = new Promise<number>((resolve) => {
    stop = (signal) => {
      say(`streamstack: ${signal}, stopping\n`);
      server.close(server.rules.settings.graceTimeout).then(() => log?.sink.close()).then(() => resolve(0));
    };
  });
  // Signals of this process, and for a worker the ones its primary relays:
  // a terminal's ^C reaches both, and the pair is one stop, not two.
  let signals = 0;
  let relayed = false;
  const onStop = (signal: string, how: 'own' | 'relayed' | 'forced') => {
    const first = signals === 0 && !relayed;
    if (how === 'own') signals++;
    else relayed = true;
    if (how === 'forced' || signals > 1) {
      // A fast stop, asked for: what is in flight is cut, and the exit is clean.
      say(`streamstack: ${signal} again, exiting now\n`);
      log?.sink.flushSync();
      process.exit(0);
    }
    if (!first) return;
    if (listening) stop(signal);
    else early = signal;
  };
  const restart = (): void => {
    readRules(flags).then(
      (next) => {
        log = reopenLog(log, next);
        server.setRules(next);
        process.stdout.write(`streamstack: restarted with ${next.file ?? next.serverRoot}\n`);
        if (files !== null) reloadTls(server, files, () => tlsFiles(flags, next));
      },
      (err: unknown) => {
        process.stderr.write(`streamstack: restart refused, old rules kept: ${(err as Error).message}\n`);
        if (files !== null) reloadTls(server, files, () => files);
      },
    );
  };
  process.on('SIGTERM', () => onStop('SIGTERM', 'own'));
  process.on('SIGINT', () => onStop('SIGINT', 'own'));
  process.on('SIGUSR1', () => log?.sink.reopen());
  process.on('SIGHUP', restart);
  if (link !== null) {
    link.onSignal((name: RelayedSignal, force: boolean) => {
      if (name === 'SIGHUP') restart();
      else if (name === 'SIGUSR1') log?.sink.reopen();
      else onStop(name, force ? 'forced' : 'relayed');
    });
    // The primary gone (killed): the cluster ends this worker at once; what the log holds is written first.
    process.on('exit', () => log?.sink.flushSync());
  }
  const host = flags.host ?? rules.settings.host ?? '127.0.0.1';
  const port = flags.port ?? rules.settings.port ?? 8080;
  let address;
  try {
    address = await server.listen(port, host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new StartError(`cannot listen on ${host}:${port}: ${why}`);
  }
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const lines: string[] = [];
  const redirect = rules.settings.redirectHttp;
  if (redirect !== undefined) {
    let plain;
    try {
      plain = await server.listenRedirect(redirect, host, address.port);
    } catch (err) {
      await server.close(0);
      throw new StartError(`cannot listen on ${host}:${redirect}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    lines.push(`streamstack: redirecting http://${shown}:${plain.port}/ to https\n`);
  }
  if (server.live !== null) lines.push(`streamstack: live reload: pages reload when a file under ${server.live.root} changes\n`);
  listening = true;
  if (flags.tlsSelfSigned) lines.push('streamstack: using a self-signed certificate for localhost and 127.0.0.1 (for development only)\n');
  lines.push(`streamstack: serving ${servingWhat(rules)} at ${secure === undefined ? 'http' : 'https'}://${shown}:${address.port}/\n`);
  if (link === null) process.stdout.write(lines.join(''));
  else link.listening(lines);
  if (early !== null) stop(early);
  return stopped;
}

/**
 * What the start line says is served: the root and the rule file, each
 * relative to the working directory when inside it
 * (`example/ (rules/default.rules)`), else absolute.
 */
function servingWhat(rules: RuleSet): string {
  const near = (p: string): string => {
    const rel = path.relative(process.cwd(), path.resolve(p));
    return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(p) : rel;
  };
  const root = near(rules.serverRoot);
  return `${root.endsWith('/') ? root : root + '/'} (${rules.file === null ? 'no rule file' : near(rules.file)})`;
}

/** What a failed start prints on stderr, and the exit code. */
function failure(err: unknown): { code: number; text: string } {
  if (err instanceof UsageError) return { code: 2, text: `streamstack: ${err.message} (see --help)\n` };
  if (err instanceof RuleFileError) return { code: 2, text: err.message + '\n' };
  if (err instanceof StartError) return { code: 1, text: `streamstack: ${err.message}\n` };
  return { code: 1, text: `streamstack: ${(err as Error)?.message ?? String(err)}\n` };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const { code, text } = failure(err);
    // A worker's failure is told by its primary, once for all workers.
    if (link !== null) void link.failed(code, text).then(() => process.exit(code));
    else {
      process.stderr.write(text);
      process.exit(code);
    }
  },
);
