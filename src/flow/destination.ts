/**
 * Destinations as ops write them in a route or the settings: "exten", "exten@context" or
 * "exten@context:priority" (the same shapes as Asterisk's Goto). Validated strictly, because a
 * typo here would drop verified callers into a dialplan dead end.
 */
import { z } from 'zod';
import type { DialplanTarget } from '../call/channel-control';

// Concrete extensions only: letters, digits and the dialable symbols. Pattern wildcards such
// as "." or "!" are not something a call can continue to.
const EXTEN_RE = /^[0-9A-Za-z_+*#-]+$/;
const CONTEXT_RE = /^[A-Za-z0-9_-]+$/;
const PRIORITY_RE = /^[1-9][0-9]*$/;
// Asterisk's AST_MAX_EXTENSION and AST_MAX_CONTEXT are 80 bytes including the terminating NUL.
const MAX_NAME = 79;

export class DestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationError';
  }
}

function checkContext(context: string, what: string, text: string): void {
  if (context === '') throw new DestinationError(`${what} is empty in destination "${text}"`);
  if (context.length > MAX_NAME)
    throw new DestinationError(`${what} "${context}" is longer than ${MAX_NAME} characters`);
  if (!CONTEXT_RE.test(context)) {
    throw new DestinationError(`${what} "${context}" may only contain letters, digits, "_" and "-"`);
  }
}

/** Parses a destination; throws DestinationError naming what is wrong. */
export function parseDestination(text: string, defaultContext: string): DialplanTarget {
  const trimmed = text.trim();
  if (trimmed === '') throw new DestinationError('destination is empty');

  const at = trimmed.indexOf('@');
  const extenPart = at < 0 ? trimmed : trimmed.slice(0, at);
  let contextPart: string | null = null;
  let priorityPart: string | null = null;
  if (at >= 0) {
    const rest = trimmed.slice(at + 1);
    const colon = rest.indexOf(':');
    contextPart = colon < 0 ? rest : rest.slice(0, colon);
    priorityPart = colon < 0 ? null : rest.slice(colon + 1);
  } else if (extenPart.includes(':')) {
    throw new DestinationError(
      `destination "${trimmed}": a priority needs a context (exten@context:priority)`,
    );
  }

  if (extenPart === '') throw new DestinationError(`extension is empty in destination "${trimmed}"`);
  if (extenPart.length > MAX_NAME) {
    throw new DestinationError(`extension "${extenPart}" is longer than ${MAX_NAME} characters`);
  }
  if (!EXTEN_RE.test(extenPart)) {
    throw new DestinationError(
      `extension "${extenPart}" in destination "${trimmed}" may only contain letters, digits and _ + * # -`,
    );
  }

  let context: string;
  if (contextPart === null) {
    checkContext(defaultContext, 'default context', trimmed);
    context = defaultContext;
  } else {
    checkContext(contextPart, 'context', trimmed);
    context = contextPart;
  }

  let priority = 1;
  if (priorityPart !== null) {
    if (!PRIORITY_RE.test(priorityPart)) {
      throw new DestinationError(
        `priority "${priorityPart}" in destination "${trimmed}" must be a positive integer`,
      );
    }
    priority = Number(priorityPart);
    if (!Number.isSafeInteger(priority) || priority > 2_147_483_647) {
      throw new DestinationError(`priority "${priorityPart}" in destination "${trimmed}" is too large`);
    }
  }
  return { exten: extenPart, context, priority };
}

/** The full "exten@context:priority" form; parseDestination reads it back unchanged. */
export function formatDestination(target: DialplanTarget): string {
  return `${target.exten}@${target.context}:${target.priority}`;
}

/**
 * A destination's shape as a zod schema, for every input that takes one (settings, routes, the
 * API): parseDestination is the one judge. Whether it exists is the PBX check's job.
 */
export const destinationSchema = z.string().superRefine((value, ctx) => {
  try {
    // Any valid context name will do for the shape check; the real one is applied later.
    parseDestination(value, 'default');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});
