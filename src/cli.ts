#!/usr/bin/env node
// The command line (the Mini Server's main): register protocol modules and
// converters, read flags, the rule file and plugins, then listen. SIGHUP is a
// restart (reread and validate the rules, swap them in, flush the anchors);
// SIGTERM and SIGINT stop accepting and finish what is in flight within
// GraceTimeout, and a second one exits at once (a fast stop, as nginx's);
// SIGUSR1 reopens the access log after a rotation. With TLS, SIGHUP also
// rereads the certificate and key (a renewal without a restart).
// Exit codes: 0 clean stop (a fast one too), 1 could not start or run, 2 bad
// command line or configuration.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from './server.js';
import { defaultRules, loadRules, RuleFileError } from './rules/index.js';
import type { RuleSet } from './rules/index.js';
import { Expected, parseOrigin } from './rules/values.js';
import { loadPlugin } from './plugins.js';
import { openAccessLog, useColor } from './access-log.js';
import type { AccessLog } from './access-log.js';
import { readTlsFiles, selfSigned, TlsFileError } from './tls.js';
import type { TlsFiles } from './tls.js';

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
    secure = flags.tlsSelfSigned ? await selfSigned() : files === null ? undefined : readTlsFiles(files);
  } catch (err) {
    throw err instanceof TlsFileError ? new StartError(err.message) : err;
  }
  let log = openLog(rules);
  const server = new Server(rules, {
    tls: secure,
    events: { onReply: (request, reply, bytes, peer) => log?.onReply(request, reply, bytes, peer) },
    ...(flags.cors !== undefined && { cors: flags.cors }),
    ...(flags.spa !== undefined && { spa: flags.spa }),
    ...(flags.live && { live: true }),
  });
  await loadPlugins(server, rules, flags);
  // Signals are handled before the URL is printed: whoever reads it may signal at once.
  let listening = false;
  let early: string | null = null;
  let stop: (signal: string) => void = () => {};
  const stopped = new Promise<number>((resolve) => {
    stop = (signal) => {
      process.stdout.write(`streamstack: ${signal}, stopping\n`);
      server.close(server.rules.settings.graceTimeout).then(() => log?.sink.close()).then(() => resolve(0));
    };
  });
  let signals = 0;
  const onStop = (signal: string) => {
    if (++signals > 1) {
      // A fast stop, asked for: what is in flight is cut, and the exit is clean.
      process.stdout.write(`streamstack: ${signal} again, exiting now\n`);
      log?.sink.flushSync();
      process.exit(0);
    }
    if (listening) stop(signal);
    else early = signal;
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGUSR1', () => log?.sink.reopen());
  process.on('SIGHUP', () => {
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
  });
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
  const redirect = rules.settings.redirectHttp;
  if (redirect !== undefined) {
    let plain;
    try {
      plain = await server.listenRedirect(redirect, host, address.port);
    } catch (err) {
      await server.close(0);
      throw new StartError(`cannot listen on ${host}:${redirect}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    process.stdout.write(`streamstack: redirecting http://${shown}:${plain.port}/ to https\n`);
  }
  if (server.live !== null) process.stdout.write(`streamstack: live reload: pages reload when a file under ${server.live.root} changes\n`);
  listening = true;
  if (flags.tlsSelfSigned) process.stdout.write('streamstack: using a self-signed certificate for localhost and 127.0.0.1 (for development only)\n');
  process.stdout.write(`streamstack: serving ${rules.file ?? rules.serverRoot} at ${secure === undefined ? 'http' : 'https'}://${shown}:${address.port}/\n`);
  if (early !== null) stop(early);
  return stopped;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`streamstack: ${err.message} (see --help)\n`);
      process.exit(2);
    } else if (err instanceof RuleFileError) {
      process.stderr.write(err.message + '\n');
      process.exit(2);
    } else if (err instanceof StartError) {
      process.stderr.write(`streamstack: ${err.message}\n`);
      process.exit(1);
    } else {
      process.stderr.write(`streamstack: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(1);
    }
  },
);
