/** `pinverify contacts add | list | find | remove | import` */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ImportReport, NumberLookup } from '../../ops/contact-admin';
import type { ContactWithPhones } from '../../store/pg-contact-admin';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';
import { formatTable } from '../cli-io';

function contactsTable(list: readonly ContactWithPhones[]): string {
  if (list.length === 0) return 'no contacts';
  return formatTable(
    ['ID', 'NAME', 'EMAIL', 'MOBILE (SMS)', 'CALLS FROM'],
    list.map((c) => [c.id, c.name, c.email, c.mobile, c.phones.join(' ')]),
  );
}

const VERDICTS: Record<NumberLookup['verdict'], string> = {
  verify: 'one contact matches: a caller from this number is offered a code',
  no_match: 'no contact calls from this number: a caller gets reason no_match',
  multi_match: 'several contacts share this number: the flow will not guess, reason multi_match',
  anonymous: 'an anonymous caller ID: reason no_match',
  invalid: 'not a valid phone number as caller ID: reason no_match',
};

function lookupText(l: NumberLookup): string {
  const lines = [
    `number:      ${l.input}`,
    `normalized:  ${l.e164 ?? `(${l.kind})`}  (default country ${l.defaultCountry})`,
    `verdict:     ${VERDICTS[l.verdict]}`,
  ];
  if (l.matches.length > 0) lines.push('', contactsTable(l.matches));
  for (const c of l.mobileOf)
    lines.push(
      `note: this is the SMS number of contact ${c.id} (${c.name}), but not a number they call from`,
    );
  return lines.join('\n');
}

function importText(r: ImportReport, o: { partial?: boolean; dryRun?: boolean }): string {
  const lines = r.lines.map((l) => {
    const who = `${l.name || '(no name)'}${l.id === null ? '' : ` #${l.id}`}`;
    const status =
      l.status === 'rejected' || l.status === 'unchanged' || r.written ? l.status : `would be ${l.status}`;
    return `line ${l.line}: ${status} ${who}${l.problems.map((p) => `\n    ${p.field}: ${p.message}`).join('')}`;
  });
  const counts =
    `${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.rejected} rejected` +
    (r.pinsSet > 0 ? `; ${r.pinsSet} PIN${r.pinsSet === 1 ? '' : 's'} set` : '');
  let verdict: string;
  if (r.written) verdict = `imported: ${counts}`;
  else if (o.dryRun) verdict = `dry run, nothing written: ${counts}`;
  else if (r.rejected > 0)
    verdict = `nothing written: ${r.rejected} line(s) rejected (fix them, or --partial to import the rest)`;
  else verdict = `nothing to write: ${counts}`;
  return [...lines, verdict].join('\n');
}

export function registerContactsCommands(program: Command, ctx: CliContext): void {
  const contacts = program
    .command('contacts')
    .description('the people callers are verified as, and the numbers they call from');

  contacts
    .command('add')
    .description('add a contact')
    .requiredOption('--name <name>', 'full name (used in the email greeting)')
    .option('--email <email>', 'where email codes go')
    .option('--mobile <number>', 'where SMS codes go')
    .option(
      '--phone <number>',
      'a number they call from (repeat for several; default: the mobile)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (o: { name: string; email?: string; mobile?: string; phone: string[] }) => {
      const c = await ctx
        .ops()
        .contacts.add({ name: o.name, email: o.email ?? null, mobile: o.mobile ?? null, phones: o.phone });
      ctx.print(c, () => `added contact ${c.id}\n${contactsTable([c])}`);
    });

  contacts
    .command('list')
    .description('list contacts')
    .option('--search <text>', 'only those whose name, email or a number contains this')
    .action(async (o: { search?: string }) => {
      const list = await ctx.ops().contacts.list(o.search);
      ctx.print(list, () => contactsTable(list));
    });

  contacts
    .command('find <number>')
    .description(
      'how a caller number normalizes and which contacts it matches (why a call was no_match or multi_match)',
    )
    .action(async (number: string) => {
      const lookup = await ctx.ops().contacts.find(number);
      ctx.print(lookup, () => lookupText(lookup));
    });

  contacts
    .command('remove <id>')
    .description('delete a contact and its numbers (call history keeps the id)')
    .action(async (id: string) => {
      const c = await ctx.ops().contacts.remove(id);
      ctx.print(c, () => `removed contact ${c.id} (${c.name})`);
    });

  contacts
    .command('import <file>')
    .description('import contacts from a CSV file ("-" for standard input); all-or-nothing unless --partial')
    .option('--partial', 'import the good lines even if some are rejected')
    .option('--dry-run', 'check every line, write nothing')
    .addHelpText(
      'after',
      `
The first line names the columns: name (required), email, mobile, phones, and optionally id
and pin. phones holds the numbers the contact calls from, separated by ";" (default: the mobile).
pin sets the contact's static PIN (checked against the PIN policy, stored only as a hash, never
printed); an empty pin leaves the PIN as it is (pinverify pins clear removes one).
Numbers without +country code are read with the defaultCountry setting. A line updates the
contact with its id, or else the one contact with its email; otherwise it adds a contact.

  name,email,mobile,phones
  Alice Example,alice@example.com,+12025550101,+12025550101;(202) 555-0111`,
    )
    .action(async (file: string, o: { partial?: boolean; dryRun?: boolean }) => {
      let csv: string;
      if (file === '-') csv = await ctx.io.readStdin();
      else {
        try {
          csv = readFileSync(file, 'utf8');
        } catch (err) {
          throw new CliUsageError(`cannot read ${file}: ${(err as Error).message}`);
        }
      }
      const report = await ctx.ops().contacts.importCsv(csv, o);
      ctx.print(report, () => importText(report, o));
      // A refused import is a failure for scripts; a partial one that wrote something is not.
      if (report.rejected > 0 && !(o.partial && report.written)) ctx.exitCode = 1;
    });

  contacts
    .command('unlock <id>')
    .description(
      "clear a lockout after too many wrong codes or PINs (failed checks of the last 24 h) and the send counts of the contact's addresses",
    )
    .action(async (id: string) => {
      const r = await ctx.ops().verifications.unlock(id);
      ctx.print(r, () =>
        r.lockedBefore || r.failuresCleared > 0 || r.sendsCleared > 0
          ? `contact ${r.contactId} unlocked: ${r.failuresCleared} failed checks and ${r.sendsCleared} sends cleared`
          : `contact ${r.contactId} was not locked (nothing to clear)`,
      );
    });
}
