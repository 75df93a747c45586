/**
 * The CLI as a function: argv in, exit code out, everything printed through CliIo. The one
 * error handler of the CLI lives here, so every command fails the same way: a line that names
 * the problem on stderr, never a stack trace, and an exit code scripts can act on (exit-codes.ts).
 */
import { Command, CommanderError } from 'commander';
import { PbxUnreachableError } from '../ops/dialplan-checker';
import { OpsError } from '../ops/ops-error';
import { describeDbError, errorMessage, isDbUnreachable } from '../store/db';
import { CliContext, type CliOverrides } from './cli-context';
import { CliUsageError, databaseUrl, loadCliEnv } from './cli-env';
import type { CliIo } from './cli-io';
import { EXIT } from './exit-codes';
import { registerAgentsCommands } from './commands/agents-command';
import { registerApiKeysCommands } from './commands/api-keys-command';
import { registerCallsCommands } from './commands/calls-command';
import { registerContactsCommands } from './commands/contacts-command';
import { registerPinsCommands } from './commands/pins-command';
import { registerProfilesCommands } from './commands/profiles-command';
import { registerRoutesCommands } from './commands/routes-command';
import { registerSettingsCommands } from './commands/settings-command';
import { registerSetupCommands } from './commands/setup-command';
import { registerTemplatesCommands } from './commands/templates-command';
import { registerVerificationsCommands } from './commands/verifications-command';
import { registerWebhooksCommands } from './commands/webhooks-command';

export { EXIT };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const PACKAGE_VERSION = (require('../../package.json') as { version: string }).version;

/** Extra commands (test-call) register through this, so run-cli does not import ARI. */
export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

export function buildProgram(ctx: CliContext, extra: readonly CommandRegistrar[] = []): Command {
  const program = new Command('pinverify')
    .description(
      'pinverify ops tool: setup and doctor, routes, call profiles, settings, templates, contacts, PINs, calls, API keys and test calls',
    )
    .version(PACKAGE_VERSION, '-V, --version', 'print the installed version')
    .option('--json', 'print JSON for scripts instead of text')
    .option(
      '--env-file <file>',
      'read settings (DATABASE_URL, AMI_*, ARI_*) from this env file (default: $PINVERIFY_ENV_FILE)',
    )
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 done, 1 refused or failed, 2 usage error, 3 a service (Postgres, AMI, ARI) unreachable.
Environment: DATABASE_URL, AMI_HOST/AMI_PORT and AMI_CLI_USER/AMI_CLI_SECRET (else AMI_USER/AMI_SECRET; dialplan checks, test-call),
ARI_URL/ARI_USER/ARI_PASSWORD (test-call), SINK_URL (test-call reading codes from the lab's sinks).`,
    );
  program.hook('preAction', (_root, action) => {
    const o = action.optsWithGlobals<{ json?: boolean; envFile?: string }>();
    ctx.json = o.json === true;
    ctx.env = loadCliEnv(ctx.env, o.envFile);
  });
  registerRoutesCommands(program, ctx);
  registerProfilesCommands(program, ctx);
  registerSettingsCommands(program, ctx);
  registerTemplatesCommands(program, ctx);
  registerContactsCommands(program, ctx);
  registerCallsCommands(program, ctx);
  registerVerificationsCommands(program, ctx);
  registerPinsCommands(program, ctx);
  registerApiKeysCommands(program, ctx);
  registerAgentsCommands(program, ctx);
  registerWebhooksCommands(program, ctx);
  registerSetupCommands(program, ctx);
  for (const register of extra) register(program, ctx);

  // Every command, however deep, reports usage errors through the same handler.
  const configure = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => ctx.io.out(s.trimEnd()),
      writeErr: (s) => ctx.io.err(s.trimEnd()),
    });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

export function reportError(err: unknown, ctx: CliContext): number {
  const { io } = ctx;
  if (err instanceof CommanderError) {
    // Help and version are printed by commander and are not errors.
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.help' ||
      err.code === 'commander.version'
    )
      return EXIT.ok;
    return EXIT.usage;
  }
  if (err instanceof CliUsageError) {
    io.err(`pinverify: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof OpsError) {
    if (ctx.json)
      io.out(JSON.stringify({ error: err.code, message: err.message, problems: err.problems }, null, 2));
    if (err.problems.length > 1 || (err.problems.length === 1 && err.kind === 'invalid')) {
      io.err(`pinverify: refused:`);
      for (const p of err.problems) io.err(`  ${p.field}: ${p.message}`);
    } else io.err(`pinverify: ${err.message}`);
    return err.kind === 'unavailable' || err.kind === 'upstream' ? EXIT.unavailable : EXIT.refused;
  }
  if (err instanceof PbxUnreachableError) {
    io.err(`pinverify: the PBX is unreachable: ${err.message}`);
    return EXIT.unavailable;
  }
  if (isDbUnreachable(err)) {
    io.err(`pinverify: ${describeDbError(err, databaseUrl(ctx.env))}`);
    return EXIT.unavailable;
  }
  io.err(`pinverify: failed: ${errorMessage(err)}`);
  if (ctx.env.PINVERIFY_DEBUG && err instanceof Error && err.stack) io.err(err.stack);
  return EXIT.refused;
}

export async function runCli(
  argv: readonly string[],
  io: CliIo,
  overrides: CliOverrides = {},
  extra: readonly CommandRegistrar[] = [],
): Promise<number> {
  const ctx = new CliContext(io, overrides);
  const program = buildProgram(ctx, extra);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return reportError(err, ctx);
  } finally {
    await ctx.close();
  }
}
