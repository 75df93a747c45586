/**
 * The lab's AMI users hold the least rights pinverify needs (scripts/lab.sh writes them; the
 * production drop-in documents the same): the app's user may send its UserEvents and read the
 * dialplan, nothing else; the CLI's may read events and the dialplan. Neither may Originate a
 * call or run a CLI command on the PBX. Checked against the running lab Asterisk.
 */
import { createAmiClient, type AmiClient } from '../../src/ami/ami-client';

const HOST = process.env.AMI_HOST || '127.0.0.1';
const PORT = Number(process.env.AMI_PORT || 5038);
const USERS = {
  app: { user: process.env.AMI_USER || 'pinverify', secret: process.env.AMI_SECRET || 'pinverify-lab-ami' },
  cli: {
    user: process.env.AMI_CLI_USER || 'pinverify-cli',
    secret: process.env.AMI_CLI_SECRET || 'pinverify-lab-ami-cli',
  },
};

/** What Asterisk answers an action: Success, or the error message. */
async function answer(ami: AmiClient, fields: Record<string, string>): Promise<string> {
  try {
    const res = await ami.action(fields, 5000);
    return String(res.response);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const ORIGINATE = {
  Action: 'Originate',
  Channel: 'Local/7999@pinverify-lab-inbound',
  Application: 'Echo',
  Async: 'true',
};
const COMMAND = { Action: 'Command', Command: 'core show version' };
const USER_EVENT = { Action: 'UserEvent', UserEvent: 'PinVerifyPermissionTest', Note: 'ignore' };
const DIALPLAN = { Action: 'ShowDialPlan', Context: 'pinverify-destinations', Extension: '2001' };

describe.each(Object.entries(USERS))('AMI user of the %s', (who, creds) => {
  let ami: AmiClient;
  beforeAll(() => {
    ami = createAmiClient({ host: HOST, port: PORT, ...creds, onError: () => undefined });
  });
  afterAll(() => ami.close());

  it('may not originate a call nor run a PBX command', async () => {
    expect(await answer(ami, ORIGINATE)).toMatch(/Permission denied/i);
    expect(await answer(ami, COMMAND)).toMatch(/Permission denied/i);
  });

  it('may read the dialplan', async () => {
    const { response } = await ami.actionList(DIALPLAN, 5000);
    expect(response).toMatchObject({ response: 'Success' });
  });

  it(who === 'app' ? 'may send its UserEvent' : 'may not send a UserEvent', async () => {
    const res = await answer(ami, USER_EVENT);
    if (who === 'app') expect(res).toBe('Success');
    else expect(res).toMatch(/Permission denied/i);
  });
});
