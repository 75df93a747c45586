import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { deriveCode } from '../../src/verification/verification-code';
import { createApiKey, openDb, REPO, waitUntil } from './lab-harness';
import {
  distanceAt,
  findTemplates,
  heardStream,
  listenRtp,
  SAMPLES_PER_PACKET,
  soundAsHeard,
  type HeardStream,
  type RtpListener,
  type TemplateHit,
} from './rtp-listener';

/**
 * What the person called HEARS in a read-mode outbound verification call (#12), from the RTP
 * Asterisk sends them. A SIPp UAS (test/sipp/uas-callee-listens.xml) answers on 127.0.0.1:5090
 * with SDP naming a UDP port this test records; it presses 5 (SIP INFO) in the quiet after
 * "press any key to hear your code" and then only listens until the app hangs up.
 *
 * The PCMU stream is matched, packet-aligned, against the recordings Asterisk plays: its own
 * digits/<N>.gsm and the app's pinverify/<prompt>.wav, decoded by sox to the same mu-law. The
 * test proves the whole transcript: greeting and key prompt with no digit at all before the key,
 * then "your code is", the code (deriveCode of the verification) digit by digit with a second
 * between, "again" and the code twice more, "press 1 to hear it again", "goodbye". The code
 * heard then approves the verification.
 */
jest.setTimeout(120_000);

const ADMIN = `http://127.0.0.1:${process.env.ADMIN_PORT ?? '8090'}`;
const ALICE = '+12025550101';
/** Where the callee's SDP sends Asterisk's audio (this test's socket), and SIPp's own unused media port. */
const RTP_PORT = 16600;
const SIPP_MEDIA_PORT = 16610;
/** Distances (rtp-listener's distanceAt): heard is below PRESENT (the same audio scores ~0.001). */
const PRESENT = 0.05;
/** ...and not heard is above ABSENT (another recording or silence scores ~1). */
const ABSENT = 0.5;
/** sound:silence/1 between digits: one second of 20 ms packets. */
const SECOND = 50;
const PROMPTS = [
  'call-greeting',
  'company-name',
  'press-key-for-code',
  'your-code-is',
  'code-again',
  'press-1-to-repeat',
  'goodbye',
] as const;
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

let key: string;
let db: Pool;
let tmp: string;
let rtp: RtpListener | undefined;
let sipp: ChildProcess | undefined;

/** `p` inside `root`, its symlinks followed inside `root` too (the lab's Asterisk runs in a chroot). */
function resolveIn(root: string, p: string): string {
  const parts = p.split('/').filter(Boolean);
  let cur = '/';
  for (let hops = 0; parts.length > 0;) {
    const next = path.posix.join(cur, parts.shift()!);
    // lstat, not exists: a link's absolute target means nothing outside the root.
    if (lstatSync(root + next, { throwIfNoEntry: false })?.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`symlink loop at ${root}${next}`);
      const target = readlinkSync(root + next);
      parts.unshift(...target.split('/').filter(Boolean));
      if (target.startsWith('/')) cur = '/';
    } else cur = next;
  }
  return root + cur;
}

/** Asterisk's English sounds folder, as scripts/lab.sh finds it (the chroot's, else the host's). */
function asteriskSounds(): string {
  const sid = process.env.PINVERIFY_ASTERISK_ROOT ?? '/var/cache/pinverify/sid-root';
  const root = existsSync(path.join(sid, 'usr/sbin/asterisk')) ? sid : '';
  return resolveIn(root, '/usr/share/asterisk/sounds/en');
}

/**
 * The admin API, one connection per request: the call lasts about as long as the API's idle
 * keep-alive (72 s), and fetch reusing a pooled connection the server is just closing fails
 * with "other side closed".
 */
