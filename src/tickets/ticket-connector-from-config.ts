/**
 * The ticket connector the environment asks for (TICKET_SYSTEM), with its credentials. Every
 * missing or invalid variable is reported at once, by name, so an operator fixes them in one go.
 * Credentials live only in the environment, never in the settings table: whoever can edit
 * settings at the admin API must not be able to read or redirect them.
 */
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { CONNECTWISE_API_PATH, createConnectWiseConnector } from './connectwise-connector';
import { LAB_TICKET_SECRET_VALUES } from './lab-ticket-credentials';
import type { TicketConnector } from './ticket-connector';
import { createWebhookConnector } from './webhook-connector';
import { createZendeskConnector } from './zendesk-connector';

export interface TicketEnvVar {
  name: string;
  doc: string;
  /** Keep out of logs; refused outside the lab when it is the lab's published value. */
  secret: boolean;
}

/** The variables, for the config schema and the README's table. */
export const TICKET_ENV_VARS: readonly TicketEnvVar[] = [
  {
    name: 'TICKET_SYSTEM',
    doc: 'Where desk ticket notes go: none (default), webhook, zendesk or connectwise',
    secret: false,
  },
  {
    name: 'TICKET_WEBHOOK_URL',
    doc: 'webhook: the URL ticket notes are POSTed to (https; http only with PINVERIFY_LAB=1)',
    secret: false,
  },
  {
    name: 'TICKET_WEBHOOK_SECRET',
    doc: 'webhook: the Standard Webhooks signing secret, whsec_ + base64 of at least 24 random bytes',
    secret: true,
  },
  {
    name: 'ZENDESK_URL',
    doc: 'zendesk: your Zendesk address, e.g. https://acme.zendesk.com',
    secret: false,
  },
  {
    name: 'ZENDESK_EMAIL',
    doc: 'zendesk: the email of the agent the API token acts as (notes appear as written by them)',
    secret: false,
  },
  {
    name: 'ZENDESK_API_TOKEN',
    doc: 'zendesk: an API token (Admin Center > Apps and integrations > Zendesk API)',
    secret: true,
  },
  {
    name: 'CONNECTWISE_URL',
    doc: 'connectwise: the API site, e.g. https://api-na.myconnectwise.net (no path)',
    secret: false,
  },
  {
    name: 'CONNECTWISE_COMPANY_ID',
    doc: 'connectwise: the company id typed at the ConnectWise login screen',
    secret: false,
  },
  {
    name: 'CONNECTWISE_PUBLIC_KEY',
    doc: "connectwise: the API member's public key",
    secret: false,
  },
  {
    name: 'CONNECTWISE_PRIVATE_KEY',
    doc: "connectwise: the API member's private key",
    secret: true,
  },
  {
    name: 'CONNECTWISE_CLIENT_ID',
    doc: "connectwise: the integration's clientId (a GUID from developer.connectwise.com/ClientID)",
    secret: false,
  },
];

/**
 * The same variables as a zod shape (all optional strings, documented), to spread into the app's
 * config schema: `z.object({...appShape, ...ticketEnvSchema.shape})`. Validation itself is
 * ticketConnectorFromEnv's, which knows which variables the chosen system needs.
 */
export const ticketEnvSchema = z.object(
  Object.fromEntries(TICKET_ENV_VARS.map((v) => [v.name, z.string().optional().describe(v.doc)])),
);

export const TICKET_SYSTEM_CHOICES = ['none', 'webhook', 'zendesk', 'connectwise'] as const;

const WHSEC = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TicketConnectorFromEnvOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface TicketConnectorFromEnvResult {
  /** null: TICKET_SYSTEM is none, or there are problems. */
  connector: TicketConnector | null;
  problems: string[];
}

type Env = Record<string, string | undefined>;

