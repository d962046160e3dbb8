// The bounded share of the socket-level fuzzer that `npm test` runs: fixed
// seeds and a fixed number of sequences each, against the TypeScript sources,
// so every run plays the same sequences. `npm run fuzz` runs it for longer
// against dist/; a failure here prints the same report, and
// `npm run fuzz -- --seed S --only I` replays it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server } from '../../src/server.js';
import { parseRules } from '../../src/rules/index.js';
import { readBuffers } from '../../protocols/http-client-reads.js';
import { Fuzzer, report } from './fuzzer.js';

const SEEDS = [1, 2, 3, 4, 5];
const SEQUENCES = 12;

describe('socket-level fuzzing of the real server', () => {
  let fuzzer: InstanceType<typeof Fuzzer>;
  beforeAll(async () => {
    fuzzer = new Fuzzer({ Server, parseRules, readBuffers });
    await fuzzer.start();
  });
  afterAll(() => fuzzer.stop());

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${SEQUENCES} sequences keep every invariant`, async () => {
      const failures: string[] = [];
      for (let index = 0; index < SEQUENCES; index++) {
        const outcome = await fuzzer.runSequence(seed, index);
        if (outcome.problems.length === 0) continue;
        failures.push(report(outcome));
        // A server that failed is not to be trusted with the next sequence.
        await fuzzer.restart();
      }
      expect(failures.join('\n\n')).toBe('');
    }, 120_000);
  }
});
