import {
  ExpectationError,
  expectationProblems,
  matchesExpectation,
  parseExpectation,
  parseExpectedDestination,
  REASONS,
} from '../../../src/test-call/expectation';

const verified = {
  result: 'verified',
  reason: 'ok',
  reached: { context: 'pinverify-destinations', exten: '2001', priority: 1 },
};
const bailed = {
  result: 'failed',
  reason: 'caller_bailed',
  reached: { context: 'pinverify-destinations', exten: '2901', priority: 1 },
};

describe('parseExpectation', () => {
  it.each([
    ['verified', { result: 'verified', reason: null }],
    ['failed', { result: 'failed', reason: null }],
    ['failed:no_match', { result: 'failed', reason: 'no_match' }],
    ['verified:ok', { result: 'verified', reason: 'ok' }],
    ['no_match', { result: 'failed', reason: 'no_match' }],
    ['caller_bailed', { result: 'failed', reason: 'caller_bailed' }],
    ['ok', { result: 'verified', reason: 'ok' }],
    ['  Failed:MAX_ATTEMPTS ', { result: 'failed', reason: 'max_attempts' }],
  ])('%s', (text, expected) => {
    expect(parseExpectation(text)).toEqual(expected);
  });

  it('accepts every reason pinverify can report', () => {
    for (const reason of REASONS) expect(parseExpectation(reason).reason).toBe(reason);
  });

  it.each([
    ['verfied', 'unknown expectation "verfied"'],
    ['', 'unknown expectation ""'],
    ['failed:nomatch', 'unknown reason "nomatch" in "failed:nomatch"'],
    ['passed:ok', 'unknown result "passed" in "passed:ok"'],
    ['verified:no_match', '"verified:no_match" cannot happen'],
    ['failed:ok', '"failed:ok" cannot happen'],
  ])('refuses %j, listing what is accepted', (text, why) => {
    let err: unknown;
    try {
      parseExpectation(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExpectationError);
    const message = (err as Error).message;
    expect(message).toContain(why);
    expect(message).toContain(
      'expected verified, failed, failed:<reason> or a reason (ok, no_match, multi_match',
    );
    expect(message).toContain('internal_error)');
  });
});

describe('parseExpectedDestination', () => {
  it.each([
    ['2003', { exten: '2003', context: null, priority: null }],
    ['2003@pinverify-destinations', { exten: '2003', context: 'pinverify-destinations', priority: null }],
    [' 2003@pinverify-destinations:2 ', { exten: '2003', context: 'pinverify-destinations', priority: 2 }],
  ])('%s', (text, expected) => {
    expect(parseExpectedDestination(text)).toEqual(expected);
  });

  it.each(['', '2003@', '@ctx', '2003@ctx:0', '2003:1', '20 03', '2003@ctx:x'])('refuses %j', (text) => {
    expect(() => parseExpectedDestination(text)).toThrow(
      /expected exten, exten@context or exten@context:priority/,
    );
  });
});

describe('matchesExpectation', () => {
  it('matches on result alone, or result and reason', () => {
    expect(matchesExpectation(parseExpectation('verified'), verified)).toBe(true);
    expect(matchesExpectation(parseExpectation('failed'), bailed)).toBe(true);
    expect(matchesExpectation(parseExpectation('caller_bailed'), bailed)).toBe(true);
    expect(matchesExpectation(parseExpectation('failed:no_match'), bailed)).toBe(false);
    expect(matchesExpectation(parseExpectation('verified'), bailed)).toBe(false);
  });

  it('says what differs', () => {
    expect(expectationProblems(parseExpectation('no_match'), bailed)).toEqual([
      'expected failed/no_match, got failed/caller_bailed',
    ]);
    expect(expectationProblems(parseExpectation('verified'), bailed)).toEqual([
      'expected verified, got failed/caller_bailed',
    ]);
  });

  it('compares the destination with where the call went; unset parts match anything', () => {
    const d = parseExpectedDestination;
    expect(matchesExpectation(null, verified, d('2001'))).toBe(true);
    expect(matchesExpectation(null, verified, d('2001@pinverify-destinations'))).toBe(true);
    expect(matchesExpectation(null, verified, d('2001@pinverify-destinations:1'))).toBe(true);
    expect(matchesExpectation(null, verified, d('2001@pinverify-destinations:2'))).toBe(false);
    expect(matchesExpectation(null, verified, d('2001@other'))).toBe(false);
    expect(expectationProblems(parseExpectation('verified'), verified, d('2003'))).toEqual([
      'expected the call to go to 2003, it went to 2001@pinverify-destinations:1',
    ]);
    expect(expectationProblems(null, { ...verified, reached: null }, d('2001'))).toEqual([
      'expected the call to go to 2001, but no dialplan step was seen after the result',
    ]);
  });

  it('matches anything when nothing is expected', () => {
    expect(matchesExpectation(null, bailed)).toBe(true);
  });
});
