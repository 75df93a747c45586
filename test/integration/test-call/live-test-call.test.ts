/**
 * `pinverify test-call`'s engine with its real adapters against the running lab (npm run lab):
 * a real call through Asterisk into pinverify over ARI, pinverify's result and the dialplan
 * steps over AMI, the code from the lab's mail sink. Proves the correlation the engine relies
 * on (the Local ;2 leg's Uniqueid in the PinVerify event and in Newexten) on a live PBX.
 *
 * Run alone: npx jest --selectProjects integration --runInBand test/integration/test-call
 */
import { createServer } from 'node:net';
import { createSinkClient } from '../../../src/lab/sink-client';
import { createAmiOutcomeWatch } from '../../../src/test-call/ami-outcome-watch';
import { createAriTestCallPbx } from '../../../src/test-call/ari-test-call-pbx';
import { runTestCall, TestCallError } from '../../../src/test-call/run-test-call';
import { createSinkCodeSource } from '../../../src/test-call/sink-code-source';
import type { OutcomeWatch, TestCallPbx, TestCallRequest } from '../../../src/test-call/test-call-ports';

jest.setTimeout(120_000);

const env = {
  ariUrl: process.env.ARI_URL ?? 'http://127.0.0.1:8088',
  ariUser: process.env.ARI_USER ?? 'pinverify',
  ariPassword: process.env.ARI_PASSWORD ?? 'pinverify-lab-ari',
  ariApp: process.env.ARI_APP ?? 'pinverify',
  amiHost: process.env.AMI_HOST ?? '127.0.0.1',
  amiPort: Number(process.env.AMI_PORT ?? '5038'),
  amiUser: process.env.AMI_CLI_USER ?? 'pinverify-cli',
  amiSecret: process.env.AMI_CLI_SECRET ?? 'pinverify-lab-ami-cli',
  sinkUrl: `http://127.0.0.1:${process.env.TWILIO_SINK_PORT ?? '8025'}`,
};

const ALICE = '+12025550101';
const sink = createSinkClient(env.sinkUrl);
let pbx: TestCallPbx;
let outcomes: OutcomeWatch;

beforeAll(async () => {
  pbx = await createAriTestCallPbx({
    url: env.ariUrl,
    user: env.ariUser,
    password: env.ariPassword,
    pinverifyApp: env.ariApp,
  });
  outcomes = await createAmiOutcomeWatch({
    host: env.amiHost,
    port: env.amiPort,
    user: env.amiUser,
    secret: env.amiSecret,
  });
});
afterAll(async () => {
  await pbx?.close();
  await outcomes?.close();
  // These calls reach destinations with no agent phone running. Asterisk retransmits such an
  // INVITE until SIP timer B (32 s) expires; let that pass here, or the first agent phone of
  // the end-to-end tests that follow could answer a stale INVITE instead of its own call.
  await new Promise((resolve) => setTimeout(resolve, 33_000));
}, 60_000);

function request(over: Partial<TestCallRequest>): TestCallRequest {
  return {
    caller: ALICE,
    entry: { exten: '7001', context: 'pinverify-lab-inbound' },
    press: '1',
    method: 'email',
    code: { from: 'sink' },
    codeTo: 'alice@example.com',
    holdMs: 0,
    timeoutMs: 60_000,
    ...over,
  };
}

/** A port nothing listens on (fetch refuses well-known "bad" ports such as 1 or 9 outright). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Checks that no step carries the code or a full address or number. */
function expectClean(steps: string[], code?: string): void {
  const text = steps.join('\n');
  expect(text).not.toContain('alice@example.com');
  expect(text).not.toContain(ALICE);
  if (code) expect(text).not.toContain(code);
}

