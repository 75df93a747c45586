/**
 * What ops expect a test call to end with (`--expect verified`, `--expect no_match`,
 * `--expect-destination 2901`), and whether an outcome meets it. Strict on purpose: a typo in an
 * expectation must be refused, not silently never match (or always match).
 */
import { REASONS, type Reason } from '../domain';
import type { DialplanPlace, TestCallOutcome } from './test-call-ports';

/** Every Reason, at runtime. */
export { REASONS };

export interface Expectation {
  result: 'verified' | 'failed';
  /** null: any reason with that result. */
  reason: Reason | null;
}

/** A destination to compare with where the call went; unset parts match anything. */
export interface ExpectedDestination {
  exten: string;
  /** null: any context. */
  context: string | null;
  /** null: any priority. */
  priority: number | null;
}

export class ExpectationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpectationError';
  }
}

const ACCEPTED = `verified, failed, failed:<reason> or a reason (${REASONS.join(', ')})`;

function isReason(text: string): text is Reason {
  return (REASONS as readonly string[]).includes(text);
}

/** Parses `verified`, `failed`, `failed:<reason>`, `verified:ok` or a bare reason; throws ExpectationError otherwise. */
export function parseExpectation(text: string): Expectation {
  const t = text.trim().toLowerCase();
  const refuse = (why: string): never => {
    throw new ExpectationError(`${why}: expected ${ACCEPTED}`);
  };
  if (t === 'verified' || t === 'failed') return { result: t, reason: null };
  const colon = t.indexOf(':');
  if (colon >= 0) {
    const result = t.slice(0, colon);
    const reason = t.slice(colon + 1);
    if (result !== 'verified' && result !== 'failed')
      return refuse(`unknown result "${result}" in "${text}"`);
    if (!isReason(reason)) return refuse(`unknown reason "${reason}" in "${text}"`);
    if ((result === 'verified') !== (reason === 'ok')) {
      return refuse(`"${text}" cannot happen: a call is verified exactly when its reason is ok`);
    }
    return { result, reason };
  }
  if (isReason(t)) return { result: t === 'ok' ? 'verified' : 'failed', reason: t };
  return refuse(`unknown expectation "${text}"`);
}

/** Parses `2003`, `2003@pinverify-destinations` or `2003@pinverify-destinations:1`. */
export function parseExpectedDestination(text: string): ExpectedDestination {
  const m = /^([0-9A-Za-z_+*#-]+)(?:@([A-Za-z0-9_-]+)(?::([1-9][0-9]{0,8}))?)?$/.exec(text.trim());
  if (!m?.[1]) {
    throw new ExpectationError(
      `unknown destination "${text}": expected exten, exten@context or exten@context:priority (e.g. 2003@pinverify-destinations)`,
    );
  }
  return { exten: m[1], context: m[2] ?? null, priority: m[3] === undefined ? null : Number(m[3]) };
}

/** Each way the outcome misses the expectation, as a sentence; empty when it matches. */
export function expectationProblems(
  expected: Expectation | null,
  outcome: Pick<TestCallOutcome, 'result' | 'reason' | 'reached'>,
  destination: ExpectedDestination | null = null,
): string[] {
  const problems: string[] = [];
  if (expected) {
    const want = expected.reason === null ? expected.result : `${expected.result}/${expected.reason}`;
    const got = `${outcome.result}/${outcome.reason}`;
    if (
      outcome.result !== expected.result ||
      (expected.reason !== null && outcome.reason !== expected.reason)
    ) {
      problems.push(`expected ${want}, got ${got}`);
    }
  }
  if (destination) {
    const want = describeDestination(destination);
    const reached = outcome.reached;
    if (!reached)
      problems.push(`expected the call to go to ${want}, but no dialplan step was seen after the result`);
    else if (!destinationMatches(destination, reached)) {
      problems.push(
        `expected the call to go to ${want}, it went to ${reached.exten}@${reached.context}:${reached.priority}`,
      );
    }
  }
  return problems;
}

/** True when the outcome meets the expectation (and the destination, when given). */
export function matchesExpectation(
  expected: Expectation | null,
  outcome: Pick<TestCallOutcome, 'result' | 'reason' | 'reached'>,
  destination: ExpectedDestination | null = null,
): boolean {
  return expectationProblems(expected, outcome, destination).length === 0;
}

function destinationMatches(d: ExpectedDestination, reached: DialplanPlace): boolean {
  return (
    d.exten === reached.exten &&
    (d.context === null || d.context === reached.context) &&
    (d.priority === null || d.priority === reached.priority)
  );
}

function describeDestination(d: ExpectedDestination): string {
  return `${d.exten}${d.context === null ? '' : `@${d.context}`}${d.priority === null ? '' : `:${d.priority}`}`;
}
