/** `pinverify settings show | set` */
import type { Command } from 'commander';
import { coerceSettingText, SETTING_KEYS, type SettingKey } from '../../ops/settings-admin';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';
import { formatTable } from '../cli-io';

export function registerSettingsCommands(program: Command, ctx: CliContext): void {
  const settings = program
    .command('settings')
    .description('the flow settings: default destinations, code length, timeouts, ...');

  settings
    .command('show [key]')
    .description('every setting (or one) with its value, default and meaning')
    .action(async (key?: string) => {
      const all = await ctx.ops().settings.show();
      const shown = key === undefined ? all : all.filter((s) => s.key === key);
      if (shown.length === 0)
        throw new CliUsageError(`unknown setting ${key} (known: ${SETTING_KEYS.join(', ')})`);
      ctx.print(key === undefined ? shown : shown[0], () =>
        formatTable(
          ['KEY', 'VALUE', 'DEFAULT', 'MEANING'],
          shown.map((s) => [
            s.key,
            `${JSON.stringify(s.value)}${s.source === 'default' ? ` (default used: stored value ${s.problem})` : ''}`,
            JSON.stringify(s.defaultValue),
            s.description,
          ]),
        ),
      );
    });

  settings
    .command('set <key> <value> [more...]')
    .description('change one or more settings at once: set <key> <value> [<key> <value> ...]')
    .option('--force', 'save even if a destination is not in the running dialplan, or AMI cannot be asked')
    .addHelpText(
      'after',
      `\nKeys: ${SETTING_KEYS.join(', ')}\nExample: pinverify settings set codeLength 8 codeValiditySeconds 180`,
    )
    .action(async (key: string, value: string, more: string[], o: { force?: boolean }) => {
      const words = [key, value, ...more];
      if (words.length % 2 !== 0)
        throw new CliUsageError(
          `settings set takes <key> <value> pairs; "${words.at(-1) ?? ''}" has no value`,
        );
      const changes: Record<string, unknown> = {};
      for (let i = 0; i < words.length; i += 2) {
        const k = words[i] ?? '';
        const v = words[i + 1] ?? '';
        changes[k] = (SETTING_KEYS as string[]).includes(k) ? coerceSettingText(k as SettingKey, v) : v;
      }
      const saved = await ctx.ops().settings.set(changes, { force: o.force });
      ctx.warn(saved.warnings);
      ctx.print({ changed: saved.changed, settings: saved.value, warnings: saved.warnings }, () =>
        saved.changed.map((k) => `${k} = ${JSON.stringify(saved.value[k])}`).join('\n'),
      );
    });
}
