/**
 * The AMI dialplan checker's reading of ShowDialPlan answers, against a fake AMI client that
 * answers the way Asterisk 22 does (measured on the lab: Error "Did not find ..." for a missing
 * context or extension, ListDialplan events otherwise), so every answer shape is covered without
 * a PBX. The live behaviour is in test/integration/ami-dialplan-checker.test.ts.
 */
import { AmiActionError, type AmiClient, type AmiListResult } from '../../src/ami/ami-client';
import { createAmiDialplanChecker } from '../../src/ami/ami-dialplan-checker';
import { PbxUnreachableError } from '../../src/ops/dialplan-checker';

type Line = [context: string, exten: string, priority: number, application: string, appdata: string];

/** A dialplan shaped like the lab's, plus the argument styles the app accepts. */
const DIALPLAN: Line[] = [
  ['pinverify-destinations', '_2XXX', 1, 'Verbose', '1,to ${EXTEN}'],
  ['pinverify-destinations', '_2XXX', 2, 'Dial', 'PJSIP/lab-agents/sip:${EXTEN}@127.0.0.1:5080,30'],
  ['pinverify-destinations', '_2XXX', 3, 'Hangup', ''],
  // Listed the way Asterisk sorts a context: *, 1, i, s, t. The * (the caller skipping
  // verification in the greeting) enters the app too, but not to be verified.
  ['pinverify-sales-autopin', '*', 1, 'Stasis', '${PINVERIFY_APP},action=bail'],
  [
    'pinverify-sales-autopin',
    '*',
    2,
    'Gosub',
    'pinverify-app-unavailable,s,1(pinverify-destinations,2900,${CONTEXT})',
  ],
  ['pinverify-sales-autopin', '1', 1, 'Stasis', '${PINVERIFY_APP}'],
  [
    'pinverify-sales-autopin',
    '1',
    2,
    'Gosub',
    'pinverify-app-unavailable,s,1(pinverify-destinations,2900,${CONTEXT})',
  ],
  ['pinverify-sales-autopin', 'i', 1, 'Goto', '1,1'],
  ['pinverify-sales-autopin', 's', 1, 'Answer', ''],
  ['pinverify-sales-autopin', 't', 1, 'Stasis', '${PINVERIFY_APP}'],
  // Stasis only after an Answer in s; at once in t: t is where a call enters.
  ['late-entry', 's', 1, 'Answer', ''],
  ['late-entry', 's', 2, 'Stasis', 'pinverify'],
  ['late-entry', 't', 1, 'Stasis', 'pinverify'],
  ['ivr-billing', 's', 1, 'Answer', ''],
  ['ivr-billing', 's', 2, 'Stasis', 'pinverify,route=billing'],
  ['ivr-vip', '5', 1, 'Stasis', 'pinverify, "vip" ,lang=de'],
  ['ivr-later-route', '5', 1, 'Stasis', 'pinverify,lang=de,route=late'],
  // The route is passed to another app: not a previous hop of ours.
  ['other-app', 's', 1, 'Stasis', 'someoneelse,route=elsewhere'],
  // A Stasis whose context is overridden by its route argument.
  ['ivr-renamed', 's', 1, 'Stasis', 'pinverify,route=renamed'],
  // FreePBX: the drop-in's header bridge takes any number on to from-internal.
  ['pinverify-freepbx', '_X!', 1, 'Set', 'HASH(__SIPHEADERS,X-PinVerify-Result)=${PINVERIFY_RESULT}'],
  ['pinverify-freepbx', '_X!', 6, 'Goto', 'from-internal,${EXTEN},1'],
  ['from-internal', '_2XXX', 1, 'Macro', 'exten-vm,novm,${EXTEN}'],
];

/** Only the parts of a ShowDialPlan answer the checker reads, in asterisk-manager's lower case. */
function event(line: Line, actionid: string): Record<string, unknown> {
  const [context, extension, priority, application, appdata] = line;
  return {
    event: 'ListDialplan',
    actionid,
    context,
    extension,
    priority: String(priority),
    application,
    appdata,
    registrar: 'pbx_config',
  };
}

/** Asterisk's ShowDialPlan semantics, with enough pattern matching (X N Z . [..]) for the tests. */
function matches(pattern: string, exten: string): boolean {
  if (!pattern.startsWith('_')) return pattern === exten;
  const re = pattern
    .slice(1)
    .replace(/X/g, '[0-9]')
    .replace(/N/g, '[2-9]')
    .replace(/Z/g, '[1-9]')
    .replace(/\./g, '.+')
    .replace(/!/g, '.*');
  return new RegExp(`^${re}$`).test(exten);
}

