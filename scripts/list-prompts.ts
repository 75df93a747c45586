/**
 * Prints `name<TAB>text` for every prompt in src/flow/prompts.ts, one per line, in the order
 * they are declared. scripts/make-sounds.sh reads this so the recordings follow the source.
 */
import { PROMPTS } from '../src/flow/prompts';

for (const [name, text] of Object.entries(PROMPTS)) {
  // A tab or newline in the text would break the line format make-sounds.sh reads.
  if (/[\t\r\n]/.test(name) || /[\t\r\n]/.test(text)) {
    throw new Error(`prompt ${JSON.stringify(name)} contains a tab or newline`);
  }
  process.stdout.write(`${name}\t${text}\n`);
}
