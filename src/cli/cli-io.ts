/**
 * Where the CLI writes and reads. Commands never touch process.stdout directly, so tests run
 * the whole CLI in-process and read what a user would have seen.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** All of standard input, for `contacts import -`. */
  readStdin(): Promise<string>;
  /** Where to ask the operator (test-call --code-from prompt): questions go to output, answers come from input. */
  prompt(): { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
}

/** Prints rows as aligned columns, the way `kubectl get` or `docker ps` do. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** JSON for scripts: stable 2-space indentation, dates as ISO strings. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
