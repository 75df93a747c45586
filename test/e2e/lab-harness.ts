import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ari, { type Channel, type StasisStart } from 'ari-client';
import createManager from 'asterisk-manager';
import { Pool } from 'pg';

/**
 * What the end-to-end tests use to reach the lab the way its users do: SIPp calls (the tester
 * pack's runner), the agent phone (SIPp UAS), AMI as a CRM connector would, the lab's message
 * sinks over HTTP, and Postgres to read the audit trail. The lab must be up (npm test brings it
 * up with scripts/lab.sh).
 */
export const REPO = path.resolve(__dirname, '../..');
export const env = {
  ariUrl: process.env.ARI_URL ?? 'http://127.0.0.1:8088',
  ariUser: process.env.ARI_USER ?? 'pinverify',
  ariPassword: process.env.ARI_PASSWORD ?? 'pinverify-lab-ari',
  ariApp: process.env.ARI_APP ?? 'pinverify',
  // The CLI's read-only AMI user: the app's own may not read events.
  amiUser: process.env.AMI_CLI_USER ?? 'pinverify-cli',
  amiSecret: process.env.AMI_CLI_SECRET ?? 'pinverify-lab-ami-cli',
  sinkUrl: `http://127.0.0.1:${process.env.TWILIO_SINK_PORT ?? '8025'}`,
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://pinverify:pinverify@127.0.0.1:5432/pinverify',
};

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command in the repo; `stdin` is written to its standard input (else none). */
export function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
  stdin?: string,
  /** The whole environment of the command (default: this process's). */
  childEnv?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: REPO,
      env: childEnv ?? process.env,
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs one scenario of the SIPp pack (test/sipp/run.sh). */
export function runSippScenario(name: string, extra: string[] = []): Promise<RunResult> {
  return run('bash', ['test/sipp/run.sh', name, ...extra], 170_000);
}

/** SIPp as the lab's agent phone (test/sipp/uas-agent.xml) on 127.0.0.1:5080, media 16100. */
const AGENT_PHONE_ARGS = [
  '-sf',
  'test/sipp/uas-agent.xml',
  '-i',
  '127.0.0.1',
  '-p',
  '5080',
  '-mi',
  '127.0.0.1',
  '-mp',
  '16100',
];

/** A new admin API key from the CLI (`api-keys create --json`), for tests that call the API. */
export async function createApiKey(prefix: string, scope = 'admin'): Promise<string> {
  const made = await run(
    'node',
    ['dist/cli/main.js', 'api-keys', 'create', `${prefix}-${Date.now()}`, '--scope', scope, '--json'],
    60_000,
  );
  if (made.code !== 0) throw new Error(`api-keys create failed: ${made.output}`);
  return (JSON.parse(made.output.slice(made.output.indexOf('{'))) as { key: string }).key;
}

/**
 * Starts the lab's app by hand, with `env` on top of this process's environment, in place of
 * the one lab.sh manages (stop that first): for starts lab.sh would not make (before Asterisk is
 * up, with other limits). Its pid goes to .lab/app.pid, so lab.sh stops it as its own.
 */
