/**
 * The SMS and email templates as ops edit them. A template is refused before it is saved when a
 * caller would get a broken message: an unknown placeholder, no {code}, an email without a
 * subject (validateTemplate names each problem and the part it is in).
 */
import { z } from 'zod';
import type { MessageTemplate } from '../flow/ports';
import type { DeliveryChannel } from '../domain';
import { DEFAULT_TEMPLATES } from '../store/config-defaults';
import { withTransaction } from '../store/db';
import {
  PLACEHOLDERS,
  renderTemplate,
  validateTemplate,
  type RenderedMessage,
  type TemplateValues,
} from '../senders/render-template';
import { recordConfigChange } from './config-change-log';
import type { OpsDeps } from './ops-deps';
import { invalid, parseInput } from './ops-error';
import { readSettings } from '../store/pg-config-store';

export const CHANNELS = ['email', 'sms'] as const;

export const channelSchema = z.enum(CHANNELS, { error: 'expected email or sms' });

// SMS has no subject and no HTML body: sending one is a mistake worth naming, not ignoring.
export const templatePatchSchema = z
  .object({
    subject: z.string().max(200, 'at most 200 characters').nullable(),
    text: z.string().max(5000, 'at most 5000 characters'),
    // null removes the HTML part (the email then goes out as text only).
    // An empty HTML part means none: saved as '' it would be refused by the app (no {code}).
    html: z
      .string()
      .max(50_000, 'at most 50000 characters')
      .nullable()
      .transform((v) => (v !== null && v.trim() === '' ? null : v)),
  })
  .partial()
  .strict();
export type TemplatePatch = z.input<typeof templatePatchSchema>;

export const sampleValuesSchema = z
  .object({
    code: z.string().regex(/^[0-9]{1,10}$/, 'digits only'),
    name: z.string().max(100),
    company: z.string().max(100),
    minutes: z.string().regex(/^[0-9]{1,3}$/, 'a whole number of minutes'),
  })
  .partial()
  .strict();

export interface TemplateView extends MessageTemplate {
  /** Whether the stored row exists; if not, the built-in template is what callers get. */
  stored: boolean;
  placeholders: readonly string[];
  /** Problems of the stored template; callers then get the built-in one. */
  problems: string[];
}

export function createTemplateAdmin(deps: OpsDeps) {
  const { pool } = deps;

  async function read(channel: DeliveryChannel): Promise<TemplateView> {
    const { rows } = await pool.query<MessageTemplate>(
      'SELECT channel, subject, text, html FROM templates WHERE channel = $1',
      [channel],
    );
    const row = rows[0];
    const template = row ?? DEFAULT_TEMPLATES[channel];
    return {
      channel,
      subject: template.subject,
      text: template.text,
      html: template.html,
      stored: row !== undefined,
      placeholders: PLACEHOLDERS,
      problems: row ? validateTemplate(row).map((p) => p.message) : [],
    };
  }

  function merge(current: MessageTemplate, channel: DeliveryChannel, input: unknown): MessageTemplate {
    const patch = parseInput(templatePatchSchema, input);
    if (channel === 'sms') {
      const extra = (['subject', 'html'] as const).filter((k) => patch[k] !== undefined && patch[k] !== null);
      if (extra.length > 0)
        throw invalid(extra.map((field) => ({ field, message: 'an SMS template has only a text' })));
    }
    return {
      channel,
      subject: channel === 'sms' ? null : patch.subject !== undefined ? patch.subject : current.subject,
      text: patch.text ?? current.text,
      html: channel === 'sms' ? null : patch.html !== undefined ? patch.html : current.html,
    };
  }

  function refuseProblems(template: MessageTemplate): void {
    const problems = validateTemplate(template);
    if (problems.length > 0)
      throw invalid(problems.map((p) => ({ field: p.part, message: p.message.replace(`${p.part}: `, '') })));
  }

  return {
    async show(channel?: string): Promise<TemplateView[]> {
      const channels = channel === undefined ? CHANNELS : [parseInput(channelSchema, channel, 'channel')];
      return Promise.all(channels.map(read));
    },

    /** Changes the given parts; the result must be a usable template or nothing is saved. */
    async set(channelInput: string, input: unknown): Promise<TemplateView> {
      const channel = parseInput(channelSchema, channelInput, 'channel');
      const before = await read(channel);
      const next = merge(before, channel, input);
      refuseProblems(next);
      await withTransaction(pool, async (db) => {
        await db.query(
          `INSERT INTO templates (channel, subject, text, html) VALUES ($1, $2, $3, $4)
           ON CONFLICT (channel) DO UPDATE SET subject = EXCLUDED.subject, text = EXCLUDED.text, html = EXCLUDED.html`,
          [channel, next.subject, next.text, next.html],
        );
        await recordConfigChange(db, {
          actor: deps.actor,
          action: 'template.set',
          subject: channel,
          detail: {
            before: { subject: before.subject, text: before.text, html: before.html },
            after: { subject: next.subject, text: next.text, html: next.html },
          },
        });
      });
      return read(channel);
    },

    /**
     * Renders the stored template, or the stored one with `draft` parts applied (to try an edit
     * before saving it), with sample values: the company and validity from the settings, a
     * sample code of the configured length. A draft with problems is refused like `set` would.
     */
    async preview(
      channelInput: string,
      options: { draft?: unknown; values?: unknown } = {},
    ): Promise<{ template: MessageTemplate; values: TemplateValues; rendered: RenderedMessage }> {
      const channel = parseInput(channelSchema, channelInput, 'channel');
      const given = parseInput(sampleValuesSchema, options.values ?? {}, 'values');
      const current = await read(channel);
      const template = options.draft === undefined ? current : merge(current, channel, options.draft);
      refuseProblems(template);
      const settings = await readSettings(pool);
      const values: TemplateValues = {
        code: given.code ?? '123456789'.repeat(2).slice(0, settings.codeLength),
        name: given.name ?? 'Alex Example',
        company: given.company ?? settings.companyName,
        // The same rounding the flow uses when it sends a code.
        minutes: given.minutes ?? String(Math.max(1, Math.floor(settings.codeValiditySeconds / 60))),
      };
      const { channel: c, subject, text, html } = template;
      return {
        template: { channel: c, subject, text, html },
        values,
        rendered: renderTemplate(template, values),
      };
    },
  };
}

export type TemplateAdmin = ReturnType<typeof createTemplateAdmin>;
