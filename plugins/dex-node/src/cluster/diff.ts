/**
 * Fields of `desired` whose values differ in `actual` (dotted paths). Fields the server adds
 * (defaults, status, metadata it manages) are not compared: only what the pack sets.
 */
export function changedFields(
  desired: unknown,
  actual: unknown,
  prefix = '',
): string[] {
  if (desired === null || typeof desired !== 'object') {
    return desired === actual ||
      (String(desired) === String(actual) && typeof actual !== 'object')
      ? []
      : [prefix || '.'];
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length)
      return [prefix];
    const nested = desired.flatMap((d, i) =>
      changedFields(d, actual[i], `${prefix}[${i}]`),
    );
    return nested.length ? [prefix] : [];
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
    return [prefix || '.'];
  const out: string[] = [];
  for (const [key, value] of Object.entries(
    desired as Record<string, unknown>,
  )) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.push(
      ...changedFields(value, (actual as Record<string, unknown>)[key], path),
    );
  }
  return out;
}
