import {
  LAB_CONNECTWISE_CLIENT_ID,
  LAB_TICKET_WEBHOOK_SECRET,
  LAB_ZENDESK_API_TOKEN,
} from '../../../src/tickets/lab-ticket-credentials';
import {
  TICKET_ENV_VARS,
  ticketConnectorFromEnv,
  ticketEnvSchema,
} from '../../../src/tickets/ticket-connector-from-config';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

describe('ticketConnectorFromEnv', () => {
  test('no TICKET_SYSTEM (or none): no connector, no problems', () => {
    expect(ticketConnectorFromEnv({})).toEqual({ connector: null, problems: [] });
    expect(ticketConnectorFromEnv({ TICKET_SYSTEM: 'none' })).toEqual({ connector: null, problems: [] });
  });

  test('an unknown system is named', () => {
    const r = ticketConnectorFromEnv({ TICKET_SYSTEM: 'jira' });
    expect(r.connector).toBeNull();
    expect(r.problems).toEqual([
      'TICKET_SYSTEM must be one of none, webhook, zendesk, connectwise (got "jira")',
    ]);
  });

  test('zendesk: every missing variable at once, by name', () => {
    const r = ticketConnectorFromEnv({ TICKET_SYSTEM: 'zendesk' });
    expect(r.connector).toBeNull();
    expect(r.problems).toHaveLength(3);
    expect(r.problems.join('\n')).toMatch(/ZENDESK_URL is required/);
    expect(r.problems.join('\n')).toMatch(/ZENDESK_EMAIL is required/);
    expect(r.problems.join('\n')).toMatch(/ZENDESK_API_TOKEN is required/);
  });

  test('connectwise: every missing variable at once, by name', () => {
    const r = ticketConnectorFromEnv({
      TICKET_SYSTEM: 'connectwise',
      CONNECTWISE_URL: 'https://api-na.myconnectwise.net',
    });
    expect(r.problems.map((p) => p.split(' ')[0])).toEqual([
      'CONNECTWISE_COMPANY_ID',
      'CONNECTWISE_PUBLIC_KEY',
      'CONNECTWISE_PRIVATE_KEY',
      'CONNECTWISE_CLIENT_ID',
    ]);
  });

  test('invalid values are all reported together', () => {
    const r = ticketConnectorFromEnv({
      TICKET_SYSTEM: 'connectwise',
      CONNECTWISE_URL: 'http://api-na.myconnectwise.net/v4_6_release/apis/3.0',
      CONNECTWISE_COMPANY_ID: 'acme',
      CONNECTWISE_PUBLIC_KEY: 'pub:lic',
      CONNECTWISE_PRIVATE_KEY: 'change-me',
      CONNECTWISE_CLIENT_ID: 'not-a-guid',
    });
    expect(r.connector).toBeNull();
    const all = r.problems.join('\n');
    expect(all).toMatch(/CONNECTWISE_URL must use https/);
    expect(all).toMatch(/CONNECTWISE_URL must be the site only/);
    expect(all).toMatch(/CONNECTWISE_PUBLIC_KEY must not contain ":"/);
    expect(all).toMatch(/CONNECTWISE_PRIVATE_KEY is still the example's placeholder/);
    expect(all).toMatch(/CONNECTWISE_CLIENT_ID must be a GUID/);
    expect(r.problems).toHaveLength(5);
  });

  test('webhook: URL and secret checked; a bad secret is named without being echoed', () => {
    const r = ticketConnectorFromEnv({
      TICKET_SYSTEM: 'webhook',
      TICKET_WEBHOOK_URL: 'not a url',
      TICKET_WEBHOOK_SECRET: 'sekrit-value',
    });
    expect(r.problems).toEqual([
      'TICKET_WEBHOOK_URL must be a URL like https://crm.example.com/hooks/pinverify-notes',
      'TICKET_WEBHOOK_SECRET must be whsec_ followed by base64 of at least 24 random bytes',
    ]);
    expect(r.problems.join('\n')).not.toContain('sekrit-value');
  });

  test('credentials in a URL are refused', () => {
    const r = ticketConnectorFromEnv({
      TICKET_SYSTEM: 'zendesk',
      ZENDESK_URL: 'https://me:pw@acme.zendesk.com',
      ZENDESK_EMAIL: 'desk@acme.com',
      ZENDESK_API_TOKEN: 'tok',
    });
    expect(r.problems).toEqual([
      'ZENDESK_URL must not hold a user name or password: use the credential variables',
    ]);
  });

  test("the lab's published secrets and http are refused outside the lab, accepted in it", () => {
    const env = {
      TICKET_SYSTEM: 'zendesk',
      ZENDESK_URL: 'http://127.0.0.1:8027',
      ZENDESK_EMAIL: 'desk@lab.pinverify.test',
      ZENDESK_API_TOKEN: LAB_ZENDESK_API_TOKEN,
    };
    const outside = ticketConnectorFromEnv(env);
    expect(outside.connector).toBeNull();
    expect(outside.problems).toHaveLength(2);
    expect(outside.problems.join('\n')).toMatch(/ZENDESK_URL must use https/);
    expect(outside.problems.join('\n')).toMatch(/ZENDESK_API_TOKEN is the lab's published value/);
    const inLab = ticketConnectorFromEnv({ ...env, PINVERIFY_LAB: '1' });
    expect(inLab.problems).toEqual([]);
    expect(inLab.connector?.system).toBe('zendesk');
    const hook = ticketConnectorFromEnv({
      TICKET_SYSTEM: 'webhook',
      TICKET_WEBHOOK_URL: 'https://crm.example.com/hook',
      TICKET_WEBHOOK_SECRET: LAB_TICKET_WEBHOOK_SECRET,
    });
    expect(hook.problems).toEqual([
      "TICKET_WEBHOOK_SECRET is the lab's published value: set a secret of your own (or PINVERIFY_LAB=1 on a lab machine)",
    ]);
  });

  test('complete settings give the connector', () => {
    expect(
      ticketConnectorFromEnv({
        TICKET_SYSTEM: 'webhook',
        TICKET_WEBHOOK_URL: 'https://crm.example.com/hook',
        TICKET_WEBHOOK_SECRET: SECRET,
      }).connector?.system,
    ).toBe('webhook');
    const cw = ticketConnectorFromEnv({
      TICKET_SYSTEM: 'ConnectWise',
      CONNECTWISE_URL: 'https://api-na.myconnectwise.net/',
      CONNECTWISE_COMPANY_ID: 'acme',
      CONNECTWISE_PUBLIC_KEY: 'pub',
      CONNECTWISE_PRIVATE_KEY: 'priv',
      CONNECTWISE_CLIENT_ID: LAB_CONNECTWISE_CLIENT_ID,
    });
    expect(cw.problems).toEqual([]);
    expect(cw.connector?.system).toBe('connectwise');
  });

  test('the variable list documents each one, and the zod shape has them all', () => {
    expect(TICKET_ENV_VARS.map((v) => v.name)).toEqual(Object.keys(ticketEnvSchema.shape));
    for (const v of TICKET_ENV_VARS) expect(v.doc.length).toBeGreaterThan(10);
    expect(ticketEnvSchema.safeParse({ TICKET_SYSTEM: 'zendesk' }).success).toBe(true);
  });
});