describe('test call against the lab', () => {
  it('is verified by email with the code from the sink, and reaches the route success destination', async () => {
    const before = (await sink.listMessages('alice@example.com')).at(-1)?.id ?? 0;
    const log: string[] = [];
    const outcome = await runTestCall(request({}), {
      pbx,
      outcomes,
      codes: createSinkCodeSource({ sink }),
      log: (s) => log.push(s),
    });
    expect(outcome).toMatchObject({
      result: 'verified',
      reason: 'ok',
      method: 'email',
      route: 'pinverify-support-autopin',
      destination: '2001@pinverify-destinations:1',
      reached: { context: 'pinverify-destinations', exten: '2001', priority: 1 },
    });
    expect(outcome.uniqueid).toMatch(/^pinverify-test-call-.+-2$/);
    expect(outcome.contact).toMatch(/^[0-9]+$/);
    expect(log).toEqual(outcome.steps);
    expect(outcome.steps).toEqual(
      expect.arrayContaining([
        'pressed 1',
        'pinverify has the call',
        'pressed 1 (email)',
        'keyed the code (6 digits) and #',
        'hung up',
      ]),
    );
    const sent = (await sink.listMessages('alice@example.com')).filter((m) => m.id > before);
    expect(sent).toHaveLength(1);
    const code = /\b[0-9]{6}\b/.exec(sent[0]?.body ?? '')?.[0];
    expectClean(outcome.steps, code);
  });

  it('bails out with * and reaches the route failed destination', async () => {
    const outcome = await runTestCall(request({ method: 'bail' }), { pbx, outcomes });
    expect(outcome).toMatchObject({
      result: 'failed',
      reason: 'caller_bailed',
      method: '',
      route: 'pinverify-support-autopin',
      reached: { context: 'pinverify-destinations', exten: '2901', priority: 1 },
    });
    expectClean(outcome.steps);
  });

  it('enters by the sub-IVR no-input timeout when nothing is pressed', async () => {
    const outcome = await runTestCall(request({ press: null, method: 'bail' }), { pbx, outcomes });
    expect(outcome).toMatchObject({ result: 'failed', reason: 'caller_bailed' });
    expect(outcome.reached).toEqual({ context: 'pinverify-destinations', exten: '2901', priority: 1 });
    expect(outcome.steps).not.toContain('pressed 1');
  });

  it('reports a caller nobody knows as no_match without being asked for a method', async () => {
    const outcome = await runTestCall(
      request({ caller: '+12025550199', codeTo: undefined, code: { from: 'prompt' } }),
      {
        pbx,
        outcomes,
        codes: {
          expect: () =>
            Promise.resolve({
              code: (signal) =>
                new Promise((_, reject) =>
                  signal.addEventListener('abort', () => reject(new Error('aborted'))),
                ),
            }),
        },
      },
    );
    expect(outcome).toMatchObject({ result: 'failed', reason: 'no_match', method: '' });
    expect(outcome.reached).toMatchObject({ exten: '2901', context: 'pinverify-destinations' });
  });

  it('three wrong codes end as max_attempts', async () => {
    const outcome = await runTestCall(
      request({ code: { from: 'fixed', digits: '000000', times: 3 }, codeTo: undefined }),
      { pbx, outcomes },
    );
    expect(outcome).toMatchObject({ result: 'failed', reason: 'max_attempts', method: 'email' });
    expect(outcome.reached).toMatchObject({ exten: '2901' });
    expect(outcome.steps.join('\n')).not.toContain('000000');
  });

  it('says so when the entry does not exist in the dialplan', async () => {
    const err = await runTestCall(request({ entry: { exten: '9999', context: 'pinverify-lab-inbound' } }), {
      pbx,
      outcomes,
      codes: createSinkCodeSource({ sink }),
      timing: { goneGraceMs: 500 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TestCallError);
    expect(String(err)).toMatch(/before answering it .*is 9999@pinverify-lab-inbound in the dialplan\?/);
  });
});

describe('unreachable parts', () => {
  it('names AMI host:port when AMI does not answer', async () => {
    await expect(
      createAmiOutcomeWatch({ host: '127.0.0.1', port: 1, user: 'x', secret: 'y' }),
    ).rejects.toThrow('AMI at 127.0.0.1:1 is unreachable: ECONNREFUSED');
  });

  it('says the AMI login was refused', async () => {
    await expect(
      createAmiOutcomeWatch({
        host: env.amiHost,
        port: env.amiPort,
        user: env.amiUser,
        secret: 'wrong-secret',
      }),
    ).rejects.toThrow(`AMI at ${env.amiHost}:${env.amiPort} refused the login of user ${env.amiUser}`);
  });

  it('says ARI refused the user instead of crashing inside ari-client', async () => {
    await expect(
      createAriTestCallPbx({ url: env.ariUrl, user: env.ariUser, password: 'wrong-password' }),
    ).rejects.toThrow(`ARI at ${env.ariUrl} refused user ${env.ariUser} (HTTP 401)`);
  });

  it('names the ARI URL when nothing listens there', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await expect(createAriTestCallPbx({ url, user: 'x', password: 'y' })).rejects.toThrow(
      `ARI at ${url} is unreachable: ECONNREFUSED`,
    );
  });
});
