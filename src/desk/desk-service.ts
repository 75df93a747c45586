/**
 * What the desk does for a signed-in agent: find contacts, show their verifications, send a code
 * (the PIN verification tool of seed 001), check the digits the caller reads back, mark the
 * verification Completed or Incomplete, note it on the ticket, and build screen pops. Every
 * state change goes through the one verification service, so its limits and lockouts hold here
 * exactly as on a call or through the API; every action is audited with the agent's login.
 */
import type { Pool } from 'pg';
import type { Clock } from '../call/clock';
import type { Contact, FlowSettings, Refusal } from '../domain';
import type { FlowLogger } from '../flow/ports';
import { maskEmail, maskPhone } from '../log/mask';
import { OpsError } from '../ops/ops-error';
import { normalizeCaller } from '../phone/normalize-caller';
import { ServiceNotStartedError } from '../store/start-with-retry';
import type { TicketConnector, TicketNote } from '../tickets/ticket-connector';
import { deriveCode } from '../verification/verification-code';
import type { VerificationService } from '../verification/verification-service';
import type {
  CheckResponse,
  ContactDetail,
  ContactSummary,
  OutcomeRequest,
  PopView,
  SendRequest,
  VerificationView,
} from './desk-api';
import { describeCallOutcome, verificationStatusText } from './describe-outcome';
import type { Agent, PgAgentStore } from './pg-agent-store';

export interface DeskServiceDeps {
  pool: Pool;
  verifications: VerificationService;
  agents: PgAgentStore;
  settings(): Promise<FlowSettings>;
  /** Where ticket notes go (null: no ticket system configured; refs are still kept). */
  tickets: {
    connector: Pick<TicketConnector, 'system' | 'validateRef'>;
    enqueue(note: TicketNote): Promise<void>;
  } | null;
  clock: Clock;
  /** The code secret: a note may carry a generated code (ticketNoteIncludesCode), derived again from the id. */
  secret: string;
  log: FlowLogger;
}

const CHANNEL_WORDS = { sms: 'text message', email: 'email' } as const;

interface ContactRow {
  id: number;
  name: string;
  email: string | null;
  mobile: string | null;
  phones: string[];
}

function summary(c: Pick<ContactRow, 'id' | 'name' | 'email' | 'mobile'>): ContactSummary {
  return {
    id: c.id,
    name: c.name,
    emailMasked: c.email ? maskEmail(c.email) : null,
    mobileMasked: c.mobile ? maskPhone(c.mobile) : null,
  };
}

interface VerificationRow {
  id: string;
  contact_id: number | null;
  channel: VerificationView['channel'];
  origin: string;
  status: string;
  destination_masked: string;
  override_reason: string | null;
  actor: string | null;
  created_at: Date;
  expires_at: Date;
  decided_at: Date | null;
  checks: number;
  max_checks: number;
  failure_reason: string | null;
  agent_outcome: 'completed' | 'incomplete' | null;
  agent_outcome_by: string | null;
  ticket_ref: string | null;
  custom_code: boolean;
  code_length: number;
}

const VERIFICATION_COLUMNS = `id, contact_id, channel, origin, status, destination_masked, override_reason, actor,
  created_at, expires_at, decided_at, checks, max_checks, failure_reason, agent_outcome, agent_outcome_by,
  ticket_ref, custom_code, code_length`;

function view(r: VerificationRow): VerificationView {
  return {
    id: r.id,
    channel: r.channel,
    origin: r.origin,
    status: r.status,
    statusText: verificationStatusText({
      status: r.status as Parameters<typeof verificationStatusText>[0]['status'],
      channel: r.channel,
      failureReason: r.failure_reason,
      checks: r.checks,
      maxChecks: r.max_checks,
    }),
    destinationMasked: r.destination_masked,
    overrideReason: r.override_reason,
    actor: r.actor,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
    decidedAt: r.decided_at?.toISOString() ?? null,
    checksLeft: Math.max(0, r.max_checks - r.checks),
    agentOutcome: r.agent_outcome,
    agentOutcomeBy: r.agent_outcome_by,
    ticketRef: r.ticket_ref,
  };
}

