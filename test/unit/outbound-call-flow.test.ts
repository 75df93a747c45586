import { CallGoneError } from '../../src/call/channel-control';
import type { CallVerbs, GatherOptions, GatherResult } from '../../src/call/call-verbs';
import {
  codeMedia,
  createOutboundCallFlow,
  type CallCodeVerdict,
  type OutboundCallJob,
} from '../../src/flow/outbound-call-flow';
import { FakeFlowLogger } from '../fakes/fake-flow-logger';

/**
 * The answered outbound call's script over scripted verbs: every key the person presses is a
 * scripted gather answer; `hangupAt` makes the n-th verb fail as a hangup. The verbs' own timers
 * are the call session's (tested there); here a gather simply answers.
 */
class ScriptedCall implements CallVerbs {
  gone = false;
  readonly heard: string[][] = [];
  readonly asked: GatherOptions[] = [];
  hungUp = false;
  private verbs = 0;
  constructor(
    private readonly answers: GatherResult[],
    private readonly hangupAt = Infinity,
  ) {}
  private step(): void {
    this.verbs++;
    if (this.verbs >= this.hangupAt) {
      this.gone = true;
      throw new CallGoneError();
    }
  }
  whenGone = () => new Promise<void>(() => undefined);
  answer = async () => this.step();
  async play(prompts: string[]): Promise<string | null> {
    this.step();
    this.heard.push(prompts);
    return null;
  }
  async gather(opts: GatherOptions): Promise<GatherResult> {
    this.step();
    this.asked.push(opts);
    this.heard.push(opts.prompts);
    return this.answers.shift() ?? { digits: '', ended: 'no_input' };
  }
  setVariable = async () => this.step();
  continueTo = async () => this.step();
  async hangup(): Promise<void> {
    this.hungUp = true;
  }
  /** Every prompt name heard, in order (pinverify prompts only). */
  prompts(): string[] {
    return this.heard.flat().flatMap((m) => (m.startsWith('sound:pinverify/') ? [m.slice(16)] : []));
  }
  /** How many times the whole code was played. */
  codesSaid(code: string): number {
    const want = codeMedia(code).join(' ');
    return this.heard.filter((m) => m.join(' ').includes(want)).length;
  }
}

const key = (digits: string, ended: GatherResult['ended'] = 'max'): GatherResult => ({ digits, ended });
const silence: GatherResult = { digits: '', ended: 'no_input' };

function job(
  over: Partial<OutboundCallJob['profile']> = {},
  code: string | null = '482913',
): OutboundCallJob {
  return {
    verificationId: 'VE' + '1'.repeat(32),
    profile: { name: 'lab-read', mode: 'read', repeats: 3, keyBeforeCode: true, codeLength: 6, ...over },
    code,
  };
}

function flow(verdicts: CallCodeVerdict[] = []) {
  const checked: string[] = [];
  const log = new FakeFlowLogger();
  const f = createOutboundCallFlow({
    checker: {
      async check(_id, code) {
        checked.push(code);
        return verdicts.shift() ?? 'wrong';
      },
    },
    log,
  });
  return { f, checked, log };
}

describe('codeMedia', () => {
  it("says each digit with Asterisk's digit recordings and a second of silence between", () => {
    expect(codeMedia('406')).toEqual([
      'sound:digits/4',
      'sound:silence/1',
      'sound:digits/0',
      'sound:silence/1',
      'sound:digits/6',
    ]);
  });
});

describe('read mode', () => {
  it('says nothing of the code before a key is pressed, then the code repeats times, "again" between', async () => {
    const call = new ScriptedCall([key('5'), silence]);
    const r = await flow().f.run(call, job());
    expect(call.prompts()).toEqual([
      'call-greeting',
      'company-name',
      'press-key-for-code',
      'your-code-is',
      'code-again',
      'code-again',
      'press-1-to-repeat',
      'goodbye',
    ]);
    // Nothing of the code in what was played before the key.
    expect(call.heard.slice(0, 2).flat().join(' ')).not.toContain('digits/');
    expect(call.codesSaid('482913')).toBe(3);
    expect(r).toMatchObject({ status: 'delivered', keyPressed: true, timesSaid: 3, hungUp: false });
    expect(call.hungUp).toBe(true);
  });

  it('a voicemail box that presses nothing hears no code and the call counts as not delivered', async () => {
    const call = new ScriptedCall([silence, silence, silence]);
    const r = await flow().f.run(call, job());
    expect(call.prompts()).toEqual([
      'call-greeting',
      'company-name',
      'press-key-for-code',
      'press-key-for-code',
      'press-key-for-code',
      'goodbye',
    ]);
    expect(call.codesSaid('482913')).toBe(0);
    expect(r).toMatchObject({ status: 'not_delivered', keyPressed: false, timesSaid: 0 });
  });

  it('1 after the code says it again, up to three more times; any other key ends the call', async () => {
    const call = new ScriptedCall([key('1'), key('1'), key('1'), key('1'), key('1')]);
    const r = await flow().f.run(call, job({ repeats: 2 }));
    expect(r.timesSaid).toBe(2 + 3);
    const other = new ScriptedCall([key('9'), key('7')]);
    expect((await flow().f.run(other, job({ repeats: 1 }))).timesSaid).toBe(1);
  });

  it('without the key gate, the code follows the greeting', async () => {
    const call = new ScriptedCall([silence]);
    const r = await flow().f.run(call, job({ keyBeforeCode: false, repeats: 1 }));
    expect(call.prompts().slice(0, 3)).toEqual(['call-greeting', 'company-name', 'your-code-is']);
    expect(r).toMatchObject({ status: 'delivered', keyPressed: true, timesSaid: 1 });
  });

  test.each([
    // verb number at which the person hangs up -> the status the attempt ends with
    [1, 'not_delivered', 0], // during the greeting
    [2, 'not_delivered', 0], // at the key gate
    [3, 'not_delivered', 0], // while the code is said the first time
    [4, 'delivered', 1], // after one full reading
    [6, 'delivered', 3], // at "press 1 to hear it again"
  ] as const)('a hangup at verb %i ends the attempt as %s', async (at, status, said) => {
    const call = new ScriptedCall([key('5'), key('1')], at);
    const r = await flow().f.run(call, job());
    expect(r).toMatchObject({ status, timesSaid: said, hungUp: true });
  });
});

