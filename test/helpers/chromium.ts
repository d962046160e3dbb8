// vitest globalSetup: the browser tests need Debian's chromium. Where it is
// missing and this process may install packages (root with apt-get), it is
// installed first, as .ci/run does; elsewhere the run stops with one line
// naming the command. Browser tests are never skipped in silence.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const INSTALL = 'apt-get update && apt-get install -y chromium';

export interface Host {
  exists(file: string): boolean;
  root: boolean;
  say(line: string): void;
  run(command: string): void;
}

const host: Host = {
  exists: existsSync,
  root: typeof process.getuid === 'function' && process.getuid() === 0,
  say: (line) => void process.stdout.write(line + '\n'),
  run: (command) => void execFileSync('/bin/sh', ['-c', command], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }),
};

/** Makes sure CHROMIUM exists, installing it where allowed; throws one line otherwise. */
export function ensureChromium(h: Host = host): void {
  if (h.exists(CHROMIUM)) return;
  if (!h.root || !h.exists('/usr/bin/apt-get')) {
    throw new Error(`the browser tests need ${CHROMIUM}: run \`sudo sh -c '${INSTALL}'\` (Debian's chromium package)`);
  }
  h.say(`streamstack tests: installing Debian's chromium for the browser tests (${INSTALL})`);
  h.run(INSTALL);
  if (!h.exists(CHROMIUM)) throw new Error(`installing chromium did not give ${CHROMIUM}`);
}

export default function setup(): void {
  ensureChromium();
}
