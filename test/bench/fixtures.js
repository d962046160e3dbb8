// The benchmark's document root: made in a fresh temporary directory at start,
// removed at the end. Binary files are random (incompressible); 64k.txt is
// English-like text from a seeded generator, so every run compresses the same.

import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

export const HELLO = 'Hello, world\n'; // exactly 13 bytes

const KiB = 1024;
const MiB = 1024 * KiB;

const WORDS = (
  'the of and to in is that it was for on are as with his they at be this from have or by one had not ' +
  'but what all were when we there can an your which their said if do will each about how up out them ' +
  'then she many some so these would other into has more her two like him see time could no make than ' +
  'first been its who now people my made over did down only way find use may water long little very ' +
  'after words called just where most know get through back much before go good new write our used me ' +
  'man too any day same right look think also around another came come work three word must because ' +
  'does part even place well such here take why things help put years different away again off went ' +
  'server request response stream document anchor protocol converter header connection message'
).split(' ');

/** A deterministic generator (mulberry32), so the text is the same on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes of sentences made of common words, wrapped near 72 columns. */
export function englishText(size, seed = 2024) {
  const rand = prng(seed);
  let out = '';
  let line = '';
  let sentence = 0;
  while (out.length < size) {
    let word = WORDS[Math.floor(rand() * WORDS.length)];
    if (sentence === 0) word = word[0].toUpperCase() + word.slice(1);
    sentence++;
    if (sentence > 6 && rand() < 0.15) {
      word += rand() < 0.8 ? '.' : ',';
      if (word.endsWith('.')) sentence = 0;
    }
    if (line.length + word.length + 1 > 72) {
      out += line + '\n';
      line = '';
    }
    line += (line ? ' ' : '') + word;
  }
  return Buffer.from(out.slice(0, size), 'latin1');
}

/** Creates the fixture root; returns { root, files, remove }. */
export function makeFixtures() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'streamstack-bench-'));
  const files = {
    'hello.txt': Buffer.from(HELLO, 'latin1'),
    '100b.bin': randomBytes(100),
    '4k.bin': randomBytes(4 * KiB),
    '64k.bin': randomBytes(64 * KiB),
    '1m.bin': randomBytes(MiB),
    '16m.bin': randomBytes(16 * MiB),
    '64k.txt': englishText(64 * KiB),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(root, name), bytes);
  return {
    root,
    files,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
