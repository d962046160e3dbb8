// The live-reload filter (text/html → text/html): the script goes before the
// first `</body` in any case, wherever the chunks split it, at the end when
// there is none, never into a UTF-16 page; the rest of the bytes pass as they
// are; a slow consumer slows the source. And the registry's filters: a
// registration from a type to itself is never a step between types.

import { describe, expect, it } from 'vitest';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LIVE_SNIPPET, LiveReloadInjector, liveReload } from '../../converters/live-reload.js';
import { ConverterRegistry } from '../../src/registry.js';
import { makeFormat } from '../../src/format.js';
import { stackReply } from '../../src/stack.js';
import { bodyBytes, collect, CountingSource, makeRequest, slowConsumer } from '../stack/fixtures.js';

const S = LIVE_SNIPPET.toString('latin1');

async function run(pieces: Buffer[]): Promise<string> {
  return (await collect(Readable.from(pieces).pipe(new LiveReloadInjector()))).toString('latin1');
}

describe('the injector', () => {
  const page = '<html><body><p>a < b</p><!-- </bod --></Body >\n</html>\n';
  const want = page.replace('</Body >', S + '</Body >');

  it('puts the script before the first </body, split at every offset into two and into bytes', async () => {
    const bytes = Buffer.from(page, 'latin1');
    for (let i = 0; i <= bytes.length; i++) {
      expect([i, await run([bytes.subarray(0, i), bytes.subarray(i)])]).toEqual([i, want]);
    }
    expect(await run([...bytes].map((b) => Buffer.from([b])))).toBe(want);
  });

  it('appends it to a page without </body>, and to an empty one', async () => {
    expect(await run([Buffer.from('<p>fragment</p>')])).toBe('<p>fragment</p>' + S);
    expect(await run([Buffer.from('<p>ends with <')])).toBe('<p>ends with <' + S);
    expect(await run([])).toBe(S);
    expect(await run([Buffer.from('x')])).toBe('x' + S);
  });

  it('leaves a UTF-16 page alone (its bytes are not ASCII)', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<body></body>', 'utf16le')]);
    expect((await collect(Readable.from([utf16.subarray(0, 1), utf16.subarray(1)]).pipe(new LiveReloadInjector()))).equals(utf16)).toBe(true);
  });

  it('passes a large page through with backpressure: a slow consumer slows the source', async () => {
    const total = 4 * 1024 * 1024;
    const source = new CountingSource(total, (offset, size) => Buffer.alloc(size, offset % 2 === 0 ? 'a' : '<'));
    let maxAhead = 0;
    const sink = slowConsumer(() => (maxAhead = Math.max(maxAhead, source.produced - sink.received)), 0);
    await pipeline(source, new LiveReloadInjector(), sink);
    expect(sink.received).toBe(total + LIVE_SNIPPET.length);
    expect(maxAhead).toBeLessThan(512 * 1024);
  });
});

describe('filters in the registry and the stack', () => {
  it('a registration from a type to itself is no step between types, only a filter of that type', () => {
    const registry = new ConverterRegistry();
    registry.register(liveReload);
    expect(registry.select('text/html', 'text/html')).toBeNull();
    expect(registry.candidates('text/html')).toEqual([]);
    expect(registry.filterFor('text/html')).toBe(liveReload);
    expect(registry.filterFor('text/plain')).toBeNull();
    const local = { from: 'text/html', to: 'text/html', create: () => new Transform() };
    expect(registry.filterFor('text/html', [local])).toBe(local);
  });

  it('the stack runs it on text/html, not under no-transform nor into a UTF-16 page', async () => {
    const registry = new ConverterRegistry();
    registry.register(liveReload);
    const html = (headers: Record<string, string> = {}, charset?: string) => ({
      status: 200, headers: { ETag: '"p1"', ...headers }, format: makeFormat('text/html', charset ? { charset } : undefined), length: 13, body: Buffer.from('<body></body>'),
    });
    const on = stackReply(html(), makeRequest({}), registry);
    expect((await bodyBytes(on.body)).toString()).toBe('<body>' + LIVE_SNIPPET.toString() + '</body>');
    expect(on.headers.ETag).toBe('W/"p1-f.html"');
    expect(on.length).toBe(-1);
    const kept = stackReply(html({ 'Cache-Control': 'no-transform' }), makeRequest({}), registry);
    expect((await bodyBytes(kept.body)).toString()).toBe('<body></body>');
    const wide = stackReply(html({}, 'utf-16le'), makeRequest({}), registry);
    expect((await bodyBytes(wide.body)).toString()).toBe('<body></body>');
  });
});
