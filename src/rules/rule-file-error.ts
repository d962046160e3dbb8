// RuleFileError: every error found in one rule file, one line each as
// `file:line: Directive: what was expected`. CERN httpd's HTConfig.c
// stopped at the first bad line; here the whole file is checked so that
// `--check` shows everything at once. The CLI exits 2 on this error.

export interface RuleError {
  file: string;
  /** 1-based; 0 when the file itself could not be read. */
  line: number;
  directive: string;
  message: string;
}

export function formatRuleError(e: RuleError): string {
  return `${e.file}:${e.line}: ${e.directive}: ${e.message}`;
}

export class RuleFileError extends Error {
  readonly errors: RuleError[];

  constructor(errors: RuleError[]) {
    super(errors.map(formatRuleError).join('\n'));
    this.name = 'RuleFileError';
    this.errors = errors;
  }
}
