// vitest globalSetup: the browser tests need Debian's chromium. Where it is
// missing and this process may install packages (root with apt-get), it is
// installed first, as .ci/run does; elsewhere the run stops with one line
// naming the command. Browser tests are never skipped in silence.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
const INSTALL = 'apt-get update && apt-get install -y chromium';

export default function setup(): void {
  if (existsSync(CHROMIUM)) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`the browser tests need ${CHROMIUM}: run \`sudo ${INSTALL}\` (Debian's chromium package)`);
  }
  process.stdout.write(`streamstack tests: installing Debian's chromium for the browser tests (${INSTALL})\n`);
  execFileSync('/bin/sh', ['-c', INSTALL], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!existsSync(CHROMIUM)) throw new Error(`installing chromium did not give ${CHROMIUM}`);
}
