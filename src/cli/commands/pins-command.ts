/** `pinverify pins set | clear | status`: contacts' static security PINs (route modes pin, pin_then_otp). */
import type { Command } from 'commander';
import type { PinStatus } from '../../ops/pin-admin';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';

function statusText(s: PinStatus): string {
  const lines = [
    s.pinSet
      ? `contact ${s.contactId}: PIN set ${s.setAt?.toISOString() ?? ''} by ${s.setBy ?? '?'}`
      : `contact ${s.contactId}: no PIN (a caller on a PIN route gets reason no_pin)`,
  ];
  if (s.pinSource === 'webhook')
    lines.push("note: pinSource is webhook: calls check PINs in the customer's CRM, not these");
  if (s.locked)
    lines.push(
      `locked: ${s.failedChecks} failed checks in 24 h, until ${s.lockedUntil?.toISOString() ?? '?'} (pinverify contacts unlock ${s.contactId})`,
    );
  else if (s.failedChecks > 0) lines.push(`${s.failedChecks} failed checks in the last 24 h`);
  return lines.join('\n');
}

export function registerPinsCommands(program: Command, ctx: CliContext): void {
  const pins = program
    .command('pins')
    .description("contacts' static security PINs, for routes in mode pin or pin_then_otp")
    .addHelpText(
      'after',
      `
A PIN is stored only as an argon2id hash and never printed. It must follow the PIN policy of
the settings (pinMinLength..pinMaxLength digits; not one digit repeated, a run like 1234, a
repeated pair, or the end of the contact's own number). The PIN is read from standard input,
so it does not land in the shell history or the process list:

  read -rs PIN && printf '%s' "$PIN" | pinverify pins set 12`,
    );

  pins
    .command('set <contact>')
    .description('set or replace the PIN of a contact (by id), read from standard input')
    .action(async (contact: string) => {
      const pin = (await ctx.io.readStdin()).trim();
      if (pin === '')
        throw new CliUsageError('no PIN on standard input (printf %s "$PIN" | pinverify pins set <contact>)');
      const r = await ctx.ops().pins.set(contact, { pin });
      ctx.warn(r.warnings);
      ctx.print(r, () => `PIN set for contact ${r.contactId}`);
    });

  pins
    .command('clear <contact>')
    .description('remove the PIN of a contact (by id)')
    .action(async (contact: string) => {
      const r = await ctx.ops().pins.clear(contact);
      ctx.print(r, () =>
        r.cleared ? `PIN cleared for contact ${r.contactId}` : `contact ${r.contactId} had no PIN`,
      );
    });

  pins
    .command('status <contact>')
    .description('whether a contact has a PIN (never the PIN itself) and its lockout')
    .action(async (contact: string) => {
      const r = await ctx.ops().pins.status(contact);
      ctx.print(r, () => statusText(r));
    });
}
