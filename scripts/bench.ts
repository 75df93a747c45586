/**
 * `npm run bench`: pinverify against its pure-dialplan twin on this machine, side by side in one
 * run (scripts/bench.sh brings the lab up first).
 *
 * The path measured is the Support department's bail-out: sub-IVR, "1", the intro and menu
 * prompts, "*", the not-verified prompt, continue to 2901 with the result headers (SIPp's
 * uac-bail-out-expect-failed.xml), through the app (7001) and through the twin that does the
 * same in dialplan with Read() (7801, asterisk-conf/extensions.conf). For each path the rate
 * ramps up until the first failed call or agent-side mismatch (an agent phone checks every
 * call's destination and X-PinVerify-* headers). It prints, side by side and as ratios: the
 * highest clean calls/s, CPU seconds per call (app + Asterisk vs Asterisk alone, from
 * /proc/<pid>/stat, at the highest rate both ran clean, median of alternating pairs), the app's
 * DTMF-to-action latency p50/p99 and RSS and event-loop lag p99 at its highest clean rate (from its /metrics); and writes bench-results.json and
 * docs/bench.svg. `--soak MINUTES` then holds the highest clean rate for that long and reports
 * RSS drift after warm-up and after the calls drain.
 *
 * Then the same ramp for the Accounting department's wrong-code path (SMS chosen, a code sent,
 * three wrong codes, max_attempts, 2902: uac-wrong-code-expect-failed.xml) through the app (7002)
 * and its twin (7802, which makes and sends no code). Each wrong-code caller is a contact of its
 * own (imported for the run with `pinverify contacts import`, removed after), as real callers
 * are: one contact called thousands of times would measure its lockout and send limits instead.
 * The overall and per-country send limits are raised for the run and restored after.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';

const REPO = path.resolve(__dirname, '..');
const RATES = (process.env.BENCH_RATES ?? '2,4,6,8,10,12,15,20,25,30').split(',').map(Number);
/** Wrong-code calls last about 30 s each, so at a given rate 6 times as many are up at once. */
const WRONG_CODE_RATES = (process.env.BENCH_WRONG_CODE_RATES ?? '5,10,15,20,25,30,35')
  .split(',')
  .filter((r) => r !== '')
  .map(Number);
const SECONDS_PER_STEP = Number(process.env.BENCH_STEP_SECONDS ?? 15);
const ADMIN = `http://127.0.0.1:${process.env.ADMIN_PORT ?? '8090'}`;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const soakIndex = process.argv.indexOf('--soak');
const SOAK_MINUTES = soakIndex > 0 ? Number(process.argv[soakIndex + 1] ?? 5) : 0;

/** A call path measured through the app and through its dialplan twin. */
interface BenchPath {
  name: string;
  appService: string;
  twinService: string;
  scenario: string;
  /** What the agent phone's line must hold for every call (the twin's equal the app's). */
  expect: string[];
  rates: number[];
  /** A SIPp injection file of `calls` callers ([field0]) into `service`, when the scenario takes one. */
  callers?: (calls: number, service: string) => string;
}

const BAIL_OUT: BenchPath = {
  name: 'bail-out',
  appService: '7001',
  twinService: '7801',
  scenario: 'uac-bail-out-expect-failed',
  expect: ['exten=2901', 'reason=caller_bailed', 'route=pinverify-support-autopin'],
  rates: RATES,
};

interface Step {
  rate: number;
  calls: number;
  ok: boolean;
  why: string;
  cpuAsteriskPerCall: number;
  cpuAppPerCall: number;
}

function pid(name: string): number {
  return Number(readFileSync(path.join(REPO, '.lab', `${name}.pid`), 'utf8').trim());
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(p: number): number {
  const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: 'ignore', env: { ...process.env, ...env } });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

