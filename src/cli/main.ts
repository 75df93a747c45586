#!/usr/bin/env node
/**
 * The `pinverify` command (package.json "bin"). Wires the real terminal into runCli and adds
 * the commands that need ARI; everything else is in run-cli.ts.
 */
import { format } from 'node:util';
import { runCli } from './run-cli';
import type { CliIo } from './cli-io';
import { registerTestCallCommand } from './commands/test-call-command';

// asterisk-manager reports reconnects with console.log; stdout belongs to the command's output
// (--json must stay parseable), so library chatter goes to stderr.
console.log = (...args: unknown[]) => process.stderr.write(`${format(...args)}\n`);

// `pinverify ... | head` closes the pipe early: that is the reader's choice, not a failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const io: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  // Questions go to stderr, so --json output on stdout stays parseable.
  prompt: () => ({ input: process.stdin, output: process.stderr }),
};

// Exit explicitly once the command is done: asterisk-manager keeps a reconnect timer alive
// (and would print to stdout when it fires) after a failed AMI connection, which close()
// cannot cancel. Writes are flushed first so piped --json output is complete.
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

runCli(process.argv.slice(2), io, {}, [registerTestCallCommand]).then(exit, (err: unknown) => {
  process.stderr.write(`pinverify: ${String(err)}\n`);
  exit(1);
});
