// RuleFile: a finished, immutable rule set, what the server consults per
// request (CERN httpd's rule list and server config; the suffix bindings
// are libwww HTBind.c). A restart builds a new one and swaps it in whole.

import type { Draft, SuffixBinding, TemplateRule } from './draft.js';
import type { Template } from './template.js';
import { translate, type TranslationRule } from './translate.js';
import { authorityRuleFor } from './authority.js';
import type {
  AuthorityRule, CacheControlRule, ConverterRule, DirAccess, ProtectRule, Protection, Route, RuleSet, ServerSettings, Translation, TypeBinding,
} from './types.js';

const ALWAYS_ENABLED = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Paths whose route a rule set keeps; past it the memo starts over. */
export const ROUTE_MEMO = 10_000;
const NONE: readonly string[] = Object.freeze([]);
const DEFAULT_WELCOME: readonly string[] = Object.freeze(['index.html']);

/**
 * Suffix → value, the last listed winning. A lookup tries the name's
 * suffixes from the longest (`.tar.gz` before `.gz`), then CERN's `*.*`
 * (a suffix nothing names) and `*` (anything else).
 */
class SuffixTable<T> {
  readonly #map = new Map<string, T>();

  constructor(bindings: readonly SuffixBinding<T>[]) {
    for (const b of bindings) this.#map.set(b.suffix, b.value);
  }

  lookup(fileName: string): T | undefined {
    if (this.#map.size === 0) return undefined;
    const name = fileName.slice(fileName.lastIndexOf('/') + 1).toLowerCase();
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) {
      const v = this.#map.get(name.slice(i));
      if (v !== undefined) return v;
    }
    return (name.indexOf('.', 1) > 0 ? this.#map.get('*.*') : undefined) ?? this.#map.get('*');
  }
}

function firstMatch<T>(rules: readonly TemplateRule<T>[], path: string): TemplateRule<T> | undefined {
  for (const r of rules) if (r.template.match(path) !== null) return r;
  return undefined;
}

export class RuleFile implements RuleSet {
  readonly file: string | null;
  readonly serverRoot: string;
  readonly welcome: readonly string[];
  readonly alwaysWelcome: boolean;
  readonly dirAccess: DirAccess;
  readonly outputCharset: string | undefined;
  readonly converters: readonly ConverterRule[];
  readonly protections: readonly ProtectRule[];
  readonly protectionBlocks: ReadonlyMap<string, Protection>;
  readonly cacheControl: readonly CacheControlRule[];
  readonly settings: ServerSettings;
  readonly #translation: readonly TranslationRule[];
  readonly #types: SuffixTable<TypeBinding>;
  readonly #encodings: SuffixTable<string>;
  readonly #charsets: SuffixTable<string>;
  readonly #enable: readonly TemplateRule<string>[];
  readonly #maxBodySize: readonly { readonly size: number; readonly template: Template | null }[];
  readonly #protect: readonly TemplateRule<ProtectRule>[];
  readonly #cacheControl: readonly TemplateRule<string>[];
  readonly #cors: readonly TemplateRule<string>[];
  readonly #fallback: readonly TemplateRule<string>[];
  readonly #tunnel: readonly AuthorityRule[];
  readonly #forward: readonly AuthorityRule[];
  readonly #proxyCache: readonly TemplateRule<true>[];
  /**
   * The memo of `route`: not state of the rules (they never change), only
   * of their cost, so an immutable rule set may keep it; it goes with them.
   */
  readonly #routes = new Map<string, Route>();

