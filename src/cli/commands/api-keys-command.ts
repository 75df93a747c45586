/** `pinverify api-keys create | list | revoke` */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { formatTable } from '../cli-io';

export function registerApiKeysCommands(program: Command, ctx: CliContext): void {
  const keys = program
    .command('api-keys')
    .description('keys for the admin HTTP API (stored hashed; shown once)');

  keys
    .command('create <name>')
    .description('create a key named e.g. after the system that will use it; prints it once')
    .option(
      '--scope <scope>',
      'read (GET only), contacts (also contacts, PINs, unlock, verifications) or admin (everything)',
      'admin',
    )
    .action(async (name: string, o: { scope: string }) => {
      const k = await ctx.ops().apiKeys.create(name, o.scope);
      ctx.print(k, () =>
        [
          `created API key ${k.name} (${k.prefix}, scope ${k.scope}). It is shown only now; store it in your secret store:`,
          '',
          k.key,
          '',
          'Use it as:  Authorization: Bearer <key>',
        ].join('\n'),
      );
    });

  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .action(async () => {
      const list = await ctx.ops().apiKeys.list();
      ctx.print(list, () =>
        list.length === 0
          ? 'no API keys (create one with: pinverify api-keys create <name>)'
          : formatTable(
              ['ID', 'NAME', 'PREFIX', 'SCOPE', 'CREATED', 'LAST USED', 'REVOKED'],
              list.map((k) => [
                k.id,
                k.name,
                k.prefix,
                k.scope,
                k.createdAt.toISOString(),
                k.lastUsedAt?.toISOString(),
                k.revokedAt?.toISOString(),
              ]),
            ),
      );
    });

  keys
    .command('revoke <key>')
    .description('revoke a key by id or name; it stops working at once')
    .action(async (ref: string) => {
      const k = await ctx.ops().apiKeys.revoke(ref);
      ctx.print(k, () => `revoked API key ${k.name} (${k.prefix})`);
    });
}
