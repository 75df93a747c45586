/**
 * `pinverify test-call`: proves a route works with a real call through the PBX (see
 * src/test-call/run-test-call.ts for how the call is driven and followed). Kept out of
 * run-cli.ts and registered by main.ts, so the rest of the CLI never loads ari-client.
 */
import type { Command } from 'commander';
import { createSinkClient } from '../../lab/sink-client';
import { maskPhone } from '../../log/mask';
import { OpsError } from '../../ops/ops-error';
import { createAmiOutcomeWatch } from '../../test-call/ami-outcome-watch';
import { createAriTestCallPbx } from '../../test-call/ari-test-call-pbx';
import {
  expectationProblems,
  ExpectationError,
  parseExpectation,
  parseExpectedDestination,
  type ExpectedDestination,
} from '../../test-call/expectation';
import { TestCallError, runTestCall } from '../../test-call/run-test-call';
import { createPromptCodeSource } from '../../test-call/prompt-code-source';
import { createSinkCodeSource } from '../../test-call/sink-code-source';
import type {
  CodeSource,
  TestCallCode,
  TestCallMethod,
  TestCallRequest,
} from '../../test-call/test-call-ports';
import type { CliContext } from '../cli-context';
import { amiSettings, CliUsageError } from '../cli-env';
import { EXIT } from '../exit-codes';

interface TestCallOptions {
  caller: string;
  subIvr?: string;
  route?: string;
  via?: string;
  press?: string;
  method: string;
  codeFrom: string;
  code?: string;
  codeTo?: string;
  expect: string;
  expectDestination?: string;
  hold: string;
  timeout: string;
}

function seconds(text: string, option: string, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > max)
    throw new CliUsageError(`${option} takes seconds between 0 and ${max}, got "${text}"`);
  return Math.round(n * 1000);
}

/** Where the call enters the PBX: given with --via, or found in the dialplan for a hop. */
async function resolveEntry(
  ctx: CliContext,
  o: TestCallOptions,
): Promise<{ exten: string; context: string; how: string }> {
  const given = [o.subIvr, o.route, o.via].filter((v) => v !== undefined);
  if (given.length !== 1)
    throw new CliUsageError(
      'give exactly one of --sub-ivr <context>, --route <previous hop> or --via <exten@context>',
    );
  if (o.via !== undefined) {
    const m = /^([^@\s]+)@([^@\s:]+)$/.exec(o.via);
    if (!m)
      throw new CliUsageError(`--via takes exten@context (e.g. 7004@pinverify-lab-inbound), got "${o.via}"`);
    return { exten: m[1] ?? '', context: m[2] ?? '', how: `dialled ${o.via}` };
  }
  const hop = (o.subIvr ?? o.route ?? '').trim();
  const entry = await ctx.dialplan().findStasisEntry(hop);
  if (!entry)
    throw new OpsError(
      'invalid',
      `no line of the running dialplan hands calls from ${hop} to Stasis(${ctx.env.ARI_APP || 'pinverify'})`,
      [
        {
          field: o.subIvr !== undefined ? 'sub-ivr' : 'route',
          message: `${hop} has no Stasis(${ctx.env.ARI_APP || 'pinverify'}) line in the running dialplan`,
        },
      ],
    );
  return {
    exten: entry.exten,
    context: entry.context,
    how: `entered at ${entry.exten}@${entry.context}, where ${hop} runs Stasis`,
  };
}

