// Converter (libwww HTConverter): a registration that turns one Format into
// another with a Node stream. Built-ins and plugins register the very same
// objects; see src/registry.ts for how one is chosen.

import type { Duplex, Transform } from 'node:stream';
import type { Format } from './format.js';
import type { Request } from './request.js';

export interface ConverterContext {
  readonly request: Request | null;
  readonly from: Format;
  readonly to: Format;
}

export interface Converter {
  /** Source format pattern: 'text/markdown', 'text/*', '*\/*', 'www/dir'. */
  readonly from: string;
  /** Target format: 'text/html', 'application/json'… */
  readonly to: string;
  /** 0..1, default 1. */
  readonly quality?: number;
  create(context: ConverterContext): Transform | Duplex;
}