describe('input mode', () => {
  const input = (over: Partial<OutboundCallJob['profile']> = {}) =>
    job({ name: 'lab-input', mode: 'input', ...over }, null);

  it('asks for the code, checks it and says it was right: approved', async () => {
    const { f, checked } = flow(['approved']);
    const call = new ScriptedCall([key('1'), key('482913', 'max')]);
    const r = await f.run(call, input());
    expect(checked).toEqual(['482913']);
    expect(call.asked[1]).toMatchObject({ maxDigits: 6, terminator: '#' });
    expect(call.prompts()).toEqual([
      'call-greeting',
      'company-name',
      'press-key-for-code',
      'enter-call-code',
      'call-code-accepted',
    ]);
    expect(r).toMatchObject({ status: 'approved', checks: 1 });
    expect(call.hungUp).toBe(true);
  });

  it('a wrong code is said to be wrong and asked again, until the service says no more tries', async () => {
    const { f, checked } = flow(['wrong', 'wrong', 'max_attempts']);
    const call = new ScriptedCall([key('1'), key('000000'), key('111111'), key('222222')]);
    const r = await f.run(call, input());
    expect(checked).toEqual(['000000', '111111', '222222']);
    expect(call.prompts().slice(3)).toEqual([
      'enter-call-code',
      'code-wrong',
      'enter-call-code',
      'code-wrong',
      'enter-call-code',
      'call-code-refused',
    ]);
    expect(r).toMatchObject({ status: 'answered', checks: 3 });
  });

  it('a locked contact is told so; an expired or decided verification is refused', async () => {
    const locked = new ScriptedCall([key('1'), key('482913')]);
    await flow(['locked']).f.run(locked, input());
    expect(locked.prompts().at(-1)).toBe('locked');
    for (const verdict of ['expired', 'closed'] as const) {
      const call = new ScriptedCall([key('1'), key('482913')]);
      await flow([verdict]).f.run(call, input());
      expect(call.prompts().at(-1)).toBe('call-code-refused');
    }
  });

  it('no entry is asked again repeats times, then goodbye: nothing keyed, not delivered', async () => {
    const { f, checked } = flow();
    const call = new ScriptedCall([key('1'), silence, silence, silence]);
    const r = await f.run(call, input());
    expect(checked).toEqual([]);
    expect(call.prompts().filter((p) => p === 'enter-call-code')).toHaveLength(3);
    expect(r).toMatchObject({ status: 'not_delivered', checks: 0 });
  });

  it('a hangup while the code is being keyed leaves the verification to the service, unchecked', async () => {
    const { f, checked } = flow(['approved']);
    const call = new ScriptedCall([key('1'), key('482913')], 3);
    const r = await f.run(call, input());
    expect(checked).toEqual([]);
    expect(r).toMatchObject({ status: 'not_delivered', hungUp: true });
  });
});

describe('failures', () => {
  it('a fault in the checker ends the call with a hangup and is logged without the code', async () => {
    const log = new FakeFlowLogger();
    const f = createOutboundCallFlow({
      checker: { check: () => Promise.reject(new Error('database unreachable')) },
      log,
    });
    const call = new ScriptedCall([key('1'), key('482913')]);
    const r = await f.run(call, job({ mode: 'input' }, null));
    expect(call.hungUp).toBe(true);
    expect(r.status).toBe('answered');
    expect(JSON.stringify(log.entries)).not.toContain('482913');
    expect(JSON.stringify(log.entries)).toContain('database unreachable');
  });
});
