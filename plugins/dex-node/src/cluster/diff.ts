/**
 * Fields of `desired` whose values differ in `actual` (dotted paths). Fields the server adds
 * (defaults, status, metadata it manages) are not compared: only what the pack sets.
 */
export function changedFields(
  desired: unknown,
  actual: unknown,
  prefix = '',
): string[] {
  const out: string[] = [];
  collectChanges(desired, actual, prefix, out);
  return out;
}

/** changedFields into one array (a re-run compares every field of 20 objects). */
function collectChanges(
  desired: unknown,
  actual: unknown,
  prefix: string,
  out: string[],
): void {
  if (desired === null || typeof desired !== 'object') {
    if (!(
      desired === actual ||
      (String(desired) === String(actual) && typeof actual !== 'object')
    ))
      out.push(prefix || '.');
    return;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) {
      out.push(prefix);
      return;
    }
    const nested: string[] = [];
    for (let i = 0; i < desired.length; i++) {
      collectChanges(desired[i], actual[i], `${prefix}[${i}]`, nested);
      if (nested.length) break;
    }
    if (nested.length) out.push(prefix);
    return;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
    out.push(prefix || '.');
    return;
  }
  for (const key in desired as Record<string, unknown>) {
    if (!Object.prototype.hasOwnProperty.call(desired, key)) continue;
    collectChanges(
      (desired as Record<string, unknown>)[key],
      (actual as Record<string, unknown>)[key],
      prefix ? `${prefix}.${key}` : key,
      out,
    );
  }
}
