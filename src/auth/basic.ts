// The Basic authentication scheme (RFC 7617; CERN httpd HTAAUtil.c): the
// credentials of an Authorization field and the challenge of a 401.

export interface Credentials {
  readonly user: string;
  readonly password: string;
  /** The base64 token as sent: what the verified-credential cache is keyed by (through an HMAC). */
  readonly token: string;
}

/** RFC 7617 §2: token68; padding is optional in practice, so both spellings are taken. */
const TOKEN = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The field names the Basic scheme (case-insensitive, RFC 9110 §11.1). */
export function isBasic(field: string): boolean {
  return field.length >= 5 && field.slice(0, 5).toLowerCase() === 'basic' && (field.length === 5 || field[5] === ' ' || field[5] === '\t');
}

/**
 * `Basic base64(user:password)`, decoded as UTF-8 (the charset the
 * challenge announces); null for anything else: another scheme, no token,
 * bad base64, bytes that are no UTF-8, no colon, an empty user, control
 * characters (RFC 7617 §2 forbids them in both parts).
 */
export function parseBasic(field: string | undefined): Credentials | null {
  if (field === undefined || !isBasic(field)) return null;
  const token = field.slice(6).trim();
  if (!TOKEN.test(token) || token.length % 4 === 1) return null;
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token, 'base64'));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon <= 0 || /[\x00-\x1f\x7f]/.test(decoded)) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1), token };
}

/** `Basic realm="…", charset="UTF-8"` (RFC 7617 §2.1), the realm as a quoted-string. */
export function challenge(realm: string): string {
  return `Basic realm="${realm.replace(/["\\]/g, '\\$&')}", charset="UTF-8"`;
}
