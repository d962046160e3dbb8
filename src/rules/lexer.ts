// The words of a rule-file line (CERN httpd HTConfig.c, HTNextField in
// libwww): whitespace separates words; `#` at the start of a word starts a
// comment; `\` escapes a space, tab, `*`, `#`, `"` or `\`; "double quotes"
// keep spaces and `#` inside one word. An unescaped `*` is a wildcard, also
// inside quotes; an escaped `\*` is a literal star.

export interface Word {
  /** The word with quotes and escapes removed; wildcards and literal stars both read '*'. */
  readonly text: string;
  /** The literal pieces between wildcards: `/a/*.html` → ['/a/', '.html']. */
  readonly parts: readonly string[];
  /** As a template is shown in messages: wildcards '*', a literal star '\*', a backslash '\\'. */
  readonly pattern: string;
}

export interface LexedLine {
  readonly words: Word[];
  /** What is wrong with the line, if anything; `words` then holds what was read. */
  readonly error?: string;
}

const ESCAPABLE = new Set([' ', '\t', '*', '#', '"', '\\']);

export function lexLine(line: string): LexedLine {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    const parts: string[] = [''];
    let text = '';
    let pattern = '';
    let quoted = false;
    let error: string | undefined;
    for (; i < line.length; i++) {
      const ch = line[i]!;
      if (!quoted && (ch === ' ' || ch === '\t')) break;
      if (ch === '"') {
        quoted = !quoted;
        continue;
      }
      if (ch === '*') {
        parts.push('');
        text += '*';
        pattern += '*';
        continue;
      }
      let lit = ch;
      if (ch === '\\') {
        const next = line[i + 1];
        if (next === undefined) {
          error = 'a "\\" at the end of the line escapes nothing';
          break;
        }
        if (!ESCAPABLE.has(next)) {
          error = `unknown escape "\\${next}" (expected "\\" before a space, *, #, " or \\)`;
          break;
        }
        lit = next;
        i++;
      } else {
        const code = ch.charCodeAt(0);
        if (code < 0x20 || code === 0x7f) {
          error = `control character U+${code.toString(16).toUpperCase().padStart(4, '0')} in the line`;
          break;
        }
      }
      parts[parts.length - 1] += lit;
      text += lit;
      pattern += lit === '*' || lit === '\\' ? '\\' + lit : lit;
    }
    if (error === undefined && quoted) error = 'unterminated "quoted word"';
    words.push({ text, parts, pattern });
    if (error !== undefined) return { words, error };
  }
  return { words };
}

/** The number of wildcards in a word. */
export function stars(word: Word): number {
  return word.parts.length - 1;
}
