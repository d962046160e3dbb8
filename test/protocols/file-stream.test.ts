// FileStream: exact bytes as a plain stream and when it writes itself;
// bounded memory for a slow socket; never closes under a read in flight.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { FileStream, CHUNK, LARGE, bufferStats } from '../../protocols/file-stream.js';

let dir: string;
let file: string;
let data: Buffer;
let fd: number;
const SIZE = 3 * LARGE + 12345;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-fs-'));
  file = path.join(dir, 'data.bin');
  data = Buffer.alloc(SIZE);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  fs.writeFileSync(file, data);
  fd = fs.openSync(file, 'r');
});
afterAll(() => {
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A socket stand-in that takes `delay` ms per chunk and records what it got. */
function slowSink(delay: number) {
  const chunks: Buffer[] = [];
  let maxInFlight = 0;
  let inFlight = 0;
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _e, cb) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      chunks.push(Buffer.from(chunk)); // copy now: the buffer is reused after cb
      setTimeout(() => {
        inFlight--;
        cb();
      }, delay);
    },
  });
  return { sink, chunks, max: () => maxInFlight };
}

describe('FileStream', () => {
  it.each([[0, SIZE - 1], [100, 100], [CHUNK - 1, 3 * CHUNK + 7], [LARGE - 1, 2 * LARGE + 7], [SIZE - 10, SIZE - 1]])(
    'reads bytes %i…%i as a plain Readable', async (start, end) => {
      const parts: Buffer[] = [];
      for await (const c of new FileStream(fd, start, end)) parts.push(c as Buffer);
      expect(Buffer.concat(parts).equals(data.subarray(start, end + 1))).toBe(true);
    });

  it('writes itself with at most two buffers in flight, bytes exact', async () => {
    const { sink, chunks, max } = slowSink(5);
    const stream = new FileStream(fd, 10, data.length - 1);
    let closed = false;
    stream.on('close', () => (closed = true));
    let progress = 0;
    const err = await new Promise<Error | null>((resolve) => stream.writeTo(sink, () => progress++, resolve));
    expect(err).toBeNull();
    expect(Buffer.concat(chunks).equals(data.subarray(10))).toBe(true);
    expect(max()).toBeLessThanOrEqual(2);
    expect(progress).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(true);
  });

  it('writes small ranges with small buffers, exact at every boundary', async () => {
    for (const [start, end] of [[0, 0], [5, CHUNK + 4], [CHUNK, 3 * CHUNK - 1], [SIZE - 2 * CHUNK, SIZE - 1]]) {
      const { sink, chunks } = slowSink(0);
      const stream = new FileStream(fd, start!, end!);
      const err = await new Promise<Error | null>((resolve) => stream.writeTo(sink, () => {}, resolve));
      expect(err).toBeNull();
      expect(Buffer.concat(chunks).equals(data.subarray(start, end! + 1))).toBe(true);
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(CHUNK);
    }
  });

  it('lends its large buffers to at most eight downloads at once; the rest read 64 KiB at a time', async () => {
    const sinks = Array.from({ length: 12 }, () => slowSink(2));
    const runs = sinks.map(({ sink }) => new Promise<Error | null>((resolve) =>
      new FileStream(fd, 0, data.length - 1).writeTo(sink, () => {}, resolve)));
    expect(await Promise.all(runs)).toEqual(sinks.map(() => null));
    const sizes = sinks.map(({ chunks }) => Math.max(...chunks.map((c) => c.length)));
    expect(sizes.filter((s) => s === LARGE)).toHaveLength(8);
    expect(sizes.filter((s) => s === CHUNK)).toHaveLength(4);
    for (const { chunks } of sinks) expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(bufferStats().large).toBeLessThanOrEqual(16);
  });

  it('gets its buffers back from a socket that failed: a hundred aborted downloads allocate nothing new', async () => {
    /** A socket that fails its second write, after the first is in flight. */
    const failing = () => {
      let writes = 0;
      return new Writable({
        write(_chunk, _e, cb) {
          if (++writes === 2) return void setTimeout(() => cb(new Error('connection reset')), 1);
          setTimeout(cb, 3);
        },
      }).on('error', () => {});
    };
    const abort = () => new Promise<Error | null>((resolve) =>
      new FileStream(fd, 0, data.length - 1).writeTo(failing(), () => {}, resolve));
    expect(await abort()).not.toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    const before = bufferStats().allocated;
    for (let i = 0; i < 100; i++) expect((await abort())?.message).toBe('connection reset');
    await new Promise((r) => setTimeout(r, 20));
    expect(bufferStats().allocated).toBe(before);
  });

  it('reports a file shorter than its range', async () => {
    const { sink } = slowSink(0);
    const stream = new FileStream(fd, data.length - 5, data.length + 100);
    const err = await new Promise<Error | null>((resolve) => stream.writeTo(sink, () => {}, resolve));
    expect(err?.message).toMatch(/shorter/);
  });

  it('stops when destroyed, and emits close only after the read in flight', async () => {
    const { sink } = slowSink(20);
    const stream = new FileStream(fd, 0, data.length - 1);
    const events: string[] = [];
    stream.on('close', () => events.push('close'));
    const done = new Promise<Error | null>((resolve) => stream.writeTo(sink, () => {}, resolve));
    setTimeout(() => stream.destroy(), 30);
    const err = await done;
    expect(err).not.toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['close']);
  });
});
