/**
 * The one error type of the ops layer. The CLI and the admin HTTP API both turn it into an
 * answer for a person: `kind` picks the exit code or HTTP status, `problems` name each field
 * that was refused. Anything else thrown below the ops layer is a bug or an outage and is
 * reported without internals (see src/cli/run-cli.ts and src/http/admin-server.ts).
 */
import type { z } from 'zod';

/**
 * invalid 400 / exit 1; not_found 404 / 1; conflict 409 / 1; limited 429 / 1 (a limit of the
 * verification service: `code` says which: locked, rate_limited, max_sends, max_attempts);
 * upstream 502 / 3 (the mail server or SMS provider failed); unavailable 503 / 3.
 */
export type OpsErrorKind = 'invalid' | 'not_found' | 'conflict' | 'limited' | 'upstream' | 'unavailable';

export interface FieldProblem {
  /** The field as the user wrote it: a JSON property, a CSV column, a setting key. */
  field: string;
  message: string;
}

export class OpsError extends Error {
  /** The error word of the API answer: the kind, or a finer word (locked, rate_limited, ...). */
  readonly code: string;
  readonly retryAfterSeconds: number | null;
  constructor(
    readonly kind: OpsErrorKind,
    message: string,
    readonly problems: readonly FieldProblem[] = [],
    options?: { cause?: unknown; code?: string; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.code = options?.code ?? kind;
    this.retryAfterSeconds = options?.retryAfterSeconds ?? null;
    this.name = 'OpsError';
  }
}

export function invalid(problems: readonly FieldProblem[]): OpsError {
  return new OpsError('invalid', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}

export function notFound(message: string): OpsError {
  return new OpsError('not_found', message);
}

/** Zod issues as field problems; `prefix` names the object they came from, if any. */
export function zodProblems(error: z.ZodError, prefix = ''): FieldProblem[] {
  return error.issues.map((issue) => {
    const keys =
      issue.code === 'unrecognized_keys' ? (issue as unknown as { keys: string[] }).keys : undefined;
    const path = issue.path.map(String).join('.');
    const field = keys
      ? keys.map((k) => [prefix, path, k].filter(Boolean).join('.')).join(', ')
      : [prefix, path].filter(Boolean).join('.') || 'body';
    const message = keys ? `unknown field${keys.length > 1 ? 's' : ''} ${keys.join(', ')}` : issue.message;
    return { field, message };
  });
}

/** Parses with a zod schema, or throws OpsError('invalid') naming every bad field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, prefix = ''): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw invalid(zodProblems(parsed.error, prefix));
}

/** Postgres unique_violation, so a duplicate becomes a 409 naming the field, not a 500. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
