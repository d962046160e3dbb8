// The command lines of the benchmark's scripts: every peer's, which it shares
// with streamstack's CLI (`node PEER.js ROOT --port N [--host ADDR]`, or
// UPSTREAM_URL for a proxy; the peer prints its URL once listening), and the
// options of run.js and soak.js.

import { parseArgs } from 'node:util';
import * as path from 'node:path';

/** `node PEER.js OPERAND --port N [--host ADDR]`: OPERAND as `accept` takes it (null: a usage error naming `operand`). */
function peerCommandLine(name, operand, accept) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string', short: 'p', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  const taken = positionals.length === 1 ? accept(positionals[0]) : null;
  if (taken === null) {
    process.stderr.write(`${name}: usage: ${name} ${operand} --port N [--host ADDR]\n`);
    process.exit(2);
  }
  return { taken, port: Number(values.port), host: values.host };
}

/** A file peer's command line: { root, port, host }. */
export function peerArgs(name) {
  const { taken, port, host } = peerCommandLine(name, 'ROOT', (arg) => path.resolve(arg));
  return { root: taken, port, host };
}

/** A proxy peer's command line, UPSTREAM_URL being `http://HOST:PORT/`: { upstream: { url, host, port }, port, host }. */
export function proxyPeerArgs(name) {
  const { taken, port, host } = peerCommandLine(name, 'UPSTREAM_URL', (url) => {
    const m = /^http:\/\/([^/:]+):(\d+)\/?$/.exec(url);
    return m === null ? null : { url, host: m[1], port: Number(m[2]) };
  });
  return { upstream: taken, port, host };
}

/** Listens, then prints the line the benchmark waits for; SIGTERM and SIGINT stop. */
export function listen(name, server, { port, host }) {
  server.listen(port, host, () => {
    const { port: actual } = server.address();
    process.stdout.write(`${name}: serving at http://${host}:${actual}/\n`);
  });
  server.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
}

/** The options `spec` names (plus -h/--help, which prints `usage` and exits). */
export function scriptOptions(spec, usage) {
  const { values } = parseArgs({ options: { ...spec, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return values;
}

/** The whole number an option gives, at least `min`; a clear error otherwise. */
export function wholeNumber(name, v, min) {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`--${name} expects a whole number >= ${min}, got '${v}'`);
  return Number(v);
}
