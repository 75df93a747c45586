/** `pinverify routes list | show | add | update | remove` */
import type { Command } from 'commander';
import type { Route } from '../../domain';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';
import { formatTable } from '../cli-io';

const DEST_HELP = 'exten, exten@context or exten@context:priority';
const MODE_HELP =
  'how callers are verified: otp (a one-time code by email or SMS), pin (their static PIN), pin_then_otp (both)';

export function routesTable(routes: readonly Route[]): string {
  if (routes.length === 0)
    return 'no routes (every caller gets the default destinations; see `pinverify settings show`)';
  return formatTable(
    ['ID', 'TITLE', 'PREVIOUS HOP', 'MODE', 'SUCCESS', 'FAILED', 'ENABLED'],
    routes.map((r) => [
      r.id,
      r.title,
      r.previousHop,
      r.mode,
      r.successDestination,
      r.failedDestination,
      r.enabled ? 'yes' : 'no',
    ]),
  );
}

function describe(r: Route): string {
  return `route ${r.id} "${r.title}": ${r.previousHop} (${r.mode}) -> success ${r.successDestination}, failed ${r.failedDestination}${r.enabled ? '' : ' (disabled)'}`;
}

export function registerRoutesCommands(program: Command, ctx: CliContext): void {
  const routes = program
    .command('routes')
    .description('where callers go after verification, chosen by the sub-IVR they came from')
    .addHelpText(
      'after',
      `
A route is keyed by its previous hop: the dialplan context of the sub-IVR that ran Stasis(), or
a route name the dialplan passes as Stasis(pinverify,route=<name>). Destinations are checked
against the running dialplan over AMI; --force saves one that is not there (with a warning).`,
    );

  routes
    .command('list')
    .description('list all routes, enabled or not')
    .action(async () => {
      const list = await ctx.ops().routes.list();
      ctx.print(list, () => routesTable(list));
    });

  routes
    .command('show <route>')
    .description('one route, by id or previous hop')
    .action(async (ref: string) => {
      const route = await ctx.ops().routes.get(ref);
      ctx.print(route, () => routesTable([route]));
    });

  routes
    .command('add')
    .description('add a route for a sub-IVR')
    .requiredOption('--title <title>', 'a name for people, e.g. "Sales"')
    .requiredOption('--previous-hop <hop>', 'the sub-IVR context, or a route name passed to Stasis')
    .requiredOption('--success <destination>', `where verified callers go: ${DEST_HELP}`)
    .requiredOption('--failed <destination>', `where unverified callers go: ${DEST_HELP}`)
    .option('--mode <mode>', MODE_HELP, 'otp')
    .option('--disabled', 'add it switched off (callers get the default destinations)')
    .option('--force', 'save even if the PBX check fails or cannot run')
    .action(
      async (o: {
        title: string;
        previousHop: string;
        success: string;
        failed: string;
        mode: string;
        disabled?: boolean;
        force?: boolean;
      }) => {
        const saved = await ctx.ops().routes.add(
          {
            title: o.title,
            previousHop: o.previousHop,
            successDestination: o.success,
            failedDestination: o.failed,
            enabled: !o.disabled,
            mode: o.mode,
          },
          { force: o.force },
        );
        ctx.warn(saved.warnings);
        ctx.print({ ...saved.value, warnings: saved.warnings }, () => `added ${describe(saved.value)}`);
      },
    );

  routes
    .command('update <route>')
    .description('change a route (by id or previous hop); only the options given change')
    .option('--title <title>', 'new title')
    .option('--previous-hop <hop>', 'new previous hop')
    .option('--success <destination>', `new success destination: ${DEST_HELP}`)
    .option('--failed <destination>', `new failed destination: ${DEST_HELP}`)
    .option('--mode <mode>', MODE_HELP)
    .option('--enable', 'switch the route on')
    .option('--disable', 'switch the route off (callers get the default destinations)')
    .option('--force', 'save even if the PBX check fails or cannot run')
    .action(
      async (
        ref: string,
        o: {
          title?: string;
          previousHop?: string;
          success?: string;
          failed?: string;
          mode?: string;
          enable?: boolean;
          disable?: boolean;
          force?: boolean;
        },
      ) => {
        if (o.enable && o.disable) throw new CliUsageError('--enable and --disable exclude each other');
        const patch = {
          title: o.title,
          previousHop: o.previousHop,
          successDestination: o.success,
          failedDestination: o.failed,
          enabled: o.enable ? true : o.disable ? false : undefined,
          mode: o.mode,
        };
        const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
        const saved = await ctx.ops().routes.update(ref, given, { force: o.force });
        ctx.warn(saved.warnings);
        ctx.print({ ...saved.value, warnings: saved.warnings }, () => `updated ${describe(saved.value)}`);
      },
    );

  routes
    .command('remove <route>')
    .description('delete a route (by id or previous hop); its callers then get the default destinations')
    .action(async (ref: string) => {
      const route = await ctx.ops().routes.remove(ref);
      ctx.print(route, () => `removed ${describe(route)}`);
    });
}
