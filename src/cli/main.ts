#!/usr/bin/env node
/**
 * The `pinverify` command (package.json "bin"). Wires the real terminal into runCli and adds
 * the commands that need ARI; everything else is in run-cli.ts.
 */
import { createInterface } from 'node:readline/promises';
import { runCli } from './run-cli';
import type { CliIo } from './cli-io';

const io: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  async ask(question) {
    // The question goes to stderr, so --json output on stdout stays parseable.
    const rl = createInterface({
      input: process.stdin,
      output: process.stderr,
      terminal: process.stdin.isTTY,
    });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
};

runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pinverify: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
