/**
 * The parts of `contacts import` decided before the database is asked: a file that is not CSV,
 * an empty file, unknown or repeated columns and a missing name column are refused with every
 * problem named (field "header"), and the database is never touched for them.
 */
import type { Pool } from 'pg';
import { createContactAdmin } from '../../../src/ops/contact-admin';
import { OpsError } from '../../../src/ops/ops-error';

function adminWithoutDatabase() {
  const query = jest.fn(() => Promise.reject(new Error('the database must not be asked')));
  const pool = { query, connect: query } as unknown as Pool;
  const admin = createContactAdmin({
    pool,
    actor: 'cli:test',
    dialplan: () => {
      throw new Error('the dialplan must not be asked');
    },
  });
  return { admin, query };
}

async function refusal(csv: string): Promise<OpsError> {
  const { admin, query } = adminWithoutDatabase();
  const err: unknown = await admin.importCsv(csv).then(
    () => null,
    (e: unknown) => e,
  );
  expect(query).not.toHaveBeenCalled();
  expect(err).toBeInstanceOf(OpsError);
  return err as OpsError;
}

describe('contacts import: header and file checks', () => {
  it('names every unknown column and lists the known ones', async () => {
    const err = await refusal('name,e-mail,phone\nAlice,alice@example.com,+12025550101\n');
    expect(err.kind).toBe('invalid');
    expect(err.problems).toEqual([
      { field: 'header', message: 'unknown column "e-mail" (known: id, name, email, mobile, phones, pin)' },
      { field: 'header', message: 'unknown column "phone" (known: id, name, email, mobile, phones, pin)' },
    ]);
  });

  it('requires a name column', async () => {
    const err = await refusal('email,phones\nalice@example.com,+12025550101\n');
    expect(err.problems).toEqual([{ field: 'header', message: 'a "name" column is required' }]);
  });

  it('refuses a column given twice', async () => {
    const err = await refusal('name,email,Email\nAlice,a@example.com,b@example.com\n');
    expect(err.problems).toEqual([{ field: 'header', message: 'a column appears twice' }]);
  });

  it('refuses an empty file, saying what the header should be', async () => {
    for (const csv of ['', '\n\n', '\uFEFF']) {
      const err = await refusal(csv);
      expect(err.problems).toEqual([
        { field: 'file', message: 'empty file: expected a header line (name,email,mobile,phones)' },
      ]);
    }
  });

  it('refuses text that is not readable as CSV, naming the line', async () => {
    const err = await refusal('name,email\n"Alice,alice@example.com\n');
    expect(err.kind).toBe('invalid');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]?.field).toMatch(/^line \d+$/);
    expect(err.problems[0]?.message).toMatch(/^not readable as CSV: /);
  });

  it('reads header names case-insensitively, after a byte order mark', async () => {
    // A valid header gets past these checks: the next step asks the database.
    const { admin, query } = adminWithoutDatabase();
    await expect(
      admin.importCsv('\uFEFF Name , EMAIL ,Phones\nAlice,a@example.com,+12025550101\n'),
    ).rejects.toThrow('the database must not be asked');
    expect(query).toHaveBeenCalled();
  });

  it('refuses a file over the row cap before anything else, naming the cap', async () => {
    const lines = Array.from(
      { length: 10_001 },
      (_, i) => `Person ${i},,+1202555${String(i).padStart(4, '0')}`,
    );
    const err = await refusal(`name,email,phones\n${lines.join('\n')}\n`);
    expect(err.problems).toEqual([
      { field: 'file', message: '10001 lines; at most 10,000 per import (split the file)' },
    ]);
  });

  it('takes a file at the row cap past this check', async () => {
    const lines = Array.from(
      { length: 10_000 },
      (_, i) => `Person ${i},,+1202555${String(i).padStart(4, '0')}`,
    );
    const { admin } = adminWithoutDatabase();
    await expect(admin.importCsv(`name,email,phones\n${lines.join('\n')}\n`)).rejects.toThrow(
      'the database must not be asked',
    );
  });
});
