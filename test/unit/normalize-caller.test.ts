import { normalizeCaller } from '../../src/phone/normalize-caller';

describe('normalizeCaller', () => {
  it.each(['', '   ', 'anonymous', 'Anonymous', 'UNKNOWN', 'restricted', 'Private', 'unavailable'])(
    'treats %j as anonymous',
    (raw) => {
      expect(normalizeCaller(raw, 'US')).toEqual({ kind: 'anonymous' });
    },
  );

  it('treats a missing caller ID as anonymous', () => {
    expect(normalizeCaller(undefined, 'US')).toEqual({ kind: 'anonymous' });
    expect(normalizeCaller(null, 'US')).toEqual({ kind: 'anonymous' });
  });

  it.each([
    ['+12025550123', '+12025550123'],
    ['2025550142', '+12025550142'],
    ['12025550142', '+12025550142'],
    ['(202) 555-0100', '+12025550100'],
    ['202.555.0199', '+12025550199'],
    ['011 44 20 7946 0000', '+442079460000'],
    ['+33 6 12 34 56 78', '+33612345678'],
  ])('normalises %j to %s with default country US', (raw, e164) => {
    expect(normalizeCaller(raw, 'US')).toEqual({ kind: 'ok', e164 });
  });

  it('accepts the fictional 555-01xx lab numbers: they are valid in the default metadata', () => {
    for (const last of ['00', '23', '88', '99']) {
      expect(normalizeCaller(`+1202555 01${last}`, 'US')).toEqual({ kind: 'ok', e164: `+120255501${last}` });
    }
  });

  it('uses the default country for national numbers', () => {
    expect(normalizeCaller('020 7946 0000', 'GB')).toEqual({ kind: 'ok', e164: '+442079460000' });
    expect(normalizeCaller('020 7946 0000', 'gb')).toEqual({ kind: 'ok', e164: '+442079460000' });
  });

  it.each(['12', '+1555555', '+15555550100', '1-800-FLOWERS', 'sip:alice@example.com', '+999 1234 5678'])(
    'rejects %j as invalid',
    (raw) => {
      expect(normalizeCaller(raw, 'US')).toEqual({ kind: 'invalid' });
    },
  );

  it('still reads international numbers with an unknown default country', () => {
    expect(normalizeCaller('+12025550123', 'XX')).toEqual({ kind: 'ok', e164: '+12025550123' });
    expect(normalizeCaller('2025550123', 'XX')).toEqual({ kind: 'invalid' });
  });
});
