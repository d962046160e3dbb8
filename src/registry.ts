// ConverterRegistry (libwww HTFormat's conversion list and HTStreamStack's
// choice): the registrations that turn one media type into another, and the
// rule that picks one. Converts nothing itself; the rule, as the README states it:
//   - request-local registrations before global ones;
//   - a match needs both `from` (a pattern: `text/*`, `*/*`) and `to`;
//   - a more specific `from` (fewer `*`) beats a higher quality;
//   - at equal specificity the higher quality wins; ties go to the newest;
//   - `from === to` means no converter at all.
// A registration whose `to` is its own `from` (`text/html` → `text/html`) is
// a filter: never a step between types, but run on every representation of
// that type the stack sends (filterFor; src/stack.ts).

import type { Converter } from './converter.js';
import type { Format } from './format.js';

/** The media type of a pattern or registration, without parameters, lower-cased. */
export function bareType(value: string): string {
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/** Whether a pattern (`*\/*`, `text/*`, `text/html`) covers a concrete type. */
export function typeMatches(pattern: string, type: string): boolean {
  if (pattern === '*/*' || pattern === type) return true;
  if (pattern.endsWith('/*')) return type.startsWith(pattern.slice(0, -1));
  return false;
}

function stars(pattern: string): number {
  return (pattern.startsWith('*/') ? 1 : 0) + (pattern.endsWith('/*') ? 1 : 0);
}

function qualityOf(converter: Converter): number {
  return converter.quality ?? 1;
}

/** Throws when a registration is not `{ from, to, quality?, create }` (plugins included). */
export function validateConverter(converter: unknown): asserts converter is Converter {
  const c = converter as Partial<Converter> | null;
  if (typeof c !== 'object' || c === null) throw new TypeError('a converter must be an object');
  if (typeof c.from !== 'string' || !c.from.includes('/')) throw new TypeError(`converter "from" must be a media type, got ${JSON.stringify(c.from)}`);
  if (typeof c.to !== 'string' || !c.to.includes('/')) throw new TypeError(`converter "to" must be a media type, got ${JSON.stringify(c.to)}`);
  if (bareType(c.to).includes('*')) throw new TypeError(`converter "to" must be a concrete media type, got ${JSON.stringify(c.to)}`);
  if (c.quality !== undefined && !(typeof c.quality === 'number' && c.quality >= 0 && c.quality <= 1)) {
    throw new TypeError(`converter quality must be a number from 0 to 1, got ${JSON.stringify(c.quality)}`);
  }
  if (typeof c.create !== 'function') throw new TypeError('converter "create" must be a function');
}

export class ConverterRegistry {
  #converters: Converter[] = [];
  /** candidates() of the global list by source type; emptied on register(). */
  #candidates = new Map<string, readonly Converter[]>();
  /** filterFor() of the global list by type; emptied on register(). */
  #filters = new Map<string, Converter | null>();

  register(converter: Converter): void {
    validateConverter(converter);
    this.#converters.push(converter);
    this.#candidates.clear();
    this.#filters.clear();
  }

  /**
   * The filter of a concrete type: a registration from that type to itself
   * (request-local first, then the newest of the highest quality), or null.
   */
  filterFor(type: string, local: readonly Converter[] = []): Converter | null {
    if (local.length > 0) {
      const found = bestFilter(local, type);
      if (found !== null) return found;
    }
    let cached = this.#filters.get(type);
    if (cached === undefined) {
      cached = bestFilter(this.#converters, type);
      this.#filters.set(type, cached);
    }
    return cached;
  }

  /** The global registrations, oldest first. */
  get converters(): readonly Converter[] {
    return this.#converters;
  }

  /**
   * The converter from `from` to `to` (a type or a pattern such as `text/*`),
   * or null when none matches or when no conversion is needed.
   */
  select(from: Format | string, to: string, local: readonly Converter[] = []): Converter | null {
    const source = typeof from === 'string' ? bareType(from) : from.type;
    const target = bareType(to);
    // from === to (or a target pattern the source already satisfies): nothing to do.
    if (typeMatches(target, source)) return null;
    if (local.length > 0) {
      const found = best(local, source, target);
      if (found !== null) return found;
    }
    return best(this.#converters, source, target);
  }

  /**
   * One converter per distinct target reachable from `from` in one step, the
   * one select() would choose; the source type itself is left out.
   */
  candidates(from: Format | string, local: readonly Converter[] = []): readonly Converter[] {
    const source = typeof from === 'string' ? bareType(from) : from.type;
    if (local.length === 0) {
      let cached = this.#candidates.get(source);
      if (cached === undefined) {
        cached = this.#collect(source, local);
        this.#candidates.set(source, cached);
      }
      return cached;
    }
    return this.#collect(source, local);
  }

  #collect(source: string, local: readonly Converter[]): readonly Converter[] {
    const targets = new Set<string>();
    for (const list of [local, this.#converters]) {
      for (const c of list) {
        const target = bareType(c.to);
        if (target !== source && typeMatches(bareType(c.from), source)) targets.add(target);
      }
    }
    const out: Converter[] = [];
    for (const target of targets) {
      const c = this.select(source, target, local);
      if (c !== null) out.push(c);
    }
    return out;
  }
}

/** The best match in one list: fewest `*` in `from`, then quality, then the newest. */
function best(list: readonly Converter[], source: string, target: string): Converter | null {
  let found: Converter | null = null;
  let foundStars = 3;
  let foundQ = -1;
  // Newest first, and only a strictly better one replaces: ties go to the newest.
  for (let i = list.length - 1; i >= 0; i--) {
    const c = list[i]!;
    const pattern = bareType(c.from);
    if (!typeMatches(pattern, source) || !typeMatches(target, bareType(c.to))) continue;
    const s = stars(pattern);
    const q = qualityOf(c);
    if (s < foundStars || (s === foundStars && q > foundQ)) {
      found = c;
      foundStars = s;
      foundQ = q;
    }
  }
  return found;
}

/** A filter of `type` in one list: `from` and `to` both that type; the highest quality, ties to the newest. */
function bestFilter(list: readonly Converter[], type: string): Converter | null {
  let found: Converter | null = null;
  let foundQ = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const c = list[i]!;
    if (bareType(c.from) !== type || bareType(c.to) !== type) continue;
    const q = qualityOf(c);
    if (q > foundQ) {
      found = c;
      foundQ = q;
    }
  }
  return found;
}