export function ticketConnectorFromEnv(
  env: Env,
  options: TicketConnectorFromEnvOptions = {},
): TicketConnectorFromEnvResult {
  const lab = env.PINVERIFY_LAB === '1';
  const problems: string[] = [];
  const value = (name: string): string => (env[name] ?? '').trim();

  const required = (name: string, what: string): string => {
    const v = value(name);
    if (!v) problems.push(`${name} is required when TICKET_SYSTEM is ${system} (${what})`);
    return v;
  };
  const secret = (name: string, what: string): string => {
    const v = required(name, what);
    if (v && /^change-me/i.test(v)) {
      problems.push(`${name} is still the example's placeholder "change-me": set a secret of your own`);
    } else if (v && !lab && LAB_TICKET_SECRET_VALUES.includes(v)) {
      problems.push(
        `${name} is the lab's published value: set a secret of your own (or PINVERIFY_LAB=1 on a lab machine)`,
      );
    }
    return v;
  };
  /** A URL problem or null; `siteOnly`: no path, query or fragment. */
  const checkUrl = (name: string, raw: string, example: string, siteOnly: boolean): void => {
    if (!raw) return;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      problems.push(`${name} must be a URL like ${example}`);
      return;
    }
    if (u.protocol !== 'https:' && !(lab && u.protocol === 'http:')) {
      problems.push(
        u.protocol === 'http:'
          ? `${name} must use https (credentials and notes would cross the network in clear); http is allowed only with PINVERIFY_LAB=1`
          : `${name} must be an https URL like ${example}`,
      );
    }
    if (u.username || u.password) {
      problems.push(`${name} must not hold a user name or password: use the credential variables`);
    }
    if (siteOnly && (u.pathname.replace(/\/+$/, '') !== '' || u.search || u.hash)) {
      problems.push(`${name} must be the site only, like ${example} (pinverify adds the API path)`);
    }
  };

  const rawSystem = value('TICKET_SYSTEM').toLowerCase() || 'none';
  const system = rawSystem as (typeof TICKET_SYSTEM_CHOICES)[number];
  if (!(TICKET_SYSTEM_CHOICES as readonly string[]).includes(rawSystem)) {
    return {
      connector: null,
      problems: [`TICKET_SYSTEM must be one of ${TICKET_SYSTEM_CHOICES.join(', ')} (got "${rawSystem}")`],
    };
  }
  const common = { fetch: options.fetch, timeoutMs: options.timeoutMs };

  switch (system) {
    case 'none':
      return { connector: null, problems: [] };
    case 'webhook': {
      const url = required('TICKET_WEBHOOK_URL', 'where notes are POSTed');
      checkUrl('TICKET_WEBHOOK_URL', url, 'https://crm.example.com/hooks/pinverify-notes', false);
      const sec = secret('TICKET_WEBHOOK_SECRET', 'the signing secret, whsec_...');
      if (sec && !WHSEC.test(sec)) {
        problems.push('TICKET_WEBHOOK_SECRET must be whsec_ followed by base64 of at least 24 random bytes');
      } else if (sec) {
        try {
          new Webhook(sec);
        } catch {
          problems.push('TICKET_WEBHOOK_SECRET is not valid base64 after whsec_');
        }
      }
      if (problems.length > 0) return { connector: null, problems };
      return { connector: createWebhookConnector({ url, secret: sec, ...common }), problems };
    }
    case 'zendesk': {
      const baseUrl = required('ZENDESK_URL', 'e.g. https://acme.zendesk.com');
      checkUrl('ZENDESK_URL', baseUrl, 'https://acme.zendesk.com', true);
      const email = required('ZENDESK_EMAIL', 'the agent the API token acts as');
      if (email && !/^[^\s@/:]+@[^\s@/:]+$/.test(email)) {
        problems.push('ZENDESK_EMAIL must be an email address, like agent@acme.com');
      }
      const apiToken = secret('ZENDESK_API_TOKEN', 'an API token from the Zendesk Admin Center');
      if (problems.length > 0) return { connector: null, problems };
      return { connector: createZendeskConnector({ baseUrl, email, apiToken, ...common }), problems };
    }
    case 'connectwise': {
      const baseUrl = required('CONNECTWISE_URL', 'e.g. https://api-na.myconnectwise.net');
      checkUrl(
        'CONNECTWISE_URL',
        baseUrl,
        `https://api-na.myconnectwise.net (not …${CONNECTWISE_API_PATH})`,
        true,
      );
      const companyId = required('CONNECTWISE_COMPANY_ID', 'the company id typed at login');
      const publicKey = required('CONNECTWISE_PUBLIC_KEY', "the API member's public key");
      const privateKey = secret('CONNECTWISE_PRIVATE_KEY', "the API member's private key");
      const clientId = required('CONNECTWISE_CLIENT_ID', 'the clientId of the integration');
      // "company+public:private": a ':' before the last part would split the pair elsewhere.
      if (companyId.includes(':')) problems.push('CONNECTWISE_COMPANY_ID must not contain ":"');
      if (publicKey.includes(':')) problems.push('CONNECTWISE_PUBLIC_KEY must not contain ":"');
      if (clientId && !GUID.test(clientId)) {
        problems.push(
          'CONNECTWISE_CLIENT_ID must be a GUID like 1b4e28ba-2fa1-11d2-883f-0016d3cca427 (developer.connectwise.com/ClientID)',
        );
      }
      if (problems.length > 0) return { connector: null, problems };
      return {
        connector: createConnectWiseConnector({
          baseUrl,
          companyId,
          publicKey,
          privateKey,
          clientId,
          ...common,
        }),
        problems,
      };
    }
  }
}
