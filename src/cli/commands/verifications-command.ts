/**
 * `pinverify verifications start | check | resend | cancel | show | list`: the verification
 * service from a terminal, with the same limits and answers as the HTTP API.
 */
import type { Command } from 'commander';
import type { VerificationView } from '../../ops/verification-admin';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';
import { formatTable } from '../cli-io';

const time = (d: Date | null) =>
  d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';

function table(list: readonly VerificationView[]): string {
  if (list.length === 0) return 'no verifications';
  return formatTable(
    ['CREATED', 'ID', 'STATUS', 'CHANNEL', 'TO', 'CONTACT', 'ORIGIN', 'SENDS', 'CHECKS'],
    list.map((v) => [
      time(v.createdAt),
      v.id,
      v.status,
      v.channel,
      v.to,
      String(v.contactId ?? '-'),
      v.origin,
      `${v.sends}/${v.maxSends}`,
      `${v.checks}/${v.maxChecks}`,
    ]),
  );
}

function detail(v: VerificationView): string {
  return [
    `${v.id}: ${v.status}`,
    `  channel ${v.channel} to ${v.to}, ${v.contactId === null ? 'no contact (number not on file)' : `contact ${v.contactId}`}, origin ${v.origin}${v.callId ? ` (call ${v.callId})` : ''}${v.actor ? ` by ${v.actor}` : ''}`,
    `  created ${time(v.createdAt)}, expires ${time(v.expiresAt)}${v.decidedAt ? `, decided ${time(v.decidedAt)}` : ''}`,
    `  sends ${v.sends}/${v.maxSends}, checks ${v.checks}/${v.maxChecks}${v.failureReason ? `, ${v.failureReason}` : ''}`,
  ].join('\n');
}

export function registerVerificationsCommands(program: Command, ctx: CliContext): void {
  const verifications = program
    .command('verifications')
    .description('one-time code verifications: start, check, resend, cancel, show, list');

  verifications
    .command('start')
    .description(
      'send a code to a contact (by --contact id or --to number/email on file), or have the app call them (--channel call --profile)',
    )
    .requiredOption('--channel <channel>', 'sms, email or call')
    .option('--profile <name>', 'channel call: the call profile (pinverify profiles list)')
    .option('--contact <id>', 'the contact id')
    .option('--to <destination>', 'a number or email address on file for exactly one contact')
    .option('--custom-code <digits>', 'your own code (4-10 digits) instead of a generated one')
    .action(
      async (o: {
        channel: string;
        profile?: string;
        contact?: string;
        to?: string;
        customCode?: string;
      }) => {
        let contactId: number | undefined;
        if (o.contact !== undefined) {
          if (!/^[0-9]+$/.test(o.contact))
            throw new CliUsageError(`--contact expects a contact id, got ${o.contact}`);
          contactId = Number(o.contact);
        }
        const v = await ctx.ops().verifications.start({
          channel: o.channel,
          ...(contactId !== undefined ? { contactId } : {}),
          ...(o.to !== undefined ? { to: o.to } : {}),
          ...(o.customCode !== undefined ? { customCode: o.customCode } : {}),
          ...(o.profile !== undefined ? { profile: o.profile } : {}),
        });
        ctx.print(v, () =>
          v.channel === 'call'
            ? [
                `call queued: ${detail(v)}`,
                ...(v.code ? [`code ${v.code}: show it to the person now; it is not shown again`] : []),
              ].join('\n')
            : `sent: ${detail(v)}`,
        );
      },
    );

  verifications
    .command('check <id> <code>')
    .description('check the code the person read back; exit 1 unless approved')
    .action(async (id: string, code: string) => {
      const r = await ctx.ops().verifications.check(id, { code });
      ctx.print(r, () =>
        r.status === 'pending' ? `${r.id}: wrong code, ${r.checksLeft} checks left` : `${r.id}: ${r.status}`,
      );
      if (r.status !== 'approved') ctx.exitCode = 1;
    });

  verifications
    .command('resend <id>')
    .description('send the same code again (after the cooldown, within the send limit)')
    .option('--custom-code <digits>', 'the custom code the verification was started with')
    .action(async (id: string, o: { customCode?: string }) => {
      const v = await ctx.ops().verifications.resend(id, o.customCode ? { customCode: o.customCode } : {});
      ctx.print(v, () => `sent again: ${detail(v)}`);
    });

  verifications
    .command('cancel <id>')
    .description('cancel a pending verification')
    .action(async (id: string) => {
      const v = await ctx.ops().verifications.cancel(id);
      ctx.print(v, () => `canceled: ${detail(v)}`);
    });

  verifications
    .command('show <id>')
    .description('one verification (the destination masked, never the code)')
    .action(async (id: string) => {
      const v = await ctx.ops().verifications.get(id);
      ctx.print(v, () => detail(v));
    });

  verifications
    .command('list')
    .description('verifications, newest first')
    .option('--contact <id>', 'only this contact')
    .option('--status <status>', 'pending, approved, canceled, expired, max_attempts_reached or failed')
    .option('--limit <n>', 'how many', '20')
    .action(async (o: { contact?: string; status?: string; limit: string }) => {
      const list = await ctx.ops().verifications.list({
        ...(o.contact !== undefined ? { contactId: o.contact } : {}),
        ...(o.status !== undefined ? { status: o.status } : {}),
        limit: o.limit,
      });
      ctx.print(list, () => table(list));
    });
}
