/**
 * The DialplanChecker port over AMI: ops tooling asks the Asterisk that is running now, not the
 * configuration files, whether a destination or a previous hop exists, so what is checked is what
 * a call would meet. ShowDialPlan (AMI class "reporting") does the lookups; for a destination,
 * Asterisk itself applies its pattern matching (2003 is listed through _2XXX), so no dialplan
 * pattern logic is repeated here.
 */
import { parseStasisArgs } from '../ari/stasis-app';
import { PbxUnreachableError, type DialplanChecker, type DialplanTargetRef } from '../ops/dialplan-checker';
import { AmiActionError, type AmiClient } from './ami-client';

/** Where in the dialplan a call enters the Stasis app with a given previous hop. */
export interface StasisEntryPoint {
  context: string;
  exten: string;
  /** The priority that runs Stasis(). */
  priority: number;
}

export interface AmiDialplanChecker extends DialplanChecker {
  /**
   * The dialplan line where a call enters the app with previous hop `hop`: a Stasis(<app>...) line
   * in context `hop` without a route argument, or one whose route argument is `hop`. When several
   * do, the one at the lowest priority (a call reaching its extension enters at once), then the
   * first in Asterisk's listing order. null when there is none.
   * Rejects with PbxUnreachableError when the PBX cannot be asked.
   */
  findStasisEntry(hop: string): Promise<StasisEntryPoint | null>;
}