export function startAppByHand(env: NodeJS.ProcessEnv = {}): number {
  const out = openSync(path.join(REPO, '.lab', 'app.log'), 'a');
  const child = spawn('node', ['dist/main.js'], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  child.unref();
  writeFileSync(path.join(REPO, '.lab', 'app.pid'), `${child.pid ?? ''}\n`);
  return child.pid ?? 0;
}

/**
 * An agent phone that answers every call on 127.0.0.1:5080 until stopped. For tests whose
 * callers are routed to agent destinations without a test of their own waiting there: an INVITE
 * nobody answers is retransmitted by Asterisk for 32 s (SIP timer B) and would ring the next
 * test's agent phone. Stop it only after the test's calls are over.
 */
export function startAgentAbsorber(): { stop(): Promise<void> } {
  const child = spawn('sipp', [...AGENT_PHONE_ARGS, '-nostdin'], { cwd: REPO, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    async stop() {
      // Calls just routed may still be on their way to the phone: let them arrive first.
      await new Promise((r) => setTimeout(r, 2000));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill('SIGKILL');
    },
  };
}

/** The agent phone alone: answers one call on 127.0.0.1:5080 and returns the AGENT line. */
export function startAgent(outDir: string): Promise<{ code: number | null; line: string }> {
  const log = path.join(outDir, 'agent.log');
  return run(
    'sipp',
    [...AGENT_PHONE_ARGS, '-m', '1', '-trace_logs', '-log_file', log, '-nostdin', '-timeout', '120'],
    130_000,
  ).then((r) => {
    let line = '';
    try {
      line =
        readFileSync(log, 'utf8')
          .split('\n')
          .find((l) => l.startsWith('AGENT ')) ?? '';
    } catch {
      // no log: the agent was never called
    }
    return { code: r.code, line };
  });
}

/** Parses "AGENT exten=2001 result=verified ..." into a record. */
export function parseAgentLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of line.replace(/^AGENT /, '').split(' ')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export interface PinVerifyEvent {
  result: string;
  reason: string;
  method: string;
  contact: string;
  route: string;
  destination: string;
  uniqueid: string;
}

/** Listens on AMI like a CRM connector and keeps every PinVerify UserEvent. */
export function listenAmi(): {
  events: PinVerifyEvent[];
  waitFor(pred: (e: PinVerifyEvent) => boolean, ms: number): Promise<PinVerifyEvent>;
  close(): void;
} {
  const ami = createManager(5038, '127.0.0.1', env.amiUser, env.amiSecret, true);
  const events: PinVerifyEvent[] = [];
  const waiters: Array<() => void> = [];
  ami.on('userevent-pinverify', (e: Record<string, string>) => {
    events.push({
      result: e.result ?? '',
      reason: e.reason ?? '',
      method: e.method ?? '',
      contact: e.contact ?? '',
      route: e.route ?? '',
      destination: e.destination ?? '',
      uniqueid: e.uniqueid ?? '',
    });
    waiters.splice(0).forEach((w) => w());
  });
  return {
    events,
    waitFor(pred, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching PinVerify AMI event')), ms);
        const check = () => {
          const hit = events.find(pred);
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () => ami.disconnect(),
  };
}

export function openDb(): Pool {
  return new Pool({ connectionString: env.databaseUrl, max: 2 });
}

export interface AuditedCall {
  call_id: string;
  channel_id: string;
  result: string;
  reason: string;
  method: string | null;
  route: string;
  destination: string;
  caller_masked: string;
  kinds: string[];
}

/** The newest call from a caller (matched on the masked number's last 4 digits) since `since`. */
export async function latestCall(db: Pool, callerLast4: string, since: Date): Promise<AuditedCall | null> {
  for (let i = 0; i < 30; i++) {
    const r = await db.query<AuditedCall>(
      `SELECT c.call_id, c.channel_id, c.result, c.reason, c.method, c.route, c.destination, c.caller_masked,
              array(SELECT kind FROM call_events e WHERE e.call_id = c.call_id ORDER BY e.id) AS kinds
         FROM calls c
        WHERE c.started_at >= $1 AND c.caller_masked LIKE $2 AND c.ended_at IS NOT NULL
        ORDER BY c.started_at DESC LIMIT 1`,
      [since, `%${callerLast4}`],
    );
    if (r.rows[0]) return r.rows[0];
    // The audit record is closed right after the call leaves the app; allow it a moment.
    await new Promise((res) => setTimeout(res, 200));
  }
  return null;
}

/** How many audit events of `kind` the calls started since `since` have (e.g. code_sent). */
export async function auditEventsSince(db: Pool, kind: string, since: Date): Promise<number> {
  const r = await db.query(
    `SELECT 1 FROM call_events e JOIN calls c USING (call_id) WHERE c.started_at >= $1 AND e.kind = $2`,
    [since, kind],
  );
  return r.rowCount ?? 0;
}

export async function waitUntil(what: string, pred: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A test caller: its own Stasis app on ARI that originates Local channels into the lab's inbound
 * context as a given caller ID and hands back the caller's leg once the PBX answered, to press
 * keys on with sendDTMF as a phone would.
 */
export async function connectTestCaller(testerApp: string) {
  const client = await ari.connect(env.ariUrl, env.ariUser, env.ariPassword);
  const legs = new Map<string, (ch: Channel) => void>();
  client.on('StasisStart', (e: StasisStart, ch: Channel) => {
    if (e.application === testerApp) legs.get(ch.caller.number)?.(ch);
  });
  await client.start(testerApp);
  return {
    client,
    /** Places a call as `caller` to `service`, returns the caller's leg once the PBX answered. */
    async placeCall(caller: string, service: string): Promise<Channel> {
      const answered = new Promise<Channel>((resolve) => legs.set(caller, resolve));
      await client.channels.originate({
        endpoint: `Local/${service}@pinverify-lab-inbound`,
        app: testerApp,
        callerId: `"e2e" <${caller}>`,
      });
      return answered;
    },
    /** Whether the pinverify app holds a call now. */
    async appHasCall(): Promise<boolean> {
      const a = await client.applications.get({ applicationName: env.ariApp });
      return a.channel_ids.length > 0;
    },
    close: () => client.stop(),
  };
}
