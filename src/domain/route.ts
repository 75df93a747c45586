/**
 * How a route verifies its callers, each mode a flow of its own (src/main.ts picks the flow):
 * `otp` a one-time code by email or SMS; `pin` the contact's static security PIN; `pin_then_otp`
 * both, the PIN first (departments that want proof of knowledge and of possession).
 */
export const ROUTE_MODES = ['otp', 'pin', 'pin_then_otp'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

/** A route: which destinations a caller reaches, chosen by the previous hop (sub-IVR context or Stasis arg route=). */
export interface Route {
  id: number;
  title: string;
  previousHop: string;
  /** "exten", "exten@context" or "exten@context:priority" */
  successDestination: string;
  failedDestination: string;
  enabled: boolean;
  mode: RouteMode;
}
