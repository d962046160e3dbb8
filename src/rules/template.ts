// Templates with `*` wildcards (CERN httpd HTRules.c, HTPatternMatch): a
// template is literal pieces between wildcards. Each `*` matches any string,
// '/' and the empty string included, leftmost-shortest: the first `*` takes
// the shortest text that lets the rest match, then the next, and the last
// ends where the template's final literal begins. A template without `*`
// matches exactly. Matching is case-sensitive, as URL paths are.

export class Template {
  /** The literal pieces: `/a/*.html` → ['/a/', '.html']. */
  readonly parts: readonly string[];
  /** As written, for messages and the settings: a literal star reads `\*`. */
  readonly text: string;
  readonly #first: string;
  readonly #last: string;
  readonly #minLength: number;

  constructor(parts: readonly string[], text?: string) {
    this.parts = Object.freeze([...parts]);
    this.text = text ?? parts.map((p) => p.replace(/[\\*]/g, '\\$&')).join('*');
    this.#first = parts[0]!;
    this.#last = parts[parts.length - 1]!;
    this.#minLength = parts.reduce((n, p) => n + p.length, 0);
  }

  get wildcards(): number {
    return this.parts.length - 1;
  }

  /** The strings the wildcards matched, in order, or null when the template does not match. */
  match(s: string): string[] | null {
    const parts = this.parts;
    const n = parts.length - 1;
    if (n === 0) return s === this.#first ? [] : null;
    if (s.length < this.#minLength || !s.startsWith(this.#first) || !s.endsWith(this.#last)) return null;
    const end = s.length - this.#last.length;
    const captures: string[] = [];
    let pos = this.#first.length;
    // Middle literals: the earliest occurrence leaves the most room for the rest,
    // so greedy-leftmost is also a correct matcher (no backtracking needed).
    for (let k = 1; k < n; k++) {
      const lit = parts[k]!;
      const at = s.indexOf(lit, pos);
      if (at === -1 || at + lit.length > end) return null;
      captures.push(s.slice(pos, at));
      pos = at + lit.length;
    }
    captures.push(s.slice(pos, end));
    return captures;
  }

  /** This template's text with the captures in place of its wildcards (a Pass without RESULT). */
  substitute(captures: readonly string[]): string {
    return substitute(this.parts, captures);
  }
}

/**
 * RESULT pieces with the captures substituted in order. A RESULT never has
 * more wildcards than its template (a load-time error), so captures suffice;
 * extra captures are dropped.
 */
export function substitute(parts: readonly string[], captures: readonly string[], encode?: (capture: string, index: number) => string): string {
  let out = parts[0]!;
  for (let k = 1; k < parts.length; k++) {
    const c = captures[k - 1] ?? '';
    out += (encode ? encode(c, k - 1) : c) + parts[k]!;
  }
  return out;
}