let apiKey = '';
async function metrics(): Promise<string> {
  const res = await fetch(`${ADMIN}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } });
  return res.text();
}

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

/** Cumulative histogram buckets of `name` (le -> count). */
function buckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of text.split('\n')) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`).exec(l);
    if (m) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** A quantile from the difference of two cumulative histograms (upper bound of its bucket). */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le;
  return Infinity;
}

/**
 * Waits until Asterisk holds no channel (at most 90 s), then 3 s more (35 s after a failed
 * step): a step must not start while the calls of the one before (above all a failed one, whose
 * callers SIPp abandoned) still ring the agent phone or use the CPU, or it is judged on their
 * behalf.
 */
async function settle(): Promise<void> {
  const auth = Buffer.from(`${process.env.ARI_USER}:${process.env.ARI_PASSWORD}`).toString('base64');
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${process.env.ARI_URL}/ari/channels`, {
        headers: { authorization: `Basic ${auth}` },
      });
      if (res.ok && ((await res.json()) as unknown[]).length === 0) break;
    } catch {
      // Asterisk busy: look again.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  // After a failed step Asterisk still retransmits the SIP requests of calls SIPp gave up on
  // (BYEs to an agent phone no longer there) for up to 32 s (timer F, 64 x T1). The next step's
  // agent phone would take each as a call of its own and stop short of its count.
  await new Promise((r) => setTimeout(r, lastStepFailed ? 35_000 : 3000));
  lastStepFailed = false;
}
let lastStepFailed = false;

interface StepOptions {
  /** The caller's scenario (default the bail-out path). */
  scenario?: string;
  /** How many calls (default rate x SECONDS_PER_STEP). */
  calls?: number;
  /** How long each caller listens in the app before pressing * (uac-hold-then-bail's -d). */
  holdMs?: number;
}

/** One step: `rate` calls/s for SECONDS_PER_STEP into `service`, checked at the agent phone. */
async function step(path_: BenchPath, service: string, rate: number, o: StepOptions = {}): Promise<Step> {
  await settle();
  const calls = o.calls ?? rate * SECONDS_PER_STEP;
  const waitSeconds = Math.ceil(calls / rate + (o.holdMs ?? 0) / 1000);
  const dir = mkdtempSync(path.join(tmpdir(), 'pinverify-bench-'));
  const agentLog = path.join(dir, 'agent.log');
  const agentProc = spawn(
    'sipp',
    [
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
      '-trace_logs',
      '-log_file',
      agentLog,
      '-trace_err',
      '-error_file',
      path.join(dir, 'agent-errors.log'),
      '-nostdin',
      '-m',
      String(calls),
      '-timeout',
      String(waitSeconds + 120),
    ],
    { cwd: REPO, stdio: 'ignore' },
  );
  const agentDone = new Promise<number>((resolve) => agentProc.on('close', (c) => resolve(c ?? 1)));
  await new Promise((r) => setTimeout(r, 300));
  const ast = pid('asterisk');
  const app = pid('app');
  const cpu0 = [cpuSeconds(ast), cpuSeconds(app)];
  const uac = await run('sipp', [
    '127.0.0.1:5060',
    '-sf',
    `test/sipp/${o.scenario ?? path_.scenario}.xml`,
    '-s',
    service,
    '-d',
    String(o.holdMs ?? 0),
    '-key',
    'caller',
    '+12025550101',
    ...(path_.callers ? ['-inf', path_.callers(calls, service)] : []),
    '-i',
    '127.0.0.1',
    '-p',
    '5070',
    '-mi',
    '127.0.0.1',
    '-mp',
    '16000',
    '-r',
    String(rate),
    '-m',
    String(calls),
    '-nostdin',
    '-timeout',
    String(waitSeconds + 120),
    '-trace_err',
    '-error_file',
    path.join(dir, 'uac-errors.log'),
  ]);
  const agentCode = await Promise.race([
    agentDone,
    new Promise<number>((r) => setTimeout(() => r(-1), 15_000)),
  ]);
  agentProc.kill('SIGKILL');
  const cpu1 = [cpuSeconds(ast), cpuSeconds(app)];
  let lines: string[] = [];
  try {
    lines = readFileSync(agentLog, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('AGENT '));
  } catch {
    // no agent call at all
  }
  const good = lines.filter((l) => path_.expect.every((kv) => ` ${l} `.includes(` ${kv} `))).length;
  const why =
    uac !== 0
      ? `SIPp reported failed calls (exit ${uac}); see ${dir}`
      : agentCode !== 0
        ? `the agent phone saw ${lines.length} of ${calls} calls`
        : good !== calls
          ? `${calls - good} calls reached the agent with other headers`
          : '';
  lastStepFailed = why !== '';
  return {
    rate,
    calls,
    ok: why === '',
    why,
    cpuAsteriskPerCall: ((cpu1[0] ?? 0) - (cpu0[0] ?? 0)) / calls,
    cpuAppPerCall: ((cpu1[1] ?? 0) - (cpu0[1] ?? 0)) / calls,
  };
}

/**
 * The lab's app restarted with `env` on top of its own (lab.sh app-start passes the environment
 * through; variables in the environment win over the env file).
 */
async function restartApp(env: NodeJS.ProcessEnv): Promise<void> {
  if ((await run('bash', ['scripts/lab.sh', 'app-stop'])) !== 0) throw new Error('lab.sh app-stop failed');
  if ((await run('bash', ['scripts/lab.sh', 'app-start'], env)) !== 0)
    throw new Error('lab.sh app-start failed (see .lab/app.log)');
}

interface Held {
  calls: number;
  rate: number;
  holdMs: number;
  ok: boolean;
  why: string;
  /** The most calls the app held at once (its /metrics, read every second). */
  peakInApp: number;
  /** RSS when it held the most. */
  rssMbAtPeak: number;
  /** The worst event-loop lag p99 of any second in which the app held HELD_TARGET or more. */
  lagP99MsHeld: number;
}

const HELD_TARGET = 500;

/**
 * HELD_TARGET and more calls held in the app at once: callers who listen at the menu for
 * `holdMs` before pressing * (uac-hold-then-bail), arriving at `rate`. /metrics is read every
 * second; prom-client resets its event-loop histogram at each read, so each reading's p99 covers
 * the second before it.
 */
async function heldCalls(rate: number, calls: number, holdMs: number): Promise<Held> {
  const w = await watched(
    step(BAIL_OUT, BAIL_OUT.appService, rate, {
      scenario: 'uac-hold-then-bail-expect-failed',
      calls,
      holdMs,
    }),
    HELD_TARGET,
  );
  return {
    calls,
    rate,
    holdMs,
    ok: w.step.ok,
    why: w.step.why,
    peakInApp: w.peakInApp,
    rssMbAtPeak: w.rssMbAtPeak,
    lagP99MsHeld: w.peakInApp >= HELD_TARGET ? w.lagP99Ms : NaN,
  };
}

/**
 * Reads the app's /metrics every second while a step runs. Kept: the most calls in the app and
 * the RSS at that reading, and the worst event-loop lag p99 of any reading with at least
 * `lagWhileAtLeast` calls in the app (prom-client resets its lag histogram at each read, so each
 * reading covers the second before it).
 */
async function watched(
  running: Promise<Step>,
  lagWhileAtLeast: number,
): Promise<{ step: Step; peakInApp: number; rssMbAtPeak: number; lagP99Ms: number }> {
  let done = false;
  const during = running.finally(() => (done = true));
  let peakInApp = 0;
  let rssMbAtPeak = NaN;
  let lagP99Ms = 0;
  while (!done) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = await metrics().catch(() => '');
    const inApp = sample(m, 'pinverify_calls_in_app');
    if (inApp > peakInApp) {
      peakInApp = inApp;
      rssMbAtPeak = sample(m, 'process_resident_memory_bytes') / 2 ** 20;
    }
    if (inApp >= lagWhileAtLeast)
      lagP99Ms = Math.max(lagP99Ms, sample(m, 'nodejs_eventloop_lag_p99_seconds') * 1000);
  }
  return { step: await during, peakInApp, rssMbAtPeak, lagP99Ms };
}

async function ramp(p: BenchPath, label: 'app' | 'dialplan'): Promise<Step[]> {
  const steps: Step[] = [];
  const service = label === 'app' ? p.appService : p.twinService;
  for (const rate of p.rates) {
    const s = await step(p, service, rate);
    steps.push(s);
    console.log(
      `  ${label.padEnd(9)} ${String(rate).padStart(3)}/s x ${SECONDS_PER_STEP} s: ${s.ok ? 'clean' : `FAILED (${s.why})`}`,
    );
    if (!s.ok) break;
  }
  return steps;
}

const CPU_PAIRS = Number(process.env.BENCH_CPU_PAIRS ?? 3);
/**
 * Another build of the app (its `dist`, e.g. of a git worktree of an earlier commit inside this
 * repository, built with `npm run build`), run in every CPU pair too: a change's effect on CPU
 * per call, measured side by side in one run. It must know the same migrations.
 */
const BASELINE_DIST = process.env.BENCH_BASELINE_DIST ? path.resolve(process.env.BENCH_BASELINE_DIST) : '';
/** The app's environment for the run (MAX_CALLS_IN_APP), set in main(). */
let appEnv: NodeJS.ProcessEnv = {};

interface CpuSideBySide {
  rate: number;
  /** CPU seconds per call of each step: app + Asterisk on the app path, Asterisk on the twin's. */
  app: number[];
  dialplan: number[];
  appMedian: number;
  dialplanMedian: number;
  ratio: number;
  /** Steps that were not clean (their calls still counted). */
  unclean: string[];
  /** With BENCH_BASELINE_DIST: the baseline build's app + Asterisk per call, and this build / baseline. */
  baseline?: { dist: string; app: number[]; appMedian: number; ratio: number; unclean: string[] };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  if (s.length % 2) return s[Math.floor(mid)] ?? NaN;
  return ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/**
 * CPU per call, side by side: CPU_PAIRS steps through the twin and the app, alternating, at the
 * highest rate both ran clean, and the medians. Per-call CPU falls as the rate rises (idle work
 * and batching spread over more calls), so the two are compared at one rate; and a single pair
 * on this shared box varies by 15 % from run to run, hence the pairs.
 */
async function cpuSideBySide(
  p: BenchPath,
  appBest: Step | undefined,
  twinBest: Step | undefined,
): Promise<CpuSideBySide | null> {
  if (!appBest || !twinBest || CPU_PAIRS < 1) return null;
  const rate = Math.min(appBest.rate, twinBest.rate);
  const app: number[] = [];
  const dialplan: number[] = [];
  const baseline: number[] = [];
  const unclean: string[] = [];
  const baselineUnclean: string[] = [];
  for (let i = 0; i < CPU_PAIRS; i++) {
    const t = await step(p, p.twinService, rate);
    dialplan.push(t.cpuAsteriskPerCall);
    if (!t.ok) unclean.push(`dialplan: ${t.why}`);
    const a = await step(p, p.appService, rate);
    app.push(a.cpuAppPerCall + a.cpuAsteriskPerCall);
    if (!a.ok) unclean.push(`app: ${a.why}`);
    if (BASELINE_DIST) {
      await restartApp({ ...appEnv, PINVERIFY_APP_MAIN: path.join(BASELINE_DIST, 'main.js') });
      try {
        const b = await step(p, p.appService, rate);
        baseline.push(b.cpuAppPerCall + b.cpuAsteriskPerCall);
        if (!b.ok) baselineUnclean.push(b.why);
      } finally {
        await restartApp(appEnv);
      }
    }
  }
  const appMedian = median(app);
  const dialplanMedian = median(dialplan);
  const r: CpuSideBySide = {
    rate,
    app,
    dialplan,
    appMedian,
    dialplanMedian,
    ratio: appMedian / dialplanMedian,
    unclean,
  };
  const ms = (xs: number[]) => xs.map((x) => (x * 1000).toFixed(1)).join(', ');
  console.log(
    `  CPU side by side at ${rate}/s: app ${ms(app)} ms/call, dialplan ${ms(dialplan)} ms/call; medians ${(r.appMedian * 1000).toFixed(1)} / ${(r.dialplanMedian * 1000).toFixed(1)} = ${r.ratio.toFixed(2)}${unclean.length ? ` (not clean: ${unclean.join('; ')})` : ''}`,
  );
  if (BASELINE_DIST) {
    const baselineMedian = median(baseline);
    r.baseline = {
      dist: BASELINE_DIST,
      app: baseline,
      appMedian: baselineMedian,
      ratio: appMedian / baselineMedian,
      unclean: baselineUnclean,
    };
    console.log(
      `  baseline build (${BASELINE_DIST}) at ${rate}/s: ${ms(baseline)} ms/call; this build / baseline: ${(appMedian * 1000).toFixed(1)} / ${(baselineMedian * 1000).toFixed(1)} = ${r.baseline.ratio.toFixed(2)}${baselineUnclean.length ? ` (baseline not clean: ${baselineUnclean.join('; ')})` : ''}`,
    );
  }
  return r;
}

/** A path's ramps (twin, then app) and its CPU side by side: what every path reports. */
async function compare(p: BenchPath) {
  const twinSteps = await ramp(p, 'dialplan');
  const appSteps = await ramp(p, 'app');
  const app = best(appSteps);
  const twin = best(twinSteps);
  const cpu = await cpuSideBySide(p, app, twin);
  return {
    path: `${p.name} (${p.appService} app vs ${p.twinService} dialplan twin)`,
    app: { steps: appSteps, highestCleanRate: app?.rate ?? 0, cpuSecondsPerCall: cpu?.appMedian ?? NaN },
    dialplan: {
      steps: twinSteps,
      highestCleanRate: twin?.rate ?? 0,
      cpuSecondsPerCall: cpu?.dialplanMedian ?? NaN,
    },
    cpuSideBySide: cpu,
    ratios: { capacity: (app?.rate ?? 0) / (twin?.rate || NaN), cpuPerCall: cpu?.ratio ?? NaN },
  };
}

/** The chart's two bars of a path: clean calls/s and CPU ms per call, app against dialplan. */
function chartRows(label: string, c: Awaited<ReturnType<typeof compare>>): Array<[string, number, number]> {
  return [
    [`${label}: clean calls/s`, c.app.highestCleanRate, c.dialplan.highestCleanRate],
    [`${label}: CPU ms per call`, c.app.cpuSecondsPerCall * 1000, c.dialplan.cpuSecondsPerCall * 1000],
  ];
}

function best(steps: Step[]): Step | undefined {
  return steps.filter((s) => s.ok).at(-1);
}

/** Bars of app against dialplan, one pair per [label, app, dialplan]. */
function svg(bars: Array<[string, number, number]>): string {
  const rows = bars
    .map(([name, a, t], i) => {
      const max = Math.max(a, t, 1e-9);
      const y = 40 + i * 90;
      return `<text x="10" y="${y - 20}" font-size="14">${name}</text>
<rect x="150" y="${y - 14}" width="${(a / max) * 400}" height="20" fill="#3b82f6"/><text x="${160 + (a / max) * 400}" y="${y + 1}" font-size="12">app ${a.toFixed(1)}</text>
<rect x="150" y="${y + 14}" width="${(t / max) * 400}" height="20" fill="#9ca3af"/><text x="${160 + (t / max) * 400}" y="${y + 29}" font-size="12">dialplan ${t.toFixed(1)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="700" height="${40 + bars.length * 90}" font-family="sans-serif">\n${rows}\n</svg>\n`;
}

async function main(): Promise<void> {
  const made = cli(['api-keys', 'create', `bench-${Date.now()}`, '--scope', 'read', '--json']);
  apiKey = (JSON.parse(made.slice(made.indexOf('{'))) as { key: string }).key;

  console.log(
    `pinverify benchmark: bail-out path, ${SECONDS_PER_STEP} s per step, rates ${RATES.join(', ')}/s`,
  );
  // The app's ceiling on calls (MAX_CALLS_IN_APP, 250 by default) is a setting to size per box;
  // with it the ramp would measure the setting. The bench raises it, so what limits the app is
  // the app (its other overload signals, event-loop lag and pool waits, stay on).
  const ceiling = process.env.BENCH_MAX_CALLS_IN_APP ?? '1000';
  console.log(
    `  (the app runs with MAX_CALLS_IN_APP=${ceiling} for the bench, and is restarted as it was after)`,
  );
  // The twin sends no webhooks: subscribers the lab (or a test) left enabled are paused for the
  // run (events meanwhile are not queued for them) and enabled again after. README gives their
  // cost separately.
  const paused = await enabledWebhookEndpoints();
  for (const id of paused) cli(['webhooks', 'disable', String(id)]);
  if (paused.length > 0) console.log(`  (webhook endpoints ${paused.join(', ')} paused for the bench)`);
  appEnv = { MAX_CALLS_IN_APP: ceiling };
  if (BASELINE_DIST) console.log(`  (CPU pairs also run the baseline build in ${BASELINE_DIST})`);
  await restartApp(appEnv);
  try {
    await measure();
  } finally {
    await restartApp({});
    for (const id of paused) cli(['webhooks', 'enable', String(id)]);
  }
}

function cli(args: string[]): string {
  return execFileSync('node', ['dist/cli/main.js', ...args], { cwd: REPO }).toString();
}

async function enabledWebhookEndpoints(): Promise<number[]> {
  const db = new Pool({
    connectionString: process.env.DATABASE_URL ?? process.env.PINVERIFY_LAB_DATABASE_URL,
    max: 1,
  });
  try {
    const { rows } = await db.query<{ id: number }>(
      'SELECT id FROM webhook_endpoints WHERE enabled ORDER BY id',
    );
    return rows.map((r) => r.id);
  } finally {
    await db.end();
  }
}

const BENCH_CONTACT = 'pinverify-bench';

/** The wrong-code path's callers: contacts of their own, +1 202 556 0000 on (no demo contact there). */
function benchNumber(i: number): string {
  return `+1202556${String(i).padStart(4, '0')}`;
}

/**
 * The wrong-code ramp, app and twin, with `contacts` bench contacts imported for it and the
 * overall and per-country send limits raised; all put back after.
 */
async function measureWrongCode() {
  const contacts =
    (WRONG_CODE_RATES.reduce((a, r) => a + r, 0) + CPU_PAIRS * Math.max(...WRONG_CODE_RATES)) *
    SECONDS_PER_STEP;
  if (contacts > 10_000)
    throw new Error('BENCH_WRONG_CODE_RATES x BENCH_STEP_SECONDS needs over 10,000 callers');
  const dir = mkdtempSync(path.join(tmpdir(), 'pinverify-bench-callers-'));
  // Per service: the twin's callers may be the app's (the twin never looks them up).
  const next = new Map<string, number>();
  const wrongCode: BenchPath = {
    name: 'wrong-code',
    appService: '7002',
    twinService: '7802',
    scenario: 'uac-wrong-code-expect-failed',
    expect: ['exten=2902', 'reason=max_attempts', 'method=sms', 'route=pinverify-accounting-autopin'],
    rates: WRONG_CODE_RATES,
    // Each step's callers are new ones: a contact called in every step would be locked by its
    // own failed checks (three a call) after a few.
    callers: (calls, service) => {
      const from = next.get(service) ?? 0;
      const file = path.join(dir, `callers-${service}-${from}.csv`);
      const lines = Array.from({ length: calls }, (_, i) => `${benchNumber((from + i) % contacts)};`);
      next.set(service, from + calls);
      writeFileSync(file, `SEQUENTIAL\n${lines.join('\n')}\n`);
      return file;
    },
  };
  await removeBenchContacts();
  const csv = path.join(dir, 'contacts.csv');
  writeFileSync(
    csv,
    `name,email,mobile\n${Array.from({ length: contacts }, (_, i) => `${BENCH_CONTACT} ${i},bench-${i}@example.com,${benchNumber(i)}`).join('\n')}\n`,
  );
  cli(['contacts', 'import', csv]);
  const limits = ['maxSendsPerHour', 'maxSendsPerCountryPerHour'];
  const saved = limits.map((k) => [
    k,
    String((JSON.parse(cli(['settings', 'show', k, '--json'])) as { value: number }).value),
  ]);
  console.log(
    `\nwrong-code path, rates ${WRONG_CODE_RATES.join(', ')}/s (${contacts} bench contacts imported; ${limits.join(' and ')} raised for the run)`,
  );
  try {
    for (const k of limits) cli(['settings', 'set', k, '1000000']);
    return await compare(wrongCode);
  } finally {
    for (const [k, v] of saved) cli(['settings', 'set', k ?? '', v ?? '']);
    await removeBenchContacts();
  }
}

/**
 * Removes the bench contacts with the statement `pinverify contacts remove` runs, after their
 * sends: those count toward the overall and per-country hourly limits, and left in place they
 * would refuse real callers' codes as rate_limited for an hour after the bench.
 */
async function removeBenchContacts(): Promise<void> {
  const db = new Pool({
    connectionString: process.env.DATABASE_URL ?? process.env.PINVERIFY_LAB_DATABASE_URL,
    max: 1,
  });
  try {
    await db.query(
      `DELETE FROM verification_sends s USING verifications v
        WHERE s.verification_id = v.id
          AND v.contact_id IN (SELECT id FROM contacts WHERE name LIKE $1)`,
      [`${BENCH_CONTACT} %`],
    );
    await db.query('DELETE FROM contacts WHERE name LIKE $1', [`${BENCH_CONTACT} %`]);
  } finally {
    await db.end();
  }
}

async function measure(): Promise<void> {
  const bail = await compare(BAIL_OUT);
  const appRate = bail.app.highestCleanRate;
  // The app's own numbers at its highest clean rate: re-run that step with /metrics around it.
  let dtmf = { p50: NaN, p99: NaN };
  let rssMb = NaN;
  let lagP99Ms = NaN;
  let inApp = NaN;
  if (appRate > 0) {
    const before = await metrics();
    // The most calls in the app, and the worst second's lag p99 with any call in it.
    const w = await watched(step(BAIL_OUT, BAIL_OUT.appService, appRate), 1);
    inApp = w.peakInApp;
    rssMb = w.rssMbAtPeak;
    lagP99Ms = w.lagP99Ms;
    const after = await metrics();
    const b0 = buckets(before, 'pinverify_dtmf_to_action_seconds');
    const b1 = buckets(after, 'pinverify_dtmf_to_action_seconds');
    dtmf = { p50: quantile(b0, b1, 0.5) * 1000, p99: quantile(b0, b1, 0.99) * 1000 };
  }
  // Many calls held at once: callers arriving at 35/s who each listen 14 s before pressing *
  // (about 16 s in the app each), so about 560 are in the app together at the peak. Arrival is
  // not what is measured here, holding is: the rate does not follow the ramp's result.
  const heldTarget = Number(process.env.BENCH_HELD_CALLS ?? 600);
  const held = appRate > 0 && heldTarget > 0 ? await heldCalls(35, heldTarget, 14_000) : null;
  const results = {
    machine: { cpus: execFileSync('nproc').toString().trim(), node: process.version },
    secondsPerStep: SECONDS_PER_STEP,
    ...bail,
    app: {
      ...bail.app,
      dtmfToActionMs: dtmf,
      callsInAppMidStep: inApp,
      rssMb,
      eventLoopLagP99Ms: lagP99Ms,
      held,
    },
    wrongCode: WRONG_CODE_RATES.length > 0 ? await measureWrongCode() : null,
  };
  console.log('');
  console.log('                         app        dialplan   ratio');
  console.log(
    `  highest clean calls/s  ${String(appRate).padEnd(10)} ${String(bail.dialplan.highestCleanRate).padEnd(10)} ${results.ratios.capacity.toFixed(2)} (target >= 0.9)`,
  );
  console.log(
    `  CPU ms per call        ${(bail.app.cpuSecondsPerCall * 1000).toFixed(1).padEnd(10)} ${(bail.dialplan.cpuSecondsPerCall * 1000).toFixed(1).padEnd(10)} ${results.ratios.cpuPerCall.toFixed(2)} (target <= 1.25; at ${bail.cpuSideBySide?.rate ?? '-'}/s, median of ${CPU_PAIRS} alternating pairs)`,
  );
  console.log(
    `  DTMF-to-action p50/p99 ${dtmf.p50.toFixed(1)} / ${dtmf.p99.toFixed(1)} ms (target p99 < 50 ms; bucket upper bounds)`,
  );
  console.log(
    `  app RSS, lag p99       ${rssMb.toFixed(0)} MB at the most calls in the app (${inApp}), worst second's lag p99 ${lagP99Ms.toFixed(1)} ms, at ${appRate}/s`,
  );
  if (held)
    console.log(
      `  calls held at once     ${held.peakInApp} in the app (${held.calls} callers at ${held.rate}/s, ${held.holdMs / 1000} s each${held.ok ? '' : `; FAILED: ${held.why}`}): RSS ${held.rssMbAtPeak.toFixed(0)} MB, lag p99 ${held.lagP99MsHeld.toFixed(1)} ms while ${HELD_TARGET}+ held (targets < 250 MB, < 20 ms)`,
    );
  if (results.wrongCode) {
    const w = results.wrongCode;
    console.log(
      `  wrong-code path: highest clean calls/s ${w.app.highestCleanRate} vs ${w.dialplan.highestCleanRate} (${w.ratios.capacity.toFixed(2)}), CPU ms per call at ${w.cpuSideBySide?.rate ?? '-'}/s ${(w.app.cpuSecondsPerCall * 1000).toFixed(1)} vs ${(w.dialplan.cpuSecondsPerCall * 1000).toFixed(1)} (${w.ratios.cpuPerCall.toFixed(2)})`,
    );
  }
  if (appRate > 0 && SOAK_MINUTES > 0) {
    const rss = async () => sample(await metrics(), 'process_resident_memory_bytes') / 2 ** 20;
    const base = await rss();
    const end = Date.now() + SOAK_MINUTES * 60_000;
    let warm = NaN;
    while (Date.now() < end) {
      await step(BAIL_OUT, BAIL_OUT.appService, appRate);
      if (Number.isNaN(warm)) warm = await rss();
    }
    const loaded = await rss();
    await new Promise((r) => setTimeout(r, 30_000));
    const drained = await rss();
    Object.assign(results, {
      soak: { minutes: SOAK_MINUTES, baseMb: base, warmMb: warm, loadedMb: loaded, drainedMb: drained },
    });
    console.log(
      `  soak ${SOAK_MINUTES} min: RSS ${base.toFixed(0)} -> warm ${warm.toFixed(0)} -> end ${loaded.toFixed(0)} -> drained ${drained.toFixed(0)} MB`,
    );
  }
  writeFileSync(path.join(REPO, 'bench-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  mkdirSync(path.join(REPO, 'docs'), { recursive: true });
  writeFileSync(
    path.join(REPO, 'docs', 'bench.svg'),
    svg([
      ...chartRows('bail-out', bail),
      ...(results.wrongCode ? chartRows('wrong code', results.wrongCode) : []),
    ]),
  );
  console.log('\nwrote bench-results.json and docs/bench.svg');
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
