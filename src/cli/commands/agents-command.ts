/** `pinverify agents add | list | remove | set-password | update`: who may sign in to the desk (/desk). */
import type { Command } from 'commander';
import { generatePassword } from '../../desk/agent-admin';
import type { CliContext } from '../cli-context';
import { formatTable } from '../cli-io';

/** The password from standard input (never from the command line: it would sit in `ps` and shell history). */
async function passwordFrom(
  ctx: CliContext,
  generate: boolean | undefined,
): Promise<{ password: string; generated: boolean }> {
  if (generate) return { password: generatePassword(), generated: true };
  const password = (await ctx.io.readStdin()).replace(/\r?\n$/, '');
  return { password, generated: false };
}

export function registerAgentsCommands(program: Command, ctx: CliContext): void {
  const agents = program
    .command('agents')
    .description('agent accounts for the desk (/desk): passwords hashed with argon2id');

  agents
    .command('add <login>')
    .description('add an agent; the password is read from standard input, or made with --generate-password')
    .requiredOption('--name <name>', 'the name shown on the desk and in ticket notes')
    .option(
      '--extensions <list>',
      'comma-separated extensions whose calls pop on the desk, e.g. 2001,2901',
      '',
    )
    .option('--role <role>', 'agent or supervisor', 'agent')
    .option('--generate-password', 'make a random password and print it once')
    .action(
      async (
        login: string,
        o: { name: string; extensions: string; role: string; generatePassword?: boolean },
      ) => {
        const { password, generated } = await passwordFrom(ctx, o.generatePassword);
        const a = await ctx
          .ops()
          .agents.add({ login, name: o.name, extensions: o.extensions, role: o.role, password });
        ctx.print(generated ? { ...a, password } : a, () =>
          [
            `added ${a.role} ${a.login} (${a.name}), extensions ${a.extensions.join(', ') || 'none'}`,
            ...(generated ? ['', 'Password (shown only now; hand it over securely):', '', password] : []),
          ].join('\n'),
        );
      },
    );

  agents
    .command('list')
    .description('list agents (never their passwords)')
    .action(async () => {
      const list = await ctx.ops().agents.list();
      ctx.print(list, () =>
        list.length === 0
          ? 'no agents (add one with: pinverify agents add <login> --name "..." --extensions 2001)'
          : formatTable(
              ['LOGIN', 'NAME', 'ROLE', 'EXTENSIONS', 'CREATED', 'PASSWORD CHANGED'],
              list.map((a) => [
                a.login,
                a.name,
                a.role,
                a.extensions.join(','),
                a.createdAt,
                a.passwordChangedAt,
              ]),
            ),
      );
    });

  agents
    .command('update <login>')
    .description("change an agent's name, extensions or role")
    .option('--name <name>')
    .option('--extensions <list>', 'comma-separated; replaces the list')
    .option('--role <role>', 'agent or supervisor')
    .action(async (login: string, o: { name?: string; extensions?: string; role?: string }) => {
      const a = await ctx.ops().agents.update(login, o);
      ctx.print(
        a,
        () => `updated ${a.login}: ${a.name}, ${a.role}, extensions ${a.extensions.join(', ') || 'none'}`,
      );
    });

  agents
    .command('set-password <login>')
    .description(
      'set a new password (from standard input, or --generate-password); signs the agent out everywhere',
    )
    .option('--generate-password', 'make a random password and print it once')
    .action(async (login: string, o: { generatePassword?: boolean }) => {
      const { password, generated } = await passwordFrom(ctx, o.generatePassword);
      await ctx.ops().agents.setPassword(login, password);
      ctx.print({ login, ...(generated ? { password } : {}) }, () =>
        [
          `password of ${login} changed; its sessions are ended`,
          ...(generated ? ['', 'Password (shown only now):', '', password] : []),
        ].join('\n'),
      );
    });

  agents
    .command('remove <login>')
    .description('remove an agent and end its sessions (its past actions stay in the audit trail)')
    .action(async (login: string) => {
      const a = await ctx.ops().agents.remove(login);
      ctx.print(a, () => `removed ${a.login} (${a.name})`);
    });
}
