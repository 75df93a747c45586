/**
 * Message templates are edited by ops (table message_templates), so rendering is deliberately
 * dumb: four named placeholders, no expressions, no loops. validateTemplate() lets the ops tooling
 * refuse a template before it is saved instead of a caller finding out on the phone.
 */
import type { MessageTemplate } from '../flow/ports';

export const PLACEHOLDERS = ['code', 'name', 'company', 'minutes'] as const;
export type PlaceholderName = (typeof PLACEHOLDERS)[number];

export type TemplateValues = Record<PlaceholderName, string>;

export interface RenderedMessage {
  /** null for SMS, and for an email template that has none (validateTemplate reports that). */
  subject: string | null;
  text: string;
  html: string | null;
}

export type TemplatePart = 'subject' | 'text' | 'html';

export interface TemplateProblem {
  part: TemplatePart;
  kind: 'unknown_placeholder' | 'missing_code' | 'missing_subject' | 'empty_text';
  /** The offending placeholder name, for unknown_placeholder. */
  placeholder?: string;
  message: string;
}

// Only {identifier} counts as a placeholder, so CSS rules ("p { color: red }") and JSON-ish text in
// an HTML template pass through untouched.
const PLACEHOLDER_RE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function isPlaceholderName(name: string): name is PlaceholderName {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function fill(template: string, values: TemplateValues, encode: (v: string) => string): string {
  // Unknown placeholders stay as written: the message still goes out (it carries the code), and
  // validateTemplate() is where they get reported.
  return template.replace(PLACEHOLDER_RE, (whole, name: string) =>
    isPlaceholderName(name) ? encode(values[name]) : whole,
  );
}

/** A contact name from the directory must not be able to add header lines to the subject. */
function singleLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

export function renderTemplate(template: MessageTemplate, values: TemplateValues): RenderedMessage {
  const isEmail = template.channel === 'email';
  return {
    subject: isEmail && template.subject !== null ? fill(template.subject, values, singleLine) : null,
    text: fill(template.text, values, (v) => v),
    html: isEmail && template.html ? fill(template.html, values, escapeHtml) : null,
  };
}

function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER_RE)].map((m) => m[1] ?? '');
}

/** Every problem found, in a stable order (subject, text, html); an empty list means usable. */
export function validateTemplate(template: MessageTemplate): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const isEmail = template.channel === 'email';
  const parts: [TemplatePart, string | null][] = isEmail
    ? [
        ['subject', template.subject],
        ['text', template.text],
        ['html', template.html],
      ]
    : [['text', template.text]];

  if (isEmail && !template.subject?.trim()) {
    problems.push({ part: 'subject', kind: 'missing_subject', message: 'email template has no subject' });
  }
  if (!template.text.trim()) {
    problems.push({
      part: 'text',
      kind: 'empty_text',
      message: `${template.channel} template text is empty`,
    });
  }
  for (const [part, content] of parts) {
    if (!content) continue;
    const seen = new Set<string>();
    for (const name of placeholdersIn(content)) {
      if (isPlaceholderName(name) || seen.has(name)) continue;
      seen.add(name);
      problems.push({
        part,
        kind: 'unknown_placeholder',
        placeholder: name,
        message: `${part}: unknown placeholder {${name}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`,
      });
    }
  }
  // The body the recipient reads must carry the code: the text part always, and the HTML part too
  // when there is one, because mail clients show the HTML alternative instead of the text.
  for (const [part, content] of parts) {
    if (part === 'subject' || !content) continue;
    if (!placeholdersIn(content).includes('code')) {
      problems.push({ part, kind: 'missing_code', message: `${part}: missing the {code} placeholder` });
    }
  }
  return problems;
}
