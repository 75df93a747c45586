/** `pinverify templates show | set | preview` */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PLACEHOLDERS } from '../../senders/render-template';
import type { TemplateView } from '../../ops/template-admin';
import type { CliContext } from '../cli-context';
import { CliUsageError } from '../cli-env';

interface PartOptions {
  subject?: string;
  text?: string;
  textFile?: string;
  html?: string;
  htmlFile?: string;
  noHtml?: boolean;
}

function readPart(inline: string | undefined, file: string | undefined, what: string): string | undefined {
  if (inline !== undefined && file !== undefined)
    throw new CliUsageError(`give --${what} or --${what}-file, not both`);
  if (file === undefined) return inline;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliUsageError(`cannot read --${what}-file ${file}: ${(err as Error).message}`);
  }
}

/** The parts given on the command line, as the template admin takes them. */
function draftFrom(
  o: Omit<PartOptions, 'html'> & { html?: string | boolean },
): Record<string, string | null> {
  const draft: Record<string, string | null> = {};
  if (o.subject !== undefined) draft.subject = o.subject;
  const text = readPart(o.text, o.textFile, 'text');
  if (text !== undefined) draft.text = text;
  // commander turns --no-html into html: false.
  if (o.html === false) draft.html = null;
  else {
    const html = readPart(typeof o.html === 'string' ? o.html : undefined, o.htmlFile, 'html');
    if (html !== undefined) draft.html = html;
  }
  return draft;
}

function showTemplate(t: TemplateView): string {
  const lines = [`[${t.channel}]${t.stored ? '' : ' (not in the database: the built-in template is used)'}`];
  if (t.channel === 'email') lines.push(`subject: ${t.subject ?? ''}`);
  lines.push('text:', ...t.text.split('\n').map((l) => `  ${l}`));
  if (t.channel === 'email') lines.push(t.html ? `html:\n  ${t.html}` : 'html: (none: text only)');
  for (const p of t.problems)
    lines.push(`problem: ${p} (callers get the built-in template until it is fixed)`);
  return lines.join('\n');
}

function addPartOptions(cmd: Command): Command {
  return cmd
    .option('--subject <subject>', 'email subject')
    .option('--text <text>', 'plain text body (the SMS, or the email text part)')
    .option('--text-file <file>', 'read the text body from a file')
    .option('--html <html>', 'email HTML body')
    .option('--html-file <file>', 'read the HTML body from a file')
    .option('--no-html', 'remove the HTML body (the email goes out as text only)');
}

export function registerTemplatesCommands(program: Command, ctx: CliContext): void {
  const placeholders = PLACEHOLDERS.map((p) => `{${p}}`).join(' ');
  const templates = program
    .command('templates')
    .description('the SMS and email messages that carry the code')
    .addHelpText('after', `\nPlaceholders: ${placeholders}. Every body must contain {code}.`);

  templates
    .command('show [channel]')
    .description('show the sms and email templates (or one of them)')
    .action(async (channel?: string) => {
      const list = await ctx.ops().templates.show(channel);
      ctx.print(channel === undefined ? list : list[0], () => list.map(showTemplate).join('\n\n'));
    });

  addPartOptions(
    templates
      .command('set <channel>')
      .description(
        'change parts of the sms or email template; refused if a caller would get a broken message',
      ),
  ).action(async (channel: string, o: PartOptions) => {
    const draft = draftFrom(o);
    if (Object.keys(draft).length === 0)
      throw new CliUsageError('nothing to change: give --subject, --text, --html or --no-html');
    const saved = await ctx.ops().templates.set(channel, draft);
    ctx.print(saved, () => `saved\n${showTemplate(saved)}`);
  });

  addPartOptions(
    templates
      .command('preview <channel>')
      .description('render a template with sample values; with part options, try an edit without saving it'),
  )
    .option('--code <digits>', 'sample code')
    .option('--name <name>', 'sample contact name')
    .action(async (channel: string, o: PartOptions & { code?: string; name?: string }) => {
      const draft = draftFrom(o);
      const values: Record<string, string> = {};
      if (o.code !== undefined) values.code = o.code;
      if (o.name !== undefined) values.name = o.name;
      const preview = await ctx.ops().templates.preview(channel, {
        draft: Object.keys(draft).length > 0 ? draft : undefined,
        values,
      });
      ctx.print(preview, () => {
        const r = preview.rendered;
        const lines: string[] = [];
        if (r.subject !== null) lines.push(`Subject: ${r.subject}`, '');
        lines.push(r.text);
        if (r.html) lines.push('', '--- html ---', r.html);
        return lines.join('\n');
      });
    });
}
