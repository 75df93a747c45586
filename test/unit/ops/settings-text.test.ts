/**
 * coerceSettingText: a value typed on the command line is text; a number setting gets a number
 * only when the text is a whole number, so "8" saves 8 but "8.5", "abc" or "" stay text and are
 * refused by the settings admin naming the key, instead of becoming NaN or 0. A switch (true/false)
 * takes true/on/yes/1 and false/off/no/0.
 */
import { coerceSettingText, SETTING_KEYS } from '../../../src/ops/settings-admin';
import { DEFAULT_SETTINGS } from '../../../src/store/config-defaults';

describe('coerceSettingText', () => {
  it('turns whole numbers into numbers for number settings', () => {
    expect(coerceSettingText('codeLength', '8')).toBe(8);
    expect(coerceSettingText('menuTimeoutMs', ' 5000 ')).toBe(5000);
    expect(coerceSettingText('maxTriesPerCode', '-1')).toBe(-1);
  });

  it.each(['abc', '8.5', '1e3', '', '0x10', '8 9', '+8'])(
    'leaves %j as text for a number setting',
    (text) => {
      expect(coerceSettingText('codeLength', text)).toBe(text);
    },
  );

  it('leaves text settings as written, even when they look like numbers', () => {
    expect(coerceSettingText('defaultSuccessDestination', '2000')).toBe('2000');
    expect(coerceSettingText('companyName', ' ACME ')).toBe(' ACME ');
    expect(coerceSettingText('defaultCountry', 'US')).toBe('US');
  });

  it.each([
    ['true', true],
    ['ON', true],
    ['yes', true],
    ['1', true],
    [' false ', false],
    ['off', false],
    ['No', false],
    ['0', false],
  ])('turns %j into %j for a switch (requireTicket)', (text, value) => {
    expect(coerceSettingText('requireTicket', text)).toBe(value);
  });

  it.each(['maybe', '', '2', 'truee'])('leaves %j as text for a switch, to be refused', (text) => {
    expect(coerceSettingText('ticketNoteIncludesCode', text)).toBe(text);
  });

  it('knows every setting, number, switch or text, from the defaults', () => {
    expect([...SETTING_KEYS].sort()).toEqual(Object.keys(DEFAULT_SETTINGS).sort());
    for (const key of SETTING_KEYS) {
      const kind = typeof DEFAULT_SETTINGS[key];
      const expected = kind === 'number' ? 7 : '7';
      expect([key, coerceSettingText(key, '7')]).toEqual([key, expected]);
    }
  });
});
