import { DestinationError, formatDestination, parseDestination } from '../../src/flow/destination';

describe('parseDestination', () => {
  it.each([
    ['2000', { exten: '2000', context: 'dests', priority: 1 }],
    ['2000@agents', { exten: '2000', context: 'agents', priority: 1 }],
    ['2000@agents:3', { exten: '2000', context: 'agents', priority: 3 }],
    ['  s@pinverify-destinations:1  ', { exten: 's', context: 'pinverify-destinations', priority: 1 }],
    ['+4930123*#_-x@Ctx_1-a:12', { exten: '+4930123*#_-x', context: 'Ctx_1-a', priority: 12 }],
  ])('parses %j', (text, target) => {
    expect(parseDestination(text, 'dests')).toEqual(target);
  });

  it.each([
    ['', /destination is empty/],
    ['   ', /destination is empty/],
    ['@agents', /extension is empty/],
    ['20 00', /extension "20 00" .* may only contain/],
    ['2000.', /extension "2000\." .* may only contain/],
    ['2000@', /context is empty/],
    ['2000@bad context', /context "bad context" may only contain/],
    ['2000@ctx:', /priority "" .* must be a positive integer/],
    ['2000@ctx:0', /priority "0" .* must be a positive integer/],
    ['2000@ctx:-1', /priority "-1" .* must be a positive integer/],
    ['2000@ctx:1.5', /priority "1.5" .* must be a positive integer/],
    ['2000@ctx:label', /priority "label" .* must be a positive integer/],
    ['2000@ctx:99999999999', /is too large/],
    ['2000:2', /a priority needs a context/],
    [`${'1'.repeat(80)}`, /extension .* is longer than 79 characters/],
    [`1@${'c'.repeat(80)}`, /context .* is longer than 79 characters/],
  ])('rejects %j', (text, message) => {
    expect(() => parseDestination(text, 'dests')).toThrow(DestinationError);
    expect(() => parseDestination(text, 'dests')).toThrow(message);
  });

  it('rejects a bad default context when the destination has none', () => {
    expect(() => parseDestination('2000', 'bad ctx')).toThrow(/default context "bad ctx"/);
    expect(() => parseDestination('2000', '')).toThrow(/default context is empty/);
    // An explicit context does not need the default.
    expect(parseDestination('2000@ok', '')).toEqual({ exten: '2000', context: 'ok', priority: 1 });
  });
});

describe('formatDestination', () => {
  it('writes the full form, which parses back unchanged', () => {
    const target = { exten: '2001', context: 'pinverify-destinations', priority: 2 };
    expect(formatDestination(target)).toBe('2001@pinverify-destinations:2');
    expect(parseDestination(formatDestination(target), 'other')).toEqual(target);
  });
});