export function registerTestCallCommand(program: Command, ctx: CliContext): void {
  program
    .command('test-call')
    .description('place a real call through the PBX as a caller, drive it, and report the outcome')
    .requiredOption('--caller <number>', 'caller ID to present, e.g. +12025550101')
    .option('--sub-ivr <context>', 'enter where this sub-IVR context hands calls to the app')
    .option('--route <hop>', 'enter where this previous hop (context or Stasis route name) reaches the app')
    .option('--via <exten@context>', 'enter the way a caller dials, e.g. 7004@pinverify-lab-inbound')
    .option('--press <digits>', 'keys pressed first to reach verification (a sub-IVR "press 1")')
    .option('--method <method>', 'menu choice: email, sms or bail (*)', 'email')
    .option('--code-from <source>', 'sink (the lab mail/SMS sink at SINK_URL) or prompt (type it)', 'sink')
    .option('--code <digits>', 'key these digits instead of the real code (e.g. a wrong code)')
    .option('--code-to <address>', "email or mobile the code goes to (default: from the caller's contact)")
    .option(
      '--expect <outcome>',
      'verified, failed, failed:<reason> or a reason such as no_match',
      'verified',
    )
    .option(
      '--expect-destination <dest>',
      'also require this destination: exten, exten@context or exten@context:priority',
    )
    .option('--hold <seconds>', 'keep the call up this long after it reached its destination', '0')
    .option('--timeout <seconds>', 'give up waiting after this long', '90')
    .addHelpText(
      'after',
      `
Exit code 0 only when the call ended as --expect (and --expect-destination) asked; 1 when it
ended otherwise or could not be completed; 3 when ARI, AMI or Postgres is unreachable.

Examples:
  pinverify test-call --caller +12025550101 --sub-ivr pinverify-sales-autopin
  pinverify test-call --caller +12025550102 --via 7001@pinverify-lab-inbound --press 1 --expect-destination 2001
  pinverify test-call --caller +12025550101 --sub-ivr pinverify-support-autopin --method bail --expect caller_bailed`,
    )
    .action(async (o: TestCallOptions) => {
      const method = o.method as TestCallMethod;
      if (!['email', 'sms', 'bail'].includes(method))
        throw new CliUsageError(`--method takes email, sms or bail, got "${o.method}"`);
      if (!['sink', 'prompt'].includes(o.codeFrom))
        throw new CliUsageError(`--code-from takes sink or prompt, got "${o.codeFrom}"`);
      let expectation;
      let destination: ExpectedDestination | undefined;
      try {
        expectation = parseExpectation(o.expect);
        destination =
          o.expectDestination === undefined ? undefined : parseExpectedDestination(o.expectDestination);
      } catch (err) {
        if (err instanceof ExpectationError) throw new CliUsageError(err.message);
        throw err;
      }
      const timeoutMs = seconds(o.timeout, '--timeout', 600);
      const holdMs = seconds(o.hold, '--hold', 300);
      const entry = await resolveEntry(ctx, o);

      // Who the PBX will see: the contact decides where the code goes.
      const lookup = await ctx.ops().contacts.find(o.caller);
      const contact = lookup.verdict === 'verify' ? lookup.matches[0] : undefined;
      let codeTo =
        o.codeTo ??
        (method === 'email' ? contact?.email : method === 'sms' ? contact?.mobile : undefined) ??
        undefined;
      let code: TestCallCode;
      if (o.code !== undefined) code = { from: 'fixed', digits: o.code };
      else if (method === 'bail') code = { from: 'fixed', digits: '0' };
      else if (!codeTo && lookup.verdict !== 'verify') {
        // pinverify ends such a call (no_match, multi_match) before it asks for a code: nothing is keyed.
        code = { from: 'fixed', digits: '0' };
        codeTo = undefined;
      } else if (!codeTo) {
        throw new CliUsageError(
          `contact ${contact?.id ?? ''} has no ${method === 'email' ? 'email' : 'mobile'}; choose the other --method or give --code-to`,
        );
      } else code = { from: o.codeFrom as 'sink' | 'prompt' };

      const ari = { url: ctx.env.ARI_URL, user: ctx.env.ARI_USER, password: ctx.env.ARI_PASSWORD };
      const missing = Object.entries({ ARI_URL: ari.url, ARI_USER: ari.user, ARI_PASSWORD: ari.password })
        .filter(([, v]) => !v)
        .map(([k]) => k);
      if (missing.length > 0)
        throw new CliUsageError(`test-call needs ${missing.join(', ')} (environment or --env-file)`);
      const amiCfg = amiSettings(ctx.env);
      if (typeof amiCfg === 'string')
        throw new CliUsageError(`test-call needs AMI to see the outcome: ${amiCfg}`);

      let codes: CodeSource | undefined;
      if (code.from === 'sink')
        codes = createSinkCodeSource({ sink: createSinkClient(ctx.env.SINK_URL || 'http://127.0.0.1:8025') });
      else if (code.from === 'prompt') codes = createPromptCodeSource(ctx.io.prompt());

      const request: TestCallRequest = {
        caller: o.caller,
        entry: { exten: entry.exten, context: entry.context },
        press: o.press ?? null,
        method,
        code,
        codeTo,
        holdMs,
        timeoutMs,
      };
      const log = (step: string) => {
        if (!ctx.json) ctx.io.err(`  ${step}`);
      };
      if (!ctx.json) ctx.io.err(`test call as ${maskPhone(o.caller)}: ${entry.how}`);

      let pbx;
      let outcomes;
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        try {
          pbx = await createAriTestCallPbx({
            url: ari.url ?? '',
            user: ari.user ?? '',
            password: ari.password ?? '',
            pinverifyApp: ctx.env.ARI_APP || 'pinverify',
          });
          outcomes = await createAmiOutcomeWatch(amiCfg);
        } catch (err) {
          ctx.io.err(
            `pinverify: cannot place the test call: ${err instanceof Error ? err.message : String(err)}`,
          );
          ctx.exitCode = EXIT.unavailable;
          return;
        }
        const outcome = await runTestCall(request, { pbx, outcomes, codes, log, signal: abort.signal });
        const problems = expectationProblems(expectation, outcome, destination);
        const reached = outcome.reached
          ? `${outcome.reached.exten}@${outcome.reached.context}:${outcome.reached.priority}`
          : null;
        ctx.print(
          {
            outcome,
            expected: o.expect,
            expectedDestination: o.expectDestination ?? null,
            matched: problems.length === 0,
            problems,
          },
          () =>
            [
              `result:       ${outcome.result} (${outcome.reason})${outcome.method ? ` by ${outcome.method}` : ''}`,
              `route:        ${outcome.route || '-'}`,
              `destination:  ${outcome.destination || '-'} (reached ${reached ?? 'nothing seen'})`,
              problems.length === 0
                ? `as expected (${o.expect})`
                : `NOT as expected:\n${problems.map((p) => `  ${p}`).join('\n')}`,
            ].join('\n'),
        );
        if (problems.length > 0) ctx.exitCode = EXIT.refused;
      } catch (err) {
        if (!(err instanceof TestCallError)) throw err;
        ctx.print(
          { error: 'test_call_failed', stage: err.stage, message: err.message, steps: err.steps },
          () => `test call failed (${err.stage}): ${err.message}`,
        );
        ctx.exitCode = EXIT.refused;
      } finally {
        process.removeListener('SIGINT', onSignal);
        await outcomes?.close().catch(() => undefined);
        await pbx?.close().catch(() => undefined);
      }
    });
}