  /** `draft` must be finished (Pass targets compiled); `file` null for the built-in default. */
  constructor(draft: Draft, file: string | null, serverRoot: string) {
    const source = draft.file;
    this.file = file;
    this.serverRoot = serverRoot;
    this.#translation = Object.freeze([...draft.translation]);
    this.#types = new SuffixTable(draft.types.map((b) => ({ suffix: b.suffix, value: Object.freeze({ ...b.value }) })));
    this.#encodings = new SuffixTable(draft.encodings);
    this.#charsets = new SuffixTable(draft.charsets);
    this.welcome = draft.welcome === null ? DEFAULT_WELCOME : Object.freeze([...draft.welcome]);
    this.alwaysWelcome = draft.alwaysWelcome;
    this.dirAccess = draft.dirAccess;
    this.#enable = Object.freeze([...draft.enable]);
    this.#maxBodySize = Object.freeze([...draft.maxBodySize]);
    this.outputCharset = draft.outputCharset;
    this.converters = Object.freeze(draft.converters.map((c) => Object.freeze({ ...c, file: source })));
    this.protectionBlocks = draft.protectionBlocks;
    this.#protect = Object.freeze(draft.protect.map((p) => ({
      template: p.template,
      line: p.line,
      value: Object.freeze({
        template: p.template.text, setup: p.value, protection: draft.protectionBlocks.get(p.value), file: source, line: p.line,
      }),
    })));
    this.protections = Object.freeze(this.#protect.map((p) => p.value));
    this.#cacheControl = Object.freeze([...draft.cacheControl]);
    this.#cors = Object.freeze([...draft.cors]);
    this.#fallback = Object.freeze([...draft.fallback]);
    this.#tunnel = Object.freeze([...draft.tunnel]);
    this.#forward = Object.freeze([...draft.forward]);
    this.#proxyCache = Object.freeze([...draft.proxyCache]);
    this.cacheControl = Object.freeze(draft.cacheControl.map((c) => Object.freeze({ template: c.template.text, value: c.value, file: source, line: c.line })));
    this.settings = Object.freeze({
      serverRoot,
      ...draft.settings,
      maxBodySize: draft.maxBodySize.map((m) => Object.freeze({ size: m.size, template: m.template?.text ?? null })),
    });
  }

  translate(path: string, query?: string): Translation {
    return translate(this.#translation, path, query);
  }

  route(path: string, query = ''): Route {
    // Which rule a path meets does not depend on the query, but Redirect and
    // Proxy carry it into their result: theirs are kept by path and query.
    const byPath = this.#routes.get(path);
    if (byPath !== undefined && (query === '' || !carriesQuery(byPath))) return byPath;
    const key = query === '' ? path : `${path}\0${query}`;
    if (query !== '') {
      const byKey = this.#routes.get(key);
      if (byKey !== undefined) return byKey;
    }
    const translation = this.translate(path, query);
    const route: Route = {
      translation,
      maxBodySize: this.maxBodySizeFor(path),
      cacheControl: this.cacheControlFor(path),
      protect: this.protectFor(path),
      proxyCache: translation.kind === 'proxy' && this.proxyCacheFor(path),
    };
    if (this.#routes.size >= ROUTE_MEMO) this.#routes.clear();
    this.#routes.set(carriesQuery(route) ? key : path, route);
    return route;
  }

  typeFor(fileName: string): TypeBinding | undefined {
    return this.#types.lookup(fileName);
  }

  encodingFor(fileName: string): string | undefined {
    return this.#encodings.lookup(fileName);
  }

  charsetFor(fileName: string): string | undefined {
    return this.#charsets.lookup(fileName);
  }

  isEnabled(method: string, path: string): boolean {
    if (ALWAYS_ENABLED.has(method)) return true;
    for (const e of this.#enable) if (e.value === method && e.template.match(path) !== null) return true;
    return false;
  }

  maxBodySizeFor(path: string): number | undefined {
    let fallback: number | undefined;
    for (const m of this.#maxBodySize) {
      if (m.template === null) fallback = m.size;
      else if (m.template.match(path) !== null) return m.size;
    }
    return fallback;
  }

  protectFor(path: string): ProtectRule | undefined {
    return firstMatch(this.#protect, path)?.value;
  }

  cacheControlFor(path: string): string | undefined {
    return firstMatch(this.#cacheControl, path)?.value;
  }

  corsFor(path: string): readonly string[] {
    if (this.#cors.length === 0) return NONE;
    const out: string[] = [];
    for (const c of this.#cors) if (c.template.match(path) !== null && !out.includes(c.value)) out.push(c.value);
    return out;
  }

  fallbackFor(path: string): string | undefined {
    return firstMatch(this.#fallback, path)?.value;
  }

  tunnelFor(authority: string): AuthorityRule | undefined {
    return authorityRuleFor(this.#tunnel, authority);
  }

  forwardFor(authority: string): AuthorityRule | undefined {
    return authorityRuleFor(this.#forward, authority);
  }

  proxyCacheFor(path: string): boolean {
    return this.#proxyCache.length !== 0 && firstMatch(this.#proxyCache, path) !== undefined;
  }
}

/** A Redirect's location and a Proxy's upstream address include the request's query. */
function carriesQuery(route: Route): boolean {
  const kind = route.translation.kind;
  return kind !== 'pass' && kind !== 'fail';
}
