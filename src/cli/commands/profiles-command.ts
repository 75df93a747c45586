/** `pinverify profiles list | show | add | update | remove` */
import type { Command } from 'commander';
import type { CallProfile } from '../../domain';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';
import { formatTable } from '../cli-io';

const MODE_HELP = 'read (the call says the code) or input (the person keys the code they were shown)';
const CODE_SOURCE_HELP = 'auto (pinverify makes the code) or manual (the client sends its own)';
const SMS_HELP = 'also send the code by SMS: off, always or not_answered';

export function profilesTable(profiles: readonly CallProfile[]): string {
  if (profiles.length === 0) return 'no call profiles (add one with `pinverify profiles add`)';
  return formatTable(
    ['ID', 'NAME', 'TITLE', 'MODE', 'CODE', 'CALLER ID', 'CALL-BACK', 'SMS AFTER', 'ENABLED'],
    profiles.map((p) => [
      p.id,
      p.name,
      p.title,
      p.mode,
      `${p.codeSource} ${p.codeLength}`,
      p.callerId,
      p.callbackNumber || '-',
      p.smsAfterCall,
      p.enabled ? 'yes' : 'no',
    ]),
  );
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

function describe(p: CallProfile): string {
  return `profile ${p.id} ${p.name} "${p.title}"${p.enabled ? '' : ' (disabled)'}`;
}

/** Every field, one a line, for show, add and update. */
export function profileText(p: CallProfile): string {
  const lines: [string, string][] = [
    ['mode', p.mode === 'read' ? 'read (the call says the code)' : 'input (the person keys the code)'],
    ['code', `${p.codeSource}, ${p.codeLength} digits`],
    ['caller ID', p.callerId],
    ['call-back number', p.callbackNumber || '(none)'],
    ['repeats', String(p.repeats)],
    ['key before code', yesNo(p.keyBeforeCode)],
    ['SMS after call', p.smsAfterCall],
    ['locale', p.locale],
    ['ring timeout', `${p.ringTimeoutSeconds} s`],
    ['retries on no answer', String(p.retriesOnNoAnswer)],
    ['require contact', yesNo(p.requireContact)],
  ];
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return [describe(p), ...lines.map(([k, v]) => `  ${`${k}:`.padEnd(width)} ${v}`)].join('\n');
}

/**
 * A whole number as typed; anything else becomes NaN, which the ops layer refuses naming the
 * field and its bounds ("codeLength: must be a whole number from 4 to 10").
 */
function whole(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return /^\s*[0-9]+\s*$/.test(text) ? Number(text) : Number.NaN;
}

/** Options shared by add and update, as given on the command line. */
interface FieldOptions {
  name?: string;
  title?: string;
  mode?: string;
  codeSource?: string;
  codeLength?: string;
  callerId?: string;
  callbackNumber?: string;
  repeats?: string;
  keyBeforeCode?: boolean;
  smsAfterCall?: string;
  locale?: string;
  ringTimeout?: string;
  retries?: string;
}

/** The fields given, under their API names; options left out are left out. */
function fieldsOf(o: FieldOptions): Record<string, unknown> {
  const fields = {
    name: o.name,
    title: o.title,
    mode: o.mode,
    codeSource: o.codeSource,
    codeLength: whole(o.codeLength),
    callerId: o.callerId,
    callbackNumber: o.callbackNumber,
    repeats: whole(o.repeats),
    keyBeforeCode: o.keyBeforeCode,
    smsAfterCall: o.smsAfterCall,
    locale: o.locale,
    ringTimeoutSeconds: whole(o.ringTimeout),
    retriesOnNoAnswer: whole(o.retries),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** The options add and update share (update adds the positive switches); add names the defaults. */
function withFieldOptions(cmd: Command, isNew: boolean): Command {
  const byDefault = (value: string) => (isNew ? ` (default ${value})` : '');
  return cmd
    .option('--mode <mode>', `${MODE_HELP}${byDefault('read')}`)
    .option('--code-source <source>', `${CODE_SOURCE_HELP}${byDefault('auto')}`)
    .option('--code-length <n>', `digits in a generated code, 4 to 10${byDefault('6')}`)
    .option(
      '--callback-number <number>',
      `the number (DID or extension) to call back after a missed call: digits, *, # and +${isNew ? ' (default none)' : '; "" for none'}`,
    )
    .option('--repeats <n>', `times the code is said or the question asked, 1 to 5${byDefault('3')}`)
    .option('--sms-after-call <when>', `${SMS_HELP}${byDefault('off')}`)
    .option('--locale <locale>', `the prompt set, e.g. en or en_US${byDefault('en')}`)
    .option(
      '--ring-timeout <seconds>',
      `seconds the call rings before it counts as not answered, 5 to 120${byDefault('30')}`,
    )
    .option('--retries <n>', `further attempts after no answer or busy, 0 to 3${byDefault('0')}`);
}

export function registerProfilesCommands(program: Command, ctx: CliContext): void {
  const profiles = program
    .command('profiles')
    .description('call profiles: named configurations of outbound OTP voice calls')
    .addHelpText(
      'after',
      `
A call profile decides what an outbound verification call does: say the code (read) or ask the
person to key the code they were shown (input), the caller ID they see, the number to call back
after a missed call, repeats, ring timeout and retries. API clients name the profile when they
start a call verification. A profile is named by its id or its name.

Examples:
  pinverify profiles add --name login-call --title "Login by phone" --caller-id +12025550100 --callback-number 7100
  pinverify profiles update login-call --mode input --sms-after-call not_answered
  pinverify profiles show login-call`,
    );

  profiles
    .command('list')
    .description('list all call profiles, enabled or not')
    .action(async () => {
      const list = await ctx.ops().profiles.list();
      ctx.print(list, () => profilesTable(list));
    });

  profiles
    .command('show <profile>')
    .description('one call profile with every field, by id or name')
    .action(async (ref: string) => {
      const profile = await ctx.ops().profiles.show(ref);
      ctx.print(profile, () => profileText(profile));
    });

  withFieldOptions(
    profiles
      .command('add')
      .description('add a call profile')
      .requiredOption('--name <name>', 'what API clients call it: lower case letters, digits and "-"')
      .requiredOption('--title <title>', 'a name for people, e.g. "Login by phone"')
      .requiredOption('--caller-id <number>', 'the caller ID the called person sees, E.164 (+12025550100)'),
    true,
  )
    .option('--no-key-before-code', 'say the code at once, without "press any key to hear your code"')
    .option('--allow-unknown-numbers', 'call numbers that belong to no contact on file')
    .option('--disabled', 'add it switched off (it starts no calls)')
    .action(async (o: FieldOptions & { allowUnknownNumbers?: boolean; disabled?: boolean }) => {
      const profile = await ctx.ops().profiles.add({
        ...fieldsOf(o),
        requireContact: !o.allowUnknownNumbers,
        enabled: !o.disabled,
      });
      ctx.print(profile, () => `added ${profileText(profile)}`);
    });

  withFieldOptions(
    profiles
      .command('update <profile>')
      .description('change a call profile (by id or name); only the options given change')
      .option('--name <name>', 'new name (API clients using the old one then fail)')
      .option('--title <title>', 'new title')
      .option('--caller-id <number>', 'new caller ID, E.164'),
    false,
  )
    .option('--key-before-code', 'ask for a key press before saying the code')
    .option('--no-key-before-code', 'say the code at once')
    .option('--require-contact', 'call only numbers of contacts on file')
    .option('--allow-unknown-numbers', 'call numbers that belong to no contact on file')
    .option('--enable', 'switch the profile on')
    .option('--disable', 'switch the profile off (it starts no calls)')
    .action(
      async (
        ref: string,
        o: FieldOptions & {
          requireContact?: boolean;
          allowUnknownNumbers?: boolean;
          enable?: boolean;
          disable?: boolean;
        },
      ) => {
        if (o.enable && o.disable) throw new CliUsageError('--enable and --disable exclude each other');
        if (o.requireContact && o.allowUnknownNumbers)
          throw new CliUsageError('--require-contact and --allow-unknown-numbers exclude each other');
        const patch = {
          ...fieldsOf(o),
          ...(o.requireContact ? { requireContact: true } : {}),
          ...(o.allowUnknownNumbers ? { requireContact: false } : {}),
          ...(o.enable ? { enabled: true } : {}),
          ...(o.disable ? { enabled: false } : {}),
        };
        const profile = await ctx.ops().profiles.update(ref, patch);
        ctx.print(profile, () => `updated ${profileText(profile)}`);
      },
    );

  profiles
    .command('remove <profile>')
    .description('delete a call profile (by id or name); clients naming it can no longer start calls with it')
    .action(async (ref: string) => {
      const profile = await ctx.ops().profiles.remove(ref);
      ctx.print(profile, () => `removed ${describe(profile)}`);
    });
}
