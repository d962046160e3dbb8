import { describe, it, expect } from 'vitest';
import { Readable } from 'node:stream';
import { ConverterRegistry } from '../../src/registry.js';
import { registerBuiltins } from '../../converters/index.js';
import type { HeadEvent } from '../../converters/mime-header.js';

async function run(pieces: string[]): Promise<{ events: HeadEvent[]; error: unknown }> {
  const registry = new ConverterRegistry();
  registerBuiltins(registry);
  const converter = registry.select('message/http', 'message/http-head');
  expect(converter).not.toBeNull();
  const stream = converter!.create({ request: null, from: { type: 'message/http', params: {}, codings: [] }, to: { type: 'message/http-head', params: {}, codings: [] } });
  const events: HeadEvent[] = [];
  let error: unknown = null;
  Readable.from(pieces.map((p) => Buffer.from(p, 'latin1'))).pipe(stream);
  await new Promise<void>((resolve) => {
    stream.on('data', (e: HeadEvent) => events.push(e));
    stream.on('end', () => resolve());
    stream.on('error', (err) => {
      error = err;
      resolve();
    });
  });
  return { events, error };
}

describe('the MIME header parser converter (message/http → message/http-head)', () => {
  it('is found in the registry and parses pipelined messages split anywhere', async () => {
    const text = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc';
    for (const at of [1, 10, 30, 60]) {
      const { events, error } = await run([text.slice(0, at), text.slice(at)]);
      expect(error).toBeNull();
      const heads = events.filter((e): e is { head: never } => 'head' in e).map((e) => (e.head as { target: string }).target);
      expect(heads).toEqual(['/a', '/b']);
      const body = Buffer.concat(events.filter((e): e is { body: Buffer } => 'body' in e).map((e) => e.body)).toString();
      expect(body).toBe('abc');
      expect(events.filter((e) => 'end' in e)).toHaveLength(2);
    }
  });

  it('errors with the parser code on a framing error and on a truncated message', async () => {
    const bad = await run(['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n']);
    expect((bad.error as { code: string }).code).toBe('WWW_ERR_PARSE_TE_WITH_CL');
    const cut = await run(['GET / HTTP/1.1\r\nHo']);
    expect((cut.error as { status: number }).status).toBe(400);
  });
});
