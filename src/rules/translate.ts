// Translation (CERN httpd HTRules.c, HTTranslate): the rules are scanned top
// down on the decoded path. Map rewrites and the scan goes on with the new
// string; Pass accepts, Fail refuses, Redirect and Proxy send elsewhere, and
// each of these stops. Anything no rule passed is refused, as in CERN httpd.

import { canonicalPath } from './decode-path.js';
import { FileTarget, UrlTarget } from './targets.js';
import { substitute, type Template } from './template.js';
import type { RedirectStatus, Translation } from './types.js';

export type TranslationRule =
  | { readonly op: 'map'; readonly template: Template; readonly result: readonly string[]; readonly line: number }
  /** `target` is null until the RuleSet is finished (ServerRoot may come later in the file). */
  | { readonly op: 'pass'; readonly template: Template; readonly result: readonly string[] | null; target: FileTarget | null; readonly line: number }
  | { readonly op: 'fail'; readonly template: Template; readonly line: number }
  | { readonly op: 'redirect'; readonly template: Template; readonly target: UrlTarget; readonly status: RedirectStatus; readonly line: number }
  /** Several targets form an upstream group; the first is the address. */
  | { readonly op: 'proxy'; readonly template: Template; readonly targets: readonly UrlTarget[]; readonly line: number };

export const FORBIDDEN: Translation = Object.freeze({ kind: 'fail', code: 'WWW_ERR_RULE_FORBIDDEN' });
export const NOT_PASSED: Translation = Object.freeze({ kind: 'fail', code: 'WWW_ERR_RULE_NOT_PASSED' });

/**
 * Finishes the Pass rules once the base directory is known: a Pass without
 * RESULT keeps the path, which is its template substituted with its own
 * captures, relative to the base. Returns an error message per bad rule.
 */
export function finishPassRules(rules: readonly TranslationRule[], base: string): { line: number; message: string }[] {
  const errors: { line: number; message: string }[] = [];
  for (const rule of rules) {
    if (rule.op !== 'pass') continue;
    const parts = rule.result ?? relativeParts(rule.template.parts);
    const target = FileTarget.compile(parts, base);
    if (target instanceof FileTarget) rule.target = target;
    else errors.push({ line: rule.line, message: target.message });
  }
  return errors;
}

/** The path as a relative RESULT: a leading '/' would make it absolute. */
function relativeParts(parts: readonly string[]): string[] {
  return [parts[0]!.replace(/^\/+/, ''), ...parts.slice(1)];
}

/**
 * The request's query ('' or '?…', as the wire received it) after a Redirect
 * location or Proxy address: joined with '&' when the RESULT has its own
 * query, and before any fragment (RFC 3986 §3: query, then fragment).
 */
export function withQuery(url: string, query: string): string {
  if (query.length <= 1) return url;
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const joined = base.includes('?') ? `${base}${base.endsWith('?') || base.endsWith('&') ? '' : '&'}${query.slice(1)}` : base + query;
  return hash === -1 ? joined : joined + url.slice(hash);
}

export function translate(rules: readonly TranslationRule[], path: string, query = ''): Translation {
  let s = path;
  for (const rule of rules) {
    const captures = rule.template.match(s);
    if (captures === null) continue;
    switch (rule.op) {
      case 'map': {
        const out = substitute(rule.result, captures);
        if (out.startsWith('/')) {
          // Keep the string canonical, so that later templates (a Fail) see
          // what the filesystem will; a climb above '/' is an escape attempt.
          const c = canonicalPath(out, false);
          if (c === null) return FORBIDDEN;
          s = c;
        } else {
          s = out;
        }
        break;
      }
      case 'pass':
        return rule.target!.resolve(captures) ?? FORBIDDEN;
      case 'fail':
        return FORBIDDEN;
      case 'redirect': {
        const location = rule.target.build(captures);
        return location === null ? FORBIDDEN : { kind: 'redirect', location: withQuery(location, query), status: rule.status };
      }
      case 'proxy': {
        const targets = rule.targets;
        const address = targets[0]!.build(captures);
        if (address === null) return FORBIDDEN;
        if (targets.length === 1) return { kind: 'proxy', address: withQuery(address, query) };
        const upstreams: string[] = [];
        for (const target of targets) {
          const member = target.build(captures);
          if (member === null) return FORBIDDEN;
          upstreams.push(withQuery(member, query));
        }
        return { kind: 'proxy', address: upstreams[0]!, upstreams };
      }
    }
  }
  return NOT_PASSED;
}
