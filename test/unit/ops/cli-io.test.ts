/**
 * The CLI's output helpers: formatTable aligns columns the way `docker ps` does (no trailing
 * blanks, "-" for a missing value, ISO dates, JSON for objects), formatJson is stable 2-space
 * JSON with ISO dates.
 */
import { formatJson, formatTable } from '../../../src/cli/cli-io';

describe('formatTable', () => {
  it('pads every column but the last to its widest cell, two spaces apart', () => {
    const table = formatTable(
      ['ID', 'NAME', 'HOP'],
      [
        [1, 'Support', 'pinverify-support-autopin'],
        [12, 'A', 'x'],
      ],
    );
    expect(table.split('\n')).toEqual([
      'ID  NAME     HOP',
      '1   Support  pinverify-support-autopin',
      '12  A        x',
    ]);
  });

  it('widens a column for a header longer than its cells', () => {
    expect(formatTable(['PREVIOUS HOP', 'X'], [['a', 'b']])).toBe('PREVIOUS HOP  X\na             b');
  });

  it('writes null and undefined as "-", dates in ISO, booleans and numbers as text, objects as JSON', () => {
    const table = formatTable(
      ['A', 'B', 'C', 'D', 'E'],
      [[null, undefined, new Date('2026-03-01T10:00:00Z'), true, { to: 'x' }]],
    );
    expect(table.split('\n')[1]).toBe('-  -  2026-03-01T10:00:00.000Z  true  {"to":"x"}');
  });

  it('leaves no trailing blanks when the last cells are empty', () => {
    const lines = formatTable(
      ['NAME', 'NOTE'],
      [
        ['Alice', ''],
        ['Bob', 'x'],
      ],
    ).split('\n');
    expect(lines).toEqual(['NAME   NOTE', 'Alice', 'Bob    x']);
    for (const line of lines) expect(line).toBe(line.trimEnd());
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID  NAME');
  });
});

describe('formatJson', () => {
  it('indents by two spaces and writes dates as ISO strings', () => {
    expect(formatJson({ a: 1, at: new Date('2026-03-01T10:00:00Z'), b: [null] })).toBe(
      '{\n  "a": 1,\n  "at": "2026-03-01T10:00:00.000Z",\n  "b": [\n    null\n  ]\n}',
    );
  });
});
