// Rule files (CERN httpd's rule file, libwww HTRules): the public face of
// src/rules. Read and validate a rule file, build the built-in default of
// `streamstack ROOT`, and decode request paths the way the rules see them.

import { stat, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { newDraft } from './draft.js';
import { compileRules } from './parse.js';
import { RuleFile } from './rule-set.js';
import { RuleFileError } from './rule-file-error.js';
import { Template } from './template.js';
import { finishPassRules } from './translate.js';
import { quote } from './values.js';
import { loadGuard } from '../auth/guard.js';
import type { RuleOptions, RuleSet } from './types.js';

export type {
  CacheControlRule, ConverterRule, DirAccess, Protection, ProtectRule, RedirectStatus, Route, RuleOptions, RuleSet, RuleSource,
  ServerSettings, Translation, TypeBinding,
} from './types.js';
export { RuleFileError, formatRuleError, type RuleError } from './rule-file-error.js';
export { decodePath } from './decode-path.js';
export { isInsideRoot } from './targets.js';
export { parseRules } from './parse.js';
export { METHODS } from './values.js';

/**
 * Reads and validates a rule file. Throws RuleFileError listing every error;
 * an unreadable file is `file:0: cannot read: ENOENT`, and a ServerRoot
 * directive naming no directory is an error at its line. The password files
 * of Protection blocks are read and checked too (src/auth/guard.ts).
 */
export async function loadRules(file: string, options?: RuleOptions): Promise<RuleSet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RuleFileError([{ file, line: 0, directive: 'cannot read', message: errorCode(err) }]);
  }
  const { rules, serverRootLine, proxyCALine } = compileRules(text, file, options);
  if (serverRootLine !== undefined) {
    const problem = await stat(rules.serverRoot).then((s) => (s.isDirectory() ? null : 'ENOTDIR'), errorCode);
    if (problem !== null) {
      throw new RuleFileError([{ file, line: serverRootLine, directive: 'ServerRoot', message: `expected an existing directory, got ${quote(rules.serverRoot)} (${problem})` }]);
    }
  }
  const ca = rules.settings.proxyCA;
  if (ca !== undefined && proxyCALine !== undefined) {
    // Verification must never be quietly weaker than the file says: a CA that cannot be read stops the load.
    const problem = await readFile(ca, 'utf8').then((pem) => (pem.includes('-----BEGIN CERTIFICATE-----') ? null : 'no PEM certificate'), errorCode);
    if (problem !== null) {
      throw new RuleFileError([{ file, line: proxyCALine, directive: 'ProxyCA', message: `expected a readable PEM certificate file, got ${quote(ca)} (${problem})` }]);
    }
  }
  // Protect: the password and group files are read and checked now, so a bad one stops the load as any bad line does.
  if (rules.protections.length > 0) await loadGuard(rules);
  return rules;
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? String((err as Error | null)?.message ?? err);
}

/** `streamstack ROOT` without --rules: exactly the rule file `Pass /* ROOT/*`, ROOT relative to the cwd. */
export function defaultRules(root: string): RuleSet {
  const serverRoot = resolve(root);
  const draft = newDraft('<default>');
  draft.translation.push({ op: 'pass', template: new Template(['/', '']), result: [serverRoot + '/', ''], target: null, line: 1 });
  finishPassRules(draft.translation, serverRoot);
  return new RuleFile(draft, null, serverRoot);
}