export interface AmiDialplanCheckerOptions {
  ami: AmiClient;
  /** The Stasis app name (ARI_APP), e.g. "pinverify". */
  app: string;
  /** Deadline of each AMI request; the whole dialplan of a large PBX is a long list. */
  timeoutMs?: number;
  /** close() also closes `ami`; leave false when the client is shared (the app's publisher uses one). */
  ownsAmi?: boolean;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** One dialplan line, from a ListDialplan event. */
interface DialplanLine {
  context: string;
  exten: string;
  priority: number;
  application: string;
  appdata: string;
}

/** asterisk-conf/production/extensions_pinverify.conf: FreePBX destinations go through this context. */
const FREEPBX_BRIDGE = 'pinverify-freepbx';

export function createAmiDialplanChecker(opts: AmiDialplanCheckerOptions): AmiDialplanChecker {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  /**
   * ShowDialPlan with the given filters. "Did not find ..." comes back as AmiActionError (it is an
   * answer: the thing is not there); anything else means the PBX could not be asked.
   */
  async function showDialPlan(filter: Record<string, string>): Promise<DialplanLine[]> {
    try {
      const { events } = await opts.ami.actionList({ Action: 'ShowDialPlan', ...filter }, timeoutMs);
      return events.flatMap(toLine);
    } catch (err) {
      if (err instanceof AmiActionError && /^did not find /i.test(err.amiMessage)) throw err;
      const hint =
        err instanceof AmiActionError && /permission denied/i.test(err.amiMessage)
          ? ' (the AMI user needs the "reporting" class, read and write, for ShowDialPlan)'
          : '';
      const why = err instanceof Error ? err.message : String(err);
      throw new PbxUnreachableError(`${why}${hint}`, { cause: err });
    }
  }

  /** true when Asterisk answered "Did not find context ...". */
  async function contextExists(context: string): Promise<boolean> {
    try {
      await showDialPlan({ Context: context });
      return true;
    } catch (err) {
      if (isNotFound(err, 'context')) return false;
      throw err;
    }
  }

  /** Stasis() lines that start this app, each with the previous hop the app will see. */
  async function stasisLines(): Promise<
    { line: DialplanLine; hop: string; routeArg: boolean; verifies: boolean }[]
  > {
    const lines = await showDialPlan({});
    const out: { line: DialplanLine; hop: string; routeArg: boolean; verifies: boolean }[] = [];
    for (const line of lines) {
      if (line.application.toLowerCase() !== 'stasis') continue;
      const [appArg = '', ...rest] = splitAppArgs(line.appdata);
      // ${PINVERIFY_APP} and the like cannot be expanded from here: it may well be this app.
      if (appArg !== opts.app && !appArg.includes('$')) continue;
      // The same reading of the arguments as the app's own (route=<name> or a bare first argument);
      // a route argument replaces the context as the previous hop.
      const args = parseStasisArgs(rest);
      const route = args.route?.trim();
      // action=bail is the sub-IVR's * (skip verification) and callback=<number> a call-back
      // number of outbound calls: ways into the app, not into verifying a caller.
      const verifies = args.action !== 'bail' && args.callback === undefined;
      out.push(
        route
          ? { line, hop: route, routeArg: true, verifies }
          : { line, hop: line.context, routeArg: false, verifies },
      );
    }
    return out;
  }

  async function destinationProblemIn({
    exten,
    context,
    priority,
  }: DialplanTargetRef): Promise<string | null> {
    const bad = badName('extension', exten) ?? badName('context', context);
    if (bad) return bad;
    if (!Number.isInteger(priority) || priority < 1)
      return `priority ${String(priority)} is not a whole number of 1 or more`;
    let lines: DialplanLine[];
    try {
      // Asterisk lists every extension of the context that the number matches, patterns included.
      lines = await showDialPlan({ Context: context, Extension: exten });
    } catch (err) {
      if (isNotFound(err, 'context')) return `context "${context}" does not exist in the running dialplan`;
      if (isNotFound(err, 'extension')) return `extension ${exten} is not in context "${context}"`;
      throw err;
    }
    if (lines.length === 0) return `extension ${exten} is not in context "${context}"`;
    // A call continues at the first matching extension that has the priority, so any will do.
    if (lines.some((l) => l.priority === priority)) return null;
    const patterns = [...new Set(lines.map((l) => l.exten))].filter((e) => e !== exten);
    const via = patterns.length > 0 ? ` (matched by ${patterns.join(', ')})` : '';
    const has = ranges(lines.map((l) => l.priority));
    return `extension ${exten}${via} in context "${context}" has no priority ${priority} (it has ${has})`;
  }

  return {
    async destinationProblem(target: DialplanTargetRef) {
      const problem = await destinationProblemIn(target);
      if (problem || target.context !== FREEPBX_BRIDGE) return problem;
      // The FreePBX bridge matches any number and continues in from-internal: the number must be
      // there, or a typo would send the caller wherever from-internal routes it (a trunk).
      const onward = await destinationProblemIn({
        exten: target.exten,
        context: 'from-internal',
        priority: 1,
      });
      return onward && `${FREEPBX_BRIDGE} continues in from-internal, and there ${onward}`;
    },

    async previousHopProblem(hop: string) {
      const bad = badName('previous hop', hop);
      if (bad) return bad;
      if (await contextExists(hop)) return null;
      const lines = await stasisLines();
      if (lines.some((s) => s.routeArg && s.hop === hop)) return null;
      return (
        `"${hop}" is neither a context of the running dialplan nor a route name passed to ` +
        `Stasis(${opts.app},route=${hop}) or Stasis(${opts.app},${hop})`
      );
    },

    async findStasisEntry(hop: string) {
      if (badName('previous hop', hop)) return null;
      const candidates = (await stasisLines()).filter((s) => s.hop === hop && s.verifies);
      let best: DialplanLine | null = null;
      // Strictly lower only: among equal priorities the first in Asterisk's listing stays.
      for (const { line } of candidates) if (!best || line.priority < best.priority) best = line;
      return best && { context: best.context, exten: best.exten, priority: best.priority };
    },

    close() {
      if (opts.ownsAmi) opts.ami.close();
    },
  };
}

/** A ListDialplan event as a line; other events (and hints, whose priority is no number) are skipped. */
function toLine(event: Record<string, unknown>): DialplanLine[] {
  const text = (key: string) => (typeof event[key] === 'string' ? event[key] : '');
  if (text('event').toLowerCase() !== 'listdialplan' || !text('application')) return [];
  const priority = Number(text('priority'));
  if (!Number.isInteger(priority) || priority < 1) return [];
  return [
    {
      context: text('context'),
      exten: text('extension'),
      priority,
      application: text('application'),
      appdata: text('appdata'),
    },
  ];
}

function isNotFound(err: unknown, what: 'context' | 'extension'): boolean {
  return err instanceof AmiActionError && new RegExp(`^did not find ${what}\\b`, 'i').test(err.amiMessage);
}

/**
 * A name Asterisk cannot have, said as a problem without asking: an empty ShowDialPlan filter
 * means "no filter" (everything would match), and control characters have no place in a name.
 */
function badName(what: string, value: string): string | null {
  if (value.trim() === '') return `${what} is empty`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) return `${what} ${JSON.stringify(value)} contains control characters`;
  return null;
}

/**
 * Application arguments as Asterisk separates them: at commas, except inside double quotes or
 * brackets (a ${...} or $[...] may hold commas); quotes and surrounding blanks removed.
 */
function splitAppArgs(appdata: string): string[] {
  const args: string[] = [];
  let current = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < appdata.length; i++) {
    const c = appdata.charAt(i);
    if (c === '\\' && i + 1 < appdata.length) current += appdata.charAt(++i);
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted && depth === 0) {
      args.push(current.trim());
      current = '';
    } else {
      if (!quoted && '([{'.includes(c)) depth++;
      else if (!quoted && ')]}'.includes(c) && depth > 0) depth--;
      current += c;
    }
  }
  args.push(current.trim());
  return args;
}

/** [1, 2, 3, 5] -> "1-3, 5". */
function ranges(priorities: number[]): string {
  const sorted = [...new Set(priorities)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
