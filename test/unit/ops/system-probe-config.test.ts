/**
 * `pinverify setup` and `doctor` report the configuration problems the app would refuse to start
 * with: its own settings and the ticket connector's, all at once.
 */
import { createSystemProbe } from '../../../src/ops/system-probe';

const unused = () => {
  throw new Error('not used by configProblems');
};

function problems(env: NodeJS.ProcessEnv): string[] {
  return createSystemProbe({
    env,
    databaseUrl: '',
    pool: unused,
    dialplan: unused,
    routes: unused,
  }).configProblems();
}

describe('configProblems', () => {
  it('names a ticket system missing its credentials together with the app settings missing', () => {
    const found = problems({ TICKET_SYSTEM: 'zendesk', ZENDESK_URL: 'https://acme.zendesk.com' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ARI_URL/) as unknown,
        expect.stringMatching(/^ZENDESK_EMAIL is required when TICKET_SYSTEM is zendesk/) as unknown,
        expect.stringMatching(/^ZENDESK_API_TOKEN is required/) as unknown,
      ]),
    );
  });

  it('refuses the lab ticket credentials outside the lab', () => {
    const found = problems({
      TICKET_SYSTEM: 'zendesk',
      ZENDESK_URL: 'https://acme.zendesk.com',
      ZENDESK_EMAIL: 'desk@acme.example',
      ZENDESK_API_TOKEN: 'lab-only-zendesk-api-token',
    });
    expect(found.filter((p) => p.startsWith('ZENDESK'))).toEqual([
      expect.stringMatching(/ZENDESK_API_TOKEN is the lab's published value/) as unknown,
    ]);
  });
});
