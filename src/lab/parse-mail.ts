/**
 * Just enough MIME to read back what nodemailer sends for a code: unfolded headers with RFC 2047
 * encoded words, and the text/plain part of a (possibly nested) multipart message, in 7bit, 8bit,
 * quoted-printable or base64. mailparser would do more, but the lab sink only needs to show the
 * code, and this keeps the dependency list as it is.
 */
export interface ParsedMail {
  /** Lower-cased header name to decoded, unfolded value; the first occurrence wins. */
  headers: Map<string, string>;
  from: string;
  to: string;
  subject: string;
  /** The text/plain part; failing that, the text/html part with tags stripped; else ''. */
  text: string;
}

interface Part {
  headers: Map<string, string>;
  /** Raw body as a binary string (one char per byte), still transfer-encoded. */
  body: string;
}

interface ContentType {
  type: string;
  params: Map<string, string>;
}

function splitHeadersAndBody(raw: string): { head: string; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { head: raw, body: '' };
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

function parseHeaders(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  // Unfold: a line starting with white space continues the previous header (RFC 5322 2.2.3).
  const unfolded = head.replace(/\r?\n(?=[ \t])/g, '');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

function bytesOf(binary: string): Buffer {
  return Buffer.from(binary, 'latin1');
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    // An unknown charset label: UTF-8 is what nodemailer writes anyway.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function decodeQuotedPrintable(binary: string): Buffer {
  const noSoftBreaks = binary.replace(/=\r?\n/g, '');
  return bytesOf(
    noSoftBreaks.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
  );
}

function decodeTransfer(binary: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(binary.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(binary);
    default:
      return bytesOf(binary);
  }
}

/** RFC 2047: "=?UTF-8?Q?Acme_=C3=9Cmlaut?=" and "=?UTF-8?B?...?=", white space between adjacent words dropped. */
export function decodeEncodedWords(value: string): string {
  const word = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g;
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  return joined.replace(word, (_m, charset: string, enc: string, text: string) => {
    const bytes =
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : decodeQuotedPrintable(text.replace(/_/g, ' '));
    // RFC 2231 allows a language suffix: "UTF-8*en".
    return decodeCharset(bytes, charset.split('*')[0]);
  });
}

function parseContentType(value: string | undefined): ContentType {
  const [type = 'text/plain', ...rest] = (value ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    const key = param.slice(0, eq).trim().toLowerCase();
    let val = param.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"') && val.length >= 2)
      val = val.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(key, val);
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  const delimiter = `--${boundary}`;
  const lines = body.split(/\r?\n/);
  let current: string[] | null = null;
  for (const line of lines) {
    if (line.startsWith(delimiter)) {
      const closing = line.slice(delimiter.length).startsWith('--');
      if (current) parts.push(current.join('\n'));
      if (closing) return parts;
      current = [];
      continue;
    }
    current?.push(line);
  }
  if (current) parts.push(current.join('\n'));
  return parts;
}

/** Depth-first: the first part of the wanted type, looking into nested multiparts. */
function findPart(part: Part, wanted: string): Part | null {
  const ct = parseContentType(part.headers.get('content-type'));
  if (ct.type.startsWith('multipart/')) {
    const boundary = ct.params.get('boundary');
    if (!boundary) return null;
    for (const raw of splitMultipart(part.body, boundary)) {
      const { head, body } = splitHeadersAndBody(raw);
      const found = findPart({ headers: parseHeaders(head), body }, wanted);
      if (found) return found;
    }
    return null;
  }
  const disposition = (part.headers.get('content-disposition') ?? '').toLowerCase();
  return ct.type === wanted && !disposition.startsWith('attachment') ? part : null;
}

function decodePartText(part: Part): string {
  const ct = parseContentType(part.headers.get('content-type'));
  const bytes = decodeTransfer(part.body, part.headers.get('content-transfer-encoding'));
  return decodeCharset(bytes, ct.params.get('charset')).replace(/\r\n/g, '\n');
}

function htmlToText(html: string): string {
  const entities: Record<string, string> = {
    amp: '&',
    lt: '<',
    gt: '>',
    quot: '"',
    '#39': "'",
    apos: "'",
    nbsp: ' ',
  };
  return html
    .replace(/<(style|script)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|apos|nbsp);/g, (_m, name: string) => entities[name] ?? '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function parseMail(raw: Buffer | string): ParsedMail {
  const binary =
    typeof raw === 'string' ? Buffer.from(raw, 'utf8').toString('latin1') : raw.toString('latin1');
  const { head, body } = splitHeadersAndBody(binary);
  const rawHeaders = parseHeaders(head);
  const headers = new Map<string, string>();
  // Header bytes may be raw UTF-8 (SMTPUTF8) as well as encoded words.
  for (const [name, value] of rawHeaders)
    headers.set(name, decodeEncodedWords(decodeCharset(bytesOf(value), 'utf-8')));
  const root: Part = { headers: rawHeaders, body };

  const plain = findPart(root, 'text/plain');
  const html = plain ? null : findPart(root, 'text/html');
  const text = plain ? decodePartText(plain) : html ? htmlToText(decodePartText(html)) : '';
  return {
    headers,
    from: headers.get('from') ?? '',
    to: headers.get('to') ?? '',
    subject: headers.get('subject') ?? '',
    text: text.replace(/\n+$/, ''),
  };
}
