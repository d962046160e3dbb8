// The rule-file reader (CERN httpd HTConfig.c, HTLoadConfig): one directive
// per line, names case-insensitive, `Protection NAME { … }` blocks over
// several lines. It never stops at the first error: every line is checked,
// then the RuleSet is finished (paths resolved against ServerRoot), and all
// errors are thrown together as one RuleFileError.

import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIRECTIVES, PROTECTION_KEYS } from './directives.js';
import { newDraft, type Draft } from './draft.js';
import { lexLine, type Word } from './lexer.js';
import { RuleFile } from './rule-set.js';
import { RuleFileError, type RuleError } from './rule-file-error.js';
import { quote } from './values.js';
import { finishPassRules } from './translate.js';
import type { Protection, RuleOptions, RuleSet } from './types.js';

export interface Compiled {
  readonly rules: RuleSet;
  /** The line of the ServerRoot directive that decided `rules.serverRoot`, if one did. */
  readonly serverRootLine: number | undefined;
  /** The line of the ProxyCA directive in force, if any. */
  readonly proxyCALine: number | undefined;
}

interface OpenBlock {
  readonly name: string;
  readonly line: number;
  readonly fields: Record<string, string>;
}

export function parseRules(text: string, file: string, options?: RuleOptions): RuleSet {
  return compileRules(text, file, options).rules;
}

export function compileRules(text: string, file: string, options: RuleOptions = {}): Compiled {
  const draft = newDraft(file);
  const errors: RuleError[] = [];
  const report = (line: number, directive: string, message: string) => errors.push({ file, line, directive, message });
  let block: OpenBlock | null = null;

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, source] of lines.entries()) {
    const line = i + 1;
    const { words, error } = lexLine(source);
    if (error !== undefined) {
      report(line, label(words[0]?.text), error);
    } else if (words.length === 0) {
      continue;
    } else if (block !== null) {
      if (readBlockLine(words, block, draft, (d, m) => report(line, d, m))) block = null;
    } else {
      block = readDirective(words, draft, line, report);
    }
  }
  if (block !== null) report(block.line, 'Protection', `block ${quote(block.name)} has no closing "}"`);

  const serverRoot = options.serverRoot !== undefined
    ? resolve(options.serverRoot)
    : resolve(dirname(resolve(file)), draft.serverRoot?.dir ?? '.');
  finish(draft, serverRoot, (line, directive, message) => report(line, directive, message));
  // A private key has no business in the tree the server serves: TLS files are found from the rule file.
  const settings = draft.settings;
  if (settings.tlsCertificate !== undefined) settings.tlsCertificate = resolve(dirname(resolve(file)), settings.tlsCertificate);
  if (settings.tlsKey !== undefined) settings.tlsKey = resolve(dirname(resolve(file)), settings.tlsKey);

  if (errors.length > 0) throw new RuleFileError(errors.sort((a, b) => a.line - b.line));
  return {
    rules: new RuleFile(draft, file, serverRoot),
    serverRootLine: options.serverRoot === undefined ? draft.serverRoot?.line : undefined,
    proxyCALine: draft.proxyCA?.line,
  };
}

/** One directive line; returns the Protection block it opens, if it opens one. */
function readDirective(words: Word[], draft: Draft, line: number, report: (line: number, directive: string, message: string) => void): OpenBlock | null {
  const name = words[0]!.text;
  const directive = DIRECTIVES.get(name.toLowerCase());
  if (directive === undefined) {
    report(line, name, name === '}' ? 'no Protection block is open' : unknownDirective(name));
    return null;
  }
  const args = words.slice(1);
  if (args.length < directive.min || args.length > directive.max) {
    const got = args.length === 0 ? 'none' : `${args.length} argument${args.length === 1 ? '' : 's'}`;
    report(line, directive.name, `expected ${directive.usage}, got ${got}`);
    return null;
  }
  if (directive.name === 'Protection') {
    const [blockName, brace] = args as [Word, Word];
    if (brace.text !== '{') {
      report(line, 'Protection', `expected NAME {, got ${quote(brace.text)} where "{" opens the block`);
      return null;
    }
    if (draft.protectionBlocks.has(blockName.text)) report(line, 'Protection', `block ${quote(blockName.text)} is defined twice`);
    return { name: blockName.text, line, fields: {} };
  }
  directive.apply(args, draft, { line, error: (m) => report(line, directive.name, m) });
  return null;
}

