import type { SpecProblem } from '../types';
import {
  DNS_LABEL,
  DNS_SUBDOMAIN,
  MAX_FREE_TEXT,
  MAX_LIST,
  MAX_URL,
  NODE_PATH,
  SECRET_KEY,
  WHITESPACE_OR_CONTROL,
  isIpv4,
} from './patterns';

/**
 * Field checks that say what to change. The schema (schema.ts) runs them on single fields; the
 * cross-field rules (validation.ts) report through the same collector.
 */
export class Problems {
  readonly list: SpecProblem[] = [];
  add(field: string, message: string) {
    this.list.push({ field, message });
  }
}

/** A value as it appears in a message: one line, at most 60 characters. */
export function clip(value: string) {
  const oneLine = JSON.stringify(value).slice(1, -1);
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine;
}

function isLoopbackHost(host: string) {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

export function checkDnsLabel(
  p: Problems,
  field: string,
  value: unknown,
  what: string,
  max = 63,
) {
  if (typeof value !== 'string' || value === '') {
    p.add(field, `${what} is required`);
  } else if (value.length > max || !DNS_LABEL.test(value)) {
    p.add(
      field,
      `"${clip(value)}" is not a valid ${what}: use at most ${max} lowercase letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)`,
    );
  }
}

export function checkHost(p: Problems, field: string, value: unknown) {
  if (typeof value !== 'string' || value === '') {
    p.add(field, 'a host name is required');
  } else if (
    value.length > 253 ||
    !(DNS_SUBDOMAIN.test(value) || isIpv4(value))
  ) {
    p.add(
      field,
      `"${clip(value)}" is not a valid host name: use lowercase DNS labels separated by dots (DNS-1123 subdomain), without scheme, port, path or wildcard`,
    );
  }
}

export function checkUrl(
  p: Problems,
  field: string,
  value: unknown,
  opts: { allowLoopbackHttp?: boolean } = {},
) {
  if (typeof value !== 'string' || value === '') {
    p.add(field, 'a URL is required');
    return;
  }
  if (value.length > MAX_URL) {
    p.add(
      field,
      `is ${value.length} characters long; keep URLs under ${MAX_URL}`,
    );
    return;
  }
  // The URL parser drops tabs and line breaks silently; the raw value would reach flags and configs.
  if (WHITESPACE_OR_CONTROL.test(value)) {
    p.add(
      field,
      `"${clip(value)}" contains whitespace or control characters; remove them (a URL has none, spaces are written %20)`,
    );
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    p.add(
      field,
      `"${clip(value)}" is not a URL: write it as https://host[:port]/path`,
    );
    return;
  }
  const loopback = isLoopbackHost(url.hostname);
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && opts.allowLoopbackHttp && loopback)
  ) {
    p.add(
      field,
      `"${clip(value)}" must use https${opts.allowLoopbackHttp ? ' (http is allowed only for localhost)' : ''}`,
    );
  }
  if (url.search || url.hash)
    p.add(field, `"${clip(value)}" must not have a query or fragment`);
}

/** An absolute, normalised path on a node (no `.`/`..` segments, no whitespace or quotes). */
export function checkNodePath(p: Problems, field: string, value: unknown) {
  if (typeof value !== 'string' || value === '') {
    p.add(field, 'an absolute path on the control-plane nodes is required');
  } else if (WHITESPACE_OR_CONTROL.test(value)) {
    p.add(
      field,
      `"${clip(value)}" contains whitespace or control characters; remove them (the path becomes a kube-apiserver flag)`,
    );
  } else if (
    value.length > 1024 ||
    !NODE_PATH.test(value) ||
    value.split('/').some(part => part === '.' || part === '..')
  ) {
    p.add(
      field,
      `"${clip(value)}" must be an absolute path on the control-plane nodes, such as /etc/kubernetes/pki/dex-ca.crt: letters, digits and . _ - + @ = , between single slashes, no . or .. segments`,
    );
  }
}

