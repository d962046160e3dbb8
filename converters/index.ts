// The built-in converters, registered explicitly (no directory scanning):
// the type converters that go in the ConverterRegistry, and the content
// codings the stream stack and the body decoder stack by header order.
// libwww counterpart: HTConverterInit / HTEncoderInit in HTInit.c.
// Plugins (converters/markdown.ts is the example) are not listed here; a rule
// file's `Converter MODULE [QUALITY]` or `--plugin MODULE` loads them.

import type { Converter } from '../src/converter.js';
import type { ConverterRegistry } from '../src/registry.js';
import { brotli } from './brotli.js';
import type { ContentCoding } from './content-coding.js';
import { deflate } from './deflate.js';
import { dirToHtml, dirToJson } from './dir-listing.js';
import { gzip } from './gzip.js';
import { mimeHeader } from './mime-header.js';

export type { ContentCoding, CodingOptions } from './content-coding.js';

export const builtins: Converter[] = [mimeHeader, dirToHtml, dirToJson];

/** In the server's order of preference when a client weighs them equally. */
export const codings: readonly ContentCoding[] = [brotli, gzip, deflate];

const byName = new Map<string, ContentCoding>();
for (const coding of codings) {
  byName.set(coding.name, coding);
  for (const alias of coding.aliases) byName.set(alias, coding);
}

/** A coding by its Content-Encoding token or alias (lower-case), if we have it. */
export function codingByName(name: string): ContentCoding | undefined {
  return byName.get(name);
}

export function registerBuiltins(registry: ConverterRegistry): void {
  for (const converter of builtins) registry.register(converter);
}
