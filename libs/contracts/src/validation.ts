import type { z } from 'zod';
import { ForgeOneError, type ErrorCode } from './errors.js';

/** Formats zod issues as "field: problem" lines, naming the field a user has to fix. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : '(root)';
    if (issue.code === 'unrecognized_keys') return `${path === '(root)' ? '' : `${path}: `}unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return `${path}: is required (${issue.expected})`;
    return `${path}: ${issue.message}`;
  });
}

/**
 * Parses `value` with `schema` or throws a {@link ForgeOneError} with `code` whose message
 * lists every problem with the field it concerns.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, code: ErrorCode, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  throw new ForgeOneError(code, `${what} is invalid: ${problems.join('; ')}`, { problems });
}

/** The most audit log entries one page may hold (the projections' query and the HTTP query schema both bound by it). */
export const AUDIT_LOG_MAX_LIMIT = 1000;
