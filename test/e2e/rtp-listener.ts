import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';

/**
 * What a called person hears, for end-to-end tests: a UDP socket that a SIPp UAS names in its SDP
 * (m=audio <port>) records every RTP packet Asterisk sends, and the PCMU audio is compared with
 * Asterisk's own recordings (e.g. its digits/<N>.gsm), decoded to the same mu-law.
 *
 * Asterisk starts a file on a 20 ms frame boundary and sends PCMU in packets of 160 samples, so a
 * recording appears in the stream aligned to packet boundaries: matching compares whole packets
 * at each packet offset only, never sample by sample.
 */

export const SAMPLES_PER_PACKET = 160;

export interface RtpPacket {
  /** Arrival, Date.now() ms. */
  at: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
  marker: boolean;
  payload: Buffer;
}

export interface RtpListener {
  readonly packets: RtpPacket[];
  /** Datagrams that were not RTP version 2 (none expected). */
  readonly junk: number;
  close(): Promise<void>;
}

export function parseRtp(msg: Buffer, at: number): RtpPacket | null {
  if (msg.length < 12 || msg[0]! >> 6 !== 2) return null;
  const padding = (msg[0]! & 0x20) !== 0;
  const extension = (msg[0]! & 0x10) !== 0;
  const csrcCount = msg[0]! & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (extension) {
    if (msg.length < offset + 4) return null;
    offset += 4 + 4 * msg.readUInt16BE(offset + 2);
  }
  let end = msg.length;
  if (padding) end -= msg[msg.length - 1]!;
  if (end < offset) return null;
  return {
    at,
    seq: msg.readUInt16BE(2),
    timestamp: msg.readUInt32BE(4),
    ssrc: msg.readUInt32BE(8),
    payloadType: msg[1]! & 0x7f,
    marker: (msg[1]! & 0x80) !== 0,
    payload: Buffer.from(msg.subarray(offset, end)),
  };
}

