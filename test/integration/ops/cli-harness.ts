/**
 * Runs the pinverify CLI in-process (runCli) with an io that records what a user would have
 * seen on stdout and stderr, against the test database and the lab's AMI. Shared by the
 * cli-*.test.ts files of this folder.
 */
import type { CliIo } from '../../../src/cli/cli-io';
import { runCli } from '../../../src/cli/run-cli';
import type { DialplanSource } from '../../../src/ops/pbx-checks';
import { TEST_DATABASE_URL } from '../helpers';

/** The lab's AMI (scripts/lab-env.sh), overridable like the other integration tests. */
export const AMI_ENV = {
  AMI_HOST: process.env.AMI_HOST || '127.0.0.1',
  AMI_PORT: process.env.AMI_PORT || '5038',
  // The CLI's own, read-only AMI user (scripts/lab-env.sh).
  AMI_USER: process.env.AMI_CLI_USER || 'pinverify-cli',
  AMI_SECRET: process.env.AMI_CLI_SECRET || 'pinverify-lab-ami-cli',
};

/** What a CLI run needs: the test database and AMI; nothing from the real environment. */
export const CLI_ENV: NodeJS.ProcessEnv = {
  DATABASE_URL: TEST_DATABASE_URL,
  ...AMI_ENV,
  PINVERIFY_ACTOR: 'ops-test',
};

export interface CliRun {
  code: number;
  /** Everything written with io.out, one entry per call, joined by newlines. */
  out: string;
  err: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = unknown>(): T;
}

export interface CliRunOptions {
  env?: NodeJS.ProcessEnv;
  /** What `contacts import -` reads. */
  stdin?: string;
  dialplan?: DialplanSource;
  /** Only for PINVERIFY_DEBUG runs: the one case where a stack trace is asked for. */
  allowStack?: boolean;
}

/** A stack trace line ("    at fn (file.ts:1:2)") anywhere in the output. */
export const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

export async function cli(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    readStdin: async () => {
      if (options.stdin === undefined) throw new Error('test gave no stdin');
      return options.stdin;
    },
    prompt: () => {
      throw new Error('the CLI asked a question in a test');
    },
  };
  const code = await runCli(argv, io, {
    env: options.env ?? CLI_ENV,
    ...(options.dialplan ? { dialplan: options.dialplan } : {}),
  });
  const run: CliRun = {
    code,
    out: out.join('\n'),
    err: err.join('\n'),
    json<T>() {
      return JSON.parse(run.out) as T;
    },
  };
  // Whatever happened, a user never gets a stack trace.
  expect(run.out).not.toMatch(STACK_LINE);
  if (!options.allowStack) expect(run.err).not.toMatch(STACK_LINE);
  return run;
}
