// What a secret looks like, by name and by value; shared by the metadata and stack output policies.
import { isUnknown } from './rule';

/** Words that name a credential, matched against the words of a key (split at `-`, `_`, `.`, and camelCase). */
const SECRET_WORDS = ['token', 'tokens', 'key', 'keys', 'password', 'passwd', 'pass', 'pwd', 'passphrase', 'secret', 'secrets', 'credential', 'credentials', 'apikey'];

/** Values with a recognisable secret shape, each with the name used in messages. */
const SECRET_SHAPES: { what: string; pattern: RegExp }[] = [
  { what: 'a PEM private key', pattern: /-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----/ },
  // header.payload.signature, each base64url; a JSON header always starts with `{"`, i.e. `eyJ`.
  { what: 'a JWT', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/ },
  { what: 'a service account key file', pattern: /"private_key"\s*:\s*"/ },
  { what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { what: 'a Google OAuth access token', pattern: /\bya29\.[0-9A-Za-z_-]{20,}/ },
  { what: 'a GitHub token', pattern: /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
  { what: 'an AWS access key id', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: 'an AWS secret access key', pattern: /aws_secret_access_key\s*[=:]\s*["']?[A-Za-z0-9/+]{40}/i },
  { what: 'a bearer token', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/ },
  { what: 'a URL with a password', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@$]+@/i },
  // `DB_PASSWORD=…`, `export ADMIN_PASS='…'`, `plain_text_passwd: …` (cloud-init); a `$…` value is a reference, not a secret.
  { what: 'a password assignment', pattern: /(^|[^A-Za-z0-9])[A-Za-z0-9_-]*(password|passwd|pass|pwd)["']?\s*[=:]\s*["']?(?![$"'\s])[^\s"']{3,}/im },
  { what: 'cloud-init password settings (chpasswd)', pattern: /^\s*chpasswd\s*:/m },
];

export function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** A name ending in one of these points at a secret kept elsewhere (`tokenSecretId`) rather than holding it. */
const REFERENCE_WORDS = ['id', 'ids', 'name', 'names', 'uri', 'url', 'path', 'ref', 'version', 'command'];

/** The secret word in a key's name, if any (`istio-token` → `token`, `dbPassword` → `password`). */
export function secretWordIn(name: string): string | undefined {
  const words = wordsOf(name);
  if (REFERENCE_WORDS.includes(words[words.length - 1])) return undefined;
  return words.find((w) => SECRET_WORDS.includes(w));
}

/** What secret the value looks like, if any; walks lists and objects. */
export function secretShapeOf(value: unknown): string | undefined {
  if (isUnknown(value)) return undefined;
  if (typeof value === 'string') return SECRET_SHAPES.find((s) => s.pattern.test(value))?.what;
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = secretShapeOf(v);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    return secretShapeOf(Object.values(value));
  }
  return undefined;
}

/** Empty means nothing is stored under the name (e.g. a flag cleared on purpose). */
export function isEmptyValue(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}
