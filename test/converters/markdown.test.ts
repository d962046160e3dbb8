// The example plugin text/markdown → text/html: what it renders, its size
// cap, and the plugin seen through the stack (a browser gets HTML, curl the
// markdown, both with Vary: Accept).

import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { makeFormat } from '../../src/format.js';
import { loadPlugin } from '../../src/plugins.js';
import { ConverterRegistry } from '../../src/registry.js';
import { stackReply } from '../../src/stack.js';
import markdown, { MAX_SOURCE } from '../../converters/markdown.js';
import { bodyBytes, collect, CountingSource, makeRequest, slowConsumer } from '../stack/fixtures.js';

const DOC = `# Snow & ice <now>

Some *emphasis*, a [link](https://example.org/a?b=1&c=2) and \`code\`.

- one
- two

| a | b |
|---|---|
| 1 | 2 |

\`\`\`js
const x = 1 < 2;
\`\`\`
`;

function render(source: Buffer, charset = 'utf-8', path = '/docs/readme.md'): Promise<string> {
  const converter = markdown[0]!;
  const stream = converter.create({
    request: makeRequestAt(path),
    from: makeFormat('text/markdown', { charset }),
    to: makeFormat('text/html', { charset: 'utf-8' }),
  });
  return collect(Readable.from([source]).pipe(stream as Transform)).then((b) => b.toString('utf8'));
}

function makeRequestAt(path: string) {
  const request = makeRequest({});
  Object.defineProperty(request, 'path', { value: path });
  return request;
}

describe('the markdown plugin', () => {
  it('exports registrations in the plugin shape', () => {
    expect(markdown[0]).toMatchObject({ from: 'text/markdown', to: 'text/html', quality: 1 });
    expect(typeof markdown[0]!.create).toBe('function');
  });

  it('renders a full HTML page', async () => {
    const html = await render(Buffer.from(DOC));
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<title>Snow &amp; ice &lt;now&gt;</title>');
    // CommonMark passes inline HTML through; the title is text, so it is escaped.
    expect(html).toContain('<h1>Snow &amp; ice <now></h1>');
    expect(html).toContain('<em>emphasis</em>');
    expect(html).toContain('<a href="https://example.org/a?b=1&amp;c=2">link</a>');
    expect(html).toContain('<li>one</li>');
    expect(html).toContain('<table>');
    expect(html).toContain('const x = 1 &lt; 2;');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('takes its title from the file name when there is no heading', async () => {
    const html = await render(Buffer.from('just text'), 'utf-8', '/docs/my%20notes.md');
    expect(html).toContain('<title>my notes.md</title>');
  });

  it('reads a source declared in another charset', async () => {
    const html = await render(iconv.encode('# Café\n\nÜber naïve', 'windows-1252'), 'windows-1252');
    expect(html).toContain('<h1>Café</h1>');
    expect(html).toContain('Über naïve');
  });

  it('fails past its size cap instead of holding the body, and stops reading', async () => {
    const source = new CountingSource(64 * 1024 * 1024, (_o, n) => Buffer.alloc(n, 0x61));
    const converter = markdown[0]!.create({ request: null, from: makeFormat('text/markdown'), to: makeFormat('text/html') }) as Transform;
    const sink = slowConsumer(() => {}, 0);
    await expect(pipeline(source, converter, sink)).rejects.toThrow(/larger than/);
    expect(source.produced).toBeLessThanOrEqual(MAX_SOURCE + 4 * 64 * 1024);
    expect(source.destroyed).toBe(true);
  });

  it('renders a document just under the cap', async () => {
    const big = Buffer.from('word '.repeat(Math.floor((MAX_SOURCE - 100) / 5)));
    const html = await render(big);
    expect(html.length).toBeGreaterThan(big.length);
  }, 30_000);
});

describe('loaded as a plugin, through the stack', () => {
  const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

  async function serve(accept: string | undefined) {
    const registry = new ConverterRegistry();
    for (const c of await loadPlugin('converters/markdown.ts', undefined, process.cwd())) registry.register(c);
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    const reply = stackReply(
      { status: 200, headers: { ETag: '"md1"' }, format: makeFormat('text/markdown', { charset: 'utf-8' }), length: DOC.length, body: Buffer.from(DOC) },
      makeRequest(headers),
      registry,
    );
    return { reply, text: (await bodyBytes(reply.body)).toString() };
  }

  it('gives a browser HTML', async () => {
    const { reply, text } = await serve(BROWSER);
    expect(reply.format!.type).toBe('text/html');
    expect(reply.format!.params.charset).toBe('utf-8');
    expect(reply.headers.Vary).toContain('Accept');
    expect(reply.headers.ETag).toBe('W/"md1-to.html"');
    expect(text).toContain('<h1>');
  });

  it.each([['*/*'], [undefined], ['text/markdown']])('gives curl (Accept %j) the markdown', async (accept) => {
    const { reply, text } = await serve(accept);
    expect(reply.format!.type).toBe('text/markdown');
    expect(reply.headers.Vary).toContain('Accept');
    expect(text).toBe(DOC);
  });
});
