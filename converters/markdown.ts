// The example plugin: text/markdown → text/html with `marked` (GitHub
// flavoured). libwww counterpart: a presenter/converter added with
// HTConversion_add. It is NOT a built-in: load it with the rule line
// `Converter converters/markdown.js` or `--plugin converters/markdown.js`.
//
// Markdown cannot be rendered before the whole document is known (reference
// links may come last), so the converter collects the source up to MAX_SOURCE
// bytes — past that it fails rather than hold an unbounded body — and renders
// a complete UTF-8 HTML page at the end.

import { Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';
import { Marked } from 'marked';
import type { Converter, ConverterContext } from '../src/converter.js';

export const MAX_SOURCE = 4 * 1024 * 1024;

const marked = new Marked({ gfm: true, async: false });

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escape = (text: string): string => text.replace(/[&<>"]/g, (c) => ESCAPES[c]!);

/** The first level-one heading, else the document's file name. */
function titleOf(source: string, path: string | undefined): string {
  const heading = /^#[ \t]+(.+?)[ \t#]*$/m.exec(source);
  if (heading) return heading[1]!;
  const name = path?.slice(path.lastIndexOf('/') + 1) ?? '';
  try {
    return decodeURIComponent(name) || 'Document';
  } catch {
    return name || 'Document';
  }
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n`
    + `<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escape(title)}</title>\n`
    + '<style>body{font:16px/1.6 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}'
    + 'pre,code{font-family:ui-monospace,monospace;background:#f4f4f4;border-radius:4px}pre{padding:.8rem;overflow:auto}'
    + 'code{padding:.1em .3em}pre code{padding:0}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .6rem}'
    + '@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}pre,code{background:#222}}</style>\n'
    + `</head>\n<body>\n${body}</body>\n</html>\n`;
}

export class MarkdownToHtml extends Transform {
  #chunks: Buffer[] = [];
  #size = 0;
  #charset: string;
  #path: string | undefined;

  constructor(context: ConverterContext) {
    super();
    const charset = context.from.params.charset ?? 'utf-8';
    this.#charset = iconv.encodingExists(charset) ? charset : 'utf-8';
    this.#path = context.request?.path;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > MAX_SOURCE) {
      this.#chunks = [];
      callback(new Error(`markdown source larger than ${MAX_SOURCE} bytes`));
      return;
    }
    this.#chunks.push(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const source = iconv.decode(Buffer.concat(this.#chunks, this.#size), this.#charset);
    this.#chunks = [];
    let html: string;
    try {
      html = marked.parse(source, { async: false });
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback(null, Buffer.from(page(titleOf(source, this.#path), html), 'utf8'));
  }
}

const converters: Converter[] = [
  { from: 'text/markdown', to: 'text/html', quality: 1, create: (context) => new MarkdownToHtml(context) },
  { from: 'text/x-markdown', to: 'text/html', quality: 1, create: (context) => new MarkdownToHtml(context) },
];

export default converters;
