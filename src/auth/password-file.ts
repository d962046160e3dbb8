// Password and group files (CERN httpd HTPasswd.c and HTGroup.c, in the
// htpasswd format Apache made common): pure parsers, text in, tables and
// line-numbered errors out. Only bcrypt entries are accepted: every other
// kind htpasswd can write (SHA-1, Apache MD5, crypt, plain text) is
// refused, so a weak hash can never guard a path.

export interface FileProblem {
  /** 1-based. */
  readonly line: number;
  readonly message: string;
}

export interface PasswordTable {
  /** User name → bcrypt hash. */
  readonly users: ReadonlyMap<string, string>;
  readonly problems: readonly FileProblem[];
}

export interface GroupTable {
  /** Group name → its users. */
  readonly groups: ReadonlyMap<string, ReadonlySet<string>>;
  readonly problems: readonly FileProblem[];
}

/** `$2a$`, `$2b$`, `$2y$`, a two-digit cost, 22 characters of salt and 31 of hash. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** What a refused hash is, by its look; the hash itself never appears in a message. */
function hashKind(hash: string): string {
  if (hash.startsWith('{SHA}')) return '{SHA} (SHA-1)';
  if (hash.startsWith('$apr1$')) return '$apr1$ (Apache MD5)';
  if (/^\$[156]\$/.test(hash)) return `${hash.slice(0, 3)} (crypt)`;
  if (/^\$2[aby]?\$/.test(hash)) return 'a malformed bcrypt hash';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'a DES crypt hash';
  if (hash === '') return 'an empty hash';
  return 'plain text or an unknown hash';
}

/** Lines with content: comments (`#` first) and blank lines are skipped. */
function* contentLines(text: string): Generator<[number, string]> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line !== '' && line[0] !== '#') yield [i + 1, line];
  }
}

/** `user:$2y$10$…` per line, as `htpasswd -B` writes it. */
export function parsePasswordFile(text: string): PasswordTable {
  const users = new Map<string, string>();
  const problems: FileProblem[] = [];
  for (const [line, content] of contentLines(text)) {
    const colon = content.indexOf(':');
    if (colon <= 0) {
      problems.push({ line, message: 'expected USER:HASH' });
      continue;
    }
    const user = content.slice(0, colon);
    const hash = content.slice(colon + 1);
    if (!BCRYPT.test(hash)) {
      problems.push({ line, message: `expected a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B writes), got ${hashKind(hash)}` });
    } else if (users.has(user)) {
      problems.push({ line, message: 'the same user is listed twice' });
    } else {
      users.set(user, hash);
    }
  }
  return { users, problems };
}

/** `group: user user …` per line; commas may separate the users too. */
export function parseGroupFile(text: string): GroupTable {
  const groups = new Map<string, Set<string>>();
  const problems: FileProblem[] = [];
  for (const [line, content] of contentLines(text)) {
    const colon = content.indexOf(':');
    const name = colon === -1 ? '' : content.slice(0, colon).trim();
    if (name === '' || /[\s,]/.test(name)) {
      problems.push({ line, message: 'expected GROUP: USER USER …' });
      continue;
    }
    const members = groups.get(name) ?? new Set<string>();
    for (const user of content.slice(colon + 1).split(/[\s,]+/)) if (user !== '') members.add(user);
    groups.set(name, members);
  }
  return { groups, problems };
}
