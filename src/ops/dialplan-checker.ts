/**
 * What ops tooling asks the running PBX before it saves a route or a destination setting: does
 * this destination, or this previous hop, exist in the dialplan Asterisk is running now? A typo
 * caught here is a caller not stranded in a dialplan dead end later. The AMI implementation is
 * src/ami/ami-dialplan-checker.ts; tests may pass a fake.
 */
export interface DialplanTargetRef {
  exten: string;
  context: string;
  /** 1 when the destination names none. */
  priority: number;
}

export interface DialplanChecker {
  /**
   * null when a call continued to exten@context:priority would find that priority (Asterisk's own
   * pattern matching applies: 2003 is found by _2XXX); otherwise one sentence naming what is
   * missing, e.g. 'extension 9999 is not in context pinverify-destinations'.
   * Rejects with PbxUnreachableError when the PBX cannot be asked.
   */
  destinationProblem(target: DialplanTargetRef): Promise<string | null>;
  /**
   * null when `hop` can be a previous hop: a context of the running dialplan, or a route name
   * passed to the Stasis app as an argument somewhere in the dialplan (Stasis(app,route=<hop>)
   * or Stasis(app,<hop>)). Otherwise one sentence saying neither was found.
   * Rejects with PbxUnreachableError when the PBX cannot be asked.
   */
  previousHopProblem(hop: string): Promise<string | null>;
  close(): void;
}

/** The PBX could not be asked (AMI down, login refused, no answer in time). */
export class PbxUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PbxUnreachableError';
  }
}
