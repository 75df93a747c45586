/**
 * checkAgainstPbx with a fake DialplanChecker: problems refuse the change naming the field and
 * how to force it; --force turns them into warnings; an unreachable PBX is "unavailable" unless
 * forced; other errors are not mistaken for an outage; and with nothing to check the PBX is not
 * even asked (so a CLI command that checks nothing never opens an AMI connection).
 */
import {
  PbxUnreachableError,
  type DialplanChecker,
  type DialplanTargetRef,
} from '../../../src/ops/dialplan-checker';
import { OpsError } from '../../../src/ops/ops-error';
import { checkAgainstPbx, type PbxCheck } from '../../../src/ops/pbx-checks';

/** A dialplan with context "dest" holding extensions 2000-2999, and contexts ivr-a, ivr-b. */
function fakeChecker(): DialplanChecker & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async destinationProblem(t: DialplanTargetRef) {
      asked.push(`${t.exten}@${t.context}:${t.priority}`);
      if (t.context !== 'dest') return `context "${t.context}" does not exist in the running dialplan`;
      return /^2[0-9]{3}$/.test(t.exten) ? null : `extension ${t.exten} is not in context "${t.context}"`;
    },
    async previousHopProblem(hop: string) {
      asked.push(`hop ${hop}`);
      return ['ivr-a', 'ivr-b'].includes(hop) ? null : `"${hop}" is neither a context nor a route name`;
    },
    close: () => undefined,
  };
}

const CHECKS: PbxCheck[] = [
  { field: 'previousHop', kind: 'previous_hop', value: 'ivr-c' },
  { field: 'successDestination', kind: 'destination', value: '2001', defaultContext: 'dest' },
  { field: 'failedDestination', kind: 'destination', value: '9999', defaultContext: 'dest' },
];

async function caught(p: Promise<unknown>): Promise<OpsError> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpsError);
  return err as OpsError;
}

describe('checkAgainstPbx', () => {
  it('passes when the dialplan has everything, asking about each value once', async () => {
    const checker = fakeChecker();
    const ok: PbxCheck[] = [
      { field: 'previousHop', kind: 'previous_hop', value: 'ivr-a' },
      { field: 'successDestination', kind: 'destination', value: '2001@dest:2', defaultContext: 'other' },
      { field: 'failedDestination', kind: 'destination', value: '2901', defaultContext: 'dest' },
    ];
    await expect(checkAgainstPbx(() => checker, ok, {})).resolves.toEqual([]);
    expect(checker.asked).toEqual(['hop ivr-a', '2001@dest:2', '2901@dest:1']);
  });

  it('refuses with every problem, each naming its field and how to force it', async () => {
    const err = await caught(checkAgainstPbx(() => fakeChecker(), CHECKS, {}));
    expect(err.kind).toBe('invalid');
    const hint = '; use --force (API: ?force=true) to save without the check';
    expect(err.problems).toEqual([
      { field: 'previousHop', message: `"ivr-c" is neither a context nor a route name${hint}` },
      { field: 'failedDestination', message: `extension 9999 is not in context "dest"${hint}` },
    ]);
  });

  it('returns the problems as warnings when forced', async () => {
    await expect(checkAgainstPbx(() => fakeChecker(), CHECKS, { force: true })).resolves.toEqual([
      'previousHop: "ivr-c" is neither a context nor a route name (saved anyway, --force)',
      'failedDestination: extension 9999 is not in context "dest" (saved anyway, --force)',
    ]);
  });

  it('is "unavailable" when the PBX cannot be asked, and a warning when forced', async () => {
    const down = (): DialplanChecker => {
      throw new PbxUnreachableError('AMI 127.0.0.1:1 could not answer ShowDialPlan: connect ECONNREFUSED');
    };
    const err = await caught(checkAgainstPbx(down, CHECKS, {}));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toBe(
      'cannot check against the running dialplan: AMI 127.0.0.1:1 could not answer ShowDialPlan: connect ECONNREFUSED; use --force (API: ?force=true) to save without the check',
    );
    await expect(checkAgainstPbx(down, CHECKS, { force: true })).resolves.toEqual([
      'not checked against the PBX: AMI 127.0.0.1:1 could not answer ShowDialPlan: connect ECONNREFUSED',
    ]);
  });

  it('treats a checker that fails midway like a PBX that cannot be asked', async () => {
    const checker = fakeChecker();
    checker.destinationProblem = () => Promise.reject(new PbxUnreachableError('connection lost'));
    const err = await caught(checkAgainstPbx(() => checker, CHECKS, {}));
    expect(err.kind).toBe('unavailable');
  });

  it('does not hide a bug as an outage, even when forced', async () => {
    const checker = fakeChecker();
    checker.previousHopProblem = () => Promise.reject(new TypeError('x is undefined'));
    await expect(checkAgainstPbx(() => checker, CHECKS, { force: true })).rejects.toThrow(TypeError);
  });

  it('does not ask the PBX when there is nothing to check', async () => {
    const source = jest.fn(() => fakeChecker());
    await expect(checkAgainstPbx(source, [], {})).resolves.toEqual([]);
    expect(source).not.toHaveBeenCalled();
  });

  it('accepts an asynchronous source', async () => {
    const checker = fakeChecker();
    await expect(checkAgainstPbx(async () => checker, CHECKS.slice(1, 2), {})).resolves.toEqual([]);
  });
});
