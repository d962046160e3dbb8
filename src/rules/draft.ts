// The rule file as it is being read (CERN httpd kept this in the globals of
// HTConfig.c): what each directive adds, before the RuleSet is finished.
// ServerRoot may come after the rules that depend on it, so relative paths,
// Protect setups and converter modules are resolved only at the end.

import type { Template } from './template.js';
import type { TranslationRule } from './translate.js';
import type { AuthorityRule, DirAccess, Protection, ServerSettings, TypeBinding } from './types.js';

export interface SuffixBinding<T> {
  /** Lower case: `.html`, `.tar.gz`, `*.*` or `*`. */
  readonly suffix: string;
  readonly value: T;
}

export interface TemplateRule<T> {
  readonly template: Template;
  readonly value: T;
  readonly line: number;
}

export interface Draft {
  readonly file: string;
  readonly translation: TranslationRule[];
  readonly types: SuffixBinding<TypeBinding>[];
  readonly encodings: SuffixBinding<string>[];
  readonly charsets: SuffixBinding<string>[];
  /** null until the first Welcome replaces the default. */
  welcome: string[] | null;
  alwaysWelcome: boolean;
  dirAccess: DirAccess;
  readonly enable: TemplateRule<string>[];
  readonly maxBodySize: { readonly size: number; readonly template: Template | null }[];
  outputCharset: string | undefined;
  readonly converters: { readonly module: string; readonly quality?: number; readonly line: number }[];
  readonly protect: TemplateRule<string>[];
  readonly protectionBlocks: Map<string, Protection>;
  readonly cacheControl: TemplateRule<string>[];
  /** `Cors`: an origin (or `*`) per line. */
  readonly cors: TemplateRule<string>[];
  /** `Fallback`: the decoded path of the fallback document. */
  readonly fallback: TemplateRule<string>[];
  readonly tunnel: AuthorityRule[];
  readonly forward: AuthorityRule[];
  /** `ProxyCache`: the paths whose proxied responses the HTTP cache keeps. */
  readonly proxyCache: TemplateRule<true>[];
  serverRoot: { readonly dir: string; readonly line: number } | undefined;
  /** ProxyCA as written, resolved against ServerRoot at the end. */
  proxyCA: { readonly file: string; readonly line: number } | undefined;
  readonly settings: Omit<ServerSettings, 'serverRoot' | 'maxBodySize'>;
}

export function newDraft(file: string): Draft {
  return {
    file,
    translation: [],
    types: [],
    encodings: [],
    charsets: [],
    welcome: null,
    alwaysWelcome: false,
    dirAccess: 'off',
    enable: [],
    maxBodySize: [],
    outputCharset: undefined,
    converters: [],
    protect: [],
    protectionBlocks: new Map(),
    cacheControl: [],
    cors: [],
    fallback: [],
    tunnel: [],
    forward: [],
    proxyCache: [],
    serverRoot: undefined,
    proxyCA: undefined,
    settings: {},
  };
}