/** A configured cluster's name: it becomes part of the authenticator's redirect URI and config. */
export function checkClusterName(p: Problems, field: string, value: unknown) {
  if (typeof value !== 'string' || value.trim() === '') {
    p.add(field, 'name the target cluster');
  } else if (
    value.length > 253 ||
    WHITESPACE_OR_CONTROL.test(value) ||
    /[/?#%\\"'<>]/.test(value)
  ) {
    p.add(
      field,
      `"${clip(value)}" is not a cluster name: use the name of a cluster under kubernetes.clusterLocatorMethods, without whitespace, control characters or / ? # % \\ " ' < >`,
    );
  }
}

/**
 * A claim prefix (it becomes an --oidc-*-prefix flag): no whitespace, and never one that makes
 * upstream names the kube-apiserver's own (system:…), not even by completing it ("sys" + "tem:…").
 */
export function checkClaimPrefix(p: Problems, field: string, value: string) {
  checkFreeText(p, field, value, 64);
  if (WHITESPACE_OR_CONTROL.test(value)) {
    p.add(
      field,
      `"${clip(value)}" must not contain whitespace or control characters (it becomes part of an --oidc-* flag); remove them`,
    );
  }
  const lower = value.toLowerCase();
  if (lower.startsWith('system:')) {
    p.add(
      field,
      `"${clip(value)}" starts with system:, which the kube-apiserver reserves for its own users and groups (system:masters is cluster-admin): use a prefix such as oidc:`,
    );
  } else if (value !== '' && value !== '-' && 'system:'.startsWith(lower)) {
    p.add(
      field,
      `"${clip(value)}" is the start of system:, so an upstream name could complete it to one of the kube-apiserver's own (system:masters is cluster-admin): use a prefix such as oidc:`,
    );
  }
}

export function checkFreeText(
  p: Problems,
  field: string,
  value: unknown,
  max = MAX_FREE_TEXT,
) {
  if (value === undefined) return;
  if (typeof value !== 'string') {
    p.add(field, 'must be a string');
  } else if (value.length > max) {
    p.add(field, `is ${value.length} characters long; keep it under ${max}`);
    // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  } else if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) {
    p.add(field, 'contains control characters; remove them');
  }
}

/** A list of at most MAX_LIST entries (absent is fine); false when it is too long to check further. */
export function checkCount(
  p: Problems,
  field: string,
  value: unknown,
  what: string,
  max = MAX_LIST,
): boolean {
  if (value === undefined) return true;
  if (!Array.isArray(value)) {
    p.add(field, `must be a list of ${what}`);
    return false;
  }
  if (value.length > max) {
    p.add(
      field,
      `${value.length} ${what}; at most ${max} are allowed: remove some (or split them over several packs)`,
    );
    return false;
  }
  return true;
}

/** A required string field (required: says what it is), or an optional one; no control characters. */
export function checkText(
  p: Problems,
  field: string,
  value: unknown,
  required: string | undefined,
  max = 1024,
) {
  if (value === undefined || value === '') {
    if (required) p.add(field, required);
    return;
  }
  checkFreeText(p, field, value, max);
}

export function checkSecretRef(p: Problems, field: string, ref: unknown) {
  if (typeof ref !== 'object' || ref === null) {
    p.add(
      field,
      'must be a Secret reference {name, key}, not an inline value: store the value in a Secret and reference it',
    );
    return;
  }
  const { name, key } = ref as Record<string, unknown>;
  if (
    typeof name !== 'string' ||
    name.length > 253 ||
    !DNS_SUBDOMAIN.test(name)
  ) {
    p.add(
      `${field}.name`,
      'name the Secret (a DNS-1123 subdomain) that holds the value',
    );
  }
  if (typeof key !== 'string' || !SECRET_KEY.test(key)) {
    p.add(
      `${field}.key`,
      "name the Secret's key (letters, digits, '-', '_', '.')",
    );
  }
}

/** Edit distance, for "did you mean" (small strings only: field names). */
function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      row[j] = Math.min(
        prev[j] + 1,
        row[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length];
}

/** The known name closest to a misspelt one, when it is close enough to be the one meant. */
export function nearestName(
  name: string,
  known: readonly string[],
): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = levenshtein(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3))
    ? best.name
    : undefined;
}
