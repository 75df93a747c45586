/**
 * The AMI dialplan checker against the lab's running Asterisk (AMI on AMI_HOST:AMI_PORT, default
 * 127.0.0.1:5038, user AMI_USER / AMI_SECRET from scripts/lab-env.sh), with the dialplan of
 * asterisk-conf/extensions.conf. Checks what unit tests cannot: that Asterisk answers ShowDialPlan
 * the way the checker reads it, and that list events reach a client logged in with events off.
 * Needs the lab up (npm test brings it up before the integration tests).
 */
import { AmiActionError, createAmiClient, type AmiClient } from '../../src/ami/ami-client';
import { createAmiDialplanChecker, type AmiDialplanChecker } from '../../src/ami/ami-dialplan-checker';
import { PbxUnreachableError } from '../../src/ops/dialplan-checker';

const AMI = {
  host: process.env.AMI_HOST || '127.0.0.1',
  port: Number(process.env.AMI_PORT || 5038),
  user: process.env.AMI_USER || 'pinverify',
  secret: process.env.AMI_SECRET || 'pinverify-lab-ami',
};
const APP = process.env.ARI_APP || 'pinverify';
/** A port where nothing listens. */
const DEAD_PORT = 1;

describe('AmiClient.actionList against the lab Asterisk', () => {
  let ami: AmiClient;
  beforeAll(() => {
    // createAmiClient logs in with events off: only answers to our own actions should arrive.
    ami = createAmiClient({ ...AMI, onError: () => undefined });
  });
  afterAll(() => ami.close());

  it('collects the list events of its own action, without the closing event', async () => {
    const { response, events } = await ami.actionList({
      Action: 'ShowDialPlan',
      Context: 'pinverify-destinations',
      Extension: '2003',
    });
    expect(response).toMatchObject({ response: 'Success', eventlist: 'start' });
    expect(events.map((e) => [e.event, e.extension, e.priority, e.application])).toEqual([
      ['ListDialplan', '_2XXX', '1', 'Verbose'],
      ['ListDialplan', '_2XXX', '2', 'Dial'],
      ['ListDialplan', '_2XXX', '3', 'Hangup'],
    ]);
    expect(new Set(events.map((e) => e.actionid))).toEqual(new Set([response.actionid]));
  });

  it('keeps the answers of concurrent list actions apart', async () => {
    const [a, b] = await Promise.all([
      ami.actionList({ Action: 'ShowDialPlan', Context: 'pinverify-support-autopin' }),
      ami.actionList({ Action: 'ShowDialPlan', Context: 'pinverify-sales-autopin' }),
    ]);
    expect(new Set(a.events.map((e) => e.context))).toEqual(new Set(['pinverify-support-autopin']));
    expect(new Set(b.events.map((e) => e.context))).toEqual(new Set(['pinverify-sales-autopin']));
  });

  it("rejects with AmiActionError carrying Asterisk's message", async () => {
    const err: unknown = await ami
      .actionList({ Action: 'ShowDialPlan', Context: 'pinverify-destinations', Extension: '9999' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmiActionError);
    expect((err as AmiActionError).amiMessage).toBe('Did not find extension 9999@pinverify-destinations');
    expect((err as AmiActionError).message).toContain('ShowDialPlan');
  });

  it('leaves plain actions as they were', async () => {
    await expect(ami.action({ Action: 'Ping' })).resolves.toMatchObject({ response: 'Success' });
  });
});

describe('AmiDialplanChecker against the lab Asterisk', () => {
  let checker: AmiDialplanChecker;
  beforeAll(() => {
    checker = createAmiDialplanChecker({
      ami: createAmiClient({ ...AMI, onError: () => undefined }),
      app: APP,
      ownsAmi: true,
    });
  });
  afterAll(() => checker.close());

  const dest = (exten: string, priority = 1, context = 'pinverify-destinations') =>
    checker.destinationProblem({ exten, context, priority });

  it('finds 2003 through the _2XXX pattern, at priority 2 but not 9', async () => {
    await expect(dest('2003')).resolves.toBeNull();
    await expect(dest('2003', 2)).resolves.toBeNull();
    await expect(dest('2003', 9)).resolves.toBe(
      'extension 2003 (matched by _2XXX) in context "pinverify-destinations" has no priority 9 (it has 1-3)',
    );
  });

  it('names an extension the context does not have', async () => {
    await expect(dest('9999')).resolves.toBe('extension 9999 is not in context "pinverify-destinations"');
  });

  it('names a context the dialplan does not have', async () => {
    await expect(dest('2003', 1, 'nope')).resolves.toBe(
      'context "nope" does not exist in the running dialplan',
    );
  });

  it('accepts the sub-IVR contexts as previous hops and refuses one that is nowhere', async () => {
    await expect(checker.previousHopProblem('pinverify-support-autopin')).resolves.toBeNull();
    await expect(checker.previousHopProblem('pinverify-sales-autopin')).resolves.toBeNull();
    await expect(checker.previousHopProblem('sales')).resolves.toBe(
      `"sales" is neither a context of the running dialplan nor a route name passed to ` +
        `Stasis(${APP},route=sales) or Stasis(${APP},sales)`,
    );
  });

  it('finds where a call from the Sales sub-IVR enters the app', async () => {
    // extensions.conf: exten 1 (press 1) and t (no input) both run Stasis(${PINVERIFY_APP}) at
    // priority 1; 1 comes first in Asterisk's listing.
    await expect(checker.findStasisEntry('pinverify-sales-autopin')).resolves.toEqual({
      context: 'pinverify-sales-autopin',
      exten: '1',
      priority: 1,
    });
    await expect(checker.findStasisEntry('pinverify-destinations')).resolves.toBeNull();
    await expect(checker.findStasisEntry('sales')).resolves.toBeNull();
  });
});

// asterisk-manager schedules a reconnect 10 s after a connection closes, and close() cannot cancel
// that timer: run alone, this file keeps jest alive about 10 s after the last test.
describe('AmiDialplanChecker when AMI cannot be used', () => {
  async function failure(opts: { port?: number; secret?: string }): Promise<{ err: unknown; ms: number }> {
    const checker = createAmiDialplanChecker({
      ami: createAmiClient({ ...AMI, ...opts, onError: () => undefined }),
      app: APP,
      ownsAmi: true,
    });
    const started = Date.now();
    try {
      const err: unknown = await checker
        .destinationProblem({
          exten: '2003',
          context: 'pinverify-destinations',
          priority: 1,
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      return { err, ms: Date.now() - started };
    } finally {
      checker.close();
    }
  }

  it('rejects with PbxUnreachableError naming host:port and the cause, at once, on a wrong port', async () => {
    const { err, ms } = await failure({ port: DEAD_PORT });
    expect(err).toBeInstanceOf(PbxUnreachableError);
    expect((err as Error).message).toContain(`AMI ${AMI.host}:${DEAD_PORT}`);
    expect((err as Error).message).toContain('ECONNREFUSED');
    // The refused connection ends the wait; the 5 s deadline is not needed.
    expect(ms).toBeLessThan(2000);
  });

  it('rejects with PbxUnreachableError saying the login was refused', async () => {
    const { err, ms } = await failure({ secret: 'not-the-secret' });
    expect(err).toBeInstanceOf(PbxUnreachableError);
    expect((err as Error).message).toContain(`AMI ${AMI.host}:${AMI.port}`);
    expect((err as Error).message).toContain(`login as "${AMI.user}" refused: Authentication failed`);
    expect(ms).toBeLessThan(2000);
  });
});
