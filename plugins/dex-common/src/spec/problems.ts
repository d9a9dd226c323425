import { z } from 'zod/v3';
import type { SpecProblem } from '../types';
import { clip } from './checks';

/** A zod path as the messages write fields: dex.exposure.ingress.hosts[0], annotations["x/y"]. */
export function formatPath(path: (string | number)[]): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(segment))
        return i === 0 ? segment : `.${segment}`;
      return `["${clip(segment)}"]`;
    })
    .join('');
}

const TYPE_NAMES: Record<string, string> = {
  array: 'a list',
  object: 'an object',
};

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}

/**
 * zod's own wording for type and enum errors, rewritten to say what to change; messages a schema
 * sets itself (required_error, checks) are kept.
 */
const errorMap: z.ZodErrorMap = (issue, ctx) => {
  const own = z.defaultErrorMap(issue, {
    data: ctx.data,
    defaultError: ctx.defaultError,
  }).message;
  if (ctx.defaultError !== own) return { message: ctx.defaultError };
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      if (issue.received === 'undefined') return { message: 'is required' };
      return {
        message: `must be ${TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`}; got ${describeValue(ctx.data)}`,
      };
    case z.ZodIssueCode.invalid_enum_value:
      return {
        message: `must be one of ${issue.options.join(', ')}; got ${JSON.stringify(issue.received)}`,
      };
    case z.ZodIssueCode.invalid_literal:
      return {
        message: `must be ${JSON.stringify(issue.expected)}; got ${describeValue(ctx.data)}`,
      };
    default:
      return { message: ctx.defaultError };
  }
};

/**
 * A value parsed by a schema (empty form fields dropped), or every problem zod finds in it, each
 * naming its field and what to change.
 */
export function parseWithProblems<T extends z.ZodTypeAny>(
  schema: T,
  value: unknown,
): { data?: z.infer<T>; problems: SpecProblem[] } {
  const result = schema.safeParse(value, { errorMap });
  if (result.success) return { data: result.data, problems: [] };
  const problems: SpecProblem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      // One message line per unknown key (see strictObject in schema.ts).
      const lines = issue.message.split('\n');
      issue.keys.forEach((key, i) =>
        problems.push({
          field: formatPath([...issue.path, key]),
          message: lines[i] ?? issue.message,
        }),
      );
    } else {
      problems.push({ field: formatPath(issue.path), message: issue.message });
    }
  }
  return { problems };
}