function fakeAmi(dialplan: Line[] = DIALPLAN) {
  const calls: Record<string, string>[] = [];
  const ami = {
    calls,
    closed: 0,
    action: jest.fn(() => Promise.reject(new Error('not used'))),
    actionList: jest.fn(async (fields: Record<string, string>): Promise<AmiListResult> => {
      calls.push(fields);
      const { Context: context, Extension: exten } = fields;
      let lines = dialplan;
      if (context) {
        lines = lines.filter((l) => l[0] === context);
        if (lines.length === 0)
          throw new AmiActionError('ShowDialPlan', `Did not find context ${context}`, 'fake');
      }
      if (exten) {
        lines = lines.filter((l) => matches(l[1], exten));
        if (lines.length === 0)
          throw new AmiActionError('ShowDialPlan', `Did not find extension ${exten}@${context}`, 'fake');
      }
      return {
        response: { response: 'Success', eventlist: 'start', actionid: 'a1' },
        events: lines.map((l) => event(l, 'a1')),
      };
    }),
    onEvent: () => undefined,
    connected: () => true,
    close() {
      ami.closed++;
    },
  };
  return ami satisfies AmiClient;
}

function checker(ami: AmiClient = fakeAmi()) {
  return createAmiDialplanChecker({ ami, app: 'pinverify' });
}

describe('AmiDialplanChecker.destinationProblem', () => {
  it('accepts an extension Asterisk matches through a pattern, at each priority it has', async () => {
    const ami = fakeAmi();
    const c = checker(ami);
    for (const priority of [1, 2, 3])
      await expect(
        c.destinationProblem({ exten: '2003', context: 'pinverify-destinations', priority }),
      ).resolves.toBeNull();
    // Asterisk is asked for the number itself; its own pattern matching decides.
    expect(ami.calls[0]).toEqual({
      Action: 'ShowDialPlan',
      Context: 'pinverify-destinations',
      Extension: '2003',
    });
  });

  it('names a missing extension', async () => {
    await expect(
      checker().destinationProblem({ exten: '9999', context: 'pinverify-destinations', priority: 1 }),
    ).resolves.toBe('extension 9999 is not in context "pinverify-destinations"');
  });

  it('names a missing context', async () => {
    await expect(checker().destinationProblem({ exten: '2003', context: 'nope', priority: 1 })).resolves.toBe(
      'context "nope" does not exist in the running dialplan',
    );
  });

  it('names a missing priority with the pattern that matched and the priorities there are', async () => {
    await expect(
      checker().destinationProblem({ exten: '2003', context: 'pinverify-destinations', priority: 7 }),
    ).resolves.toBe(
      'extension 2003 (matched by _2XXX) in context "pinverify-destinations" has no priority 7 (it has 1-3)',
    );
  });

  it('lists gaps in the priorities as separate ranges', async () => {
    const c = checker(
      fakeAmi([
        ['gaps', '100', 1, 'NoOp', ''],
        ['gaps', '100', 2, 'NoOp', ''],
        ['gaps', '100', 5, 'NoOp', ''],
      ]),
    );
    await expect(c.destinationProblem({ exten: '100', context: 'gaps', priority: 3 })).resolves.toBe(
      'extension 100 in context "gaps" has no priority 3 (it has 1-2, 5)',
    );
  });

  it('refuses names that cannot be in a dialplan without asking the PBX', async () => {
    const ami = fakeAmi();
    const c = checker(ami);
    // An empty ShowDialPlan filter would mean "everything" and match.
    await expect(c.destinationProblem({ exten: '2003', context: '', priority: 1 })).resolves.toBe(
      'context is empty',
    );
    // A line break would end the AMI action and start a new one.
    await expect(
      c.destinationProblem({ exten: '2003\r\nAction: Originate', context: 'x', priority: 1 }),
    ).resolves.toMatch(/^extension .* contains control characters$/);
    await expect(c.destinationProblem({ exten: '2003', context: 'x', priority: 0 })).resolves.toMatch(
      /priority 0 is not a whole number/,
    );
    expect(ami.actionList).not.toHaveBeenCalled();
  });
});

describe('AmiDialplanChecker.previousHopProblem', () => {
  it('accepts a context of the running dialplan with a single, filtered request', async () => {
    const ami = fakeAmi();
    await expect(checker(ami).previousHopProblem('pinverify-sales-autopin')).resolves.toBeNull();
    expect(ami.calls).toEqual([{ Action: 'ShowDialPlan', Context: 'pinverify-sales-autopin' }]);
  });

  it('accepts a route name passed as route=<hop>, then reads the whole dialplan', async () => {
    const ami = fakeAmi();
    await expect(checker(ami).previousHopProblem('billing')).resolves.toBeNull();
    expect(ami.calls).toEqual([{ Action: 'ShowDialPlan', Context: 'billing' }, { Action: 'ShowDialPlan' }]);
  });

  it('accepts a route name passed as the bare first argument (quotes and blanks removed)', async () => {
    await expect(checker().previousHopProblem('vip')).resolves.toBeNull();
  });

  it('accepts route= in a later argument, as the app reads it', async () => {
    await expect(checker().previousHopProblem('late')).resolves.toBeNull();
  });

  it('does not take an argument that is not the first as a route name', async () => {
    await expect(checker().previousHopProblem('lang=de')).resolves.not.toBeNull();
  });

  it('does not count routes passed to another Stasis app', async () => {
    await expect(checker().previousHopProblem('elsewhere')).resolves.toBe(
      '"elsewhere" is neither a context of the running dialplan nor a route name passed to ' +
        'Stasis(pinverify,route=elsewhere) or Stasis(pinverify,elsewhere)',
    );
  });

  it('names a hop found nowhere', async () => {
    await expect(checker().previousHopProblem('sales')).resolves.toBe(
      '"sales" is neither a context of the running dialplan nor a route name passed to ' +
        'Stasis(pinverify,route=sales) or Stasis(pinverify,sales)',
    );
  });

  it('refuses an empty hop without asking the PBX', async () => {
    const ami = fakeAmi();
    await expect(checker(ami).previousHopProblem('  ')).resolves.toBe('previous hop is empty');
    expect(ami.actionList).not.toHaveBeenCalled();
  });
});

