/**
 * `pinverify setup` (before the first start, and after each upgrade: applies the migrations and
 * checks every setting, Postgres, ARI, AMI and SMTP) and `pinverify doctor` (the same checks on
 * a running system without changing anything, plus modules, the registered app, prompts,
 * dialplan routines, routes, settings, templates, limits and the app's health). The checks are
 * in src/ops/system-checks.ts.
 */
import type { Command } from 'commander';
import {
  checksPassed,
  formatChecks,
  runDoctorChecks,
  runSetupChecks,
  type CheckResult,
} from '../../ops/system-checks';
import { createSystemProbe } from '../../ops/system-probe';
import type { CliContext } from '../cli-context';
import { databaseUrl } from '../cli-env';
import { EXIT } from '../exit-codes';

function report(ctx: CliContext, results: CheckResult[]): void {
  ctx.print(results, () => formatChecks(results));
  if (!checksPassed(results)) ctx.exitCode = EXIT.refused;
}

export function registerSetupCommands(program: Command, ctx: CliContext): void {
  const probe = () =>
    createSystemProbe({
      env: ctx.env,
      databaseUrl: databaseUrl(ctx.env),
      pool: () => ctx.pool(),
      dialplan: () => ctx.dialplan(),
      routes: () => ctx.ops().routes.list(),
    });

  program
    .command('setup')
    .description(
      'apply the database migrations, then check the settings, Postgres, ARI, AMI and SMTP (run before the first start and after upgrades)',
    )
    .addHelpText(
      'after',
      `
Reads the app's settings from the environment or --env-file (e.g. /etc/pinverify/pinverify.env).
Prints one line per check (ok, WARN, FAIL, skip) naming any problem. Exit code 0 when nothing
failed, 1 otherwise. Migrations are safe to run while app instances are up: each runs once.`,
    )
    .action(async () => report(ctx, await runSetupChecks(probe())));

  program
    .command('doctor')
    .description(
      "check a running system: services, Asterisk modules, the app's ARI registration, prompts, dialplan routines, routes, settings, templates, limits, the app's health",
    )
    .addHelpText(
      'after',
      `
Changes nothing (pending migrations are reported, not applied). Exit code 0 when nothing failed
(warnings allowed), 1 otherwise.`,
    )
    .action(async () => report(ctx, await runDoctorChecks(probe())));
}
