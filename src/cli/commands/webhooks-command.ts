/**
 * `pinverify webhooks add | list | remove | enable | disable | test`: subscribers to pinverify's
 * events (verification status changes, desk outcomes, call outcomes), signed per Standard
 * Webhooks. The running app delivers; these commands only change the subscriptions.
 */
import type { Command } from 'commander';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/webhook-events';
import {
  createWebhookAdmin,
  type WebhookEndpointInfo,
  type WebhookTestResult,
} from '../../webhooks/webhook-admin';
import type { CliContext } from '../cli-context';
import { formatTable } from '../cli-io';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function events(e: WebhookEndpointInfo): string {
  return e.events.length === 0 ? 'all' : e.events.join(',');
}

function last(e: WebhookEndpointInfo): string | null {
  if (!e.lastAttemptAt) return null;
  return e.lastError ?? `HTTP ${e.lastStatus ?? '?'}`;
}

function describeTest(r: WebhookTestResult): string {
  const head = r.blockedBy
    ? `the older event ${r.blockedBy.eventId} is sent first (order is kept) and ${r.blockedBy.error ? `failed: ${r.blockedBy.error}` : 'was not delivered yet'}`
    : '';
  switch (r.outcome) {
    case 'delivered':
      return `delivered test event ${r.eventId} to endpoint ${r.endpointId}: HTTP ${r.status ?? '?'} in ${r.ms} ms`;
    case 'failed':
      return `test event ${r.eventId} to endpoint ${r.endpointId} failed: ${r.error ?? 'no answer'} (tests are not retried)`;
    case 'blocked':
      return `test event ${r.eventId} was not sent: ${head}; it is retried on its schedule, the test after it`;
    case 'pending':
      return (
        `test event ${r.eventId} was not delivered within ${Math.round(r.ms / 1000)} s` +
        (r.blockedBy ? `: ${head}` : ': is the pinverify app running? (it delivers webhooks)') +
        `. It stays queued.`
      );
  }
}

export function registerWebhooksCommands(program: Command, ctx: CliContext): void {
  const admin = () => createWebhookAdmin({ pool: ctx.pool(), actor: ctx.actor });
  const webhooks = program
    .command('webhooks')
    .description(
      'subscribers to verification and call events, signed per Standard Webhooks: add, list, remove, enable, disable, test',
    );

  webhooks
    .command('add <url>')
    .description(
      'subscribe a URL (https; http only to 127.0.0.1/localhost/::1); prints its signing secret once',
    )
    .option(
      '--events <types>',
      `event types, comma-separated or repeated (default: all): ${WEBHOOK_EVENT_TYPES.join(', ')}`,
      collect,
      [],
    )
    .option('--description <text>', 'what the endpoint is, for the list')
    .option(
      '--secret <whsec>',
      "use this signing secret instead of a new one (the lab sink's, or a receiver moved from another sender)",
    )
    .action(async (url: string, o: { events: string[]; description?: string; secret?: string }) => {
      const e = await admin().add(url, {
        events: o.events,
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.secret !== undefined ? { secret: o.secret } : {}),
      });
      ctx.print(e, () =>
        [
          `added webhook endpoint ${e.id}: ${e.url} (events: ${events(e)}).`,
          'Its signing secret is shown only now; give it to the receiver, which verifies every',
          'delivery with it (any Standard Webhooks library: webhook-id, webhook-timestamp, webhook-signature):',
          '',
          e.secret,
          '',
          `Try it: pinverify webhooks test ${e.id}`,
        ].join('\n'),
      );
    });

  webhooks
    .command('list')
    .description('list endpoints: events, enabled, why disabled, deliveries waiting, last attempt')
    .action(async () => {
      const list = await admin().list();
      ctx.print(list, () =>
        list.length === 0
          ? 'no webhook endpoints (add one with: pinverify webhooks add <url>)'
          : formatTable(
              ['ID', 'URL', 'EVENTS', 'ENABLED', 'PENDING', 'LAST ATTEMPT', 'LAST RESULT', 'DISABLED REASON'],
              list.map((e) => [
                e.id,
                e.url,
                events(e),
                e.enabled ? 'yes' : 'no',
                e.pending,
                e.lastAttemptAt,
                last(e),
                e.disabledReason,
              ]),
            ),
      );
    });

  webhooks
    .command('remove <id>')
    .description('remove an endpoint and the deliveries still waiting for it')
    .action(async (id: string) => {
      const e = await admin().remove(id);
      ctx.print(
        e,
        () =>
          `removed webhook endpoint ${e.id} (${e.url})${e.pending > 0 ? `; ${e.pending} undelivered events dropped` : ''}`,
      );
    });

  webhooks
    .command('enable <id>')
    .description(
      'enable an endpoint (after fixing the receiver); its waiting deliveries are sent now, in order',
    )
    .action(async (id: string) => {
      const e = await admin().enable(id);
      ctx.print(
        e,
        () => `enabled webhook endpoint ${e.id} (${e.url}); ${e.pending} deliveries waiting, sent now`,
      );
    });

  webhooks
    .command('disable <id>')
    .description('pause an endpoint: nothing is sent, and events meanwhile are not queued for it')
    .action(async (id: string) => {
      const e = await admin().disable(id);
      ctx.print(e, () => `disabled webhook endpoint ${e.id} (${e.url})`);
    });

  webhooks
    .command('test <id>')
    .description(
      'send a webhook.test event to one endpoint and wait up to 15 s for the running app to deliver it',
    )
    .action(async (id: string) => {
      const r = await admin().test(id);
      if (r.outcome !== 'delivered') ctx.exitCode = 1;
      ctx.print(r, () => describeTest(r));
    });
}