describe('AmiDialplanChecker.destinationProblem through the FreePBX bridge', () => {
  it('accepts a number that from-internal has', async () => {
    await expect(
      checker().destinationProblem({ exten: '2001', context: 'pinverify-freepbx', priority: 1 }),
    ).resolves.toBeNull();
  });

  it('refuses a number the bridge matches but from-internal lacks (it could reach a trunk)', async () => {
    await expect(
      checker().destinationProblem({ exten: '9999', context: 'pinverify-freepbx', priority: 1 }),
    ).resolves.toBe(
      'pinverify-freepbx continues in from-internal, and there extension 9999 is not in context "from-internal"',
    );
  });
});

describe('AmiDialplanChecker.findStasisEntry', () => {
  it('finds the extension of a context hop whose Stasis runs first, in listing order, never the bail-out *', async () => {
    await expect(checker().findStasisEntry('pinverify-sales-autopin')).resolves.toEqual({
      context: 'pinverify-sales-autopin',
      exten: '1',
      priority: 1,
    });
  });

  it('prefers the extension where Stasis is the first priority', async () => {
    await expect(checker().findStasisEntry('late-entry')).resolves.toEqual({
      context: 'late-entry',
      exten: 't',
      priority: 1,
    });
  });

  it('finds the line that passes a route name', async () => {
    await expect(checker().findStasisEntry('billing')).resolves.toEqual({
      context: 'ivr-billing',
      exten: 's',
      priority: 2,
    });
    await expect(checker().findStasisEntry('vip')).resolves.toEqual({
      context: 'ivr-vip',
      exten: '5',
      priority: 1,
    });
  });

  it('does not give a context whose Stasis passes another route name (the app would see that route)', async () => {
    await expect(checker().findStasisEntry('ivr-renamed')).resolves.toBeNull();
    await expect(checker().findStasisEntry('renamed')).resolves.toEqual({
      context: 'ivr-renamed',
      exten: 's',
      priority: 1,
    });
  });

  it('is null for a context without Stasis, a hop found nowhere and another app', async () => {
    const c = checker();
    await expect(c.findStasisEntry('pinverify-destinations')).resolves.toBeNull();
    await expect(c.findStasisEntry('sales')).resolves.toBeNull();
    await expect(c.findStasisEntry('elsewhere')).resolves.toBeNull();
  });
});

describe('AmiDialplanChecker when the PBX cannot be asked', () => {
  function unreachable(error: Error) {
    const ami = fakeAmi();
    ami.actionList.mockRejectedValue(error);
    return checker(ami);
  }

  it('turns a deadline into PbxUnreachableError naming AMI and the cause', async () => {
    const deadline = new Error(
      'AMI 127.0.0.1:5038 did not answer ShowDialPlan within 5000 ms (not connected)',
    );
    const c = unreachable(deadline);
    for (const ask of [
      () => c.destinationProblem({ exten: '2003', context: 'pinverify-destinations', priority: 1 }),
      () => c.previousHopProblem('pinverify-sales-autopin'),
      () => c.findStasisEntry('pinverify-sales-autopin'),
    ]) {
      const err: unknown = await ask().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PbxUnreachableError);
      expect((err as Error).message).toBe(deadline.message);
      expect((err as Error).cause).toBe(deadline);
    }
  });

  it('says which AMI class is missing when Asterisk refuses ShowDialPlan', async () => {
    const c = unreachable(new AmiActionError('ShowDialPlan', 'Permission denied', '127.0.0.1:5038'));
    const err: unknown = await c.previousHopProblem('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PbxUnreachableError);
    expect((err as Error).message).toBe(
      'AMI 127.0.0.1:5038 refused ShowDialPlan: Permission denied ' +
        '(the AMI user needs the "reporting" class, read and write, for ShowDialPlan)',
    );
  });
});

describe('AmiDialplanChecker.close', () => {
  it('leaves a shared AMI client open, and closes one it owns', () => {
    const shared = fakeAmi();
    createAmiDialplanChecker({ ami: shared, app: 'pinverify' }).close();
    expect(shared.closed).toBe(0);
    const owned = fakeAmi();
    createAmiDialplanChecker({ ami: owned, app: 'pinverify', ownsAmi: true }).close();
    expect(owned.closed).toBe(1);
  });
});
