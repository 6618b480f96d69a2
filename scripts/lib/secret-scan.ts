/*
 * Finds secret values in generated files. Generated output is committed and reviewed in the
 * open, so a token, key or password in it is a leak; references (`${var.x}`, secretKeyRef)
 * are what belongs there instead.
 */

export interface SecretFinding {
  readonly kind: string;
  readonly line: number;
  /** The match with its middle masked, so the report itself does not leak it. */
  readonly excerpt: string;
}

const PATTERNS: readonly { kind: string; pattern: RegExp }[] = [
  { kind: 'private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/g },
  { kind: 'AWS-style access key id', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: 'Hetzner Cloud API token', pattern: /(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])/g },
  { kind: 'Cloudflare API token', pattern: /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40}(?![A-Za-z0-9_-])/g },
  { kind: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g },
  {
    kind: 'literal credential',
    pattern:
      /"(?:password|passwd|secret|token|api_token|api_key|access_key|secret_key|private_key)"\s*:\s*"(?!\$\{)[^"]{6,}"/gi,
  },
  { kind: 'credentials in a URL', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"']+:[^\s/@"'$]{3,}@/gi },
];

// Look-alikes that are not secrets: content digests and hex hashes in generated names.
const ALLOWED = [/^sha256:/, /^[a-f0-9]+$/];

const mask = (s: string) => (s.length <= 12 ? '***' : `${s.slice(0, 6)}…${s.slice(-4)}`);

export function scanForSecrets(text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const { kind, pattern } of PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const value = match[0];
      const before = text.slice(Math.max(0, match.index - 7), match.index);
      if (ALLOWED.some((a) => a.test(value)) || before.endsWith('sha256:')) continue;
      findings.push({ kind, line: text.slice(0, match.index).split('\n').length, excerpt: mask(value) });
    }
  }
  return findings;
}