/** Binds 127.0.0.1:`port` and records every RTP packet that arrives there. */
export async function listenRtp(port: number, host = '127.0.0.1'): Promise<RtpListener> {
  const socket = createSocket('udp4');
  const packets: RtpPacket[] = [];
  let junk = 0;
  socket.on('message', (msg) => {
    const p = parseRtp(msg, Date.now());
    if (p) packets.push(p);
    else junk++;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    packets,
    get junk() {
      return junk;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** G.711 mu-law to 16-bit linear (ITU-T G.711, as Asterisk's AST_MULAW). */
const MULAW_TO_LINEAR = new Int16Array(256).map((_, i) => {
  const u = ~i & 0xff;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
});

export function ulawToLinear(ulaw: Uint8Array): Int16Array {
  const out = new Int16Array(ulaw.length);
  for (let i = 0; i < ulaw.length; i++) out[i] = MULAW_TO_LINEAR[ulaw[i]!]!;
  return out;
}

/**
 * A sound file decoded by sox to 8 kHz mono mu-law, then to linear: what PCMU can carry of it,
 * up to its last audible sample (|x| >= `quietBelow`). The quiet tail is dropped because Asterisk
 * does not always send a file's last few samples (it cuts 22 off a 16-bit .wav), and a template
 * must not reach past what was sent. The start is kept as it is: it is what aligns to a packet.
 */
export function soundAsHeard(file: string, quietBelow = 64): Int16Array {
  const ulaw = execFileSync('sox', [file, '-t', 'raw', '-e', 'mu-law', '-r', '8000', '-c', '1', '-'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const linear = ulawToLinear(ulaw);
  let end = linear.length;
  while (end > 0 && Math.abs(linear[end - 1]!) < quietBelow) end--;
  return linear.slice(0, end);
}

/**
 * The received stream as one sequence of packets in sending order (sequence numbers, wrap-around
 * included), decoded to linear. A packet that never came is null (it matches nothing); so are
 * packets of another payload type (DTMF events, comfort noise). A file's last packet may be
 * shorter than 160 samples: the next file starts in a new packet.
 */
export interface HeardStream {
  packets: Array<Int16Array | null>;
  /** Arrival time (ms) of each slot; a lost packet takes its predecessor's. */
  at: number[];
  lost: number;
}

export function heardStream(received: RtpPacket[], payloadType = 0): HeardStream {
  const packets: Array<Int16Array | null> = [];
  const at: number[] = [];
  let lost = 0;
  let prevSeq: number | null = null;
  for (const p of received) {
    if (prevSeq !== null) {
      const step = (p.seq - prevSeq + 0x10000) & 0xffff;
      // A duplicate or a late (reordered) packet: ignored (loopback has neither in practice).
      if (step === 0 || step > 0x8000) continue;
      for (let i = 1; i < step; i++) {
        packets.push(null);
        at.push(at[at.length - 1] ?? p.at);
        lost++;
      }
    }
    prevSeq = p.seq;
    packets.push(p.payloadType === payloadType ? ulawToLinear(p.payload) : null);
    at.push(p.at);
  }
  return { packets, at, lost };
}

const levels = new WeakMap<Int16Array, number>();

/** The sum of absolute sample values (cached: a scan asks it at every packet). */
function levelOf(template: Int16Array): number {
  let level = levels.get(template);
  if (level === undefined) {
    level = 0;
    for (let i = 0; i < template.length; i++) level += template[i]! < 0 ? -template[i]! : template[i]!;
    levels.set(template, level);
  }
  return level;
}

/**
 * How far the stream at packet `start` is from `template` (aligned to the packet): the mean
 * absolute difference of the linear samples over the template's length, relative to the
 * template's own mean absolute level. 0 is identical; another recording, or silence, scores
 * near 1 or above. Asterisk and sox round to mu-law a little differently: the very same audio
 * scores about 0.001. Stops adding once the score is beyond `giveUpAbove` (returns Infinity), which
 * keeps a scan over a whole call cheap.
 */
export function distanceAt(
  stream: HeardStream,
  start: number,
  template: Int16Array,
  giveUpAbove = Number.POSITIVE_INFINITY,
): number {
  const level = levelOf(template);
  if (level === 0) return Number.POSITIVE_INFINITY;
  const budget = giveUpAbove * level;
  let diff = 0;
  for (let k = 0; k * SAMPLES_PER_PACKET < template.length; k++) {
    const packet = stream.packets[start + k];
    if (!packet) return Number.POSITIVE_INFINITY;
    const base = k * SAMPLES_PER_PACKET;
    const n = Math.min(SAMPLES_PER_PACKET, template.length - base);
    const heard = Math.min(n, packet.length);
    // Not Math.abs: under Jest (a vm context) it is not inlined and this loop runs ~70 times slower.
    for (let i = 0; i < heard; i++) {
      const d = packet[i]! - template[base + i]!;
      diff += d < 0 ? -d : d;
    }
    // A short packet (the end of a file): the template's samples it lacks count in full.
    for (let i = heard; i < n; i++) {
      const t = template[base + i]!;
      diff += t < 0 ? -t : t;
    }
    if (diff > budget) return Number.POSITIVE_INFINITY;
  }
  return diff / level;
}

export interface TemplateHit {
  name: string;
  /** First packet (index in HeardStream.packets). */
  start: number;
  /** Packets the template spans. */
  length: number;
  distance: number;
}

/**
 * Every aligned place where one of `templates` is heard (distance below `threshold`), in stream
 * order, from packet `from` up to (not including) packet `to`. Where hits of different templates
 * overlap, the closest one is kept.
 */
export function findTemplates(
  stream: HeardStream,
  templates: Record<string, Int16Array>,
  threshold: number,
  from = 0,
  to = stream.packets.length,
): TemplateHit[] {
  const hits: TemplateHit[] = [];
  for (let start = from; start < to; start++) {
    for (const [name, template] of Object.entries(templates)) {
      const distance = distanceAt(stream, start, template, threshold);
      if (distance < threshold)
        hits.push({ name, start, length: Math.ceil(template.length / SAMPLES_PER_PACKET), distance });
    }
  }
  hits.sort((a, b) => a.start - b.start || a.distance - b.distance);
  const kept: TemplateHit[] = [];
  for (const hit of hits) {
    const last = kept[kept.length - 1];
    if (last && hit.start < last.start + last.length) {
      if (hit.distance < last.distance) kept[kept.length - 1] = hit;
    } else kept.push(hit);
  }
  return kept;
}
