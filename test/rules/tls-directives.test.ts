// TLSCertificate, TLSKey and RedirectHTTP in a rule file: the files resolve
// against the rule file's directory (not ServerRoot), the port is checked.

import { describe, it, expect } from 'vitest';
import { parseRules, RuleFileError } from '../../src/rules/index.js';

describe('TLS directives', () => {
  it('resolve the files against the rule file, and read the redirect port', () => {
    const rules = parseRules('ServerRoot /srv/www\nTLSCertificate certs/a.pem\nTLSKey /etc/k.pem\nRedirectHTTP 80\n', '/etc/site/site.rules');
    expect(rules.settings.tlsCertificate).toBe('/etc/site/certs/a.pem');
    expect(rules.settings.tlsKey).toBe('/etc/k.pem');
    expect(rules.settings.redirectHttp).toBe(80);
  });

  it('refuse a RedirectHTTP that is no port', () => {
    expect(() => parseRules('RedirectHTTP http\n', '/x.rules')).toThrow(RuleFileError);
    expect(() => parseRules('RedirectHTTP 70000\n', '/x.rules')).toThrow(/RedirectHTTP/);
  });
});