function api(method: string, url: string, body?: unknown) {
  type Body = { id?: string; status?: string; code?: string } | null;
  return new Promise<{ status: number; body: Body }>((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${ADMIN}${url}`,
      {
        method,
        agent: false,
        headers: { authorization: `Bearer ${key}`, ...(data ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: Body = null;
          try {
            parsed = JSON.parse(text) as Body;
          } catch {
            // not JSON: no body
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** The person called: SIPp UAS on 127.0.0.1:5090 whose SDP names RTP_PORT; messages traced with times. */
function callee() {
  const log = path.join(tmp, 'callee.log');
  const messages = path.join(tmp, 'callee-messages.log');
  const proc = spawn(
    'sipp',
    [
      '-sf',
      path.join(REPO, 'test/sipp/uas-callee-listens.xml'),
      '-i',
      '127.0.0.1',
      '-p',
      '5090',
      '-mi',
      '127.0.0.1',
      '-mp',
      String(SIPP_MEDIA_PORT),
      '-key',
      'rtpport',
      String(RTP_PORT),
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '110',
      '-trace_logs',
      '-log_file',
      log,
      '-trace_msg',
      '-message_file',
      messages,
    ],
    { stdio: 'ignore' },
  );
  sipp = proc;
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { exit, log, messages };
}

/** When SIPp sent the INFO with the key (Date.now() ms): its message trace stamps each message in local time. */
function keySentAt(messageFile: string): number {
  const m =
    /-{20,} (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}\.\d{3})\d*\r?\nUDP message sent[^\n]*\n\s*INFO sip:/.exec(
      readFileSync(messageFile, 'utf8'),
    );
  if (!m) throw new Error(`no INFO sent in ${messageFile}`);
  return new Date(`${m[1]}T${m[2]}`).getTime();
}

/**
 * The packet where the audio after the key starts: the gate's prompt ends, Asterisk sends
 * nothing while it waits (a gap of at least a second between packets), and the next packet
 * comes after the key. The key's time from SIPp must fall in that gap (SIPp stamps a message
 * with its loop's clock, so allow it 250 ms late).
 */
function packetAfterKey(stream: HeardStream, keyAt: number): number {
  const gaps: number[] = [];
  for (let i = 1; i < stream.at.length; i++)
    if (stream.at[i]! - stream.at[i - 1]! >= 1000 && stream.at[i - 1]! < keyAt && keyAt < stream.at[i]! + 250)
      gaps.push(i);
  const gapList = stream.at
    .map((t, i) => (i > 0 && t - stream.at[i - 1]! >= 1000 ? `${i}@${((t - keyAt) / 1000).toFixed(2)}s` : ''))
    .filter(Boolean);
  if (gaps.length !== 1)
    throw new Error(
      `the key (SIPp INFO) did not fall in one quiet gap; gaps (start, from key): ${gapList.join(' ')}`,
    );
  return gaps[0]!;
}

/** Whether `code` is heard at `starts` (one digit each): every digit's own recording matches there. */
function spells(stream: HeardStream, digits: Record<string, Int16Array>, starts: number[], code: string) {
  return (
    starts.length === code.length &&
    [...code].every((d, i) => distanceAt(stream, starts[i]!, digits[d]!, PRESENT) < PRESENT)
  );
}

const describeHit = (h: TemplateHit) => `${h.name}@${h.start}(${h.distance.toFixed(4)})`;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'pinverify-read-audio-'));
  db = openDb();
  key = await createApiKey('e2e-read-audio');
});

afterAll(async () => {
  if (sipp && sipp.exitCode === null && sipp.signalCode === null) sipp.kill('SIGKILL');
  await rtp?.close();
  await db.end();
  rmSync(tmp, { recursive: true, force: true });
});

test('read mode: the person hears nothing of the code before the key, then the code three times, digit by digit', async () => {
  const sounds = asteriskSounds();
  const digits: Record<string, Int16Array> = {};
  const packetsOf: Record<string, number> = {};
  for (const d of DIGITS) {
    digits[d] = soundAsHeard(path.join(sounds, 'digits', `${d}.gsm`));
    // The whole file (quiet tail too): how many packets the digit takes before the next file.
    packetsOf[d] = Math.ceil(
      soundAsHeard(path.join(sounds, 'digits', `${d}.gsm`), 0).length / SAMPLES_PER_PACKET,
    );
  }
  const templates: Record<string, Int16Array> = { ...digits };
  for (const p of PROMPTS) templates[p] = soundAsHeard(path.join(sounds, 'pinverify', `${p}.wav`));

  rtp = await listenRtp(RTP_PORT);
  const person = callee();
  await new Promise((r) => setTimeout(r, 300));
  const started = await api('POST', '/v1/verifications', { channel: 'call', to: ALICE, profile: 'lab-read' });
  expect(started.status).toBe(201);
  // Read mode: the code is said on the call, never shown to the client.
  expect(started.body?.code).toBeUndefined();
  const id = started.body?.id ?? '';
  const code = deriveCode(process.env.PINVERIFY_CODE_SECRET ?? '', id, 6);

  expect(await person.exit).toBe(0);
  expect(readFileSync(person.log, 'utf8')).toContain(`CALLEE number=${ALICE}`);
  await waitUntil(
    'the call attempt ended',
    async () => {
      const { rows } = await db.query<{ status: string }>(
        'SELECT status FROM verification_calls WHERE verification_id = $1',
        [id],
      );
      return rows.length > 0 && !['queued', 'calling', 'answered'].includes(rows[0]!.status);
    },
    30_000,
  );
  const { rows } = await db.query<{ attempt: number; status: string; times_said: number }>(
    'SELECT attempt, status, times_said FROM verification_calls WHERE verification_id = $1 ORDER BY attempt',
    [id],
  );
  expect(rows).toEqual([{ attempt: 1, status: 'delivered', times_said: 3 }]);
  await rtp.close();
  const received = rtp.packets;
  rtp = undefined;

  // Every packet came, PCMU only.
  expect(received.length).toBeGreaterThan(1000);
  expect([...new Set(received.map((p) => p.payloadType))]).toEqual([0]);
  const stream = heardStream(received);
  expect(stream.lost).toBe(0);

  // Everything recognisable in the call, in order (aligned comparisons only: ~0.1 s of CPU).
  const heard = findTemplates(stream, templates, PRESENT);
  const keyPacket = packetAfterKey(stream, keySentAt(person.messages));
  const before = heard.filter((h) => h.start < keyPacket);
  const after = heard.filter((h) => h.start >= keyPacket);

  // (b) Before the key: the greeting and the whole key prompt, and no digit, not even a poor match.
  expect(before.map((h) => h.name)).toEqual(['call-greeting', 'company-name', 'press-key-for-code']);
  expect(findTemplates(stream, digits, ABSENT, 0, keyPacket).map(describeHit)).toEqual([]);

  // (a) After it: the code, three times, and nothing else but the script's prompts.
  const said = [...code];
  expect(after.map((h) => h.name)).toEqual([
    'your-code-is',
    ...said,
    'code-again',
    ...said,
    'code-again',
    ...said,
    'press-1-to-repeat',
    'goodbye',
  ]);
  expect(after[0]!.start).toBe(keyPacket);

  const sayings = [1, 8, 15].map((i) => after.slice(i, i + code.length));
  const wrong = [...code].map((d) => String((Number(d) + 1) % 10)).join('');
  for (const saying of sayings) {
    const starts = saying.map((h) => h.start);
    // The code's own digits match where it was said; a code differing in every digit does not.
    expect(spells(stream, digits, starts, code)).toBe(true);
    expect(spells(stream, digits, starts, wrong)).toBe(false);
    for (const hit of saying) {
      // Each digit is that digit and no other: every other recording is far from it.
      const others = DIGITS.filter((d) => d !== hit.name).map((d) =>
        distanceAt(stream, hit.start, digits[d]!),
      );
      expect(Math.min(...others)).toBeGreaterThan(ABSENT);
    }
    // Never rushed: a second of silence between digits (the digit's packets, then 50 more).
    for (let i = 1; i < saying.length; i++) {
      const gap = saying[i]!.start - saying[i - 1]!.start - packetsOf[saying[i - 1]!.name]!;
      expect(Math.abs(gap - SECOND)).toBeLessThanOrEqual(2);
    }
  }

  // What the person heard is the code: it approves the verification.
  const checked = await api('POST', `/v1/verifications/${id}/check`, {
    code: sayings[0]!.map((h) => h.name).join(''),
  });
  expect(checked.body?.status).toBe('approved');
});