/** One line inside `Protection NAME { … }`; true when it closes the block. */
function readBlockLine(words: Word[], block: OpenBlock, draft: Draft, report: (directive: string, message: string) => void): boolean {
  const first = words[0]!.text;
  if (first === '}') {
    if (words.length > 1) report('Protection', `expected "}" alone on its line to close block ${quote(block.name)}`);
    const protection: Protection = { name: block.name, fields: Object.freeze(block.fields), file: draft.file, line: block.line };
    if (!draft.protectionBlocks.has(block.name)) draft.protectionBlocks.set(block.name, Object.freeze(protection));
    return true;
  }
  const key = PROTECTION_KEYS.get(first.toLowerCase());
  if (key === undefined) {
    report('Protection', `unknown field ${quote(first)} in block ${quote(block.name)} (expected one of ${[...PROTECTION_KEYS.values()].join(', ')})`);
  } else if (words.length < 2) {
    report('Protection', `${key}: expected a value`);
  } else {
    block.fields[key] = words.slice(1).map((w) => w.text).join(' ');
  }
  return false;
}

/** What needs ServerRoot or the whole file: Pass results, Protect setups, converter modules. */
function finish(draft: Draft, serverRoot: string, report: (line: number, directive: string, message: string) => void): void {
  for (const e of finishPassRules(draft.translation, serverRoot)) report(e.line, 'Pass', e.message);
  draft.protect.forEach((p, i) => {
    const setup = p.value;
    if (setup.includes('/')) {
      draft.protect[i] = { ...p, value: resolve(serverRoot, setup) };
    } else if (!draft.protectionBlocks.has(setup)) {
      report(p.line, 'Protect', `no Protection block named ${quote(setup)} (expected a block name or a setup file path)`);
    }
  });
  if (draft.proxyCA !== undefined) draft.settings.proxyCA = resolve(serverRoot, draft.proxyCA.file);
  const log = draft.settings.accessLog;
  if (log !== undefined && log !== '-') draft.settings.accessLog = resolve(serverRoot, log);
  if (draft.settings.proxyCacheDir !== undefined) draft.settings.proxyCacheDir = resolve(serverRoot, draft.settings.proxyCacheDir);
  draft.converters.forEach((c, i) => {
    try {
      draft.converters[i] = { ...c, module: resolveModule(c.module, serverRoot) };
    } catch {
      report(c.line, 'Converter', `expected a module path, a file: URL or a package name, got ${quote(c.module)}`);
    }
  });
}

/**
 * A converter module as the loader will import it: a path (absolute, `./…`,
 * `../…`, or any name ending in .js/.mjs/.cjs/.ts) resolved against `base`;
 * a `file:` URL as its path; otherwise a package name, kept as written.
 */
function resolveModule(m: string, base: string): string {
  if (/^file:/i.test(m)) return fileURLToPath(m);
  if (isAbsolute(m)) return m;
  if (/^\.\.?\//.test(m) || (!m.startsWith('@') && /\.[cm]?[jt]s$/.test(m))) return resolve(base, m);
  return m;
}

/** The directive a bad line meant, for its message. */
function label(first: string | undefined): string {
  if (!first) return 'syntax';
  return DIRECTIVES.get(first.toLowerCase())?.name ?? first;
}

function unknownDirective(name: string): string {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const d of DIRECTIVES.values()) {
    const n = distance(lower, d.name.toLowerCase());
    if (n < bestDistance) [best, bestDistance] = [d.name, n];
  }
  return best === undefined ? 'unknown directive' : `unknown directive (did you mean ${best}?)`;
}

/** Levenshtein distance, for the "did you mean" of a misspelt directive. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