/** A refusal of the verification service in an agent's words. */
function refusalError(r: Refusal): OpsError {
  switch (r.error) {
    case 'locked':
      return new OpsError(
        'limited',
        `This contact is locked after too many wrong codes; it unlocks by itself at ${r.until.toISOString()}, or a supervisor can unlock it (pinverify contacts unlock).`,
        [],
        { code: 'locked' },
      );
    case 'rate_limited':
      return new OpsError(
        'limited',
        r.limit === 'resend_cooldown'
          ? `Wait ${r.retryAfterSeconds} s before sending this code again.`
          : `Too many codes were sent ${r.limit.startsWith('destination') ? 'to this number or address' : 'recently'}; try again in ${Math.ceil(r.retryAfterSeconds / 60)} min. (${r.message})`,
        [],
        { code: 'rate_limited', retryAfterSeconds: r.retryAfterSeconds },
      );
    case 'max_sends':
      return new OpsError(
        'limited',
        `This code was sent as often as allowed; start a new verification.`,
        [],
        {
          code: 'max_sends',
        },
      );
    case 'max_attempts':
      return new OpsError('limited', 'No tries are left for this code; start a new verification.', [], {
        code: 'max_attempts',
      });
  }
}

function invalidRequest(field: string, message: string, code = 'invalid'): OpsError {
  return new OpsError('invalid', message, [{ field, message }], { code });
}

