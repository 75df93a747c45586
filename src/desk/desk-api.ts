/**
 * The desk's HTTP contract (/desk/api/*), shared by the server (src/desk/desk-endpoints.ts) and
 * described for the page (src/desk/public/desk.js, plain JavaScript without a build step).
 *
 * Every route but login answers 401 {error:'not_signed_in'} without a valid session cookie
 * (`pinverify_desk`, HTTP-only, SameSite=Strict, Path=/desk). Bodies are JSON; errors are
 * {error, message} where message is plain words an agent can act on.
 *
 *   POST /desk/api/login {login, password}      200 MeResponse + cookie | 401 invalid_login | 429 rate_limited
 *   POST /desk/api/logout                       204
 *   GET  /desk/api/me                           200 MeResponse
 *   GET  /desk/api/contacts?q=<name|number|email>   200 {contacts: ContactSummary[]} (at most 20)
 *   GET  /desk/api/contacts/:id                 200 ContactDetail | 404
 *   POST /desk/api/verifications SendRequest    201 {verification: VerificationView, message}
 *                                               400 ticket_required | invalid_request | no_destination
 *                                               409 locked | max_sends | 429 rate_limited
 *                                               502 delivery_failed (verification failed, message says why)
 *   POST /desk/api/verifications/:id/resend     200 {verification, message} | same errors
 *   POST /desk/api/verifications/:id/check {code}   200 CheckResponse
 *   POST /desk/api/verifications/:id/outcome {outcome, ticketRef?}  200 {verification, message}
 *   GET  /desk/api/pops                         200 {pops: PopView[]} this agent's pops of the last hour, newest first
 *   GET  /desk/api/events                       text/event-stream: `event: pop` data PopView (JSON);
 *                                               a comment line every 15 s keeps proxies from closing it
 */

export type AgentRole = 'agent' | 'supervisor';

export interface AgentView {
  login: string;
  name: string;
  role: AgentRole;
  extensions: string[];
}

export interface MeResponse {
  agent: AgentView;
  settings: {
    requireTicket: boolean;
    ticketNoteIncludesCode: boolean;
    /** 'none' | 'webhook' | 'zendesk' | 'connectwise' */
    ticketSystem: string;
    codeLength: number;
  };
}

export interface ContactSummary {
  id: number;
  name: string;
  /** Masked as in the audit trail (j***@example.com), null when none on file. */
  emailMasked: string | null;
  mobileMasked: string | null;
}

export interface ContactDetail {
  contact: ContactSummary & {
    /** Other numbers the contact calls from, masked. */
    phonesMasked: string[];
    lock: { locked: boolean; failures: number; limit: number; until: string | null; message: string | null };
  };
  /** Newest first, at most 50: inbound calls, desk and API alike. */
  verifications: VerificationView[];
}

export interface VerificationView {
  id: string;
  channel: 'email' | 'sms' | 'call' | 'pin';
  /** 'inbound_call' | 'api' | 'agent' | 'outbound_call' */
  origin: string;
  status: string;
  /** Plain words: "Code sent, waiting for the caller", "Right code", "Wrong code 3 times", ... */
  statusText: string;
  destinationMasked: string;
  /** The agent sent to an address other than the one on file; the reason they gave. */
  overrideReason: string | null;
  actor: string | null;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  checksLeft: number;
  agentOutcome: 'completed' | 'incomplete' | null;
  agentOutcomeBy: string | null;
  ticketRef: string | null;
}

export interface SendRequest {
  contactId: number;
  channel: 'sms' | 'email';
  /** Required when settings.requireTicket is on. */
  ticketRef?: string;
  /** Send somewhere other than on file: discouraged, needs overrideReason, audited. */
  overrideDestination?: string;
  overrideReason?: string;
  /** The call this is about, when the agent came from a screen pop. */
  callId?: string;
}

export interface CheckResponse {
  /** right: approved. wrong: checksLeft more tries. The rest end the verification. */
  result: 'right' | 'wrong' | 'expired' | 'max_attempts_reached' | 'locked' | 'already_decided';
  message: string;
  checksLeft: number;
  verification: VerificationView;
}

export interface OutcomeRequest {
  outcome: 'completed' | 'incomplete';
  /** Required when settings.requireTicket is on and the verification has none yet. */
  ticketRef?: string;
}

/** A call that went through pinverify reached one of the agent's extensions. */
export interface PopView {
  id: number;
  callId: string;
  extension: string;
  /** When the agent's phone started ringing (ISO). */
  at: string;
  /** verified | failed | ... as in the audit trail; null while the call's record is still being written. */
  result: string | null;
  reason: string | null;
  method: string | null;
  /** "Verified by text message", "Not verified: the caller pressed *", "Two contacts share this number: pick one". */
  headline: string;
  /** When the verification ended (ISO), for "40 s ago". */
  decidedAt: string | null;
  /** email is weaker proof than SMS (anyone reading the mailbox can read the code). */
  strength: 'strong' | 'weaker' | null;
  strengthText: string | null;
  contact: ContactSummary | null;
  /** multi_match: the contacts sharing the number, to pick from. */
  candidates: ContactSummary[];
  /** no_match: the page shows a search box. */
  searchSuggested: boolean;
  route: string | null;
  callerMasked: string | null;
}
