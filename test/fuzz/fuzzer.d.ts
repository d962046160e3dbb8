// Types of fuzzer.js for the vitest files that drive it.

export interface Outcome {
  seq: { seed: number; index: number; halfClose: boolean; connections: unknown[] };
  results: unknown[];
  /** Broken invariants, as sentences; empty when the sequence passed. */
  problems: string[];
}

export class Fuzzer {
  constructor(options: { Server: unknown; parseRules: unknown; readBuffers: { held: number }; halfClose?: boolean });
  readonly port: number;
  start(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  runSequence(seed: number, index: number): Promise<Outcome>;
}

/** A failed outcome as a readable report with the replay command. */
export function report(outcome: Outcome): string;
