/**
 * Checks of ops input against the running dialplan, shared by routes and settings. A problem
 * refuses the change unless the user forces it; then it becomes a warning. When the PBX cannot
 * be asked at all, the change is refused too (an unchecked destination is exactly what the
 * check is there to prevent), again unless forced.
 */
import { parseDestination } from '../flow/destination';
import { PbxUnreachableError, type DialplanChecker } from './dialplan-checker';
import { invalid, OpsError, type FieldProblem } from './ops-error';

export type PbxCheck =
  | { field: string; kind: 'destination'; value: string; defaultContext: string }
  | { field: string; kind: 'previous_hop'; value: string };

export interface ForceOption {
  /** Save even when the PBX check fails or cannot run; the problems come back as warnings. */
  force?: boolean;
}

/** Where the checker comes from: null when AMI is not configured, with the reason. */
export type DialplanSource = () => Promise<DialplanChecker> | DialplanChecker;

const FORCE_HINT = 'use --force (API: ?force=true) to save without the check';

/** Runs the checks; throws OpsError unless forced, else returns the problems as warnings. */
export async function checkAgainstPbx(
  source: DialplanSource,
  checks: readonly PbxCheck[],
  options: ForceOption,
): Promise<string[]> {
  if (checks.length === 0) return [];
  const problems: FieldProblem[] = [];
  try {
    const checker = await source();
    for (const check of checks) {
      const problem =
        check.kind === 'destination'
          ? await checker.destinationProblem(parseDestination(check.value, check.defaultContext))
          : await checker.previousHopProblem(check.value);
      if (problem) problems.push({ field: check.field, message: problem });
    }
  } catch (err) {
    if (!(err instanceof PbxUnreachableError)) throw err;
    const message = `cannot check against the running dialplan: ${err.message}`;
    if (options.force) return [`not checked against the PBX: ${err.message}`];
    throw new OpsError('unavailable', `${message}; ${FORCE_HINT}`, [], { cause: err });
  }
  if (problems.length === 0) return [];
  if (options.force) return problems.map((p) => `${p.field}: ${p.message} (saved anyway, --force)`);
  const refused = invalid(problems.map((p) => ({ ...p, message: `${p.message}; ${FORCE_HINT}` })));
  throw refused;
}