export function createDeskService(deps: DeskServiceDeps) {
  const { pool } = deps;

  async function contactRow(id: number): Promise<ContactRow | null> {
    const { rows } = await pool.query<ContactRow>(
      `SELECT c.id, c.name, c.email, c.mobile,
              COALESCE(array_agg(p.e164 ORDER BY p.e164) FILTER (WHERE p.e164 IS NOT NULL), '{}') AS phones
         FROM contacts c LEFT JOIN contact_phones p ON p.contact_id = c.id
        WHERE c.id = $1 GROUP BY c.id`,
      [id],
    );
    return rows[0] ?? null;
  }

  async function verificationRow(id: string): Promise<VerificationRow | null> {
    const { rows } = await pool.query<VerificationRow>(
      `SELECT ${VERIFICATION_COLUMNS} FROM verifications WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** A verification the desk may act on: one an agent started (inbound calls check their own codes). */
  async function deskVerification(id: string): Promise<VerificationRow> {
    const v = /^VE[0-9a-f]{32}$/.test(id) ? await verificationRow(id) : null;
    if (!v) throw new OpsError('not_found', `no verification ${id}`);
    if (v.origin !== 'agent')
      throw new OpsError(
        'conflict',
        'This verification was not started from the desk; start one here to check a code.',
        [],
        {
          code: 'not_a_desk_verification',
        },
      );
    return v;
  }

  function ticketRefOf(raw: string | undefined, s: FlowSettings, required: boolean): string | null {
    const ref = raw?.trim() ?? '';
    if (ref === '') {
      if (required && s.requireTicket)
        throw invalidRequest(
          'ticketRef',
          'A ticket is required before verifying: enter the ticket number.',
          'ticket_required',
        );
      return null;
    }
    if (ref.length > 64) throw invalidRequest('ticketRef', 'A ticket reference has at most 64 characters.');
    const problem = deps.tickets?.connector.validateRef(ref) ?? null;
    if (problem) throw invalidRequest('ticketRef', problem);
    return ref;
  }

  async function noteTicket(
    agent: Agent,
    v: VerificationRow,
    contactName: string,
    event: TicketNote['event'],
    s: FlowSettings,
  ): Promise<void> {
    if (!deps.tickets || !v.ticket_ref || (v.channel !== 'sms' && v.channel !== 'email')) return;
    const code =
      s.ticketNoteIncludesCode && event === 'code_sent' && !v.custom_code
        ? deriveCode(deps.secret, v.id, v.code_length)
        : null;
    try {
      await deps.tickets.enqueue({
        ticketRef: v.ticket_ref,
        event,
        agentLogin: agent.login,
        agentName: agent.name,
        contactName,
        channel: v.channel,
        destinationMasked: v.destination_masked,
        verificationId: v.id,
        status: v.status,
        override: v.override_reason ? { reason: v.override_reason } : null,
        code,
        at: deps.clock.now(),
      });
    } catch (err) {
      // The verification stands; the agent is told the note did not go, the log says why.
      deps.log.error('ticket note not queued', {
        verificationId: v.id,
        ticket: v.ticket_ref,
        problem: err instanceof Error ? err.message : String(err),
      });
      // A queue not started yet (the database was down at boot) says why in words meant for the
      // agent; other problems (SQL, pg-boss) stay in the log. After a send the code did go out:
      // said first, so the agent does not send another.
      const lead = event === 'code_sent' ? 'The code was sent, but the' : 'The';
      const why = err instanceof ServiceNotStartedError ? `: ${err.message}. Add it` : '; add it';
      throw new OpsError(
        'unavailable',
        `${lead} ticket note for ${v.ticket_ref} could not be queued${why} by hand.`,
        [],
        {
          code: 'ticket_note_failed',
        },
      );
    }
  }

  /** The override's address, normalised as the service stores destinations. */
  function overrideDestination(channel: 'sms' | 'email', raw: string, s: FlowSettings): string {
    if (channel === 'email') {
      const email = raw.trim().toLowerCase();
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
        throw invalidRequest('overrideDestination', `${raw} is not an email address.`);
      return email;
    }
    const n = normalizeCaller(raw, s.defaultCountry);
    if (n.kind !== 'ok')
      throw invalidRequest(
        'overrideDestination',
        `${raw} is not a phone number that can get a text message.`,
      );
    return n.e164;
  }

  function toContact(c: ContactRow): Contact {
    return { id: c.id, name: c.name, email: c.email, mobile: c.mobile };
  }

  async function sent(
    agent: Agent,
    action: string,
    result: Awaited<ReturnType<VerificationService['start']>>,
    contact: ContactRow,
    extra: { ticketRef?: string | null; overrideReason?: string | null; callId?: string | null },
  ): Promise<{ verification: VerificationView; message: string }> {
    if (result.kind === 'refused') {
      await deps.agents.record({
        agentLogin: agent.login,
        action: `${action}.refused`,
        contactId: contact.id,
        callId: extra.callId ?? null,
        detail: { error: result.refusal.error },
      });
      throw refusalError(result.refusal);
    }
    if (result.kind === 'not_found') throw new OpsError('not_found', 'no such verification');
    const v = result.verification;
    if (action === 'send' && (extra.ticketRef || extra.overrideReason))
      await pool.query('UPDATE verifications SET ticket_ref = $2, override_reason = $3 WHERE id = $1', [
        v.id,
        extra.ticketRef ?? null,
        extra.overrideReason ?? null,
      ]);
    const row = await verificationRow(v.id);
    if (!row) throw new Error(`verification ${v.id} vanished`);
    await deps.agents.record({
      agentLogin: agent.login,
      action: result.kind === 'sent' ? action : `${action}.${result.kind}`,
      verificationId: v.id,
      contactId: contact.id,
      callId: extra.callId ?? null,
      detail: {
        channel: v.channel,
        to: v.destinationMasked,
        ...(extra.overrideReason ? { override: true, overrideReason: extra.overrideReason } : {}),
        ...(extra.ticketRef ? { ticketRef: extra.ticketRef } : {}),
      },
    });
    const by = CHANNEL_WORDS[v.channel as 'sms' | 'email'];
    switch (result.kind) {
      case 'sent': {
        await noteTicket(agent, row, contact.name, 'code_sent', await deps.settings());
        return {
          verification: view(row),
          message: `Code sent by ${by} to ${v.destinationMasked}. Ask the caller to read it back.`,
        };
      }
      case 'delivery_failed':
        throw new OpsError(
          'upstream',
          `The ${by} to ${v.destinationMasked} could not be sent (${result.error}). Try the other method, or try again later.`,
          [],
          { code: 'delivery_failed' },
        );
      case 'expired':
        throw new OpsError('conflict', 'The code expired; start a new verification.', [], {
          code: 'expired',
        });
      case 'decided':
        throw new OpsError('conflict', 'This verification is already decided; start a new one.', [], {
          code: 'already_decided',
        });
    }
  }

  return {
    async search(agent: Agent, q: string): Promise<ContactSummary[]> {
      const text = q.trim();
      if (text === '') return [];
      if (text.length > 100) throw invalidRequest('q', 'Search for at most 100 characters.');
      const s = await deps.settings();
      const n = /\d{4,}/.test(text) ? normalizeCaller(text, s.defaultCountry) : null;
      const e164 = n?.kind === 'ok' ? n.e164 : null;
      const like = `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      const { rows } = await pool.query<ContactRow>(
        `SELECT c.id, c.name, c.email, c.mobile, '{}'::text[] AS phones FROM contacts c
          WHERE c.name ILIKE $1 OR lower(c.email) = lower($2)
             OR ($3::text IS NOT NULL AND (c.mobile = $3 OR EXISTS
                  (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND p.e164 = $3)))
          ORDER BY c.name, c.id LIMIT 20`,
        [like, text, e164],
      );
      await deps.agents.record({
        agentLogin: agent.login,
        action: 'contact.search',
        detail: { results: rows.length },
      });
      return rows.map(summary);
    },

    async contact(agent: Agent, id: number): Promise<ContactDetail> {
      const c = await contactRow(id);
      if (!c) throw new OpsError('not_found', `no contact ${id}`);
      const [lock, history] = await Promise.all([
        deps.verifications.lockState(id),
        pool.query<VerificationRow>(
          `SELECT ${VERIFICATION_COLUMNS} FROM verifications WHERE contact_id = $1 ORDER BY created_at DESC LIMIT 50`,
          [id],
        ),
      ]);
      await deps.agents.record({ agentLogin: agent.login, action: 'contact.view', contactId: id });
      return {
        contact: {
          ...summary(c),
          phonesMasked: c.phones.map((p) => maskPhone(p)),
          lock: {
            locked: lock.locked,
            failures: lock.failures,
            limit: lock.limit,
            until: lock.until?.toISOString() ?? null,
            message: lock.locked
              ? `Locked after ${lock.failures} wrong codes in 24 h; unlocks at ${lock.until?.toISOString() ?? '?'}.`
              : lock.failures > 0
                ? `${lock.failures} wrong code${lock.failures === 1 ? '' : 's'} in 24 h (locks at ${lock.limit}).`
                : null,
          },
        },
        verifications: history.rows.map(view),
      };
    },

    async send(agent: Agent, req: SendRequest): Promise<{ verification: VerificationView; message: string }> {
      const s = await deps.settings();
      const ticketRef = ticketRefOf(req.ticketRef, s, true);
      const c = await contactRow(req.contactId);
      if (!c) throw new OpsError('not_found', `no contact ${req.contactId}`);
      let destination: string | undefined;
      let overrideReason: string | null = null;
      if (req.overrideDestination !== undefined && req.overrideDestination.trim() !== '') {
        overrideReason = req.overrideReason?.trim() ?? '';
        if (overrideReason.length < 5)
          throw invalidRequest(
            'overrideReason',
            'Sending somewhere other than the address on file needs a reason (at least 5 characters); it is audited.',
            'override_reason_required',
          );
        destination = overrideDestination(req.channel, req.overrideDestination, s);
      } else if (!(req.channel === 'email' ? c.email : c.mobile)) {
        throw invalidRequest(
          'channel',
          `${c.name} has no ${req.channel === 'email' ? 'email address' : 'mobile number'} on file.`,
          'no_destination',
        );
      }
      const result = await deps.verifications.start({
        contact: toContact(c),
        channel: req.channel,
        origin: 'agent',
        callId: req.callId ?? null,
        actor: `agent:${agent.login}`,
        ...(destination ? { destination } : {}),
      });
      return sent(agent, 'send', result, c, { ticketRef, overrideReason, callId: req.callId ?? null });
    },

    async resend(agent: Agent, id: string): Promise<{ verification: VerificationView; message: string }> {
      const v = await deskVerification(id);
      const c = v.contact_id === null ? null : await contactRow(v.contact_id);
      if (!c) throw new OpsError('not_found', 'the contact of this verification is gone');
      return sent(agent, 'resend', await deps.verifications.resend(id), c, {});
    },

    async check(agent: Agent, id: string, code: string): Promise<CheckResponse> {
      const digits = code.replace(/[\s-]/g, '');
      if (!/^\d{4,10}$/.test(digits))
        throw invalidRequest('code', 'Type the digits the caller reads out (4 to 10 digits).');
      await deskVerification(id);
      const r = await deps.verifications.check(id, digits);
      if (r.kind === 'not_found') throw new OpsError('not_found', `no verification ${id}`);
      if (r.kind !== 'checked') throw new OpsError('conflict', 'This verification has no code to check.');
      const row = await verificationRow(id);
      if (!row) throw new Error(`verification ${id} vanished`);
      const o = r.outcome;
      const [result, message]: [CheckResponse['result'], string] =
        o.kind === 'approved'
          ? ['right', 'Right code: the caller is verified. Mark it Completed.']
          : o.kind === 'wrong'
            ? ['wrong', `Wrong code. ${o.checksLeft} tr${o.checksLeft === 1 ? 'y' : 'ies'} left.`]
            : o.kind === 'expired'
              ? ['expired', 'The code expired before it was read back; send a new one.']
              : o.kind === 'locked'
                ? ['locked', 'The contact is locked after too many wrong codes; nothing was compared.']
                : o.kind === 'max_attempts_reached' || o.kind === 'max_attempts'
                  ? ['max_attempts_reached', 'Wrong code, and no tries are left: the caller is not verified.']
                  : ['already_decided', 'This verification is already decided; start a new one.'];
      await deps.agents.record({
        agentLogin: agent.login,
        action: 'check',
        verificationId: id,
        contactId: row.contact_id,
        detail: { result },
      });
      return {
        result,
        message,
        checksLeft: Math.max(0, row.max_checks - row.checks),
        verification: view(row),
      };
    },

    /**
     * Completed needs the right code first (a verification without proof is not one); Incomplete
     * may be said at any time and cancels a code still pending, so it cannot be used later.
     */
    async outcome(
      agent: Agent,
      id: string,
      req: OutcomeRequest,
    ): Promise<{ verification: VerificationView; message: string }> {
      const s = await deps.settings();
      let v = await deskVerification(id);
      if (v.agent_outcome)
        throw new OpsError(
          'conflict',
          `Already marked ${v.agent_outcome === 'completed' ? 'Completed' : 'Incomplete'} by ${v.agent_outcome_by ?? '?'}.`,
          [],
          { code: 'already_marked' },
        );
      if (req.outcome === 'completed' && v.status !== 'approved')
        throw new OpsError(
          'conflict',
          'Completed needs the right code first: type what the caller reads back and check it.',
          [],
          { code: 'not_verified' },
        );
      const ticketRef = v.ticket_ref ?? ticketRefOf(req.ticketRef, s, true);
      if (req.outcome === 'incomplete' && v.status === 'pending')
        await deps.verifications.cancel(id, 'agent_incomplete');
      const { rowCount } = await pool.query(
        `UPDATE verifications SET agent_outcome = $2, agent_outcome_at = $3, agent_outcome_by = $4,
                ticket_ref = COALESCE(ticket_ref, $5)
          WHERE id = $1 AND agent_outcome IS NULL`,
        [id, req.outcome, deps.clock.now(), agent.login, ticketRef],
      );
      if (rowCount === 0)
        throw new OpsError('conflict', 'Someone marked this verification at the same moment.', [], {
          code: 'already_marked',
        });
      v = (await verificationRow(id)) ?? v;
      await deps.agents.record({
        agentLogin: agent.login,
        action: `outcome.${req.outcome}`,
        verificationId: id,
        contactId: v.contact_id,
        detail: { ticketRef, status: v.status },
      });
      const c = v.contact_id === null ? null : await contactRow(v.contact_id);
      await noteTicket(agent, v, c?.name ?? '', req.outcome, s);
      const word = req.outcome === 'completed' ? 'Completed' : 'Incomplete';
      return {
        verification: view(v),
        message:
          ticketRef && deps.tickets
            ? `Marked ${word}; a note goes to ticket ${ticketRef}.`
            : `Marked ${word}.`,
      };
    },

    /** The agent's pops of the last hour, newest first. */
    async recentPops(agent: Agent): Promise<PopView[]> {
      if (agent.extensions.length === 0) return [];
      const { rows } = await pool.query<{ id: string }>(
        `SELECT id FROM desk_pops WHERE extension = ANY($1::text[]) AND at > $2 ORDER BY id DESC LIMIT 20`,
        [agent.extensions, new Date(deps.clock.now().getTime() - 3600_000)],
      );
      const pops = await Promise.all(rows.map((r) => popView(pool, Number(r.id))));
      return pops.filter((p): p is PopView => p !== null);
    },
  };
}

