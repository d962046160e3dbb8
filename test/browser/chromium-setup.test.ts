// The set-up of the browser tests on a machine without chromium: installed
// where the run may install packages, else one line naming the command.

import { describe, expect, it } from 'vitest';
import { CHROMIUM, INSTALL, ensureChromium, type Host } from '../helpers/chromium.js';

function host(files: string[], root: boolean, installs: boolean): Host & { said: string[]; ran: string[] } {
  const present = new Set(files);
  const h = {
    said: [] as string[],
    ran: [] as string[],
    root,
    exists: (f: string) => present.has(f),
    say: (line: string) => void h.said.push(line),
    run: (command: string) => {
      h.ran.push(command);
      if (installs) present.add(CHROMIUM);
    },
  };
  return h;
}

describe('the browser tests\' chromium', () => {
  it('present: nothing is run', () => {
    const h = host([CHROMIUM, '/usr/bin/apt-get'], true, true);
    ensureChromium(h);
    expect(h.ran).toEqual([]);
  });

  it('missing, as root with apt-get: installed first, and said so', () => {
    const h = host(['/usr/bin/apt-get'], true, true);
    ensureChromium(h);
    expect(h.ran).toEqual([INSTALL]);
    expect(h.said.join('\n')).toContain('installing');
  });

  it('missing, not root: one line naming the install command, nothing run', () => {
    const h = host(['/usr/bin/apt-get'], false, true);
    expect(() => ensureChromium(h)).toThrow(/^the browser tests need \/usr\/bin\/chromium: run `sudo sh -c 'apt-get update && apt-get install -y chromium'`/);
    expect(h.ran).toEqual([]);
  });

  it('an install that gives no chromium stops the run', () => {
    const h = host(['/usr/bin/apt-get'], true, false);
    expect(() => ensureChromium(h)).toThrow(/did not give/);
  });
});
