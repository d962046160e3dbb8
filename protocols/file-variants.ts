// Suffix bindings and precompressed variants of the FILE module. libwww
// counterparts: HTBind (suffix → type, coding, charset; the rules' AddType,
// AddEncoding and AddCharset, then the `mime` package) and HTMulti (choosing
// among variants of one document: here the `x.br` / `x.gz` sidecars of `x`,
// as nginx's gzip_static and brotli_static do).

import mime from 'mime';
import type { Format } from '../src/format.js';
import { contentType, makeFormat } from '../src/format.js';
import { identityIsImplicit, qualityOfCoding } from '../src/negotiate.js';
import type { RuleSet } from '../src/rules/index.js';

/** Sidecar suffixes by content coding, best first (br wins a tie of q). */
export const SIDECARS = [
  { coding: 'br', suffix: '.br' },
  { coding: 'gzip', suffix: '.gz' },
] as const;
export type SidecarCoding = (typeof SIDECARS)[number]['coding'];

/** CERN's AddType ENCODING was a transfer encoding: these three mean none. */
const NO_CODING = new Set(['7bit', '8bit', 'binary', 'identity']);
const CODING_ALIASES: Readonly<Record<string, string>> = { 'x-gzip': 'gzip', 'x-compress': 'compress' };

/** A type and its Content-Type value, computed once per name and rule set. */
export interface Binding {
  readonly format: Format;
  readonly contentType: string;
}

function coding(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const lower = name.toLowerCase();
  if (NO_CODING.has(lower)) return undefined;
  return CODING_ALIASES[lower] ?? lower;
}

/**
 * The format of a file by its name: AddType first, then `mime`, else
 * application/octet-stream. A coding comes from AddType's ENCODING or from
 * AddEncoding; with AddEncoding the type is that of the name without its
 * last suffix (`notes.txt.gz` → text/plain, gzip), as CERN and Apache do.
 * A charset only when AddCharset names one: guessing would lie.
 */
export function bindingFor(name: string, rules: RuleSet | null): Binding {
  const bound = rules?.typeFor(name);
  let type = bound?.type;
  let enc = coding(bound?.encoding);
  if (enc === undefined) {
    enc = coding(rules?.encodingFor(name));
    if (enc !== undefined && type === undefined) {
      const dot = name.lastIndexOf('.');
      const inner = dot > 0 ? name.slice(0, dot) : name;
      type = rules?.typeFor(inner)?.type ?? mime.getType(inner) ?? undefined;
    }
  }
  type ??= mime.getType(name) ?? 'application/octet-stream';
  const charset = rules?.charsetFor(name);
  const format = makeFormat(type, charset ? { charset: charset.toLowerCase() } : undefined, enc ? [enc] : undefined);
  return { format, contentType: contentType(format) };
}

/**
 * Which sidecar to send for an Accept-Encoding value, or null for the
 * identity bytes (RFC 9110 §12.5.3): the coding with the highest q > 0, br
 * before gzip at equal q; identity when the client weighs it explicitly above.
 * `has` says which sidecars exist.
 */
export function chooseSidecar(acceptEncoding: string | undefined, has: (coding: SidecarCoding) => boolean): SidecarCoding | null {
  if (acceptEncoding === undefined) return null;
  let best: SidecarCoding | null = null;
  let bestQ = 0;
  for (const s of SIDECARS) {
    if (!has(s.coding)) continue;
    const q = qualityOfCoding(acceptEncoding, s.coding);
    if (q > bestQ) {
      best = s.coding;
      bestQ = q;
    }
  }
  if (best !== null && !identityIsImplicit(acceptEncoding) && qualityOfCoding(acceptEncoding, 'identity') > bestQ) return null;
  return best;
}