export type DeskService = ReturnType<typeof createDeskService>;

/** A screen pop as the page shows it, built from the call's audit record. */
export async function popView(pool: Pool, id: number): Promise<PopView | null> {
  const { rows } = await pool.query<{
    id: string;
    call_id: string;
    extension: string;
    at: Date;
    result: string | null;
    reason: string | null;
    method: string | null;
    ended_at: Date | null;
    route: string | null;
    caller_masked: string | null;
    contact_id: number | null;
    name: string | null;
    email: string | null;
    mobile: string | null;
    candidate_ids: number[] | null;
  }>(
    `SELECT p.id, p.call_id, p.extension, p.at, c.result, c.reason, c.method, c.ended_at, c.route,
            c.caller_masked, c.contact_id, ct.name, ct.email, ct.mobile,
            (SELECT array(SELECT jsonb_array_elements_text(e.detail->'contactIds')::int)
               FROM call_events e WHERE e.call_id = p.call_id AND e.kind = 'lookup' AND e.detail ? 'contactIds'
              ORDER BY e.id DESC LIMIT 1) AS candidate_ids
       FROM desk_pops p LEFT JOIN calls c ON c.call_id = p.call_id LEFT JOIN contacts ct ON ct.id = c.contact_id
      WHERE p.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  const words = describeCallOutcome(r.result, r.reason, r.method);
  let candidates: ContactSummary[] = [];
  if (r.reason === 'multi_match' && r.candidate_ids && r.candidate_ids.length > 0) {
    const c = await pool.query<ContactRow>(
      `SELECT id, name, email, mobile, '{}'::text[] AS phones FROM contacts WHERE id = ANY($1::int[]) ORDER BY name, id`,
      [r.candidate_ids],
    );
    candidates = c.rows.map(summary);
  }
  return {
    id: Number(r.id),
    callId: r.call_id,
    extension: r.extension,
    at: r.at.toISOString(),
    result: r.result,
    reason: r.reason,
    method: r.method,
    headline: words.headline,
    decidedAt: r.ended_at?.toISOString() ?? null,
    strength: words.strength,
    strengthText: words.strengthText,
    contact:
      r.contact_id !== null && r.name !== null
        ? summary({ id: r.contact_id, name: r.name, email: r.email, mobile: r.mobile })
        : null,
    candidates,
    searchSuggested: r.reason === 'no_match',
    route: r.route,
    callerMasked: r.caller_masked,
  };
}
