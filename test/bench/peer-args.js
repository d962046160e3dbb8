// The command lines of the benchmark's scripts: every peer's, which it shares
// with streamstack's CLI (`node PEER.js ROOT --port N [--host ADDR]`; the peer
// prints its URL once listening), and the options of run.js and soak.js.

import { parseArgs } from 'node:util';
import * as path from 'node:path';

export function peerArgs(name) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string', short: 'p', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  if (positionals.length !== 1) {
    process.stderr.write(`${name}: usage: ${name} ROOT --port N [--host ADDR]\n`);
    process.exit(2);
  }
  return { root: path.resolve(positionals[0]), port: Number(values.port), host: values.host };
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
