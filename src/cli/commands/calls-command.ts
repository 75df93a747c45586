/** `pinverify calls recent | show`, and `pinverify changes` (who changed the configuration). */
import type { Command } from 'commander';
import type { CallSummary } from '../../ops/call-history';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';
import { formatTable } from '../cli-io';

const time = (d: Date | null) =>
  d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : null;

function callsTable(calls: readonly CallSummary[]): string {
  if (calls.length === 0) return 'no calls';
  return formatTable(
    ['STARTED', 'CALL ID', 'CALLER', 'PREVIOUS HOP', 'RESULT', 'REASON', 'METHOD', 'DESTINATION'],
    calls.map((c) => [
      time(c.startedAt),
      c.callId,
      c.caller,
      c.previousHop,
      c.result ?? 'open',
      c.reason,
      c.method,
      c.destination,
    ]),
  );
}

export function registerCallsCommands(program: Command, ctx: CliContext): void {
  const calls = program
    .command('calls')
    .description('the audit trail of calls (numbers and addresses masked)');

  calls
    .command('recent')
    .description('the most recent calls, newest first')
    .option('--limit <n>', 'how many', '20')
    .option('--result <result>', 'only verified, failed or open (still running, or never closed)')
    .option('--since <time>', 'only calls started at or after this time (ISO 8601)')
    .action(async (o: { limit: string; result?: string; since?: string }) => {
      const list = await ctx.ops().calls.recent(o);
      ctx.print(list, () => callsTable(list));
    });

  calls
    .command('show <id>')
    .description('one call and its events, by call id or Asterisk channel id (AMI Uniqueid)')
    .action(async (id: string) => {
      const call = await ctx.ops().calls.show(id);
      ctx.print(call, () =>
        [
          callsTable([call]),
          '',
          formatTable(
            ['AT', 'EVENT', 'DETAIL'],
            call.events.map((e) => [time(e.at), e.kind, JSON.stringify(e.detail)]),
          ),
        ].join('\n'),
      );
    });

  program
    .command('changes')
    .description('who changed routes, call profiles, settings, templates, contacts or API keys, newest first')
    .option('--limit <n>', 'how many', '20')
    .action(async (o: { limit: string }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new CliUsageError(`--limit takes a whole number from 1 to 1000, got "${o.limit}"`);
      const list = await ctx.ops().changes(limit);
      ctx.print(list, () =>
        list.length === 0
          ? 'no changes recorded'
          : formatTable(
              ['AT', 'ACTOR', 'ACTION', 'SUBJECT'],
              list.map((c) => [time(c.at), c.actor, c.action, c.subject]),
            ),
      );
    });
}
